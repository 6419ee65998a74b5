// The im2col + BLAS convolution on the CPU: kiln's float64 path (oneDNN has no float64 convolution) and the
// independent reference the oneDNN float32 path is tested against. Clear rather than fast.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "ops/conv/conv_kernels.h"

namespace kiln::ops::cpu_conv {
namespace {

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
          int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// Rows of the column matrix: one per (channel of the group, kernel row, kernel column); columns: output pixels.
int64_t col_rows(const Conv2dGeometry& g) { return g.c_in / g.groups * g.kh * g.kw; }

// Calls fn(row, pixel, input offset within the image's channel plane or -1 for padding) for every column entry.
template <typename F>
void for_each_tap(const Conv2dGeometry& g, const F& fn) {
  const int64_t cg = g.c_in / g.groups;
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t row = (c * g.kh + i) * g.kw + j;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + i * g.dil_h;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_left + j * g.dil_w;
            const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            fn(row, c, oy * g.ow + ox, inside ? iy * g.w + ix : -1);
          }
        }
      }
}

// col[row][pixel] = the input value under that tap (0 in the padding), for one image and group.
template <typename T>
void im2col(const Conv2dGeometry& g, const T* x_group, T* col) {
  const int64_t p = g.oh * g.ow, plane = g.h * g.w;
  for_each_tap(g, [&](int64_t row, int64_t c, int64_t pix, int64_t off) {
    col[row * p + pix] = off < 0 ? T(0) : x_group[c * plane + off];
  });
}

// The adjoint of im2col: adds every column entry back onto the input position it was read from.
template <typename T>
void col2im(const Conv2dGeometry& g, const T* col, T* x_group) {
  const int64_t p = g.oh * g.ow, plane = g.h * g.w;
  for_each_tap(g, [&](int64_t row, int64_t c, int64_t pix, int64_t off) {
    if (off >= 0) x_group[c * plane + off] += col[row * p + pix];
  });
}

template <typename T>
void forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y) {
  const int64_t k = col_rows(g), p = g.oh * g.ow, og = g.c_out / g.groups, cg = g.c_in / g.groups;
  std::vector<T> col(static_cast<size_t>(k * p));
  const T* xd = x.data_ptr<T>();
  const T* wd = weight.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      im2col(g, xd + (n * g.c_in + gi * cg) * g.h * g.w, col.data());
      T* y_group = yd + (n * g.c_out + gi * og) * p;
      gemm(false, false, og, p, k, wd + gi * og * k, k, col.data(), p, T(0), y_group, p);
      if (bias.defined()) {
        const T* bd = bias.data_ptr<T>() + gi * og;
        for (int64_t o = 0; o < og; ++o)
          for (int64_t q = 0; q < p; ++q) y_group[o * p + q] += bd[o];
      }
    }
}

template <typename T>
void backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x) {
  const int64_t k = col_rows(g), p = g.oh * g.ow, og = g.c_out / g.groups, cg = g.c_in / g.groups;
  std::vector<T> col(static_cast<size_t>(k * p));
  const T* gyd = grad_y.data_ptr<T>();
  const T* wd = weight.data_ptr<T>();
  T* gxd = grad_x.data_ptr<T>();
  std::fill(gxd, gxd + grad_x.numel(), T(0));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      // col [k, p] = W_g^T [k, og] @ grad_y_g [og, p]
      gemm(true, false, k, p, og, wd + gi * og * k, k, gyd + (n * g.c_out + gi * og) * p, p, T(0), col.data(), p);
      col2im(g, col.data(), gxd + (n * g.c_in + gi * cg) * g.h * g.w);
    }
}

template <typename T>
void backward_weight(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                     Tensor& grad_bias) {
  const int64_t k = col_rows(g), p = g.oh * g.ow, og = g.c_out / g.groups, cg = g.c_in / g.groups;
  std::vector<T> col(static_cast<size_t>(k * p));
  const T* gyd = grad_y.data_ptr<T>();
  const T* xd = x.data_ptr<T>();
  T* gwd = grad_weight.data_ptr<T>();
  std::fill(gwd, gwd + grad_weight.numel(), T(0));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      im2col(g, xd + (n * g.c_in + gi * cg) * g.h * g.w, col.data());
      // grad_W_g [og, k] += grad_y_g [og, p] @ col^T [p, k]
      gemm(false, true, og, k, p, gyd + (n * g.c_out + gi * og) * p, p, col.data(), p, T(1), gwd + gi * og * k, k);
    }
  if (grad_bias.defined()) {
    T* gbd = grad_bias.data_ptr<T>();
    for (int64_t o = 0; o < g.c_out; ++o) {
      T s = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t q = 0; q < p; ++q) s += gyd[(n * g.c_out + o) * p + q];
      gbd[o] = s;
    }
  }
}

void check_dtype(const Conv2dGeometry& g) {
  KILN_CHECK_DTYPE(g.dtype == kFloat32 || g.dtype == kFloat64, "conv2d: the CPU computes float32 and float64, got ",
                   g.dtype, "; cast the input and weight with .to(kFloat32)");
}

// The reference reads NCHW: channels-last operands run on contiguous copies, results are copied back into their
// channels-last outputs (clear rather than fast, as the rest of this file).
Conv2dGeometry as_nchw(Conv2dGeometry g) {
  g.channels_last = false;
  return g;
}
Tensor nchw_like(const Tensor& t) { return make_tensor(t.sizes(), t.dtype(), t.device()); }
}  // namespace

void reference_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y) {
  check_dtype(g);
  if (g.channels_last) {
    NoGradGuard no_grad;
    Tensor yc = nchw_like(y);
    reference_forward(as_nchw(g), x.contiguous(), weight.contiguous(), bias, yc);
    y.copy_(yc);
    return;
  }
  if (g.dtype == kFloat64) forward<double>(g, x, weight, bias, y);
  else forward<float>(g, x, weight, bias, y);
}
void reference_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x) {
  check_dtype(g);
  if (g.channels_last) {
    NoGradGuard no_grad;
    Tensor gxc = nchw_like(grad_x);
    reference_backward_data(as_nchw(g), grad_y.contiguous(), weight.contiguous(), gxc);
    grad_x.copy_(gxc);
    return;
  }
  if (g.dtype == kFloat64) backward_data<double>(g, grad_y, weight, grad_x);
  else backward_data<float>(g, grad_y, weight, grad_x);
}
void reference_backward_weight(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                               Tensor& grad_bias) {
  check_dtype(g);
  if (g.channels_last) {
    NoGradGuard no_grad;
    Tensor gwc = nchw_like(grad_weight);
    reference_backward_weight(as_nchw(g), grad_y.contiguous(), x.contiguous(), gwc, grad_bias);
    grad_weight.copy_(gwc);
    return;
  }
  if (g.dtype == kFloat64) backward_weight<double>(g, grad_y, x, grad_weight, grad_bias);
  else backward_weight<float>(g, grad_y, x, grad_weight, grad_bias);
}
}  // namespace kiln::ops::cpu_conv
