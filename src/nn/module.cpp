// nn::Module registration and traversal: parameters, buffers, children, modes.
#include "kiln/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <typeinfo>
#include <unordered_set>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"

namespace kiln::nn {

std::string Module::name() const {
  if (!name_.empty()) return name_;
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string full = (status == 0 && demangled) ? demangled : mangled;
  std::free(demangled);
  // "kiln::nn::LinearImpl" -> "Linear"; template arguments are kept whole.
  size_t template_start = full.find('<');
  size_t colon = full.rfind("::", template_start);
  std::string base = colon == std::string::npos ? full : full.substr(colon + 2);
  size_t impl = base.find('<') == std::string::npos ? base.size() : base.find('<');
  if (impl >= 4 && base.compare(impl - 4, 4, "Impl") == 0) base.erase(impl - 4, 4);
  return base;
}

void Module::check_new_name(const std::string& name, const char* what) const {
  KILN_CHECK(!name.empty(), this->name(), ": ", what, " name must not be empty");
  KILN_CHECK(name.find('.') == std::string::npos, this->name(), ": ", what, " name '", name,
             "' must not contain '.' (dots separate the names of nested modules)");
  auto taken = [&](const auto& list) {
    for (const auto& kv : list)
      if (kv.first == name) return true;
    return false;
  };
  KILN_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), this->name(), ": cannot register ", what,
             " '", name, "': the name is already used by a parameter, buffer or submodule of this module");
}

Tensor& Module::register_parameter(std::string name, Tensor t, bool requires_grad) {
  check_new_name(name, "parameter");
  if (t.defined()) {
    if (!t.is_leaf()) t = t.detach();
    t.requires_grad_(requires_grad);
  }
  parameters_.emplace_back(std::move(name), std::move(t));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor t) {
  check_new_name(name, "buffer");
  if (t.defined() && !t.is_leaf()) t = t.detach();
  buffers_.emplace_back(std::move(name), std::move(t));
  return buffers_.back().second;
}

void Module::register_module_impl(std::string name, std::shared_ptr<Module> module) {
  check_new_name(name, "submodule");
  KILN_CHECK(module != nullptr, this->name(), ": cannot register submodule '", name, "': it is null (an empty holder?)");
  KILN_CHECK(module.get() != this, this->name(), ": a module cannot be its own submodule ('", name, "')");
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::replace_module_impl(const std::string& name, std::shared_ptr<Module> module) {
  KILN_CHECK(module != nullptr, this->name(), ": cannot replace submodule '", name, "' with null");
  for (auto& kv : children_)
    if (kv.first == name) {
      kv.second = std::move(module);
      return;
    }
  throw ValueError(::kiln::detail::str(this->name(), ": no submodule named '", name, "' to replace"));
}

void Module::collect(NamedTensors& out, const std::string& prefix, bool params, bool recurse) const {
  for (const auto& kv : params ? parameters_ : buffers_)
    if (kv.second.defined()) out.emplace_back(prefix + kv.first, kv.second);
  if (!recurse) return;
  for (const auto& kv : children_) kv.second->collect(out, prefix + kv.first + ".", params, true);
}

namespace {
// Keeps the first occurrence of each TensorImpl: tied weights are one parameter to an optimizer.
NamedTensors unique(NamedTensors all) {
  std::unordered_set<const TensorImpl*> seen;
  NamedTensors out;
  out.reserve(all.size());
  for (auto& kv : all)
    if (seen.insert(kv.second.impl()).second) out.push_back(std::move(kv));
  return out;
}
std::vector<Tensor> values_of(const NamedTensors& named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (const auto& kv : named) out.push_back(kv.second);
  return out;
}
}  // namespace

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors all;
  collect(all, "", /*params=*/true, recurse);
  return unique(std::move(all));
}
std::vector<Tensor> Module::parameters(bool recurse) const { return values_of(named_parameters(recurse)); }

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors all;
  collect(all, "", /*params=*/false, recurse);
  return unique(std::move(all));
}
std::vector<Tensor> Module::buffers(bool recurse) const { return values_of(named_buffers(recurse)); }

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& kv : children_) out.push_back(kv.second);
  return out;
}
std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(bool include_self) const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  if (include_self) {
    auto self = std::const_pointer_cast<Module>(weak_from_this().lock());
    KILN_CHECK(self != nullptr, name(), ": modules()/named_modules() with include_self need the module to be owned "
               "by a std::shared_ptr (create it with std::make_shared or a holder such as nn::Linear)");
    out.emplace_back("", self);
  }
  std::unordered_set<const Module*> seen{this};
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
    for (const auto& kv : m.children_) {
      if (!seen.insert(kv.second.get()).second) continue;  // a module shared twice is listed once
      std::string path = prefix.empty() ? kv.first : prefix + "." + kv.first;
      out.emplace_back(path, kv.second);
      walk(*kv.second, path);
    }
  };
  walk(*this, "");
  return out;
}
std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& kv : named_modules(include_self)) out.push_back(std::move(kv.second));
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& kv : children_) kv.second->apply(fn);
  fn(*this);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& kv : children_) kv.second->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& p : parameters()) {
    auto* m = autograd::meta_if_exists(p);
    if (!m || !m->grad.defined()) continue;
    if (set_to_none) {
      m->grad = Tensor();
    } else {
      // A gradient made with create_graph carries history; the zeroed one must not.
      if (!m->grad.is_leaf()) m->grad = m->grad.detach();
      m->grad.zero_();
    }
  }
}
}  // namespace kiln::nn
