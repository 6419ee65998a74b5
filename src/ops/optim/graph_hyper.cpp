// Thread-local phase of the fused optimizer updates under train::GraphStep (see graph_hyper.h).
#include "ops/optim/graph_hyper.h"

#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::ops {
namespace {
thread_local GraphPhase t_phase = GraphPhase::Eager;
thread_local GraphHyper* t_hyper = nullptr;
}  // namespace

GraphPhaseScope::GraphPhaseScope(GraphHyper& hyper, GraphPhase phase)
    : previous_phase_(t_phase), previous_hyper_(t_hyper) {
  t_phase = phase;
  t_hyper = &hyper;
}

GraphPhaseScope::~GraphPhaseScope() {
  t_phase = previous_phase_;
  t_hyper = previous_hyper_;
}

GraphPhase graph_phase() { return t_phase; }

GraphHyper& graph_hyper() {
  KILN_CHECK(t_hyper != nullptr, "internal error: no CUDA-graph optimizer state in this scope");
  return *t_hyper;
}

void refuse_graph_capture(const char* optimizer) {
  KILN_CHECK(t_phase == GraphPhase::Eager && !cuda::is_capturing(), optimizer,
             " cannot be captured in a CUDA graph: its step size is computed on the host each step and a replay "
             "would reuse the captured one. Adam, AdamW and SGD can (train::GraphStep, kiln train --cuda-graph)");
}
}  // namespace kiln::ops
