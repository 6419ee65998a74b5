// The PyTorch reference-case runner (defined in tests/ops/test_torch_reference.cpp), shared by the test files that
// check ops against vectors PyTorch wrote (torch_reference.json, conv_reference.json, cnn_layers_reference.json).
#pragma once
#include <functional>
#include <nlohmann/json.hpp>

#include "kiln/autograd/autograd.h"
#include "kiln/core/device.h"

namespace kiln::test::torch_ref {
using json = nlohmann::json;
using autograd::TensorList;
/// Runs a case's op on kiln tensors. It may replace inputs[i] by the tensor the gradient should be taken
/// against (a module's parameter holding the input's values).
using OpFn = std::function<TensorList(TensorList& inputs, const json& args)>;

/// tests/data/torch_reference.json, parsed once; throws naming the path and the script that regenerates it.
const json& reference();
/// Builds the case's inputs on dev, runs fn, and checks outputs and gradients against the case's values.
void run_case(const json& c, Device dev, const OpFn& fn);
}  // namespace kiln::test::torch_ref
