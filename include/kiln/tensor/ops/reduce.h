// Reductions over all or some dims (with keepdim), softmax and log_softmax.
#pragma once
#include <tuple>

#include "kiln/tensor/tensor.h"

namespace kiln {

/// Sum of all elements; integer and bool inputs sum in int64, like torch.sum.
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, const Shape& dims, bool keepdim = false);
/// Sums a broadcast gradient back down to `shape` (the reverse of expand).
Tensor sum_to(const Tensor& a, const Shape& shape);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const Shape& dims, bool keepdim = false);
Tensor prod(const Tensor& a);
Tensor prod(const Tensor& a, int64_t dim, bool keepdim = false);
/// Max/min of all elements (NaN propagates).
Tensor max(const Tensor& a);
Tensor min(const Tensor& a);
/// Values and int64 indices along dim.
std::tuple<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& a, const Shape& dims, bool keepdim = false);
Tensor amin(const Tensor& a, const Shape& dims, bool keepdim = false);
Tensor argmax(const Tensor& a);
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& a);
Tensor argmin(const Tensor& a, int64_t dim, bool keepdim = false);
/// Variance and standard deviation; correction 1 is the unbiased estimator (torch's default).
Tensor var(const Tensor& a, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& a, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
/// p-norm (p = 2 by default) over dims (all when empty).
Tensor norm(const Tensor& a, double p = 2.0, const Shape& dims = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& a, const Shape& dims, bool keepdim = false);
Tensor any(const Tensor& a);
Tensor any(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor all(const Tensor& a);
Tensor all(const Tensor& a, int64_t dim, bool keepdim = false);
/// Running sum and product along dim; integer and bool inputs accumulate in int64, like torch.cumsum.
Tensor cumsum(const Tensor& a, int64_t dim);
Tensor cumprod(const Tensor& a, int64_t dim);
Tensor softmax(const Tensor& a, int64_t dim);
Tensor log_softmax(const Tensor& a, int64_t dim);
}  // namespace kiln
