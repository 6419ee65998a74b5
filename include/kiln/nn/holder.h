// ModuleHolder and KILN_MODULE: value-like handles (nn::Linear) around shared module objects (LinearImpl), as libtorch.
#pragma once
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "kiln/core/error.h"
#include "kiln/nn/module.h"

namespace kiln::nn {
namespace detail {
template <typename T, typename = void>
struct is_module_holder : std::false_type {};
template <typename T>
struct is_module_holder<T, std::void_t<typename T::ContainedType>>
    : std::is_base_of<ModuleHolder<typename T::ContainedType>, T> {};
}  // namespace detail

/// Owns a std::shared_ptr<Contained> and forwards to it: `nn::Linear fc(10, 64); fc->forward(x); fc(x);`.
/// Copies share the module, like Python references. `nn::Linear fc{nullptr};` makes an empty holder to be
/// assigned later (typically from register_module).
template <typename Contained>
class ModuleHolder {
 public:
  using ContainedType = Contained;

  /// Default-constructs the module; only for modules whose constructor takes no arguments.
  ModuleHolder() : impl_(default_construct()) {}
  /// The empty state.
  /* implicit */ ModuleHolder(std::nullptr_t) {}
  /// Wraps an existing module.
  /* implicit */ ModuleHolder(std::shared_ptr<Contained> module) : impl_(std::move(module)) {}
  /// Constructs the module from its constructor's arguments: nn::Linear(10, 64).
  template <typename Head, typename... Tail,
            typename = std::enable_if_t<
                !(sizeof...(Tail) == 0 &&
                  (std::is_same<std::decay_t<Head>, std::nullptr_t>::value ||
                   std::is_same<std::decay_t<Head>, std::shared_ptr<Contained>>::value ||
                   std::is_base_of<ModuleHolder<Contained>, std::decay_t<Head>>::value))>>
  explicit ModuleHolder(Head&& head, Tail&&... tail)
      : impl_(std::make_shared<Contained>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}

  Contained* operator->() { return get(); }
  const Contained* operator->() const { return get(); }
  Contained& operator*() { return *get(); }
  const Contained& operator*() const { return *get(); }
  /// The module; throws ValueError when the holder is empty.
  Contained* get() const {
    KILN_CHECK(impl_ != nullptr, "accessing an empty module holder (constructed with nullptr); assign a module first");
    return impl_.get();
  }
  const std::shared_ptr<Contained>& ptr() const {
    KILN_CHECK(impl_ != nullptr, "accessing an empty module holder (constructed with nullptr); assign a module first");
    return impl_;
  }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return impl_ != nullptr; }
  /// The same as ->forward(args...).
  template <typename... Args, typename C = Contained>  // C delays the lookup of forward to the call
  auto operator()(Args&&... args) -> decltype(std::declval<C&>().forward(std::forward<Args>(args)...)) {
    return get()->forward(std::forward<Args>(args)...);
  }
  /// Indexing for containers: seq[0].
  template <typename Arg>
  decltype(auto) operator[](Arg&& arg) {
    return (*get())[std::forward<Arg>(arg)];
  }

 protected:
  std::shared_ptr<Contained> impl_;

 private:
  static std::shared_ptr<Contained> default_construct() {
    if constexpr (std::is_default_constructible<Contained>::value) {
      return std::make_shared<Contained>();
    } else {
      static_assert(std::is_default_constructible<Contained>::value,
                    "this module has no default constructor: pass its arguments, or use `= nullptr` for an empty "
                    "holder (e.g. `nn::Linear fc{nullptr};`) and assign it later");
      return nullptr;
    }
  }
};

template <typename M>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<M>& h) {
  return os << static_cast<const Module&>(*h);
}
}  // namespace kiln::nn

/// Defines the holder class Name for NameImpl (KILN_MODULE(Linear) -> class Linear wrapping LinearImpl).
#define KILN_MODULE(Name)                                            \
  class Name : public ::kiln::nn::ModuleHolder<Name##Impl> {         \
   public:                                                           \
    using ::kiln::nn::ModuleHolder<Name##Impl>::ModuleHolder;        \
    using Impl = Name##Impl;                                         \
  }
