// Front end of the copy family: copy_ (any devices, dtypes, broadcasting), to, contiguous, clone.
#include "kiln/tensor/ops/copy.h"

#include <algorithm>
#include <numeric>

#include "core/backend.h"
#include "kiln/autograd/autograd.h"
#include "kiln/autograd/node.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/copy/copy_kernels.h"
#include "tensor/layout.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(copy_stub);
KILN_DEFINE_DISPATCH(fill_stub);
}  // namespace ops

namespace {
// Same-device copy with conversion and broadcasting, no autograd.
void copy_same_device(const Tensor& dst, const Tensor& src) {
  auto it = ops::make_elementwise_iter(dst, {src}, "copy_");
  ops::copy_stub(dst.device().type(), it);
}

Tensor empty_on(const Shape& sizes, DType dtype, Device device, bool pinned = false) {
  return make_tensor(sizes, dtype, device, pinned);
}

enum class Overlap { None, Exact, Partial, Unknown };

// How dst and src (same device) share memory, by PyTorch's rule (get_overlap_status): two dense tensors overlap
// partially when their byte ranges intersect; interleaved strided views are too hard to decide cheaply.
Overlap overlap(const Tensor& dst, const Tensor& src) {
  if (dst.is_same(src)) return Overlap::Exact;
  if (dst.numel() == 0 || src.numel() == 0 || dst.storage() != src.storage()) return Overlap::None;
  if (dst.data_ptr() == src.data_ptr() && dst.sizes() == src.sizes() && dst.strides() == src.strides() &&
      dst.dtype() == src.dtype())
    return Overlap::Exact;
  auto range = [](const Tensor& t) {  // [first, last] byte touched
    const char* p = static_cast<const char*>(t.data_ptr());
    int64_t lo = 0, hi = 0;
    for (size_t d = 0; d < t.sizes().size(); ++d) {
      const int64_t span = (t.sizes()[d] - 1) * t.strides()[d];
      (span < 0 ? lo : hi) += span;
    }
    const int64_t es = static_cast<int64_t>(t.element_size());
    return std::make_pair(p + lo * es, p + hi * es + es - 1);
  };
  const auto a = range(dst), b = range(src);
  if (a.second < b.first || b.second < a.first) return Overlap::None;
  if (is_non_overlapping_and_dense(dst) && is_non_overlapping_and_dense(src)) return Overlap::Partial;
  return Overlap::Unknown;
}

// Copies raw bytes between two dense tensors of the same dtype and numel on different devices.
void copy_dense_across(const Tensor& dst, const Tensor& src, bool non_blocking) {
  bool async = non_blocking && ((dst.is_cpu() && dst.is_pinned()) || (src.is_cpu() && src.is_pinned()) ||
                                (dst.is_cuda() && src.is_cuda()));
  backend(DeviceType::CUDA).copy_bytes(dst.data_ptr(), dst.device(), src.data_ptr(), src.device(), dst.nbytes(), async);
}

void copy_impl(const Tensor& dst, const Tensor& src, bool non_blocking) {
  if (dst.numel() == 0) return;
  if (dst.device() == src.device()) {
    switch (overlap(dst, src)) {
      case Overlap::Exact:  // copy_ onto itself: nothing to do
        return;
      case Overlap::Partial:
        throw Error(
            "copy_: unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
            "single memory location (the source partially overlaps the destination, so elements would be read "
            "after being written, in an undefined order). Please clone() the source before copying.");
      case Overlap::Unknown: {  // strided views sharing memory: read everything before writing anything
        NoGradGuard no_grad;
        copy_same_device(dst, clone(src));
        return;
      }
      case Overlap::None:
        break;
    }
    copy_same_device(dst, src);
    return;
  }
  // Across devices: convert and lay out as dst on the source side, move dense bytes, then lay out on the
  // destination side when dst is not dense. A channels-last dst takes its bytes as they are.
  const MemoryFormat format = dst.suggest_memory_format();
  const Shape dense = strides_for(dst.sizes(), format);
  Tensor s = src;
  if (s.dtype() != dst.dtype() || s.sizes() != dst.sizes() || s.strides() != dense) {
    Tensor tmp = make_tensor(dst.sizes(), dst.dtype(), src.device(), format);
    copy_same_device(tmp, src);
    s = tmp;
  }
  if (dst.strides() == dense) {
    copy_dense_across(dst, s, non_blocking);
  } else {
    Tensor tmp = make_tensor(dst.sizes(), dst.dtype(), dst.device(), format);
    copy_dense_across(tmp, s, false);
    copy_same_device(dst, tmp);
  }
}
}  // namespace

const Tensor& copy_(const Tensor& dst, const Tensor& src, bool non_blocking) {
  KILN_CHECK(dst.defined() && src.defined(), "copy_: undefined tensor");
  Shape target = dst.sizes();
  // src must broadcast to dst's shape; make_elementwise_iter checks on the same-device path.
  if (src.device() != dst.device()) {
    KILN_CHECK_SHAPE(src.numel() == dst.numel() || src.numel() == 1 || src.dim() <= dst.dim(),
                     "copy_: source of shape ", src.shape_str(), " does not broadcast to ", dst.shape_str());
  }
  bool track = autograd::needs_grad({&dst, &src});
  autograd::check_inplace(dst, "copy_", track);
  if (src.device() != dst.device() && src.sizes() != dst.sizes()) {
    // Broadcast src across devices by expanding on the source side first.
    Tensor tmp = empty_on(target, src.dtype(), src.device());
    copy_same_device(tmp, src);
    copy_impl(dst, tmp, non_blocking);
  } else {
    copy_impl(dst, src, non_blocking);
  }
  if (track) {
    Shape src_shape = src.sizes();
    DType src_dtype = src.dtype();
    Device src_device = src.device();
    // dst's old value is overwritten entirely: its gradient is zero; src gets grad summed to its shape.
    autograd::record("CopyBackwards", dst, {dst, src},
                     [src_shape, src_dtype, src_device](const autograd::TensorList& g, const std::vector<bool>& need) {
                       autograd::TensorList out(2);
                       if (need[0]) out[0] = zeros_like(g[0]);
                       if (need[1]) out[1] = to(sum_to(g[0], src_shape), src_device, src_dtype);
                       return out;
                     });
  }
  return dst;
}

Tensor to(const Tensor& t, Device device, DType dtype, bool non_blocking, bool copy) {
  if (device.is_cuda()) device = resolve_device(device);
  if (!copy && t.device() == device && t.dtype() == dtype) return t;
  Tensor out = make_tensor(t.sizes(), dtype, device, t.suggest_memory_format());
  copy_impl(out, t, non_blocking);
  if (autograd::needs_grad({&t})) {
    Device src_device = t.device();
    DType src_dtype = t.dtype();
    autograd::record("ToCopyBackward0", out, {t}, [src_device, src_dtype](const autograd::TensorList& g,
                                                                         const std::vector<bool>&) {
      return autograd::TensorList{to(g[0], src_device, src_dtype)};
    });
  }
  return out;
}

namespace {
// A copy of t laid out in format f, recorded as a clone (its gradient passes through).
Tensor copy_in_format(const Tensor& t, MemoryFormat f) {
  KILN_CHECK(t.defined(), "contiguous: undefined tensor");
  Tensor out = make_tensor(t.sizes(), t.dtype(), t.device(), f);
  copy_impl(out, t, false);
  if (autograd::needs_grad({&t}))
    autograd::record("CloneBackward0", out, {t}, [](const autograd::TensorList& g, const std::vector<bool>&) {
      return autograd::TensorList{g[0]};
    });
  return out;
}
}  // namespace

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : copy_in_format(t, MemoryFormat::Contiguous); }

Tensor contiguous(const Tensor& t, MemoryFormat f) {
  switch (f) {
    case MemoryFormat::Preserve: return t;
    case MemoryFormat::Contiguous: return contiguous(t);
    case MemoryFormat::ChannelsLast:
      KILN_CHECK_SHAPE(t.dim() == 4, "contiguous(channels_last): expected a 4-D tensor [N, C, H, W], got shape ",
                       t.shape_str(), "; channels_last is for images (use it on the input of a Conv2d)");
      return t.suggest_memory_format() == f ? t : copy_in_format(t, f);
  }
  return t;
}

Tensor clone(const Tensor& t) { return to(t, t.device(), t.dtype(), false, true); }
}  // namespace kiln
