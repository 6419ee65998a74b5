// Device parsing, dtype names and promotion, Half/BFloat16 rounding, Scalar.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kiln/core/error.h"
#include "kiln/core/half.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/tensor.h"

using namespace kiln;

TEST(Device, ParsesAndPrints) {
  EXPECT_EQ(Device("cpu").str(), "cpu");
  EXPECT_TRUE(Device("cpu").is_cpu());
  EXPECT_EQ(Device("cuda").str(), "cuda");
  EXPECT_EQ(Device("cuda:1").index(), 1);
  EXPECT_EQ(Device("cuda:1").str(), "cuda:1");
  EXPECT_EQ(Device("cpu:0"), Device("cpu"));
}

TEST(Device, MalformedStringsThrowDeviceError) {
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cpu:1", "", "CUDA:0", "cuda:0:1", "cuda:99999999"}) {
    try {
      Device d(bad);
      FAIL() << "expected DeviceError for '" << bad << "'";
    } catch (const DeviceError& e) {
      EXPECT_NE(std::string(e.what()).find("invalid device string"), std::string::npos) << e.what();
    }
  }
}

TEST(Device, MissingOrdinalIsDeviceError) {
  // Without a GPU every CUDA ordinal is missing; with one, an ordinal past the count is.
  int n = cuda::device_count();
  Device d(DeviceType::CUDA, n);
  EXPECT_THROW(resolve_device(d), DeviceError);
  EXPECT_THROW(zeros({2}, TensorOptions().device(d)), DeviceError);
}

TEST(DType, NamesSizesAndParsing) {
  EXPECT_STREQ(dtype_name(kBFloat16), "bfloat16");
  EXPECT_EQ(element_size(kFloat16), 2u);
  EXPECT_EQ(element_size(kInt64), 8u);
  EXPECT_EQ(parse_dtype("bf16"), kBFloat16);
  EXPECT_EQ(parse_dtype("torch.float64"), kFloat64);
  EXPECT_THROW(parse_dtype("float8"), DTypeError);
}

TEST(DType, PromotionMatchesPyTorch) {
  EXPECT_EQ(promote_types(kBool, kUInt8), kUInt8);
  EXPECT_EQ(promote_types(kUInt8, kInt32), kInt32);
  EXPECT_EQ(promote_types(kInt32, kInt64), kInt64);
  EXPECT_EQ(promote_types(kInt64, kFloat16), kFloat16);
  EXPECT_EQ(promote_types(kFloat16, kBFloat16), kFloat32);
  EXPECT_EQ(promote_types(kBFloat16, kFloat32), kFloat32);
  EXPECT_EQ(promote_types(kFloat32, kFloat64), kFloat64);
  EXPECT_EQ(promote_types(kBool, kBool), kBool);
}

TEST(Half, RoundTripsAndRoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(Half(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(Half(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(65520.0f))));
  EXPECT_EQ(static_cast<float>(Half(1.0f + 1.0f / 2048)), 1.0f);  // tie rounds to even
  EXPECT_EQ(static_cast<float>(Half(5.9604644775390625e-8f)), 5.9604644775390625e-8f);  // smallest subnormal
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(static_cast<float>(Half(-2.5f)), -2.5f);
  // Every half value survives float -> half -> float exactly.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    Half h(static_cast<uint16_t>(bits), Half::FromBits{});
    float f = h;
    if (std::isnan(f)) continue;
    EXPECT_EQ(Half(f).x, h.x) << bits;
  }
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(BFloat16(1.00390625f)), 1.0f);  // tie to even
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Scalar, KindsAndConversions) {
  EXPECT_TRUE(Scalar(2).is_integral());
  EXPECT_TRUE(Scalar(2.5).is_floating_point());
  EXPECT_TRUE(Scalar(true).is_bool());
  EXPECT_EQ(Scalar(2.5).to<int64_t>(), 2);
  EXPECT_EQ(Scalar(3).dtype(), kInt64);
  EXPECT_EQ(Scalar(3.0f).dtype(), kFloat32);
}
