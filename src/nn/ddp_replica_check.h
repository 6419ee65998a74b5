// DDP's construction check: every rank's module has the same parameters and buffers (shapes, dtypes), in order.
#pragma once
#include "kiln/dist/process_group.h"
#include "kiln/nn/module.h"

namespace kiln::nn::detail {

/// Compares the shape and dtype of every parameter, then every buffer, of module with the other ranks' (two
/// small all_gathers). Throws dist::DistError on every rank when they differ, naming the first differing tensor
/// (index and this rank's name) and the ranks with their shapes, so no rank broadcasts into a tensor of another
/// size. A collective failure (a rank that died) is a DistError too.
void check_replicas_match(const Module& module, dist::ProcessGroup& group);

}  // namespace kiln::nn::detail
