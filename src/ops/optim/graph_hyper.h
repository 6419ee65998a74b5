// How the fused optimizer updates run under train::GraphStep (CUDA graphs). A replay runs each kernel with the
// arguments it had at capture, but Adam's step size and bias correction change every step and a scheduler changes
// the learning rate. So while a step is captured (GraphPhase::Capturing) each multi-tensor update allocates a small
// device buffer for those values and its kernel reads them from there (AdamHyper::live, SgdHyper::live); before each
// replay GraphStep runs optimizer.step() again in GraphPhase::Preparing, where the host bookkeeping (step counts, the
// current learning rate) happens as usual and each update uploads its values into its buffer instead of launching.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kiln/tensor/tensor.h"

namespace kiln::ops {

enum class GraphPhase { Eager, Capturing, Preparing };

/// The buffers of one captured optimizer step, in the order its updates ran.
struct GraphHyper {
  struct Slot {
    Tensor values;    // float64 [4] on the update's device
    size_t entries;   // parameters the update covered (checked again at each replay)
  };
  std::vector<Slot> slots;
  size_t next = 0;  // Preparing: the slot of the next update
};

/// Sets this thread's phase and buffers for its scope (GraphStep's capture and its preparation of a replay).
class GraphPhaseScope {
 public:
  GraphPhaseScope(GraphHyper& hyper, GraphPhase phase);
  ~GraphPhaseScope();
  GraphPhaseScope(const GraphPhaseScope&) = delete;
  GraphPhaseScope& operator=(const GraphPhaseScope&) = delete;

 private:
  GraphPhase previous_phase_;
  GraphHyper* previous_hyper_;
};

GraphPhase graph_phase();
/// The buffers of the current scope; only in Capturing and Preparing.
GraphHyper& graph_hyper();

/// What an optimizer without graph support calls first: throws when the step would be captured into a CUDA
/// graph, where its host-computed values would be frozen.
void refuse_graph_capture(const char* optimizer);
}  // namespace kiln::ops
