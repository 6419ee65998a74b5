// Front ends of GradScaler's fused helpers: argument checks, grouping by dtype, then one kernel call per group.
#include "ops/amp/amp_ops.h"

#include <cstdint>
#include <map>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "ops/op_stream.h"

namespace kiln::ops {
KILN_DEFINE_DISPATCH(amp_unscale_stub);
KILN_DEFINE_DISPATCH(amp_update_scale_stub);

namespace {
void check_scalar(const Tensor& t, DType dtype, Device device, const char* op, const char* name) {
  KILN_CHECK(t.defined(), op, ": ", name, " is undefined");
  KILN_CHECK_DTYPE(t.dtype() == dtype, op, ": ", name, " must be ", dtype_name(dtype), ", got ", dtype_name(t.dtype()));
  KILN_CHECK(t.numel() == 1 && t.is_contiguous(), op, ": ", name, " must hold exactly one element");
  KILN_CHECK_DEVICE(t.device() == device, op, ": ", name, " is on ", t.device().str(), " but the others are on ",
                    device.str());
}
}  // namespace

void amp_non_finite_check_and_unscale_(const std::vector<Tensor>& grads, const Tensor& found_inf,
                                       const Tensor& inv_scale) {
  const char* op = "amp_non_finite_check_and_unscale_";
  KILN_CHECK(found_inf.defined(), op, ": found_inf is undefined");
  const Device device = found_inf.device();
  check_scalar(found_inf, kFloat32, device, op, "found_inf");
  check_scalar(inv_scale, kFloat32, device, op, "inv_scale");
  NoGradGuard no_grad;
  std::map<DType, std::vector<Tensor>> by_dtype;
  std::vector<std::pair<Tensor, Tensor>> write_back;  // (user's non-contiguous gradient, its contiguous copy)
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    KILN_CHECK(g.defined(), op, ": gradient ", i, " is undefined");
    KILN_CHECK_DTYPE(is_floating_point(g.dtype()), op, ": gradient ", i, " has dtype ", dtype_name(g.dtype()),
                     "; only floating gradients can be unscaled");
    KILN_CHECK_DEVICE(g.device() == device, op, ": gradient ", i, " is on ", g.device().str(),
                      " but found_inf is on ", device.str());
    if (g.numel() == 0) continue;
    if (g.is_contiguous()) {
      by_dtype[g.dtype()].push_back(g);
    } else {
      Tensor c = contiguous(g);
      write_back.emplace_back(g, c);
      by_dtype[g.dtype()].push_back(c);
    }
  }
  for (const auto& [dtype, group] : by_dtype)
    amp_unscale_stub(device.type(), group, found_inf, inv_scale, op_stream(device));
  for (const auto& [user, copy] : write_back) copy_(user, copy);
}

void amp_update_scale_(const Tensor& scale, const Tensor& growth_tracker, const Tensor& found_inf,
                       const ScaleUpdate& rule) {
  const char* op = "amp_update_scale_";
  KILN_CHECK(scale.defined(), op, ": scale is undefined");
  const Device device = scale.device();
  check_scalar(scale, kFloat32, device, op, "scale");
  check_scalar(growth_tracker, kInt32, device, op, "growth_tracker");
  check_scalar(found_inf, kFloat32, device, op, "found_inf");
  KILN_CHECK(rule.growth_interval > 0 && rule.growth_interval <= INT32_MAX, op,
             ": growth_interval must be a positive int32, got ", rule.growth_interval);
  amp_update_scale_stub(device.type(), scale, growth_tracker, found_inf, rule, op_stream(device));
}
}  // namespace kiln::ops
