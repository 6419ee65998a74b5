// Tensor ops against PyTorch's outputs and gradients in tests/data/torch_reference.json (made by
// scripts/gen_torch_reference.py): pointwise, reductions, linalg, index ops, the float32 path and type
// promotion, on every device. Also defines the case runner tests/nn/test_torch_reference.cpp uses.
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "json_reference.h"
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "ops/torch_reference_runner.h"
#include "test_device.h"
#include "test_util.h"

namespace kiln::test::torch_ref {
const json& reference() {
  static const json data = test::load_json_reference("torch_reference.json", "scripts/gen_torch_reference.py");
  return data;
}

Shape shape_of(const json& t) { return t.at("shape").get<Shape>(); }

/// The tensor a {shape, dtype, data} entry describes, on dev; undefined for null.
Tensor from_json(const json& t, Device dev) {
  if (t.is_null()) return Tensor();
  std::vector<double> v;
  v.reserve(t.at("data").size());
  for (const auto& x : t.at("data")) v.push_back(json_number(x));
  DType dt = parse_dtype(t.at("dtype").get<std::string>());
  return tensor(v, shape_of(t), TensorOptions().dtype(dt).device(dev));
}

/// float64 to 1e-10 relative, float32 to 1e-5, f16/bf16 to their precision; integers and bools exactly.
/// The small absolute part only absorbs rounding noise around results that are exactly zero.
void tolerance(DType dt, double* rtol, double* atol) {
  switch (dt) {
    case kFloat64: *rtol = 1e-10, *atol = 1e-12; break;
    // float32 sums of tens of O(1) terms (convolutions, matmuls) round differently per kernel and CPU: oneDNN's
    // AVX2 convolution is 1.3e-6 from torch's on an output of 3.5e-3 where AVX-512's matched within 1e-6.
    case kFloat32: *rtol = 1e-5, *atol = 5e-6; break;
    case kFloat16: case kBFloat16: *rtol = 1e-2, *atol = 1e-3; break;
    default: *rtol = 0, *atol = 0;
  }
}

/// Compares shape, dtype and values of a kiln result with a reference entry; one failure per tensor,
/// listing the first mismatching elements with kiln's and torch's values.
void check_tensor(const Tensor& actual, const json& expected, const std::string& what) {
  if (!actual.defined()) {
    ADD_FAILURE() << what << ": kiln returned no tensor (undefined); torch has shape "
                  << shape_to_string(shape_of(expected));
    return;
  }
  const Shape shape = shape_of(expected);
  const std::string dtype = expected.at("dtype").get<std::string>();
  if (actual.sizes() != shape) {
    ADD_FAILURE() << what << ": kiln shape " << actual.shape_str() << " vs torch " << shape_to_string(shape);
    return;
  }
  EXPECT_EQ(std::string(dtype_name(actual.dtype())), dtype) << what << ": dtype differs (kiln vs torch)";
  double rtol, atol;
  tolerance(parse_dtype(dtype), &rtol, &atol);
  std::vector<double> a = actual.to_vector<double>();
  const json& data = expected.at("data");
  std::ostringstream bad;
  bad.precision(17);
  int mismatches = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double e = json_number(data[i]);
    bool ok = std::isnan(e) ? std::isnan(a[i])
              : std::isinf(e) ? a[i] == e
                              : std::fabs(a[i] - e) <= atol + rtol * std::fabs(e);
    if (!ok && ++mismatches <= 4) bad << "\n    [" << i << "] kiln " << a[i] << "  torch " << e;
  }
  if (mismatches)
    ADD_FAILURE() << what << " (" << dtype << ", shape " << shape_to_string(shape) << "): " << mismatches << " of "
                  << a.size() << " elements differ" << bad.str();
}

/// Runs one reference case on dev: builds its inputs (floating ones with a torch gradient require grad),
/// calls fn, compares every output, then back-propagates the stored upstream gradient from output
/// grad_output and compares the gradient of every input torch differentiated.
void run_case(const json& c, Device dev, const OpFn& fn) {
  const std::string name = c.at("name").get<std::string>();
  SCOPED_TRACE("case " + name + " (op " + c.at("op").get<std::string>() + ") on " + dev.str());
  const json& in = c.at("inputs");
  const bool has_grads = c.contains("grads");
  TensorList inputs;
  for (size_t i = 0; i < in.size(); ++i) {
    Tensor t = from_json(in[i], dev);
    if (has_grads && !c["grads"][i].is_null()) t.requires_grad_(true);
    inputs.push_back(t);
  }
  TensorList outs;
  try {
    outs = fn(inputs, c.at("args"));
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": kiln threw: " << e.what();
    return;
  }
  const json& expected = c.at("outputs");
  if (outs.size() != expected.size()) {
    ADD_FAILURE() << name << ": kiln gave " << outs.size() << " outputs, torch " << expected.size();
    return;
  }
  for (size_t k = 0; k < outs.size(); ++k) check_tensor(outs[k], expected[k], name + " output " + std::to_string(k));
  if (!has_grads) return;

  TensorList wrt;
  std::vector<size_t> which;
  for (size_t i = 0; i < in.size(); ++i)
    if (!c["grads"][i].is_null()) wrt.push_back(inputs[i]), which.push_back(i);
  const Tensor& y = outs[c.at("grad_output").get<size_t>()];
  if (!y.requires_grad()) {
    ADD_FAILURE() << name << ": kiln's output does not require grad, torch differentiates it";
    return;
  }
  TensorList grads;
  try {
    grads = autograd::grad({y}, wrt, {from_json(c.at("upstream"), dev)}, false, false, /*allow_unused=*/true);
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": kiln's backward threw: " << e.what();
    return;
  }
  for (size_t j = 0; j < which.size(); ++j) {
    const std::string what = name + " gradient of input " + std::to_string(which[j]);
    if (!grads[j].defined())
      ADD_FAILURE() << what << ": kiln gives no gradient, torch does";
    else
      check_tensor(grads[j], c["grads"][which[j]], what);
  }
}

/// Ops of a section with no handler in any of the tables (cases that would silently not run).
std::set<std::string> unhandled_ops(const std::string& section,
                                    const std::vector<const std::map<std::string, OpFn>*>& tables) {
  std::set<std::string> missing;
  for (const json& c : reference().at(section)) {
    std::string op = c.at("op").get<std::string>();
    bool found = false;
    for (auto* t : tables) found = found || t->count(op);
    if (!found) missing.insert(op);
  }
  return missing;
}
}  // namespace kiln::test::torch_ref

namespace kiln {
namespace {
using autograd::TensorList;
using test::torch_ref::json;
using test::json_number;
using test::torch_ref::OpFn;
using Ops = std::map<std::string, OpFn>;

/// An int scalar stays int (torch.pow(x, 3) differs from pow(x, 3.0) in type rules), a float stays float.
Scalar scalar(const json& v) { return v.is_number_integer() ? Scalar(v.get<int64_t>()) : Scalar(json_number(v)); }
Shape dims(const json& args) { return args.at("dims").is_null() ? Shape{} : args.at("dims").get<Shape>(); }
bool keepdim(const json& args) { return args.at("keepdim").get<bool>(); }
int64_t dim(const json& args) { return args.at("dim").get<int64_t>(); }

// A table entry computing the op's outputs from the inputs x and the case's args a.
#define REF_OP(...) [](TensorList & x, [[maybe_unused]] const json& a) -> TensorList { return {__VA_ARGS__}; }
// Entries for ops with two outputs (values, indices).
#define REF_OP2(...)                                                    \
  [](TensorList & x, [[maybe_unused]] const json& a) -> TensorList {    \
    auto [first, second] = __VA_ARGS__;                                 \
    return {first, second};                                             \
  }

const Ops& pointwise_ops() {
  static const Ops ops = {
      {"add", REF_OP(a.contains("alpha") ? add(x[0], x[1], scalar(a["alpha"])) : add(x[0], x[1]))},
      {"sub", REF_OP(a.contains("alpha") ? sub(x[0], x[1], scalar(a["alpha"])) : sub(x[0], x[1]))},
      {"mul", REF_OP(mul(x[0], x[1]))},
      {"div", REF_OP(div(x[0], x[1]))},
      {"pow", REF_OP(pow(x[0], x[1]))},
      {"pow_scalar", REF_OP(pow(x[0], scalar(a["exponent"])))},
      {"remainder", REF_OP(remainder(x[0], x[1]))},
      {"remainder_scalar", REF_OP(remainder(x[0], scalar(a["other"])))},
      {"maximum", REF_OP(maximum(x[0], x[1]))},
      {"minimum", REF_OP(minimum(x[0], x[1]))},
      {"exp", REF_OP(exp(x[0]))},
      {"log", REF_OP(log(x[0]))},
      {"log1p", REF_OP(log1p(x[0]))},
      {"sqrt", REF_OP(sqrt(x[0]))},
      {"rsqrt", REF_OP(rsqrt(x[0]))},
      {"sin", REF_OP(sin(x[0]))},
      {"cos", REF_OP(cos(x[0]))},
      {"tanh", REF_OP(tanh(x[0]))},
      {"sigmoid", REF_OP(sigmoid(x[0]))},
      {"relu", REF_OP(relu(x[0]))},
      {"silu", REF_OP(silu(x[0]))},
      {"sign", REF_OP(sign(x[0]))},
      {"floor", REF_OP(floor(x[0]))},
      {"ceil", REF_OP(ceil(x[0]))},
      {"round", REF_OP(round(x[0]))},
      {"neg", REF_OP(neg(x[0]))},
      {"abs", REF_OP(abs(x[0]))},
      {"leaky_relu", REF_OP(leaky_relu(x[0], a["negative_slope"].get<double>()))},
      {"gelu", REF_OP(gelu(x[0], a["approximate"].get<std::string>()))},
      {"softplus", REF_OP(softplus(x[0], a["beta"].get<double>(), a["threshold"].get<double>()))},
      {"clamp", REF_OP(clamp(x[0], scalar(a["min"]), scalar(a["max"])))},
      {"where", REF_OP(where(x[0], x[1], x[2]))},
      {"masked_fill", REF_OP(masked_fill(x[0], x[1], scalar(a["value"])))},
  };
  return ops;
}

const Ops& reduction_ops() {
  static const Ops ops = {
      {"sum", REF_OP(a["dims"].is_null() ? sum(x[0]) : sum(x[0], dims(a), keepdim(a)))},
      {"mean", REF_OP(a["dims"].is_null() ? mean(x[0]) : mean(x[0], dims(a), keepdim(a)))},
      {"prod", REF_OP(a["dim"].is_null() ? prod(x[0]) : prod(x[0], dim(a), keepdim(a)))},
      {"max_dim", REF_OP2(max(x[0], dim(a), keepdim(a)))},
      {"min_dim", REF_OP2(min(x[0], dim(a), keepdim(a)))},
      {"max_all", REF_OP(max(x[0]))},
      {"min_all", REF_OP(min(x[0]))},
      {"argmax", REF_OP(a["dim"].is_null() ? argmax(x[0]) : argmax(x[0], dim(a), keepdim(a)))},
      {"argmin", REF_OP(a["dim"].is_null() ? argmin(x[0]) : argmin(x[0], dim(a), keepdim(a)))},
      {"var", REF_OP(var(x[0], dims(a), a["correction"].get<int64_t>(), keepdim(a)))},
      {"std", REF_OP(kiln::std(x[0], dims(a), a["correction"].get<int64_t>(), keepdim(a)))},
      {"norm", REF_OP(norm(x[0], json_number(a["p"]), dims(a), keepdim(a)))},
      {"logsumexp", REF_OP(logsumexp(x[0], dims(a), keepdim(a)))},
      {"softmax", REF_OP(softmax(x[0], dim(a)))},
      {"log_softmax", REF_OP(log_softmax(x[0], dim(a)))},
  };
  return ops;
}

const Ops& linalg_ops() {
  static const Ops ops = {
      {"matmul", REF_OP(matmul(x[0], x[1]))},
      {"mm", REF_OP(mm(x[0], x[1]))},
      {"bmm", REF_OP(bmm(x[0], x[1]))},
      {"addmm", REF_OP(addmm(x[0], x[1], x[2], scalar(a["beta"]), scalar(a["alpha"])))},
      {"linear", REF_OP(linear(x[0], x[1], x[2]))},
  };
  return ops;
}

const Ops& index_ops() {
  static const Ops ops = {
      {"cat", REF_OP(cat(x, dim(a)))},
      {"stack", REF_OP(stack(x, dim(a)))},
      {"index_select", REF_OP(index_select(x[0], dim(a), x[1]))},
      {"gather", REF_OP(gather(x[0], dim(a), x[1]))},
      {"scatter_add", REF_OP(scatter_add(x[0], dim(a), x[1], x[2]))},
      {"topk", REF_OP2(topk(x[0], a["k"].get<int64_t>(), dim(a), a["largest"].get<bool>()))},
      {"sort", REF_OP2(sort(x[0], dim(a), a["descending"].get<bool>()))},
  };
  return ops;
}
#undef REF_OP
#undef REF_OP2

// Cases of the "ops" section fall in groups by name prefix: "f32_" (float32 inputs), "edge_" and "int_"
// (non-finite values, integer operands), and the float64 main cases.
enum class Group { Main, Float32, Edge };
Group group_of(const std::string& name) {
  if (name.rfind("f32_", 0) == 0) return Group::Float32;
  if (name.rfind("edge_", 0) == 0 || name.rfind("int_", 0) == 0) return Group::Edge;
  return Group::Main;
}

// Runs the cases of one group handled by `ops`; returns how many ran.
int run_ops(Device dev, const Ops& ops, Group group) {
  int ran = 0;
  for (const json& c : test::torch_ref::reference().at("ops")) {
    auto it = ops.find(c.at("op").get<std::string>());
    if (group_of(c.at("name").get<std::string>()) != group || it == ops.end()) continue;
    test::torch_ref::run_case(c, dev, it->second);
    ++ran;
  }
  return ran;
}

const std::vector<const Ops*>& all_ops() {
  static const std::vector<const Ops*> tables = {&pointwise_ops(), &reduction_ops(), &linalg_ops(), &index_ops()};
  return tables;
}

class TorchReferenceOps : public test::DeviceTest {};

TEST_P(TorchReferenceOps, Pointwise) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GT(run_ops(dev(), pointwise_ops(), Group::Main), 50);
}

TEST_P(TorchReferenceOps, Reductions) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GT(run_ops(dev(), reduction_ops(), Group::Main), 40);
}

TEST_P(TorchReferenceOps, Linalg) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GT(run_ops(dev(), linalg_ops(), Group::Main), 10);
}

TEST_P(TorchReferenceOps, Index) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GT(run_ops(dev(), index_ops(), Group::Main), 10);
}

TEST_P(TorchReferenceOps, Float32Path) {
  KILN_SKIP_IF_NO_DEVICE();
  int ran = 0;
  for (const Ops* ops : all_ops()) ran += run_ops(dev(), *ops, Group::Float32);
  EXPECT_GE(ran, 8);
}

// NaN/Inf propagation (maximum, clamp, sort and topk order, masked softmax, ...) and integer operands.
TEST_P(TorchReferenceOps, NonFiniteAndIntegerInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  int ran = 0;
  for (const Ops* ops : all_ops()) ran += run_ops(dev(), *ops, Group::Edge);
  EXPECT_GE(ran, 30);
}

// torch.result_type of mixed operands, and the values the op computes in that dtype.
TEST_P(TorchReferenceOps, TypePromotion) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const json& c : test::torch_ref::reference().at("promotion")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE("promotion case " + name);
    Tensor a = test::torch_ref::from_json(c.at("a"), dev());
    const bool with_scalar = c.contains("scalar");
    Tensor b = with_scalar ? Tensor() : test::torch_ref::from_json(c.at("b"), dev());
    Scalar s;
    if (with_scalar) {
      const std::string kind = c.at("scalar_kind").get<std::string>();
      s = kind == "float" ? Scalar(json_number(c["scalar"])) : kind == "bool" ? Scalar(c["scalar"].get<int>() != 0)
                                                                          : Scalar(c["scalar"].get<int64_t>());
    }
    const std::string op = c.at("op").get<std::string>();
    const std::string want = c.at("dtype").get<std::string>();
    DType rt = with_scalar ? result_type(a, s) : result_type(a, b);
    if (op != "div") {  // true division of integers promotes past result_type
      EXPECT_EQ(std::string(dtype_name(rt)), want) << name << ": kiln result_type vs torch";
    }
    try {
      Tensor out = op == "add"   ? (with_scalar ? add(a, s) : add(a, b))
                   : op == "mul" ? (with_scalar ? mul(a, s) : mul(a, b))
                                 : (with_scalar ? div(a, s) : div(a, b));
      test::torch_ref::check_tensor(out, c.at("output"), name + " output");
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << ": kiln threw: " << e.what();
    }
  }
}

// Every op named in the file has a handler here or in the nn test, so no case is silently skipped.
TEST(TorchReferenceFile, EveryOpHasAHandler) {
  auto missing = test::torch_ref::unhandled_ops("ops", all_ops());
  for (const auto& op : missing) ADD_FAILURE() << "op '" << op << "' in torch_reference.json has no handler";
  EXPECT_FALSE(test::torch_ref::reference().at("promotion").empty());
}

INSTANTIATE_DEVICE_TESTS(TorchReferenceOps);
}  // namespace
}  // namespace kiln
