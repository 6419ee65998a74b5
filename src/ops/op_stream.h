// The stream an op's kernel runs on: read once by the front end and carried in the kernel's arguments.
#pragma once
#include "kiln/core/device.h"
#include "kiln/cuda/cuda.h"

namespace kiln::ops {

/// For a CUDA device: its current stream (cuda::current_stream), looked up here, in the front end, so that
/// launchers never read the thread-local current stream and a kernel runs where its arguments say. For the
/// CPU: a null Stream, which CPU kernels ignore (so this needs no GPU and works in a CPU-only build).
inline cuda::Stream op_stream(Device device) {
  return device.is_cuda() ? cuda::current_stream(device.index()) : cuda::Stream();
}
}  // namespace kiln::ops
