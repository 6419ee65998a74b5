// The dtype table: every row consistent with its C++ type, PyTorch's promotion lattice, and no meaning in
// the rows' order (promotion over every permutation of the table gives the same answers).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

using namespace kiln;

namespace {
std::vector<DType> all_dtypes() {
  std::vector<DType> v;
  for (int i = 0; i < kNumDTypeRows; ++i) v.push_back(kDTypes[i].dtype);
  return v;
}
}  // namespace

TEST(DTypeTable, RowsAgreeWithTheirCppTypes) {
#define KILN_CHECK_ROW(E, T, NAME, TORCH, SAFETENSORS, CAT, BITS, COMPUTE)                   \
  EXPECT_EQ(element_size(DType::E), sizeof(T)) << NAME;                                     \
  EXPECT_EQ(dtype_of<T>, DType::E) << NAME;                                                 \
  EXPECT_TRUE((std::is_same<cpp_type_t<DType::E>, T>::value)) << NAME;                      \
  EXPECT_TRUE((std::is_same<opmath_t<T>, COMPUTE>::value)) << NAME;                         \
  EXPECT_EQ(dtype_info(DType::E).compute, dtype_of<COMPUTE>) << NAME;                       \
  EXPECT_EQ(parse_dtype(NAME), DType::E) << NAME;                                            \
  EXPECT_EQ(is_floating_point(DType::E), DTypeCategory::CAT == DTypeCategory::Floating) << NAME;
  KILN_FORALL_DTYPES(KILN_CHECK_ROW)
#undef KILN_CHECK_ROW
}

TEST(DTypeTable, NamesAndCodesAreUnique) {
  std::set<std::string> names, codes;
  for (DType t : all_dtypes()) {
    EXPECT_TRUE(names.insert(dtype_name(t)).second) << dtype_name(t);
    EXPECT_TRUE(codes.insert(dtype_info(t).safetensors).second) << dtype_name(t);
  }
  EXPECT_EQ(static_cast<int>(names.size()), kNumDTypeRows);
}

TEST(DTypeTable, ReducedFloatsComputeInFloat) {
  EXPECT_TRUE(is_reduced_float(kFloat16));
  EXPECT_TRUE(is_reduced_float(kBFloat16));
  EXPECT_FALSE(is_reduced_float(kFloat32));
  EXPECT_FALSE(is_reduced_float(kInt32));
  EXPECT_TRUE(is_integral(kUInt8));
  EXPECT_FALSE(is_integral(kBool));
  EXPECT_TRUE(is_integral(kBool, /*include_bool=*/true));
}

// torch.promote_types for every pair of kiln's dtypes (symmetric; the diagonal is the dtype itself).
TEST(DTypeTable, PromotionMatchesPyTorchForEveryPair) {
  struct Case {
    DType a, b, want;
  };
  const std::vector<Case> cases = {
      {kBool, kUInt8, kUInt8},        {kBool, kInt32, kInt32},         {kBool, kInt64, kInt64},
      {kBool, kFloat16, kFloat16},    {kBool, kBFloat16, kBFloat16},   {kBool, kFloat32, kFloat32},
      {kBool, kFloat64, kFloat64},    {kUInt8, kInt32, kInt32},        {kUInt8, kInt64, kInt64},
      {kUInt8, kFloat16, kFloat16},   {kUInt8, kBFloat16, kBFloat16},  {kUInt8, kFloat32, kFloat32},
      {kUInt8, kFloat64, kFloat64},   {kInt32, kInt64, kInt64},        {kInt32, kFloat16, kFloat16},
      {kInt32, kBFloat16, kBFloat16}, {kInt32, kFloat32, kFloat32},    {kInt32, kFloat64, kFloat64},
      {kInt64, kFloat16, kFloat16},   {kInt64, kBFloat16, kBFloat16},  {kInt64, kFloat32, kFloat32},
      {kInt64, kFloat64, kFloat64},   {kFloat16, kBFloat16, kFloat32}, {kFloat16, kFloat32, kFloat32},
      {kFloat16, kFloat64, kFloat64}, {kBFloat16, kFloat32, kFloat32}, {kBFloat16, kFloat64, kFloat64},
      {kFloat32, kFloat64, kFloat64}};
  EXPECT_EQ(cases.size(), static_cast<size_t>(kNumDTypeRows * (kNumDTypeRows - 1) / 2));
  for (const Case& c : cases) {
    EXPECT_EQ(promote_types(c.a, c.b), c.want) << dtype_name(c.a) << " + " << dtype_name(c.b);
    EXPECT_EQ(promote_types(c.b, c.a), c.want) << dtype_name(c.b) << " + " << dtype_name(c.a);
  }
  for (DType t : all_dtypes()) EXPECT_EQ(promote_types(t, t), t);
}

TEST(DTypeTable, PromotionDoesNotDependOnRowOrder) {
  std::vector<DTypeInfo> rows(kDTypes, kDTypes + kNumDTypeRows);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::shuffle(rows.begin(), rows.end(), rng);
    for (DType a : all_dtypes())
      for (DType b : all_dtypes())
        EXPECT_EQ(detail::promote_in_table(rows.data(), kNumDTypeRows, a, b), promote_types(a, b))
            << dtype_name(a) << " + " << dtype_name(b) << " with the rows shuffled";
  }
}

TEST(DTypeTable, DispatchVisitsTheRowsItAccepts) {
  for (DType t : all_dtypes()) {
    DType seen = KILN_DISPATCH_ALL(t, "test", [&] { return dtype_of<scalar_t>; });
    EXPECT_EQ(seen, t);
    if (is_floating_point(t)) {
      EXPECT_EQ(KILN_DISPATCH_FLOATING(t, "test", [&] { return dtype_of<scalar_t>; }), t);
    } else {
      EXPECT_THROW(KILN_DISPATCH_FLOATING(t, "test", [&] { return dtype_of<scalar_t>; }), DTypeError);
    }
    if (t == kBool) EXPECT_THROW(KILN_DISPATCH_NUMERIC(t, "test", [&] { return 0; }), DTypeError);
  }
}

TEST(DeviceTable, NamesRoundTrip) {
  for (DeviceType t : {DeviceType::CPU, DeviceType::CUDA}) {
    Device d(device_type_name(t));
    EXPECT_EQ(d.type(), t);
    EXPECT_EQ(d.str(), device_type_name(t));
  }
  EXPECT_STREQ(device_type_label(DeviceType::CUDA), "CUDA");
}
