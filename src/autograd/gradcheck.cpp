// gradcheck: analytic gradients against central finite differences in float64.
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"

namespace kiln::autograd {
namespace {
// Sum of out * w as a double; w fixes a random direction so every output element matters.
double weighted(const Tensor& out, const Tensor& w) {
  auto o = out.to_vector<double>();
  auto wv = w.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += o[i] * wv[i];
  return s;
}
}  // namespace

bool gradcheck(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
               const GradcheckOptions& opts) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad())
      KILN_CHECK_DTYPE(inputs[i].dtype() == kFloat64, "gradcheck: input ", i, " must be float64, got ",
                       inputs[i].dtype());
  Tensor out = fn(inputs);
  Generator gen(1234);
  Tensor w = randn(out.sizes(), TensorOptions().dtype(kFloat64).device(out.device()), &gen);
  TensorList diff_inputs;
  std::vector<size_t> index;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) {
      diff_inputs.push_back(inputs[i]);
      index.push_back(i);
    }
  TensorList analytic = grad({sum(mul(out, w.to(out.dtype())))}, diff_inputs, {}, false, false, true);

  NoGradGuard no_grad;
  for (size_t k = 0; k < diff_inputs.size(); ++k) {
    const Tensor& x = diff_inputs[k];
    std::vector<double> base = x.to_vector<double>();
    std::vector<double> an = analytic[k].defined() ? analytic[k].to_vector<double>() : std::vector<double>(base.size(), 0);
    for (size_t e = 0; e < base.size(); ++e) {
      auto eval_at = [&](double delta) {
        std::vector<double> v = base;
        v[e] += delta;
        Tensor xp = tensor(v, x.sizes(), TensorOptions().dtype(kFloat64).device(x.device()));
        TensorList args = inputs;
        args[index[k]] = xp;
        return weighted(fn(args), w);
      };
      double numeric = (eval_at(opts.eps) - eval_at(-opts.eps)) / (2 * opts.eps);
      double a = an[e];
      if (!(std::fabs(a - numeric) <= opts.atol + opts.rtol * std::fabs(numeric)))
        throw AutogradError(detail::str("gradcheck failed for input ", index[k], " element ", e, ": analytic ", a,
                                        " vs numerical ", numeric));
    }
  }
  return true;
}
}  // namespace kiln::autograd
