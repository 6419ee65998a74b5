// MemoryFormat: the order in which a 4-D [N, C, H, W] tensor's elements lie in memory, as PyTorch's
// torch.contiguous_format / torch.channels_last / torch.preserve_format.
#pragma once
#include <cstdint>
#include <ostream>
#include <vector>

namespace kiln {

/// Contiguous: row-major in the logical order (NCHW for images). ChannelsLast: a 4-D tensor whose channels are
/// innermost (NHWC in memory, still indexed [n][c][h][w]); convolutions, batch norm and pooling then run on their
/// NHWC kernels, which are faster for most CNNs on oneDNN and on tensor cores. Preserve: keep the input's format
/// (what clone() and elementwise results do).
enum class MemoryFormat : int8_t { Contiguous, ChannelsLast, Preserve };

/// "contiguous_format", "channels_last", "preserve_format" (PyTorch's names).
const char* memory_format_name(MemoryFormat f);
std::ostream& operator<<(std::ostream& os, MemoryFormat f);

/// The strides of a dense tensor of `sizes` in format `f` (ChannelsLast needs 4 dims; Preserve is refused).
std::vector<int64_t> strides_for(const std::vector<int64_t>& sizes, MemoryFormat f);
}  // namespace kiln
