// The dtype table's runtime rows, name parsing and PyTorch's promotion lattice.
#include "kiln/core/dtype.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace kiln {

namespace {
// One constant per row, so dtype_info is a switch, not a search.
#define KILN_DTYPE_INFO_ROW(E, T, NAME, TORCH, SAFETENSORS, CAT, BITS, COMPUTE) \
  constexpr DTypeInfo kInfo##E{DType::E, NAME, TORCH, SAFETENSORS, sizeof(T), DTypeCategory::CAT, BITS, dtype_of<COMPUTE>};
KILN_FORALL_DTYPES(KILN_DTYPE_INFO_ROW)
#undef KILN_DTYPE_INFO_ROW
}  // namespace

#define KILN_DTYPE_LIST_ROW(E, ...) kInfo##E,
const DTypeInfo kDTypes[] = {KILN_FORALL_DTYPES(KILN_DTYPE_LIST_ROW)};
#undef KILN_DTYPE_LIST_ROW
const int kNumDTypeRows = static_cast<int>(sizeof(kDTypes) / sizeof(kDTypes[0]));

const DTypeInfo& dtype_info(DType t) {
  switch (t) {
#define KILN_DTYPE_CASE_ROW(E, ...) \
  case DType::E:                    \
    return kInfo##E;
    KILN_FORALL_DTYPES(KILN_DTYPE_CASE_ROW)
#undef KILN_DTYPE_CASE_ROW
  }
  throw DTypeError("invalid dtype value " + std::to_string(static_cast<int>(t)));
}

DType parse_dtype(const std::string& name) {
  // Spellings beyond the table's own names (torch's aliases and common short forms).
  static const std::pair<const char*, DType> aliases[] = {
      {"int", kInt32},    {"long", kInt64},     {"half", kFloat16}, {"f16", kFloat16}, {"fp16", kFloat16},
      {"bf16", kBFloat16}, {"float", kFloat32}, {"f32", kFloat32},  {"fp32", kFloat32}, {"double", kFloat64},
      {"f64", kFloat64}};
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n.rfind("torch.", 0) == 0) n = n.substr(6);
  std::string accepted;
  for (const DTypeInfo& row : kDTypes) {
    if (n == row.name) return row.dtype;
    accepted += std::string(accepted.empty() ? "" : ", ") + row.name;
  }
  for (auto& [k, v] : aliases)
    if (n == k) return v;
  throw DTypeError("unknown dtype '" + name + "'; expected one of " + accepted);
}

namespace detail {
DType promote_in_table(const DTypeInfo* rows, int n, DType a, DType b) {
  if (a == b) return a;
  const DTypeInfo *ia = nullptr, *ib = nullptr;
  for (int i = 0; i < n; ++i) {
    if (rows[i].dtype == a) ia = &rows[i];
    if (rows[i].dtype == b) ib = &rows[i];
  }
  KILN_CHECK_DTYPE(ia && ib, "promote_types: dtype missing from the table");
  int la = category_level(ia->category), lb = category_level(ib->category);
  if (la != lb) return la > lb ? a : b;
  if (ia->bits != ib->bits) return ia->bits > ib->bits ? a : b;
  // Two dtypes of one rank (float16, bfloat16): the smallest of the category that holds both.
  const DTypeInfo* best = nullptr;
  for (int i = 0; i < n; ++i)
    if (rows[i].category == ia->category && rows[i].bits > ia->bits && (!best || rows[i].bits < best->bits))
      best = &rows[i];
  KILN_CHECK_DTYPE(best != nullptr, "no dtype holds both ", ia->name, " and ", ib->name);
  return best->dtype;
}
}  // namespace detail

DType promote_types(DType a, DType b) { return detail::promote_in_table(kDTypes, kNumDTypeRows, a, b); }

void throw_unsupported_dtype(const char* op, DType t) {
  throw DTypeError(std::string("op '") + op + "' does not support dtype " + dtype_name(t));
}
}  // namespace kiln
