// Embedding: a lookup table of learnable vectors indexed by integer ids.
#pragma once
#include <optional>

#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// torch.nn.Embedding: weight [num_embeddings, embedding_dim] ~ N(0, 1); the padding_idx row (negative
/// counts from the end) starts at zero and receives no gradient.
class EmbeddingImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<EmbeddingImpl>(num_embeddings, embedding_dim, padding_idx))
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  explicit EmbeddingImpl(const EmbeddingOptions& o)
      : EmbeddingImpl(o.num_embeddings(), o.embedding_dim(), o.padding_idx()) {}
  /// indices (int64 or int32, any shape) -> indices.shape + [embedding_dim]. IndexError for ids out of range.
  Tensor forward(const Tensor& indices);
  void reset_parameters();
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;  ///< stored non-negative
  Tensor weight;
};
KILN_MODULE(Embedding);
}  // namespace kiln::nn
