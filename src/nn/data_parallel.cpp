// nn::DataParallel: scatter along dim 0, refresh persistent replicas, run them on one thread per device, gather.
#include "kiln/nn/data_parallel.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

#include "kiln/amp/autocast.h"
#include "kiln/autograd/autograd.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/index.h"

namespace kiln::nn {
namespace {

std::string visible_devices_note() {
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  return v != nullptr ? std::string(" (CUDA_VISIBLE_DEVICES='") + v + "')"
                      : std::string(" (CUDA_VISIBLE_DEVICES is unset)");
}

// A CUDA device with its index (the current device for a bare "cuda"), checked against the visible GPUs.
Device checked_device(Device d, const std::string& what) {
  if (!d.is_cuda()) return d;
  const int count = cuda::device_count();
  KILN_CHECK_DEVICE(count > 0, "DataParallel: ", what, " is ", d, " but no GPU is usable: ", cuda::unavailable_reason(),
                    visible_devices_note());
  if (!d.has_index()) d = Device(DeviceType::CUDA, cuda::current_device());
  KILN_CHECK_DEVICE(d.index() < count, "DataParallel: ", what, " is ", d, " but only ", count,
                    " CUDA device(s) are visible", visible_devices_note(), "; valid ids are cuda:0..cuda:", count - 1);
  return d;
}

std::string device_list(const std::vector<Device>& devices) {
  std::string s;
  for (const Device& d : devices) s += (s.empty() ? "" : ", ") + d.str();
  return s;
}

// The replica's parameters or buffers must match the primary's one for one, by name and shape.
void check_same_layout(const NamedTensors& primary, const NamedTensors& replica, const char* what) {
  KILN_CHECK(primary.size() == replica.size(), "DataParallel: make_replica built a module with ", replica.size(), " ",
             what, " but the wrapped module has ", primary.size(), "; it must build the same architecture");
  for (size_t j = 0; j < primary.size(); ++j)
    KILN_CHECK(primary[j].first == replica[j].first && primary[j].second.sizes() == replica[j].second.sizes(),
               "DataParallel: make_replica built a module whose ", what, " '", replica[j].first, "' ",
               replica[j].second.shape_str(), " differs from the wrapped module's '", primary[j].first, "' ",
               primary[j].second.shape_str(), "; it must build the same architecture");
}
}  // namespace

// Shared with the replicas' gradient hooks. The engine runs one backward on one thread, but a lock keeps the
// primary's gradient safe should two backward passes through replicas ever run at once.
struct DataParallelImpl::GradientRouting {
  std::mutex mu;
};

std::vector<Device> data_parallel_devices(std::vector<Device> device_ids) {
  if (device_ids.empty()) {
    const int count = cuda::device_count();
    if (count == 0) return {Device(DeviceType::CPU)};
    for (int i = 0; i < count; ++i) device_ids.emplace_back(DeviceType::CUDA, i);
  }
  for (size_t i = 0; i < device_ids.size(); ++i) {
    device_ids[i] = checked_device(device_ids[i], "device_ids[" + std::to_string(i) + "]");
    KILN_CHECK_DEVICE(device_ids[i].type() == device_ids[0].type(), "DataParallel: device_ids mixes ", device_ids[0],
                      " and ", device_ids[i], "; list only GPUs or only CPUs");
  }
  return device_ids;
}

DataParallelImpl::DataParallelImpl(std::shared_ptr<Module> module, ReplicaForward forward, ReplicaFactory make_replica,
                                   std::vector<Device> device_ids, std::optional<Device> output_device)
    : module_(std::move(module)),
      forward_(std::move(forward)),
      devices_(data_parallel_devices(std::move(device_ids))),
      routing_(std::make_shared<GradientRouting>()) {
  KILN_CHECK(module_ != nullptr, "DataParallel: the module is null");
  KILN_CHECK(forward_ != nullptr, "DataParallel: the forward function is null");
  output_device_ = checked_device(output_device.value_or(devices_[0]), "output_device");
  check_placement();
  register_module("module", module_);

  replicas_.push_back(module_);
  const NamedTensors params = module_->named_parameters(), buffers = module_->named_buffers();
  for (size_t i = 1; i < devices_.size(); ++i) {
    // Without a factory the replica is the module's clone() (NotImplemented names a module that cannot clone).
    std::shared_ptr<Module> r = make_replica ? make_replica() : module_->clone();
    KILN_CHECK(r != nullptr, "DataParallel: make_replica returned a null module");
    KILN_CHECK(r != module_, "DataParallel: make_replica returned the wrapped module itself; it must build a new one");
    const NamedTensors rparams = r->named_parameters();
    check_same_layout(params, rparams, "parameters");
    check_same_layout(buffers, r->named_buffers(), "buffers");
    r->to(devices_[i]);
    // Each replica gradient is moved into the primary's as soon as it is accumulated: the optimizer sees only
    // the primary, and a replica never carries a gradient from one backward into the next.
    for (size_t j = 0; j < params.size(); ++j) {
      const Tensor& rp = rparams[j].second;
      rp.requires_grad_(true);
      autograd::register_post_accumulate_grad_hook(
          rp, [primary = params[j].second, routing = routing_](Tensor& leaf) mutable {
            Tensor& g = leaf.mutable_grad();
            if (!g.defined()) return;
            std::lock_guard<std::mutex> lock(routing->mu);
            NoGradGuard no_grad;
            Tensor moved = g.to(primary.device());
            Tensor& pg = primary.mutable_grad();
            if (pg.defined())
              pg.add_(moved);
            else
              pg = moved;
            g = Tensor();
          });
      rp.requires_grad_(params[j].second.requires_grad());
    }
    replicas_.push_back(std::move(r));
  }
}

const std::shared_ptr<Module>& DataParallelImpl::replica(size_t i) const {
  KILN_CHECK_INDEX(i < replicas_.size(), "DataParallel: replica ", i, " of ", replicas_.size());
  return replicas_[i];
}

void DataParallelImpl::check_placement() const {
  for (const auto& group : {module_->named_parameters(), module_->named_buffers()})
    for (const auto& [name, t] : group)
      KILN_CHECK_DEVICE(t.device() == devices_[0], "DataParallel: module's '", name, "' is on ", t.device(),
                        " but it must be on device_ids[0] = ", devices_[0], ": call module->to(", devices_[0],
                        ") before wrapping it (and keep it there)");
}

// PyTorch broadcasts the primary's parameters and buffers to the replicas in every forward; so does this, into
// the persistent replicas (a device-to-device copy, no allocation).
void DataParallelImpl::refresh_replicas(size_t count) {
  NoGradGuard no_grad;
  const NamedTensors params = module_->named_parameters(), buffers = module_->named_buffers();
  for (size_t i = 1; i < count; ++i) {
    Module& r = *replicas_[i];
    r.train(module_->is_training());
    // The module was cast after wrapping (module->to(kFloat64)): cast the replica the same way, once.
    if (!params.empty() && r.named_parameters()[0].second.dtype() != params[0].second.dtype())
      r.to(params[0].second.dtype());
    const NamedTensors rparams = r.named_parameters(), rbuffers = r.named_buffers();
    for (size_t j = 0; j < params.size() + buffers.size(); ++j) {
      const bool is_param = j < params.size();
      const NamedTensor& src = is_param ? params[j] : buffers[j - params.size()];
      const NamedTensor& dst = is_param ? rparams[j] : rbuffers[j - params.size()];
      KILN_CHECK_DTYPE(dst.second.dtype() == src.second.dtype(), "DataParallel: replica ", i, "'s '", dst.first,
                       "' is ", dst.second.dtype(), " but the module's is ", src.second.dtype());
      dst.second.copy_(src.second);
      if (is_param && dst.second.requires_grad() != src.second.requires_grad())
        dst.second.requires_grad_(src.second.requires_grad());
    }
  }
}

Tensor DataParallelImpl::forward(const Tensor& x) {
  KILN_CHECK(x.defined(), "DataParallel: the input is an undefined tensor");
  KILN_CHECK_SHAPE(x.dim() >= 1, "DataParallel splits its input along dim 0, but got a 0-dimensional tensor");
  bool known = x.device().is_cpu() || x.device() == output_device_;
  for (const Device& d : devices_) known = known || x.device() == d;
  KILN_CHECK_DEVICE(known, "DataParallel: the input is on ", x.device(),
                    ", which is neither the CPU nor one of its devices (", device_list(devices_), ")");
  check_placement();
  const auto n = static_cast<int64_t>(devices_.size());
  if (n == 1) return forward_(*module_, x.to(devices_[0]));

  // torch.chunk's rule: chunks of ceil(B / n) rows, so 7 rows over 3 devices are 3, 3, 1 and 4 rows are 2, 2.
  const int64_t rows = x.size(0);
  const int64_t chunk = std::max<int64_t>(1, (rows + n - 1) / n);
  const auto count = static_cast<size_t>(std::max<int64_t>(1, (rows + chunk - 1) / chunk));
  refresh_replicas(count);
  std::vector<Tensor> inputs(count), outputs(count);
  for (size_t i = 0; i < count; ++i) {
    const int64_t begin = static_cast<int64_t>(i) * chunk;
    inputs[i] = x.narrow(0, begin, std::min(chunk, rows - begin)).to(devices_[i]);
  }

  // One thread per device, the primary's on the caller's thread; each runs under its device and the caller's
  // grad mode and autocast state (thread-local settings a new thread would not inherit; PyTorch's parallel_apply
  // re-enters autocast the same way).
  // A new thread would start on each device's default stream; the caller's current streams (a StreamGuard's,
  // where the chunks were copied) carry over instead, as PyTorch's parallel_apply passes them.
  std::vector<std::exception_ptr> errors(count);
  std::vector<std::optional<cuda::Stream>> streams(count);
  for (size_t i = 0; i < count; ++i)
    if (devices_[i].is_cuda()) streams[i] = cuda::current_stream(devices_[i].index());
  const bool grad_enabled = is_grad_enabled();
  const DeviceType autocast_type = devices_[0].type();
  const bool autocast_on = amp::is_autocast_enabled(autocast_type);
  const DType autocast_dtype = amp::get_autocast_dtype(autocast_type);
  auto run_replica = [&](size_t i) {
    try {
      AutoGradMode mode(grad_enabled);
      amp::Autocast autocast(autocast_type, autocast_dtype, autocast_on);
      std::optional<cuda::DeviceGuard> device_guard;
      std::optional<cuda::StreamGuard> stream_guard;
      if (streams[i]) {
        device_guard.emplace(devices_[i]);
        stream_guard.emplace(*streams[i]);
      }
      outputs[i] = forward_(*replicas_[i], inputs[i]);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(count - 1);
  for (size_t i = 1; i < count; ++i) threads.emplace_back(run_replica, i);
  run_replica(0);
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);

  for (size_t i = 0; i < count; ++i) {
    KILN_CHECK_SHAPE(outputs[i].defined() && outputs[i].dim() >= 1,
                     "DataParallel gathers the replicas' outputs along "
                     "dim 0, but the replica on ",
                     devices_[i], " returned ",
                     outputs[i].defined() ? "a 0-dimensional tensor" : "an undefined tensor");
    outputs[i] = outputs[i].to(output_device_);
  }
  return cat(outputs, 0);
}
}  // namespace kiln::nn
