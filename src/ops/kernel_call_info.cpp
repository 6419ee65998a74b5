// What a kernel call's arguments say about its operands (device index, dtypes, the operation inside the
// stub), for kernel wrappers such as the device-placement log. Runs only when a wrapper is installed.
#include "kiln/tensor/tensor.h"
#include "ops/index/index_kernels.h"
#include "ops/kernel_wrappers.h"
#include "ops/linalg/linalg_kernels.h"
#include "ops/pointwise/pointwise_kernels.h"
#include "ops/reduce/reduce_kernels.h"

namespace kiln::ops {
namespace {
void add_dtype(KernelCall& call, DType t) {
  if (call.ndtypes < KernelCall::kMaxDTypes) call.dtypes[call.ndtypes++] = t;
}
void set_device(KernelCall& call, const Device& d) {
  if (call.device_index < 0 && d.is_cuda()) call.device_index = d.has_index() ? d.index() : 0;
}

#define KILN_UNARY_NAME_ROW(E, ...) #E,
constexpr const char* kUnaryNames[] = {KILN_FORALL_UNARY_KERNELS(KILN_UNARY_NAME_ROW)};
#undef KILN_UNARY_NAME_ROW
constexpr const char* kCompareNames[] = {"Eq", "Ne", "Lt", "Le", "Gt", "Ge"};
constexpr const char* kReduceNames[] = {"Sum",   "Mean",  "Prod",  "Max",     "Min",        "ArgMax",
                                        "ArgMin", "Var",   "Std",   "Norm0",   "Norm1",      "Norm2",
                                        "NormP", "NormInf", "NormNegInf", "LogSumExp", "Any", "All"};
static_assert(sizeof(kReduceNames) / sizeof(kReduceNames[0]) == static_cast<size_t>(ReduceKind::All) + 1,
              "one name per ReduceKind");

template <size_t N>
const char* name_at(const char* const (&names)[N], int i) {
  return i >= 0 && static_cast<size_t>(i) < N ? names[i] : nullptr;
}
}  // namespace

void describe_kernel_arg(KernelCall& call, const Tensor& t) {
  if (!t.defined()) return;
  set_device(call, t.device());
  add_dtype(call, t.dtype());
}

void describe_kernel_arg(KernelCall& call, const ElementwiseIter& it) {
  set_device(call, it.device);
  call.first_is_output = true;
  for (int i = 0; i < it.noperands; ++i) add_dtype(call, it.dtypes[i]);
}

void describe_kernel_arg(KernelCall& call, const ReduceCall& c) {
  set_device(call, c.device);
  call.detail = name_at(kReduceNames, static_cast<int>(c.kind));
  call.first_is_output = true;
  add_dtype(call, c.out_dtype);
  add_dtype(call, c.in_dtype);
}

void describe_kernel_arg(KernelCall& call, const SoftmaxCall& c) {
  set_device(call, c.device);
  call.detail = c.log ? "LogSoftmax" : "Softmax";
  add_dtype(call, c.dtype);
}

void describe_kernel_arg(KernelCall& call, const GemmParams& p) {
  set_device(call, p.device);
  call.detail = p.op;
  add_dtype(call, p.dtype);
}

void describe_kernel_arg(KernelCall& call, const IndexArgs& a) {
  set_device(call, a.device);
  add_dtype(call, a.dtype);
  add_dtype(call, a.index_dtype);
}

void describe_kernel_arg(KernelCall& call, BinaryOp op) { call.detail = binary_op_info(op).name; }
void describe_kernel_arg(KernelCall& call, UnaryOp op) { call.detail = name_at(kUnaryNames, static_cast<int>(op)); }
void describe_kernel_arg(KernelCall& call, CompareOp op) {
  call.detail = name_at(kCompareNames, static_cast<int>(op));
}
}  // namespace kiln::ops
