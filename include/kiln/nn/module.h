// nn::Module: the base of every layer; owns named parameters, buffers and child modules (torch.nn.Module).
#pragma once
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"

namespace kiln::nn {

template <typename Contained>
class ModuleHolder;

namespace detail {
/// The module class behind T: T::ContainedType for a holder (nn::Linear -> LinearImpl), T itself otherwise.
template <typename T, typename = void>
struct contained {
  using type = T;
};
template <typename T>
struct contained<T, std::void_t<typename T::ContainedType>> {
  using type = typename T::ContainedType;
};
template <typename T>
using contained_t = typename contained<T>::type;
}  // namespace detail

/// Ordered (name, tensor) pairs, in registration order (depth first for nested modules).
/// A named parameter or buffer: .first/.second (or a structured binding), or libtorch's .key()/.value().
struct NamedTensor : std::pair<std::string, Tensor> {
  using std::pair<std::string, Tensor>::pair;
  const std::string& key() const { return first; }
  const Tensor& value() const { return second; }
  Tensor& value() { return second; }
};
using NamedTensors = std::vector<NamedTensor>;

/// The base class of all layers, as torch::nn::Module. Subclasses register their parameters, buffers and
/// submodules in their constructor; every traversal (parameters(), state_dict(), to(), ...) follows
/// registration order. Modules are shared: hold them in std::shared_ptr (or a ModuleHolder such as nn::Linear).
class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  /// A module whose name() is `name` (otherwise name() comes from the C++ class name).
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// This module as T (a module class, or a holder such as nn::Linear for its LinearImpl), or nullptr when it is
  /// of another type: libtorch's seq[0]->as<nn::Linear>().
  template <typename T>
  detail::contained_t<T>* as() noexcept {
    return dynamic_cast<detail::contained_t<T>*>(this);
  }
  template <typename T>
  const detail::contained_t<T>* as() const noexcept {
    return dynamic_cast<const detail::contained_t<T>*>(this);
  }

  /// The type name shown by pretty printing and error messages: "Linear", "Sequential", ... By default the
  /// C++ class name without namespaces and without a trailing "Impl".
  virtual std::string name() const;

  // ---- registration ----
  /// Registers t as a parameter. A non-leaf tensor is detached first; requires_grad is set as given.
  /// An undefined t registers a placeholder that traversals skip (like register_parameter('bias', None)).
  /// Throws ValueError on an empty name, a name with '.', or a name already used in this module.
  Tensor& register_parameter(std::string name, Tensor t, bool requires_grad = true);
  /// Registers a tensor that is part of the state (state_dict, to()) but is not trained (running stats).
  Tensor& register_buffer(std::string name, Tensor t);
  /// Registers a child module; returns it so that `fc = register_module("fc", std::make_shared<...>())` reads well.
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of<Module, M>::value, "register_module needs a type derived from nn::Module");
    register_module_impl(std::move(name), module);
    return module;
  }
  /// Holder overload: register_module("fc", nn::Linear(3, 4)).
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, ModuleHolder<M> holder) {
    return register_module(std::move(name), holder.ptr());
  }
  /// Replaces an already registered child (used to swap layers); returns it.
  template <typename M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> module) {
    replace_module_impl(name, module);
    return module;
  }

  // ---- traversal ----
  /// Trainable tensors, each once even when shared between submodules (tied weights).
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Dotted names ("0.weight", "encoder.fc.bias") in registration order, shared tensors listed once.
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  /// Direct submodules.
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// This module (when include_self and it is owned by a shared_ptr) and all submodules, depth first.
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true) const;
  /// As modules(), with dotted names; the module itself is named "".
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(bool include_self = true) const;
  /// Calls fn on every submodule (depth first) and then on this module, as torch's Module.apply.
  void apply(const std::function<void(Module&)>& fn);

  // ---- mode ----
  /// Sets training mode on this module and all submodules (Dropout and friends read it).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- devices, dtypes, gradients ----
  /// Moves every parameter, buffer and gradient to `device` in place: each keeps its TensorImpl, so
  /// handles held elsewhere (an optimizer, a layer's `weight` member) see the moved data.
  void to(Device device, bool non_blocking = false);
  /// Casts floating-point parameters, buffers and gradients to `dtype` in place (integer buffers stay).
  /// Throws DTypeError for a non-floating dtype.
  void to(DType dtype);
  void to(Device device, DType dtype, bool non_blocking = false);
  /// Lays out every 4-D floating parameter and buffer (convolution weights) in `format`, in place, as Python's
  /// model.to(memory_format=torch.channels_last): with MemoryFormat::ChannelsLast the convolutions, batch norms
  /// and pools of a CNN run on their NHWC kernels (faster on oneDNN and on tensor cores). Convert the model before
  /// making its optimizer, whose state takes each parameter's layout. Throws ValueError for Preserve.
  void to(MemoryFormat format);
  /// Clears gradients: to undefined (the default, as torch) or to zeros.
  void zero_grad(bool set_to_none = true);

  // ---- copying ----
  /// A deep copy, as libtorch's clone() and Python's copy.deepcopy(model): a new module of the same type and
  /// settings whose parameters and buffers are copies of this one's values (same devices, dtypes and
  /// requires_grad; no gradients), with cloned children and the same training modes. Every built-in layer and
  /// container can; a module of your own can once it overrides clone_empty(). Throws NotImplemented naming the
  /// module that cannot, and ValueError for a parameter shared by two submodules (tied weights).
  std::shared_ptr<Module> clone() const;
  /// A new module of this type with the same settings and fresh parameters, buffers and children, whose values
  /// clone() then overwrites: `return std::make_shared<MyNet>(hidden_size);` (KILN_CLONE_EMPTY writes the
  /// override). The default throws NotImplemented.
  virtual std::shared_ptr<Module> clone_empty() const;

  // ---- serialisation ----
  /// Parameters and buffers under their dotted names, detached but sharing storage with the module.
  StateDict state_dict() const;
  /// Copies values into the existing parameters and buffers in place (converting device and dtype). With
  /// strict, any missing or unexpected key is an error; a shape mismatch always is. All problems are
  /// reported together in one ValueError, and nothing is copied when it throws.
  void load_state_dict(const StateDict& state, bool strict = true);

  // ---- printing ----
  /// The layer's settings for printing, e.g. "in_features=10, out_features=64, bias=true".
  virtual std::string extra_repr() const { return ""; }
  /// Prints this module alone on one line; the default is "Name(extra_repr)". operator<< adds the children.
  virtual void pretty_print(std::ostream& os) const;

 private:
  void register_module_impl(std::string name, std::shared_ptr<Module> module);
  void replace_module_impl(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* what) const;
  void collect(NamedTensors& out, const std::string& prefix, bool params, bool recurse) const;
  void convert(const std::function<Tensor(const Tensor&)>& fn);

  std::string name_;
  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// Declares clone_empty() in a module class: KILN_CLONE_EMPTY(std::make_shared<LinearImpl>(in_features, ...)).
#define KILN_CLONE_EMPTY(...) \
  std::shared_ptr<::kiln::nn::Module> clone_empty() const override { return __VA_ARGS__; }

/// PyTorch-style summary: "Sequential(\n  (0): Linear(in_features=10, out_features=64, bias=true)\n ...)".
std::ostream& operator<<(std::ostream& os, const Module& m);
inline std::ostream& operator<<(std::ostream& os, const std::shared_ptr<Module>& m) { return os << *m; }

/// A layer-by-layer table of parameter counts and, when made with an input shape, output shapes (like
/// torchinfo / keras' model.summary()).
struct ModuleSummary {
  struct Row {
    std::string name;     ///< dotted path ("0", "encoder.fc"); "" for the root
    std::string type;     ///< Module::name()
    int64_t params = 0;   ///< parameters registered directly on this module (not its children)
    int64_t trainable = 0;
    int depth = 0;
    /// The shape of this module's output in the traced forward (empty when untraced or not reached: a module
    /// called outside a Sequential or a block that reports its children).
    std::vector<Shape> output_shapes;
  };
  std::vector<Row> rows;
  int64_t total_params = 0;       ///< every parameter element, shared tensors counted once
  int64_t trainable_params = 0;   ///< those with requires_grad
  Shape input_shape;              ///< the traced input's shape (empty: a parameter-only summary)
  int64_t non_trainable_params() const { return total_params - trainable_params; }
  /// The table as text (with an "Output Shape" column when traced), ending with the totals.
  std::string str() const;
};
/// Counts the parameters of m and of each submodule.
ModuleSummary summary(const Module& m);
/// As summary(m), and runs `forward` once on zeros of input_shape (batch dim included) on m's device and dtype,
/// in eval mode without gradients, recording each module's output shape: the root's, every Sequential
/// child's, and the children that library blocks (nn::ResidualBlock) report. Training modes are restored
/// afterwards, and running statistics are untouched. Errors from forward (a wrong input shape) propagate.
ModuleSummary summary(Module& m, const Shape& input_shape, const std::function<Tensor(const Tensor&)>& forward);
/// summary(*model, input_shape, model->forward) for a holder such as nn::Sequential.
template <typename M>
ModuleSummary summary(const ModuleHolder<M>& model, const Shape& input_shape) {
  auto p = model.ptr();
  return summary(*p, input_shape, [p](const Tensor& x) { return p->forward(x); });
}
namespace detail {
/// Records y's shape as m's output for a summary being traced on this thread; does nothing otherwise.
/// Containers and blocks call it after each child's forward.
void note_output_shape(const Module& m, const Tensor& y);
}  // namespace detail
inline std::ostream& operator<<(std::ostream& os, const ModuleSummary& s) { return os << s.str(); }
}  // namespace kiln::nn
