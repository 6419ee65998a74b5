// nn::Module state: moving parameters between devices and dtypes in place, state_dict and load_state_dict, and
// clone().
#include <algorithm>
#include <functional>
#include <set>
#include <sstream>
#include <typeinfo>
#include <unordered_set>

#include "kiln/autograd/autograd.h"
#include "kiln/nn/module.h"
#include "kiln/tensor/ops/copy.h"

namespace kiln::nn {
namespace {
// Points t's TensorImpl at moved's data. Layers and optimizers hold handles to the same TensorImpl, so
// they all see the new device/dtype without re-registration.
void swap_in(Tensor& t, const Tensor& moved) {
  TensorImpl* impl = t.impl();
  impl->storage = moved.storage();
  impl->offset = moved.storage_offset();
  impl->sizes = moved.sizes();
  impl->strides = moved.strides();
  impl->dtype = moved.dtype();
}

void convert_one(Tensor& t, const std::function<Tensor(const Tensor&)>& fn) {
  Tensor moved = fn(t);
  if (!moved.is_same(t)) swap_in(t, moved);
  if (auto* m = autograd::meta_if_exists(t)) {
    if (m->grad.defined()) {
      Tensor g = fn(m->grad);
      if (!g.is_same(m->grad)) swap_in(m->grad, g);
    }
    // The accumulator caches the leaf's old dtype/device; the next graph makes a fresh one.
    m->grad_accumulator.reset();
  }
}

// Keys can come from a file (a damaged or hostile checkpoint): name at most 10, each at most 80 characters.
std::string quoted_list(const std::vector<std::string>& names) {
  std::ostringstream os;
  const size_t shown = std::min<size_t>(names.size(), 10);
  for (size_t i = 0; i < shown; ++i)
    os << (i ? ", " : "") << '"' << (names[i].size() <= 80 ? names[i] : names[i].substr(0, 77) + "...") << '"';
  if (names.size() > shown) os << " and " << names.size() - shown << " more";
  return os.str();
}
}  // namespace

void Module::convert(const std::function<Tensor(const Tensor&)>& fn) {
  NoGradGuard no_grad;
  std::unordered_set<const TensorImpl*> done;
  std::unordered_set<const Module*> visited;
  std::function<void(Module&)> walk = [&](Module& m) {
    if (!visited.insert(&m).second) return;
    for (auto* list : {&m.parameters_, &m.buffers_})
      for (auto& kv : *list)
        if (kv.second.defined() && done.insert(kv.second.impl()).second) convert_one(kv.second, fn);
    for (auto& kv : m.children_) walk(*kv.second);
  };
  walk(*this);
}

void Module::to(Device device, bool non_blocking) {
  if (device.is_cuda()) device = resolve_device(device);
  convert([&](const Tensor& t) { return t.to(device, non_blocking); });
}

void Module::to(DType dtype) {
  KILN_CHECK_DTYPE(is_floating_point(dtype), name(), ".to(", dtype,
                   "): modules can only be cast to floating-point dtypes (float16, bfloat16, float32, float64)");
  convert([&](const Tensor& t) { return t.is_floating_point() ? t.to(dtype) : t; });
}

void Module::to(Device device, DType dtype, bool non_blocking) {
  KILN_CHECK_DTYPE(is_floating_point(dtype), name(), ".to(", device, ", ", dtype,
                   "): modules can only be cast to floating-point dtypes (float16, bfloat16, float32, float64)");
  if (device.is_cuda()) device = resolve_device(device);
  convert([&](const Tensor& t) { return t.to(device, t.is_floating_point() ? dtype : t.dtype(), non_blocking); });
}

void Module::to(MemoryFormat format) {
  KILN_CHECK(format != MemoryFormat::Preserve, name(),
             ".to(preserve_format): expected MemoryFormat::ChannelsLast or MemoryFormat::Contiguous");
  convert([&](const Tensor& t) { return t.dim() == 4 && t.is_floating_point() ? t.contiguous(format) : t; });
}

StateDict Module::state_dict() const {
  NamedTensors all;
  collect(all, "", /*params=*/true, /*recurse=*/true);
  collect(all, "", /*params=*/false, /*recurse=*/true);
  StateDict out;
  for (auto& kv : all) out.emplace(kv.first, kv.second.detach());  // tied tensors appear under every name
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  NamedTensors own;
  collect(own, "", /*params=*/true, /*recurse=*/true);
  collect(own, "", /*params=*/false, /*recurse=*/true);

  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> expected;
  for (const auto& kv : own) {
    expected.insert(kv.first);
    auto it = state.find(kv.first);
    if (it == state.end()) {
      missing.push_back(kv.first);
    } else if (!it->second.defined()) {
      mismatched.push_back(::kiln::detail::str("value for ", kv.first, " is an undefined tensor"));
    } else if (it->second.sizes() != kv.second.sizes()) {
      mismatched.push_back(::kiln::detail::str("size mismatch for ", kv.first, ": copying a tensor with shape ",
                                       it->second.shape_str(), " from the state dict, the shape in the current model is ",
                                       kv.second.shape_str()));
    }
  }
  for (const auto& kv : state)
    if (!expected.count(kv.first)) unexpected.push_back(kv.first);

  bool fail = !mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()));
  if (fail) {
    std::ostringstream os;
    os << "Error(s) in loading state_dict for " << name() << ":";
    if (strict && !missing.empty()) os << "\n  Missing key(s) in state_dict: " << quoted_list(missing) << ".";
    if (strict && !unexpected.empty()) os << "\n  Unexpected key(s) in state_dict: " << quoted_list(unexpected) << ".";
    for (const auto& m : mismatched) os << "\n  " << m << ".";
    if (strict && (!missing.empty() || !unexpected.empty()))
      os << "\n  (load_state_dict(state, /*strict=*/false) ignores missing and unexpected keys)";
    throw ValueError(os.str());
  }

  NoGradGuard no_grad;
  for (auto& kv : own) {
    auto it = state.find(kv.first);
    if (it == state.end()) continue;
    if (it->second.is_same(kv.second)) continue;
    Tensor dst = kv.second;
    dst.copy_(it->second);  // converts device and dtype; dst keeps its own
  }
}

std::shared_ptr<Module> Module::clone_empty() const {
  throw NotImplemented(name() + " cannot clone itself: give its class a clone_empty() that builds a new one with the "
                                "same settings (KILN_CLONE_EMPTY(std::make_shared<...>(...)) in the class)");
}

std::shared_ptr<Module> Module::clone() const {
  std::shared_ptr<Module> copy = clone_empty();
  KILN_CHECK(copy != nullptr, name(), ".clone_empty() returned a null module");
  NoGradGuard no_grad;
  std::unordered_set<const TensorImpl*> seen;
  // The two trees were built the same way, so they pair up child by child and tensor by tensor.
  std::function<void(const Module&, Module&, const std::string&)> copy_into = [&](const Module& src, Module& dst,
                                                                                   const std::string& path) {
    const std::string where = path.empty() ? src.name() : src.name() + " at '" + path + "'";
    KILN_CHECK(typeid(src) == typeid(dst), name(), ".clone(): the clone_empty() of ", where, " built a ", dst.name(),
               " instead of a ", src.name());
    dst.training_ = src.training_;
    for (auto [from, to] : {std::pair{&src.parameters_, &dst.parameters_}, std::pair{&src.buffers_, &dst.buffers_}}) {
      KILN_CHECK(from->size() == to->size(), name(), ".clone(): the clone_empty() of ", where, " registered ",
                 to->size(), " tensors of a kind where the original has ", from->size());
      for (size_t i = 0; i < from->size(); ++i) {
        const Tensor& s = (*from)[i].second;
        Tensor& d = (*to)[i].second;
        KILN_CHECK((*from)[i].first == (*to)[i].first && s.defined() == d.defined(), name(),
                   ".clone(): the clone_empty() of ", where, " registered '", (*to)[i].first, "' where the original has '",
                   (*from)[i].first, "'");
        if (!s.defined()) continue;
        KILN_CHECK(seen.insert(s.impl()).second, name(), ".clone(): '", path.empty() ? "" : path + ".", (*from)[i].first,
                   "' is shared with another submodule (tied weights), which clone() does not copy");
        KILN_CHECK(d.impl() != s.impl(), name(), ".clone(): the clone_empty() of ", where, " reuses the original's '",
                   (*from)[i].first, "' instead of making its own");
        swap_in(d, s.detach().clone());
        if (auto* m = autograd::meta_if_exists(d)) m->grad = Tensor();
        d.requires_grad_(s.requires_grad());
      }
    }
    KILN_CHECK(src.children_.size() == dst.children_.size(), name(), ".clone(): the clone_empty() of ", where, " has ",
               dst.children_.size(), " children where the original has ", src.children_.size());
    for (size_t i = 0; i < src.children_.size(); ++i) {
      const std::string child = path.empty() ? src.children_[i].first : path + "." + src.children_[i].first;
      copy_into(*src.children_[i].second, *dst.children_[i].second, child);
    }
  };
  copy_into(*this, *copy, "");
  return copy;
}
}  // namespace kiln::nn
