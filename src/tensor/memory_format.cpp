// Memory formats: their names, their strides, and which one a tensor is in.
#include "kiln/tensor/memory_format.h"

#include <algorithm>

#include "kiln/core/error.h"
#include "kiln/tensor/tensor.h"
#include "tensor/layout.h"

namespace kiln {

const char* memory_format_name(MemoryFormat f) {
  switch (f) {
    case MemoryFormat::Contiguous: return "contiguous_format";
    case MemoryFormat::ChannelsLast: return "channels_last";
    case MemoryFormat::Preserve: return "preserve_format";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, MemoryFormat f) { return os << memory_format_name(f); }

std::vector<int64_t> strides_for(const std::vector<int64_t>& sizes, MemoryFormat f) {
  KILN_CHECK(f != MemoryFormat::Preserve, "strides_for: preserve_format has no strides of its own");
  if (f == MemoryFormat::Contiguous) return contiguous_strides(sizes);
  KILN_CHECK_SHAPE(sizes.size() == 4, "channels_last needs a 4-D tensor [N, C, H, W], got shape ",
                   shape_to_string(sizes));
  // Innermost first: C, then W, H, N (size-0 dims count as 1, as in contiguous_strides).
  std::vector<int64_t> st(4);
  int64_t acc = 1;
  for (int d : {1, 3, 2, 0}) {
    st[d] = acc;
    acc *= std::max<int64_t>(sizes[d], 1);
  }
  return st;
}

bool Tensor::is_contiguous(MemoryFormat f) const {
  if (f != MemoryFormat::ChannelsLast) return is_contiguous();
  if (dim() != 4) return false;
  int64_t expected = 1;
  for (int d : {1, 3, 2, 0}) {
    if (size(d) == 1) continue;
    if (stride(d) != expected) return false;
    expected *= size(d);
  }
  return true;
}

MemoryFormat Tensor::suggest_memory_format() const {
  if (dim() != 4 || !is_contiguous(MemoryFormat::ChannelsLast)) return MemoryFormat::Contiguous;
  // Both formats fit when C == 1 or H == W == 1; then the strides of the size-1 dims tell which one made it.
  if (!is_contiguous() || strides() == strides_for(sizes(), MemoryFormat::ChannelsLast)) {
    return strides() == contiguous_strides(sizes()) ? MemoryFormat::Contiguous : MemoryFormat::ChannelsLast;
  }
  return MemoryFormat::Contiguous;
}
}  // namespace kiln
