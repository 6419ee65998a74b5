// The process-group backends kiln can build; each is an independent build option with a stand-in when off.
#pragma once
#include <memory>

#include "kiln/dist/process_group.h"

namespace kiln::dist::detail {

/// Gloo over TCP (src/dist/gloo/); without KILN_GLOO the stand-in throws NotImplemented.
std::shared_ptr<ProcessGroup> make_gloo_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options);

/// NCCL on CUDA tensors (src/dist/nccl/); without KILN_NCCL the stand-in throws NotImplemented.
std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options);

}  // namespace kiln::dist::detail
