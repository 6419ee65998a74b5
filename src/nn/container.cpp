// Sequential, ModuleList and Functional.
#include "kiln/nn/container.h"

namespace kiln::nn {
namespace {
int64_t checked_index(int64_t i, size_t size, const char* what) {
  int64_t n = static_cast<int64_t>(size);
  KILN_CHECK_INDEX(i >= -n && i < n, what, ": index ", i, " is out of range for a container of ", n, " module(s)");
  return i < 0 ? i + n : i;
}
}  // namespace

FunctionalImpl::FunctionalImpl(std::function<Tensor(const Tensor&)> fn, std::string label)
    : fn_(std::move(fn)), label_(std::move(label)) {
  KILN_CHECK(static_cast<bool>(fn_), "Functional: the function is empty");
}

void SequentialImpl::push_back_erased(std::string name, std::shared_ptr<Module> m, ErasedForward fwd) {
  register_module(std::move(name), m);
  modules_.push_back(std::move(m));
  forwards_.push_back(std::move(fwd));
}

Tensor SequentialImpl::forward(const Tensor& x) {
  KILN_CHECK(!modules_.empty(), "Sequential::forward: the Sequential is empty; push_back modules first");
  Tensor h = x;
  for (size_t i = 0; i < modules_.size(); ++i) {
    KILN_CHECK(static_cast<bool>(forwards_[i]), "Sequential::forward: module ", i, " (", modules_[i]->name(),
               ") has no forward(const Tensor&) taking a single tensor, so it cannot be chained");
    h = forwards_[i](*modules_[i], h);
    detail::note_output_shape(*modules_[i], h);  // for a traced nn::summary; a no-op otherwise
  }
  return h;
}

std::shared_ptr<Module> SequentialImpl::clone_empty() const {
  auto copy = std::make_shared<SequentialImpl>();
  const auto named = named_children();
  for (size_t i = 0; i < modules_.size(); ++i)
    copy->push_back_erased(named[i].first, modules_[i]->clone_empty(), forwards_[i]);
  return copy;
}

std::shared_ptr<Module> ModuleListImpl::clone_empty() const {
  auto copy = std::make_shared<ModuleListImpl>();
  for (const auto& m : modules_) copy->push_back_erased(m->clone_empty());
  return copy;
}

std::shared_ptr<Module> SequentialImpl::operator[](int64_t i) const {
  return modules_[static_cast<size_t>(checked_index(i, modules_.size(), "Sequential"))];
}

void ModuleListImpl::push_back_erased(std::shared_ptr<Module> m) {
  register_module(std::to_string(modules_.size()), m);
  modules_.push_back(std::move(m));
}

void ModuleListImpl::extend(const ModuleListImpl& other) {
  KILN_CHECK(&other != this, "ModuleList::extend: cannot extend a list with itself");
  for (const auto& m : other.modules_) push_back_erased(m);
}

std::shared_ptr<Module> ModuleListImpl::operator[](int64_t i) const {
  return modules_[static_cast<size_t>(checked_index(i, modules_.size(), "ModuleList"))];
}
}  // namespace kiln::nn
