// DType names, sizes and PyTorch's promotion lattice.
#include "kiln/core/dtype.h"

#include <algorithm>

namespace kiln {

size_t element_size(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8: return 1;
    case DType::Float16:
    case DType::BFloat16: return 2;
    case DType::Int32:
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::Float64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "unknown";
}

DType parse_dtype(const std::string& name) {
  static const std::pair<const char*, DType> names[] = {
      {"bool", kBool},       {"uint8", kUInt8},      {"int32", kInt32},     {"int", kInt32},
      {"int64", kInt64},     {"long", kInt64},       {"float16", kFloat16}, {"half", kFloat16},
      {"f16", kFloat16},     {"fp16", kFloat16},     {"bfloat16", kBFloat16}, {"bf16", kBFloat16},
      {"float32", kFloat32}, {"float", kFloat32},    {"f32", kFloat32},     {"fp32", kFloat32},
      {"float64", kFloat64}, {"double", kFloat64},   {"f64", kFloat64}};
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n.rfind("torch.", 0) == 0) n = n.substr(6);
  for (auto& [k, v] : names)
    if (n == k) return v;
  throw DTypeError("unknown dtype '" + name +
                   "'; expected one of bool, uint8, int32, int64, float16, bfloat16, float32, float64");
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (is_reduced_float(a) && is_reduced_float(b)) return DType::Float32;
  // The enum is ordered along the lattice bool < uint8 < int32 < int64 < f16/bf16 < f32 < f64.
  return static_cast<int>(a) > static_cast<int>(b) ? a : b;
}

void throw_unsupported_dtype(const char* op, DType t) {
  throw DTypeError(std::string("op '") + op + "' does not support dtype " + dtype_name(t));
}
}  // namespace kiln
