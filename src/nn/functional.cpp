// nn::functional layers and activations, composed from the public differentiable ops.
#include "kiln/nn/functional.h"

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln::nn::functional {
namespace {
void check_defined(const Tensor& t, const char* fn, const char* what) {
  KILN_CHECK(t.defined(), fn, ": ", what, " is an undefined tensor");
}
void check_floating(const Tensor& t, const char* fn, const char* what) {
  check_defined(t, fn, what);
  KILN_CHECK_DTYPE(t.is_floating_point(), fn, ": ", what, " must be a floating-point tensor, got ", t.dtype());
}
// Names both devices, and says what to do: a module's parameters follow module->to(device).
void check_same_device(const Tensor& x, const Tensor& param, const char* fn) {
  KILN_CHECK_DEVICE(x.device() == param.device(), fn, ": input is on ", x.device(), " but the parameters are on ",
                    param.device(), "; move one of them (x.to(device) or module->to(device))");
}
Shape leading(const Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end() - 1); }
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_defined(x, "linear", "input");
  check_defined(weight, "linear", "weight");
  KILN_CHECK_SHAPE(weight.dim() == 2, "linear: weight must be 2-D [out_features, in_features], got shape ",
                   weight.shape_str());
  KILN_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input of shape ", x.shape_str(),
                   " does not match weight of shape ", weight.shape_str(), " (the input's last dim must be ",
                   weight.size(1), ")");
  if (bias.defined())
    KILN_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias of shape ", bias.shape_str(),
                     " does not match weight of shape ", weight.shape_str());
  check_same_device(x, weight, "linear");
  return ::kiln::linear(x, weight, bias);
}

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias) {
  check_defined(x1, "bilinear", "input1");
  check_defined(x2, "bilinear", "input2");
  check_defined(weight, "bilinear", "weight");
  KILN_CHECK_SHAPE(weight.dim() == 3, "bilinear: weight must be 3-D [out, in1, in2], got shape ", weight.shape_str());
  int64_t out = weight.size(0), in1 = weight.size(1), in2 = weight.size(2);
  KILN_CHECK_SHAPE(x1.dim() >= 1 && x1.size(-1) == in1, "bilinear: input1 of shape ", x1.shape_str(),
                   " does not match weight of shape ", weight.shape_str(), " (last dim must be ", in1, ")");
  KILN_CHECK_SHAPE(x2.dim() >= 1 && x2.size(-1) == in2, "bilinear: input2 of shape ", x2.shape_str(),
                   " does not match weight of shape ", weight.shape_str(), " (last dim must be ", in2, ")");
  KILN_CHECK_SHAPE(leading(x1) == leading(x2), "bilinear: input1 of shape ", x1.shape_str(), " and input2 of shape ",
                   x2.shape_str(), " must have the same leading dims");
  if (bias.defined())
    KILN_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == out, "bilinear: bias of shape ", bias.shape_str(),
                     " does not match weight of shape ", weight.shape_str());
  check_same_device(x1, weight, "bilinear");
  check_same_device(x2, weight, "bilinear");
  // One GEMM: t[n, o*in2 + j] = sum_i x1[n, i] W[o, i, j]; then y[n, o] = sum_j t[n, o, j] x2[n, j].
  Tensor a = x1.reshape({-1, in1});
  Tensor b = x2.reshape({-1, in2});
  Tensor w = weight.permute({1, 0, 2}).reshape({in1, out * in2});
  Tensor t = ::kiln::mm(a, w).view({-1, out, in2});
  Tensor y = ::kiln::sum(::kiln::mul(t, b.unsqueeze(1)), {2});
  if (bias.defined()) y = ::kiln::add(y, bias);
  Shape out_shape = leading(x1);
  out_shape.push_back(out);
  return y.view(out_shape);
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  check_defined(indices, "embedding", "indices");
  check_defined(weight, "embedding", "weight");
  KILN_CHECK_DTYPE(indices.dtype() == kInt64 || indices.dtype() == kInt32,
                   "embedding: indices must be int64 or int32, got ", indices.dtype());
  KILN_CHECK_SHAPE(weight.dim() == 2, "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape ",
                   weight.shape_str());
  check_same_device(indices, weight, "embedding");
  Shape out_shape = indices.sizes();
  out_shape.push_back(weight.size(1));
  Tensor flat = indices.reshape({-1});
  Tensor out = ::kiln::index_select(weight, 0, flat);
  if (padding_idx.has_value()) {
    int64_t num = weight.size(0);
    int64_t pad = *padding_idx < 0 ? *padding_idx + num : *padding_idx;
    KILN_CHECK_INDEX(pad >= 0 && pad < num, "embedding: padding_idx ", *padding_idx,
                     " is out of range for ", num, " embeddings");
    // Same values, but the padding rows' gradient is cut: where() routes it to the detached copy.
    if (autograd::needs_grad({&weight})) {
      Tensor keep = ::kiln::ne(flat, pad).unsqueeze(1);
      out = ::kiln::where(keep, out, out.detach());
    }
  }
  return out.view(out_shape);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ", p);
  check_defined(x, "dropout", "input");
  if (!training || p == 0.0 || x.numel() == 0) return x;
  check_floating(x, "dropout", "input");
  if (p == 1.0) return ::kiln::mul(x, 0.0);  // all dropped; keeps the graph so gradients are zeros
  // The mask carries the 1/(1-p) scale, so one multiply does both and the backward reuses it.
  Tensor mask = ::kiln::bernoulli(x.sizes(), 1.0 - p, x.options(), gen);
  mask = ::kiln::mul(mask, 1.0 / (1.0 - p));
  return ::kiln::mul(x, mask);
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&x, &weight, &bias}})
    return layer_norm(c[0], normalized_shape, c[1], c[2], eps);
  check_floating(x, "layer_norm", "input");
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  KILN_CHECK_SHAPE(k >= 1, "layer_norm: normalized_shape must have at least one dim");
  bool match = x.dim() >= k && Shape(x.sizes().end() - k, x.sizes().end()) == normalized_shape;
  KILN_CHECK_SHAPE(match, "layer_norm: input of shape ", x.shape_str(), " does not end with normalized_shape ",
                   shape_to_string(normalized_shape));
  if (weight.defined())
    KILN_CHECK_SHAPE(weight.sizes() == normalized_shape, "layer_norm: weight of shape ", weight.shape_str(),
                     " does not match normalized_shape ", shape_to_string(normalized_shape));
  if (bias.defined())
    KILN_CHECK_SHAPE(bias.sizes() == normalized_shape, "layer_norm: bias of shape ", bias.shape_str(),
                     " does not match normalized_shape ", shape_to_string(normalized_shape));
  KILN_CHECK(eps >= 0, "layer_norm: eps must be non-negative, got ", eps);
  if (weight.defined()) check_same_device(x, weight, "layer_norm");
  // Reduced precision computes in float32 (mean and variance need the range), then casts back.
  DType out_dtype = x.dtype();
  DType compute = is_reduced_float(out_dtype) ? kFloat32 : out_dtype;
  Tensor xc = x.to(compute);
  Shape dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  Tensor mu = ::kiln::mean(xc, dims, /*keepdim=*/true);
  Tensor centered = ::kiln::sub(xc, mu);
  Tensor var = ::kiln::mean(::kiln::mul(centered, centered), dims, /*keepdim=*/true);
  Tensor y = ::kiln::mul(centered, ::kiln::rsqrt(::kiln::add(var, eps)));
  if (weight.defined()) y = ::kiln::mul(y, weight.to(compute));
  if (bias.defined()) y = ::kiln::add(y, bias.to(compute));
  return y.to(out_dtype);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined(x, "flatten", "input");
  return ::kiln::flatten(x, start_dim, end_dim);
}

Tensor relu(const Tensor& x) { return ::kiln::relu(x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) { return ::kiln::leaky_relu(x, negative_slope); }
Tensor gelu(const Tensor& x, const std::string& approximate) {
  KILN_CHECK(approximate == "none" || approximate == "tanh", "gelu: approximate must be 'none' or 'tanh', got '",
             approximate, "'");
  return ::kiln::gelu(x, approximate);
}
Tensor silu(const Tensor& x) { return ::kiln::silu(x); }
Tensor tanh(const Tensor& x) { return ::kiln::tanh(x); }
Tensor sigmoid(const Tensor& x) { return ::kiln::sigmoid(x); }
Tensor softmax(const Tensor& x, int64_t dim) { return ::kiln::softmax(x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return ::kiln::log_softmax(x, dim); }
}  // namespace kiln::nn::functional
