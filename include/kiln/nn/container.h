// Containers: Sequential (chains forward), ModuleList (indexable list, no forward) and Functional (wraps a function).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {
namespace detail {
template <typename M, typename = void>
struct has_unary_forward : std::false_type {};
template <typename M>
struct has_unary_forward<M, std::enable_if_t<std::is_convertible<
                                decltype(std::declval<M&>().forward(std::declval<const Tensor&>())), Tensor>::value>>
    : std::true_type {};

/// What a container accepts: a module holder (nn::Linear(...)) or a shared_ptr to a module.
template <typename T, typename = void>
struct is_module_arg : is_module_holder<T> {};
template <typename M>
struct is_module_arg<std::shared_ptr<M>, void> : std::is_base_of<Module, M> {};

template <typename M>
std::shared_ptr<M> module_ptr(const std::shared_ptr<M>& m) { return m; }
template <typename M>
std::shared_ptr<M> module_ptr(const ModuleHolder<M>& h) { return h.ptr(); }
}  // namespace detail

/// Wraps a Tensor -> Tensor function as a module, so lambdas can sit inside a Sequential.
class FunctionalImpl : public Module {
 public:
  explicit FunctionalImpl(std::function<Tensor(const Tensor&)> fn, std::string label = "");
  Tensor forward(const Tensor& x) { return fn_(x); }
  std::string name() const override { return "Functional"; }
  std::string extra_repr() const override { return label_; }
  /// The clone calls the same function object (a copy of it, sharing whatever it captured).
  KILN_CLONE_EMPTY(std::make_shared<FunctionalImpl>(fn_, label_))

 private:
  std::function<Tensor(const Tensor&)> fn_;
  std::string label_;
};
KILN_MODULE(Functional);

/// Runs its modules in order, feeding each output to the next (torch.nn.Sequential). Children are named
/// "0", "1", ... unless pushed with a name.
class SequentialImpl : public Module {
 public:
  using Iterator = std::vector<std::shared_ptr<Module>>::const_iterator;

  SequentialImpl() = default;
  template <typename... Ms, typename = std::enable_if_t<(sizeof...(Ms) > 0) &&
                                                        (detail::is_module_arg<std::decay_t<Ms>>::value && ...)>>
  explicit SequentialImpl(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  /// Appends a module (holder or shared_ptr) under the next index as its name.
  template <typename M, typename = std::enable_if_t<detail::is_module_arg<std::decay_t<M>>::value>>
  void push_back(M&& module) {
    push_back(std::to_string(modules_.size()), std::forward<M>(module));
  }
  /// Appends a module under a chosen name (names must be unique and contain no '.').
  template <typename M, typename = std::enable_if_t<detail::is_module_arg<std::decay_t<M>>::value>>
  void push_back(std::string name, M&& module) {
    auto ptr = detail::module_ptr(module);
    using Impl = typename decltype(ptr)::element_type;
    ErasedForward fwd;
    if constexpr (detail::has_unary_forward<Impl>::value)
      fwd = [](Module& m, const Tensor& x) -> Tensor { return static_cast<Impl&>(m).forward(x); };
    push_back_erased(std::move(name), ptr, std::move(fwd));
  }

  /// Feeds x through every module in order. Throws ValueError when empty or when a module's forward does
  /// not take a single tensor.
  Tensor forward(const Tensor& x);

  size_t size() const { return modules_.size(); }
  bool is_empty() const { return modules_.empty(); }
  /// The i-th module; IndexError when out of range (negative i counts from the end).
  std::shared_ptr<Module> operator[](int64_t i) const;
  std::shared_ptr<Module> ptr(int64_t i) const { return (*this)[i]; }
  /// The i-th module cast to its type; ValueError when it is of another type.
  template <typename T>
  std::shared_ptr<T> ptr(int64_t i) const {
    auto m = std::dynamic_pointer_cast<T>((*this)[i]);
    KILN_CHECK(m != nullptr, "Sequential: module ", i, " is a ", (*this)[i]->name(), ", not the requested type");
    return m;
  }
  /// The i-th module as its type, libtorch's seq->at<nn::LinearImpl>(i) (a holder type such as nn::Linear
  /// works too); ValueError when it is of another type.
  template <typename T>
  typename detail::contained_t<T>& at(int64_t i) const {
    return *ptr<typename detail::contained_t<T>>(i);
  }
  Iterator begin() const { return modules_.begin(); }
  Iterator end() const { return modules_.end(); }
  std::string name() const override { return "Sequential"; }
  std::shared_ptr<Module> clone_empty() const override;

 private:
  // A child's forward with its type erased; it takes the module so that a clone can reuse it.
  using ErasedForward = std::function<Tensor(Module&, const Tensor&)>;
  void push_back_erased(std::string name, std::shared_ptr<Module> m, ErasedForward fwd);
  std::vector<std::shared_ptr<Module>> modules_;
  std::vector<ErasedForward> forwards_;
};
KILN_MODULE(Sequential);

/// Holds submodules in a list so their parameters are registered (torch.nn.ModuleList); has no forward.
class ModuleListImpl : public Module {
 public:
  using Iterator = std::vector<std::shared_ptr<Module>>::const_iterator;

  ModuleListImpl() = default;
  template <typename... Ms, typename = std::enable_if_t<(sizeof...(Ms) > 0) &&
                                                        (detail::is_module_arg<std::decay_t<Ms>>::value && ...)>>
  explicit ModuleListImpl(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  template <typename M, typename = std::enable_if_t<detail::is_module_arg<std::decay_t<M>>::value>>
  void push_back(M&& module) {
    push_back_erased(detail::module_ptr(module));
  }
  /// Appends every module of another list.
  void extend(const ModuleListImpl& other);

  size_t size() const { return modules_.size(); }
  bool is_empty() const { return modules_.empty(); }
  std::shared_ptr<Module> operator[](int64_t i) const;
  std::shared_ptr<Module> ptr(int64_t i) const { return (*this)[i]; }
  template <typename T>
  std::shared_ptr<T> ptr(int64_t i) const {
    auto m = std::dynamic_pointer_cast<T>((*this)[i]);
    KILN_CHECK(m != nullptr, "ModuleList: module ", i, " is a ", (*this)[i]->name(), ", not the requested type");
    return m;
  }
  /// The i-th module as its type, libtorch's seq->at<nn::LinearImpl>(i) (a holder type such as nn::Linear
  /// works too); ValueError when it is of another type.
  template <typename T>
  typename detail::contained_t<T>& at(int64_t i) const {
    return *ptr<typename detail::contained_t<T>>(i);
  }
  Iterator begin() const { return modules_.begin(); }
  Iterator end() const { return modules_.end(); }
  std::string name() const override { return "ModuleList"; }
  std::shared_ptr<Module> clone_empty() const override;

 private:
  void push_back_erased(std::shared_ptr<Module> m);
  std::vector<std::shared_ptr<Module>> modules_;
};
KILN_MODULE(ModuleList);
}  // namespace kiln::nn
