// Matrix products: matmul (numpy semantics with batch broadcasting), mm, bmm, addmm.
#pragma once
#include <string>
#include <vector>

#include "kiln/tensor/tensor.h"

namespace kiln {

/// torch.matmul: 1-D/2-D/batched operands, batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
/// [n,k] x [k,m] -> [n,m].
Tensor mm(const Tensor& a, const Tensor& b);
/// [b,n,k] x [b,k,m] -> [b,n,m].
Tensor bmm(const Tensor& a, const Tensor& b);
/// beta * self + alpha * (a @ b); self broadcasts to [n,m] (the Linear layer's bias).
Tensor addmm(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& beta = 1, const Scalar& alpha = 1);
/// x @ w^T + b (nn.Linear), fused into one GEMM with the bias where the backend can.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
/// torch.einsum: "ij,jk->ik" (implicit output: the letters seen once, sorted; "..." broadcasts leading dims).
/// Computed with permute, reshape, bmm and sum, so it is differentiable wherever those are.
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);
}  // namespace kiln
