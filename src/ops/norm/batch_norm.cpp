// Front end of batch normalisation: argument checks, batch statistics and the running-statistics update
// (momentum, unbiased variance, as PyTorch), and the gradient through the backward kernel.
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/elementwise/iter.h"
#include "ops/norm/batch_norm_kernels.h"
#include "ops/op_stream.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(batch_norm_stats_stub);
KILN_DEFINE_DISPATCH(batch_norm_apply_stub);
KILN_DEFINE_DISPATCH(batch_norm_backward_stub);
}  // namespace ops

namespace nn::functional {
namespace {
using autograd::SavedTensor;
using autograd::TensorList;

void check_channel_vector(const char* what, const Tensor& t, const Tensor& x) {
  if (!t.defined()) return;
  KILN_CHECK_SHAPE(t.dim() == 1 && t.size(0) == x.size(1), "batch_norm: expected ", what, " of shape [", x.size(1),
                   "] (one per channel of the input ", x.shape_str(), "), got ", t.shape_str());
  KILN_CHECK_DTYPE(t.dtype() == x.dtype(), "batch_norm: ", what, " is ", t.dtype(), " but the input is ", x.dtype(),
                   "; convert the module with .to(", x.dtype(), ")");
}
}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  // Its kernels compute float32 and float64 only, so under autocast a 16-bit input is normalised in float32.
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input}})
    return batch_norm(c[0], running_mean, running_var, weight, bias, training, momentum, eps);
  KILN_CHECK(input.defined(), "batch_norm: undefined input");
  KILN_CHECK_DTYPE(input.dtype() == kFloat32 || input.dtype() == kFloat64,
                   "batch_norm: expected a float32 or float64 input, got ", input.dtype());
  KILN_CHECK_SHAPE(input.dim() >= 2, "batch_norm: expected input [N, C, ...], got ", input.shape_str());
  ops::check_same_device("batch_norm", {&input, &running_mean, &running_var, &weight, &bias});
  check_channel_vector("running_mean", running_mean, input);
  check_channel_vector("running_var", running_var, input);
  check_channel_vector("weight", weight, input);
  check_channel_vector("bias", bias, input);
  KILN_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: running_mean and running_var must both be given or both be undefined");
  KILN_CHECK(training || running_mean.defined(),
             "batch_norm: evaluation mode normalises with the running statistics, but none were given (pass "
             "running_mean/running_var, or training=true)");
  KILN_CHECK(eps > 0, "batch_norm: eps must be positive, got ", eps);

  ops::BatchNormGeometry g;
  g.n = input.size(0), g.c = input.size(1), g.s = input.numel() / std::max<int64_t>(1, g.n * g.c);
  g.dtype = input.dtype();
  g.stream = ops::op_stream(input.device());
  const MemoryFormat format = input.suggest_memory_format();  // a channels-last input stays channels-last
  g.channels_last = format == MemoryFormat::ChannelsLast;
  const int64_t count = g.n * g.s;
  const DeviceType dev = input.device().type();
  Tensor x = contiguous(input, format);
  Tensor w = weight.defined() ? contiguous(weight) : Tensor(), b = bias.defined() ? contiguous(bias) : Tensor();
  Tensor mean, invstd;
  {
    NoGradGuard no_grad;
    if (training) {
      KILN_CHECK_SHAPE(count > 1, "batch_norm: training needs more than one value per channel, got input ",
                       input.shape_str(), " (use a batch of at least 2, or eval mode)");
      mean = make_tensor({g.c}, x.dtype(), x.device());
      Tensor var = make_tensor({g.c}, x.dtype(), x.device());
      ops::batch_norm_stats_stub(dev, g, x, mean, var);
      invstd = rsqrt(add(var, Scalar(eps)));
      if (running_mean.defined()) {
        // PyTorch's update: the running variance is the unbiased one (n / (n - 1)).
        Tensor rm = running_mean, rv = running_var;
        rm.mul_(Scalar(1 - momentum)).add_(mean, Scalar(momentum));
        rv.mul_(Scalar(1 - momentum)).add_(var, Scalar(momentum * count / (count - 1.0)));
      }
    } else {
      mean = running_mean.clone();
      invstd = rsqrt(add(running_var, Scalar(eps)));
    }
  }
  Tensor y = make_tensor(x.sizes(), x.dtype(), x.device(), format);
  if (y.numel() > 0) ops::batch_norm_apply_stub(dev, g, x, mean, invstd, w, b, y);
  if (autograd::needs_grad({&input, &weight, &bias}))
    autograd::record(
        "NativeBatchNormBackward0", y, {input, weight, bias},
        [g, dev, training, format, sx = SavedTensor(x), sw = SavedTensor(w), mean, invstd](
            const TensorList& grads, const std::vector<bool>& need) {
          Tensor gy = contiguous(grads[0], format);
          const Tensor& xs = sx.get();
          Tensor gx = need[0] ? make_tensor(xs.sizes(), xs.dtype(), xs.device(), format) : Tensor();
          Tensor gw = need[1] ? make_tensor({g.c}, xs.dtype(), xs.device()) : Tensor();
          Tensor gb = need[2] ? make_tensor({g.c}, xs.dtype(), xs.device()) : Tensor();
          ops::batch_norm_backward_stub(dev, g, xs, gy, mean, invstd, sw.get(), training, gx, gw, gb);
          return TensorList{gx, gw, gb};
        });
  return y;
}
}  // namespace nn::functional
}  // namespace kiln
