// Embedding layer.
#include "kiln/nn/layers/embedding.h"

#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/init.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::nn {

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> pad)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  KILN_CHECK(num_embeddings >= 0 && embedding_dim >= 0, "Embedding: num_embeddings and embedding_dim must be ",
             "non-negative, got ", num_embeddings, " and ", embedding_dim);
  if (pad.has_value()) {
    int64_t p = *pad < 0 ? *pad + num_embeddings : *pad;
    KILN_CHECK(p >= 0 && p < num_embeddings, "Embedding: padding_idx ", *pad, " must be within num_embeddings (",
               num_embeddings, ")");
    padding_idx = p;
  }
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (padding_idx.has_value()) {
    NoGradGuard no_grad;  // the row view must not join a graph
    init::zeros_(weight.select(0, *padding_idx));
  }
}

Tensor EmbeddingImpl::forward(const Tensor& indices) { return functional::embedding(indices, weight, padding_idx); }

std::string EmbeddingImpl::extra_repr() const {
  std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (padding_idx.has_value()) s += ", padding_idx=" + std::to_string(*padding_idx);
  return s;
}
}  // namespace kiln::nn
