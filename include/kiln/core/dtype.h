// Element types, their promotion rules (PyTorch's), and the macros that dispatch a runtime dtype to a C++ type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "kiln/core/error.h"
#include "kiln/core/half.h"

namespace kiln {

enum class DType : int8_t { Bool, UInt8, Int32, Int64, Float16, BFloat16, Float32, Float64 };
constexpr int kNumDTypes = 8;

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

/// Bytes per element.
size_t element_size(DType t);
/// "float32", "int64", ... (the names torch prints).
const char* dtype_name(DType t);
/// Parses "float32"/"float"/"f32", "bfloat16"/"bf16", ...; throws DTypeError naming the accepted names.
DType parse_dtype(const std::string& name);
inline bool is_floating_point(DType t) { return t >= DType::Float16; }
inline bool is_integral(DType t, bool include_bool = false) { return t == DType::Bool ? include_bool : t <= DType::Int64; }
inline bool is_reduced_float(DType t) { return t == DType::Float16 || t == DType::BFloat16; }

/// The type two tensor dtypes combine to, as torch.promote_types: bool < uint8 < int32 < int64 < float types;
/// float16 with bfloat16 gives float32.
DType promote_types(DType a, DType b);
/// The default floating dtype, float32 (what integer inputs become under true division, exp, ...).
inline DType default_float_dtype() { return DType::Float32; }

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

template <typename T> struct CppTypeToDType;
template <> struct CppTypeToDType<bool> { static constexpr DType value = DType::Bool; };
template <> struct CppTypeToDType<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct CppTypeToDType<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct CppTypeToDType<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct CppTypeToDType<Half> { static constexpr DType value = DType::Float16; };
template <> struct CppTypeToDType<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct CppTypeToDType<float> { static constexpr DType value = DType::Float32; };
template <> struct CppTypeToDType<double> { static constexpr DType value = DType::Float64; };
template <typename T> constexpr DType dtype_of = CppTypeToDType<T>::value;

[[noreturn]] void throw_unsupported_dtype(const char* op, DType t);
}  // namespace kiln

#define KILN_DTYPE_CASE(enum_value, cpp_type, ...) \
  case ::kiln::DType::enum_value: {                \
    using scalar_t = cpp_type;                     \
    return __VA_ARGS__();                          \
  }

/// Runs the lambda with scalar_t bound to the C++ type of a floating dtype (f16, bf16, f32, f64).
#define KILN_DISPATCH_FLOATING(DTYPE, NAME, ...)                          \
  [&] {                                                                   \
    switch (DTYPE) {                                                      \
      KILN_DTYPE_CASE(Float32, float, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Float64, double, __VA_ARGS__)                       \
      KILN_DTYPE_CASE(Float16, ::kiln::Half, __VA_ARGS__)                 \
      KILN_DTYPE_CASE(BFloat16, ::kiln::BFloat16, __VA_ARGS__)            \
      default: ::kiln::throw_unsupported_dtype(NAME, DTYPE);              \
    }                                                                     \
  }()

/// Every numeric dtype except bool.
#define KILN_DISPATCH_NUMERIC(DTYPE, NAME, ...)                           \
  [&] {                                                                   \
    switch (DTYPE) {                                                      \
      KILN_DTYPE_CASE(Float32, float, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Float64, double, __VA_ARGS__)                       \
      KILN_DTYPE_CASE(Float16, ::kiln::Half, __VA_ARGS__)                 \
      KILN_DTYPE_CASE(BFloat16, ::kiln::BFloat16, __VA_ARGS__)            \
      KILN_DTYPE_CASE(UInt8, uint8_t, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                        \
      default: ::kiln::throw_unsupported_dtype(NAME, DTYPE);              \
    }                                                                     \
  }()

/// Every dtype, bool included.
#define KILN_DISPATCH_ALL(DTYPE, NAME, ...)                               \
  [&] {                                                                   \
    switch (DTYPE) {                                                      \
      KILN_DTYPE_CASE(Float32, float, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Float64, double, __VA_ARGS__)                       \
      KILN_DTYPE_CASE(Float16, ::kiln::Half, __VA_ARGS__)                 \
      KILN_DTYPE_CASE(BFloat16, ::kiln::BFloat16, __VA_ARGS__)            \
      KILN_DTYPE_CASE(UInt8, uint8_t, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Bool, bool, __VA_ARGS__)                            \
      default: ::kiln::throw_unsupported_dtype(NAME, DTYPE);              \
    }                                                                     \
  }()

/// Index dtypes (int32, int64).
#define KILN_DISPATCH_INDEX(DTYPE, NAME, ...)                             \
  [&] {                                                                   \
    switch (DTYPE) {                                                      \
      KILN_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)                        \
      KILN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                        \
      default: ::kiln::throw_unsupported_dtype(NAME, DTYPE);              \
    }                                                                     \
  }()
