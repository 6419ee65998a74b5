// Front end of the fused mean-squared-error loss (see fused_losses.h).
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional.h"
#include "kiln/tensor/ops.h"
#include "ops/loss/fused_losses.h"
#include "ops/loss/mse_kernels.h"
#include "ops/op_stream.h"

namespace kiln::ops {
KILN_DEFINE_DISPATCH(mse_forward_stub);
KILN_DEFINE_DISPATCH(mse_backward_stub);

bool fused_mse_fits(const Tensor& input, nn::Reduction reduction) {
  return reduction != nn::Reduction::None && (input.dtype() == kFloat32 || input.dtype() == kFloat64) &&
         (input.is_cpu() || input.is_cuda());
}

Tensor fused_mse_loss(const Tensor& input, const Tensor& target, nn::Reduction reduction) {
  Tensor x = input.detach().contiguous(), t = target.detach().contiguous();
  MseCall call;
  call.n = x.numel();
  call.mean = reduction == nn::Reduction::Mean;
  call.dtype = x.dtype();
  call.stream = op_stream(x.device());
  Tensor out = make_tensor(Shape{}, x.dtype(), x.device());
  mse_forward_stub(x.device().type(), call, x, t, out);
  if (autograd::needs_grad({&input, &target})) {
    autograd::record(
        "MseLossBackward0", out, {input, target},
        [sx = autograd::SavedTensor(input), st = autograd::SavedTensor(target), call](
            const autograd::TensorList& g, const std::vector<bool>& need) {
          Tensor xs = sx.get(), ts = st.get();
          autograd::TensorList r(2);
          if (autograd::grad_mode_enabled()) {  // create_graph: the same gradient from differentiable ops
            Tensor gx = mul(sub(xs, ts), call.mean ? mul(g[0], 2.0 / static_cast<double>(call.n)) : mul(g[0], 2.0));
            if (need[0]) r[0] = gx;
            if (need[1]) r[1] = neg(gx);
            return r;
          }
          Tensor xc = xs.detach().contiguous(), tc = ts.detach().contiguous(), gc = g[0].detach().contiguous();
          Tensor gx = need[0] ? make_tensor(xc.sizes(), xc.dtype(), xc.device()) : Tensor();
          Tensor gt = need[1] ? make_tensor(xc.sizes(), xc.dtype(), xc.device()) : Tensor();
          MseCall now = call;
          now.stream = op_stream(xc.device());  // backward's current stream, as every backward op
          mse_backward_stub(xc.device().type(), now, xc, tc, gc, gx, gt);
          r[0] = gx;
          r[1] = gt;
          return r;
        });
  }
  return out;
}
}  // namespace kiln::ops
