// Loss modules: constructors that register the optional weights as buffers so they follow to().
#include "kiln/nn/layers/loss.h"

namespace kiln::nn {

CrossEntropyLossImpl::CrossEntropyLossImpl(Tensor w, int64_t ignore_index, ReductionArg reduction,
                                           double label_smoothing)
    : ignore_index(ignore_index), reduction(reduction), label_smoothing(label_smoothing) {
  KILN_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, "CrossEntropyLoss: label_smoothing must be in [0, 1], ",
             "got ", label_smoothing);
  if (w.defined()) weight = register_buffer("weight", std::move(w));
}

NLLLossImpl::NLLLossImpl(Tensor w, int64_t ignore_index, ReductionArg reduction)
    : ignore_index(ignore_index), reduction(reduction) {
  if (w.defined()) weight = register_buffer("weight", std::move(w));
}

BCELossImpl::BCELossImpl(Tensor w, ReductionArg reduction) : reduction(reduction) {
  if (w.defined()) weight = register_buffer("weight", std::move(w));
}

BCEWithLogitsLossImpl::BCEWithLogitsLossImpl(Tensor w, ReductionArg reduction, Tensor pw) : reduction(reduction) {
  if (w.defined()) weight = register_buffer("weight", std::move(w));
  if (pw.defined()) pos_weight = register_buffer("pos_weight", std::move(pw));
}
}  // namespace kiln::nn
