// nn::DataParallel: one process, several devices; the batch is split along dim 0 over persistent replicas.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// Builds a fresh module with the wrapped module's architecture (its values are overwritten before use).
using ReplicaFactory = std::function<std::shared_ptr<Module>()>;
/// Runs one replica's forward on its share of the batch.
using ReplicaForward = std::function<Tensor(Module&, const Tensor&)>;

/// torch.nn.DataParallel: the wrapped module (the primary, on device_ids[0]) plus one persistent replica per
/// further device, made once by the module's clone() (or by make_replica, for a module of your own that has no
/// clone_empty()); libtorch instead re-clones the module in every forward.
///
/// forward(x): x is cut along dim 0 as torch.chunk(x, n) cuts it (chunks of ceil(B / n) rows, so a batch of
/// fewer rows than devices, or one that divides badly, uses fewer devices, as PyTorch); each chunk is copied
/// to its device; the replicas' parameters and buffers are refreshed from the primary's (so any optimizer,
/// load_state_dict or manual edit of the primary is seen, as PyTorch's per-forward broadcast); the replicas
/// run concurrently, one thread per device, each under its device and with the caller's grad mode; the
/// outputs are concatenated on output_device. Autograd carries the gradient back through the copies; each
/// replica parameter's gradient is added to the primary's as soon as it is accumulated, and the replica's is
/// cleared, so after backward() the primary alone holds the gradient of the whole batch. Those hooks are not
/// graph edges: autograd::grad() and create_graph see the primary's share only (use backward()). Buffer
/// updates made in forward (BatchNorm's running statistics) are kept from the primary's chunk only, as PyTorch.
/// Dropout draws each replica's mask from its device's generator (masks differ from single-device training).
/// With one device it is a thin wrapper: forward(x) is module's forward on x moved to that device.
///
/// state_dict() keys carry the "module." prefix, as PyTorch's; save module()->state_dict() for a checkpoint
/// that loads without the wrapper (kiln train and train::MirroredStrategy do). CPU device lists
/// ({cpu, cpu}) run the same code on threads.
class DataParallelImpl : public Module {
 public:
  /// device_ids: the devices (all CUDA or all CPU; empty: every visible GPU, or the CPU when there is none).
  /// The module must already sit on device_ids[0]. output_device: where outputs are gathered (default
  /// device_ids[0]). make_replica null: replicas are module->clone(). Throws DeviceError for a device out of
  /// range or a module elsewhere, ValueError when a replica's parameters or buffers differ from the module's,
  /// NotImplemented when the module cannot clone itself and no make_replica is given.
  DataParallelImpl(std::shared_ptr<Module> module, ReplicaForward forward, ReplicaFactory make_replica,
                   std::vector<Device> device_ids = {}, std::optional<Device> output_device = std::nullopt);

  /// From a holder with forward(Tensor), as PyTorch: DataParallel(net, {Device("cuda:0"), Device("cuda:1")}).
  template <typename Holder, typename = std::enable_if_t<detail::is_module_holder<Holder>::value>>
  explicit DataParallelImpl(Holder module, std::vector<Device> device_ids = {},
                            std::optional<Device> output_device = std::nullopt)
      : DataParallelImpl(module.ptr(), forward_of<typename Holder::ContainedType>(), nullptr, std::move(device_ids),
                         output_device) {}

  /// As above, with a function returning a new holder (or shared_ptr) of that type for each replica, for a module
  /// that cannot clone itself: DataParallel(net, {Device("cuda:0"), Device("cuda:1")}, [] { return make_net(); }).
  template <typename Holder, typename Factory,
            typename = std::enable_if_t<detail::is_module_holder<Holder>::value && std::is_invocable<Factory>::value>>
  DataParallelImpl(Holder module, std::vector<Device> device_ids, Factory make_replica,
                   std::optional<Device> output_device = std::nullopt)
      : DataParallelImpl(
            module.ptr(), forward_of<typename Holder::ContainedType>(),
            [f = std::move(make_replica)]() -> std::shared_ptr<Module> { return Holder(f()).ptr(); },
            std::move(device_ids), output_device) {}

  /// Requires x with at least one dimension, on the CPU or on one of device_ids (DeviceError otherwise).
  Tensor forward(const Tensor& x);

  /// The wrapped module (the primary replica, on device_ids[0]).
  const std::shared_ptr<Module>& module() const { return module_; }
  const std::vector<Device>& device_ids() const { return devices_; }
  Device output_device() const { return output_device_; }
  /// The replica on device_ids[i] (i = 0: the module itself), for tests and inspection.
  const std::shared_ptr<Module>& replica(size_t i) const;
  std::string name() const override { return "DataParallel"; }

  template <typename Impl>
  static ReplicaForward forward_of() {
    return [](Module& m, const Tensor& x) -> Tensor { return static_cast<Impl&>(m).forward(x); };
  }

 private:
  struct GradientRouting;
  void check_placement() const;
  void refresh_replicas(size_t count);

  std::shared_ptr<Module> module_;
  ReplicaForward forward_;
  std::vector<Device> devices_;
  Device output_device_;
  std::vector<std::shared_ptr<Module>> replicas_;  // [0] is module_
  std::shared_ptr<GradientRouting> routing_;
};

/// The holder: nn::DataParallel dp(net, {Device("cuda:0"), Device("cuda:1")}); dp(x).
class DataParallel : public ModuleHolder<DataParallelImpl> {
 public:
  using Impl = DataParallelImpl;
  /* implicit */ DataParallel(std::nullptr_t) : ModuleHolder(nullptr) {}
  /* implicit */ DataParallel(std::shared_ptr<DataParallelImpl> impl) : ModuleHolder(std::move(impl)) {}
  template <typename Holder, typename = std::enable_if_t<detail::is_module_holder<Holder>::value>>
  explicit DataParallel(Holder module, std::vector<Device> device_ids = {},
                        std::optional<Device> output_device = std::nullopt)
      : ModuleHolder(std::make_shared<DataParallelImpl>(std::move(module), std::move(device_ids), output_device)) {}
  template <typename Holder, typename Factory,
            typename = std::enable_if_t<detail::is_module_holder<Holder>::value && std::is_invocable<Factory>::value>>
  DataParallel(Holder module, std::vector<Device> device_ids, Factory make_replica,
               std::optional<Device> output_device = std::nullopt)
      : ModuleHolder(std::make_shared<DataParallelImpl>(std::move(module), std::move(device_ids),
                                                        std::move(make_replica), output_device)) {}
};

/// The devices a DataParallel runs on: device_ids with a bare "cuda" resolved to the current GPU, each checked
/// (DeviceError for a GPU that is not visible, naming CUDA_VISIBLE_DEVICES, or CPUs and GPUs mixed); empty:
/// every visible GPU, or {cpu} without one.
std::vector<Device> data_parallel_devices(std::vector<Device> device_ids);
}  // namespace kiln::nn
