// CUDA graphs: a sequence of kernels captured once and replayed with one launch, as torch.cuda.CUDAGraph.
// Host-safe; in a CPU-only build every call throws DeviceError("kiln was built without CUDA").
#pragma once
#include <cstdint>
#include <functional>

namespace kiln::cuda {

/// A captured graph. capture() runs `work` once on the host while recording, instead of running, the kernels it
/// queues on the device; replay() runs them again, at the same addresses, on the current stream. Memory that
/// `work` allocates comes from the graph's private pool and stays reserved until reset(): tensors made inside it
/// (outputs, gradients) keep their addresses, and each replay rewrites them. Inputs must be copied into tensors
/// that existed at capture time; values the host computes during capture (a Python-style scalar, a learning rate
/// passed as a kernel argument) are frozen into the graph.
///
/// Refused inside a capture, with an error naming the cause: any host wait for the GPU (.item(), .cpu(), printing
/// a GPU tensor), random number generation on the GPU, record_stream, and kiln's optimizers outside
/// train::GraphStep (whose learning rate and step count live in device memory for replays).
class CUDAGraph {
 public:
  CUDAGraph();
  ~CUDAGraph();
  CUDAGraph(const CUDAGraph&) = delete;
  CUDAGraph& operator=(const CUDAGraph&) = delete;

  /// Captures `work` on a side stream of `device` (-1: the current device) that first waits for the current
  /// stream, like `with torch.cuda.graph(g):`. Throws if this graph holds a capture already (reset() first),
  /// or if the capture failed (the work threw, or CUDA invalidated the capture); nothing is kept then.
  void capture(const std::function<void()>& work, int device = -1);
  /// Runs the captured kernels on the device's current stream, after the work queued there before.
  void replay();
  /// Frees the graph and gives its memory pool back (waiting for the device, which may still be replaying).
  void reset();
  bool captured() const { return exec_ != nullptr; }
  /// Kernel launches and other operations in the captured graph (its node count).
  int64_t num_nodes() const { return nodes_; }

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
  int device_ = -1;
  uint64_t pool_ = 0;
  int64_t nodes_ = 0;
};
}  // namespace kiln::cuda
