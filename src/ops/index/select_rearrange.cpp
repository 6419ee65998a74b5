// nonzero, masked_select, flip and repeat, composed from existing ops (index_select, expand, reshape), so
// they run on every device and their gradients follow from those ops.
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/view.h"

namespace kiln {

Tensor nonzero(const Tensor& a) {
  KILN_CHECK(a.defined(), "nonzero: undefined tensor");
  // The count fixes the result's shape, so the flags come to the host (one wait on CUDA, as torch's nonzero).
  std::vector<uint8_t> flags;
  {
    NoGradGuard no_grad;
    Tensor nz = a.dtype() == kBool ? a : ne(a, 0);
    flags = nz.cpu().contiguous().to_vector<uint8_t>();
  }
  const int64_t nd = a.dim();
  const Shape& sizes = a.sizes();
  std::vector<int64_t> coords;
  std::vector<int64_t> at(static_cast<size_t>(nd), 0);
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i]) coords.insert(coords.end(), at.begin(), at.end());
    for (int64_t d = nd - 1; d >= 0; --d) {  // the next row-major coordinate
      if (++at[static_cast<size_t>(d)] < sizes[static_cast<size_t>(d)]) break;
      at[static_cast<size_t>(d)] = 0;
    }
  }
  int64_t n = nd == 0 ? static_cast<int64_t>(flags.size() == 1 && flags[0]) : static_cast<int64_t>(coords.size()) / nd;
  return tensor(coords, {n, nd}, TensorOptions(kInt64)).to(a.device());
}

Tensor masked_select(const Tensor& a, const Tensor& mask) {
  KILN_CHECK(a.defined() && mask.defined(), "masked_select: undefined tensor");
  KILN_CHECK_DTYPE(mask.dtype() == kBool, "masked_select: expected a bool mask, got ", mask.dtype(),
                   "; build one with a comparison (e.g. x > 0) or .to(kBool)");
  KILN_CHECK_DEVICE(a.device() == mask.device(), "masked_select: the tensor is on ", a.device(), " but the mask on ",
                    mask.device());
  Shape shape = broadcast_shapes(a.sizes(), mask.sizes());
  Tensor where_true = nonzero(reshape(mask.expand(shape), {-1})).view({-1});
  return index_select(reshape(a.expand(shape), {-1}), 0, where_true);
}

Tensor flip(const Tensor& a, const Shape& dims) {
  KILN_CHECK(a.defined(), "flip: undefined tensor");
  std::vector<bool> seen(static_cast<size_t>(a.dim()), false);
  Tensor out = a;
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, a.dim(), "flip");
    KILN_CHECK(!seen[static_cast<size_t>(w)], "flip: dim ", d, " appears more than once in the dims to flip");
    seen[static_cast<size_t>(w)] = true;
    int64_t n = a.size(w);
    out = index_select(out, w, arange(n - 1, -1, -1, TensorOptions(kInt64).device(a.device())));
  }
  return dims.empty() ? clone(a) : out;
}

Tensor repeat(const Tensor& a, const Shape& repeats) {
  KILN_CHECK(a.defined(), "repeat: undefined tensor");
  const int64_t nr = static_cast<int64_t>(repeats.size());
  KILN_CHECK_SHAPE(nr >= a.dim(), "repeat: got ", nr, " repeats for a tensor with ", a.dim(),
                   " dims; give at least one per dim (", a.shape_str(), ")");
  // [s0, s1] repeated [r0, r1]: view as [1, s0, 1, s1], expand to [r0, s0, r1, s1], copy into [r0*s0, r1*s1].
  Shape lead(static_cast<size_t>(nr - a.dim()), 1), in(lead), split, expanded, out;
  in.insert(in.end(), a.sizes().begin(), a.sizes().end());
  for (int64_t d = 0; d < nr; ++d) {
    int64_t r = repeats[static_cast<size_t>(d)], s = in[static_cast<size_t>(d)];
    KILN_CHECK_SHAPE(r >= 0, "repeat: repeats must be non-negative, got ", r, " for dim ", d);
    split.insert(split.end(), {1, s});
    expanded.insert(expanded.end(), {r, s});
    out.push_back(r * s);
  }
  return reshape(expand(reshape(a, split), expanded), out);
}
}  // namespace kiln
