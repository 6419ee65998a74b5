// Element types: the one dtype table, PyTorch's promotion lattice over it, and dtype dispatch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <type_traits>

#include "kiln/core/error.h"
#include "kiln/core/half.h"

namespace kiln {

/// The dtype table: every dtype kiln knows, declared once. Everything else (the enum, names, sizes,
/// categories, the promotion lattice, compute types, dispatch cases, per-dtype kernel instantiation,
/// test tables) follows from it, so adding a row adds a dtype everywhere. Row order carries no meaning.
/// Columns: enum name, C++ type, name (torch's), torch C++ type name, safetensors code, category, bits
/// (the rank within a category on the promotion lattice), compute (opmath) type.
#define KILN_FORALL_DTYPES(_)                                                              \
  _(Bool, bool, "bool", "Bool", "BOOL", Bool, 1, bool)                                     \
  _(UInt8, uint8_t, "uint8", "Byte", "U8", Integral, 8, uint8_t)                           \
  _(Int32, int32_t, "int32", "Int", "I32", Integral, 32, int32_t)                          \
  _(Int64, int64_t, "int64", "Long", "I64", Integral, 64, int64_t)                         \
  _(Float16, ::kiln::Half, "float16", "Half", "F16", Floating, 16, float)                  \
  _(BFloat16, ::kiln::BFloat16, "bfloat16", "BFloat16", "BF16", Floating, 16, float)       \
  _(Float32, float, "float32", "Float", "F32", Floating, 32, float)                        \
  _(Float64, double, "float64", "Double", "F64", Floating, 64, double)

#define KILN_DTYPE_ENUM_ROW(E, ...) E,
enum class DType : int8_t { KILN_FORALL_DTYPES(KILN_DTYPE_ENUM_ROW) };
#undef KILN_DTYPE_ENUM_ROW

constexpr DType kBool = DType::Bool;
constexpr DType kUInt8 = DType::UInt8;
constexpr DType kInt32 = DType::Int32;
constexpr DType kInt64 = DType::Int64;
constexpr DType kInt = DType::Int32;
constexpr DType kLong = DType::Int64;
constexpr DType kFloat16 = DType::Float16;
constexpr DType kHalf = DType::Float16;
constexpr DType kBFloat16 = DType::BFloat16;
constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr DType kDouble = DType::Float64;

/// Where a dtype sits on the promotion lattice: bool below every integer, integers below every float.
/// The levels are explicit numbers, not the enumerators' order.
enum class DTypeCategory : int8_t { Bool, Integral, Floating };
constexpr int category_level(DTypeCategory c) {
  return c == DTypeCategory::Bool ? 0 : c == DTypeCategory::Integral ? 1 : 2;
}

/// One row of the dtype table, as runtime values.
struct DTypeInfo {
  DType dtype;
  const char* name;        ///< "float32", as torch prints it
  const char* torch_name;  ///< "Float", torch's C++ type name (used in messages that mirror torch's)
  const char* safetensors; ///< "F32", the safetensors header code
  size_t size;             ///< bytes per element
  DTypeCategory category;
  int bits;                ///< rank within the category on the promotion lattice
  DType compute;           ///< the dtype arithmetic runs in (float for the 16-bit floats)
};

/// Every row of the table, in table order (iterate it; never index it by a DType's numeric value).
extern const DTypeInfo kDTypes[];
extern const int kNumDTypeRows;
/// The row of t.
const DTypeInfo& dtype_info(DType t);

/// Bytes per element.
inline size_t element_size(DType t) { return dtype_info(t).size; }
/// "float32", "int64", ... (the names torch prints).
inline const char* dtype_name(DType t) { return dtype_info(t).name; }
/// Parses "float32"/"float"/"f32", "bfloat16"/"bf16", "torch.int64", ...; throws DTypeError naming the accepted names.
DType parse_dtype(const std::string& name);
inline DTypeCategory dtype_category(DType t) { return dtype_info(t).category; }
inline bool is_floating_point(DType t) { return dtype_category(t) == DTypeCategory::Floating; }
inline bool is_integral(DType t, bool include_bool = false) {
  DTypeCategory c = dtype_category(t);
  return c == DTypeCategory::Integral || (include_bool && c == DTypeCategory::Bool);
}
/// float16 and bfloat16: stored narrow, computed in float.
inline bool is_reduced_float(DType t) { return is_floating_point(t) && dtype_info(t).compute != t; }

/// The type two tensor dtypes combine to, as torch.promote_types: the higher category wins; within a
/// category the higher rank wins; two different dtypes of equal rank (float16 with bfloat16) give the
/// smallest dtype of that category ranked above both (float32).
DType promote_types(DType a, DType b);
/// The default floating dtype, float32 (what integer inputs become under true division, exp, ...).
inline DType default_float_dtype() { return DType::Float32; }

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

/// C++ type of a dtype and back, from the table.
template <DType D> struct DTypeToCpp;
template <typename T> struct CppTypeToDType;
#define KILN_DTYPE_TRAITS_ROW(E, T, ...)                                       \
  template <> struct DTypeToCpp<DType::E> { using type = T; };                 \
  template <> struct CppTypeToDType<T> { static constexpr DType value = DType::E; };
KILN_FORALL_DTYPES(KILN_DTYPE_TRAITS_ROW)
#undef KILN_DTYPE_TRAITS_ROW
/// The type arithmetic on T is carried out in (the table's compute column): float for the 16-bit floats.
template <typename T> struct OpMath { using type = T; };
#define KILN_DTYPE_OPMATH_ROW(E, T, N, TN, SN, CAT, BITS, COMPUTE) \
  template <> struct OpMath<T> { using type = COMPUTE; };
KILN_FORALL_DTYPES(KILN_DTYPE_OPMATH_ROW)
#undef KILN_DTYPE_OPMATH_ROW
template <typename T> using opmath_t = typename OpMath<T>::type;
template <DType D> using cpp_type_t = typename DTypeToCpp<D>::type;
template <typename T> constexpr DType dtype_of = CppTypeToDType<T>::value;

/// Compile-time category of a table type (is_floating_cpp<Half> is true).
#define KILN_DTYPE_CATEGORY_ROW(E, T, N, TN, SN, CAT, ...) \
  template <> struct CppCategory<T> { static constexpr DTypeCategory value = DTypeCategory::CAT; };
template <typename T> struct CppCategory;
KILN_FORALL_DTYPES(KILN_DTYPE_CATEGORY_ROW)
#undef KILN_DTYPE_CATEGORY_ROW
template <typename T> struct is_floating_cpp : std::bool_constant<CppCategory<T>::value == DTypeCategory::Floating> {};
template <typename T> struct is_numeric_cpp : std::bool_constant<CppCategory<T>::value != DTypeCategory::Bool> {};
template <typename T> struct is_any_cpp : std::true_type {};
template <typename T> struct is_index_cpp : std::bool_constant<std::is_same<T, int32_t>::value || std::is_same<T, int64_t>::value> {};

[[noreturn]] void throw_unsupported_dtype(const char* op, DType t);

namespace detail {
/// promote_types over an explicit list of rows (a test permutes it to show that row order is meaningless).
DType promote_in_table(const DTypeInfo* rows, int n, DType a, DType b);

template <typename T> struct TypeTag { using type = T; };

/// Calls f(TypeTag<T>{}) for t's C++ type T when Pred<T> holds, else throws DTypeError naming op. The
/// rejected types are never instantiated, so f may use operations they lack.
template <template <class> class Pred, typename F>
decltype(auto) visit_dtype(DType t, const char* op, F&& f) {
  switch (t) {
#define KILN_VISIT_DTYPE_ROW(E, T, ...) \
  case DType::E:                        \
    if constexpr (Pred<T>::value) return f(TypeTag<T>{}); \
    break;
    KILN_FORALL_DTYPES(KILN_VISIT_DTYPE_ROW)
#undef KILN_VISIT_DTYPE_ROW
  }
  throw_unsupported_dtype(op, t);
}
}  // namespace detail
}  // namespace kiln

/// Runs the lambda (the trailing argument) with scalar_t bound to the C++ type of DTYPE, for the dtypes
/// PRED accepts (a trait over the C++ type); throws DTypeError naming NAME for the others.
#define KILN_DISPATCH_IF(PRED, DTYPE, NAME, ...)                                   \
  ::kiln::detail::visit_dtype<PRED>(DTYPE, NAME, [&](auto kiln_tag_) -> decltype(auto) { \
    using scalar_t = typename decltype(kiln_tag_)::type;                            \
    return (__VA_ARGS__)();                                                         \
  })
/// Floating dtypes (f16, bf16, f32, f64).
#define KILN_DISPATCH_FLOATING(DTYPE, NAME, ...) KILN_DISPATCH_IF(::kiln::is_floating_cpp, DTYPE, NAME, __VA_ARGS__)
/// Every numeric dtype except bool.
#define KILN_DISPATCH_NUMERIC(DTYPE, NAME, ...) KILN_DISPATCH_IF(::kiln::is_numeric_cpp, DTYPE, NAME, __VA_ARGS__)
/// Every dtype, bool included.
#define KILN_DISPATCH_ALL(DTYPE, NAME, ...) KILN_DISPATCH_IF(::kiln::is_any_cpp, DTYPE, NAME, __VA_ARGS__)
/// Index dtypes (int32, int64).
#define KILN_DISPATCH_INDEX(DTYPE, NAME, ...) KILN_DISPATCH_IF(::kiln::is_index_cpp, DTYPE, NAME, __VA_ARGS__)
