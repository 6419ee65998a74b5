// Value checks (ops/check): the messages both devices give, the rule the CPU loop and the CUDA kernel share, the
// CPU's immediate failures, and the host side of the deferred CUDA reports (backend/cuda/device_checks.h),
// which the CPU can run on a record in ordinary memory.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "backend/cuda/device_checks.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/check/check_failure.h"
#include "ops/check/value_check.h"
#include "ops/check/value_rule.h"

namespace kiln::ops {
namespace {

template <typename E>
std::string thrown(const CheckFailure& f, int deferred_on = -1) {
  try {
    throw_check_failure(f, deferred_on);
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception of the kind's type";
  return "";
}

TEST(CheckFailure, EachKindHasItsMessageAndType) {
  CheckFailure f;
  f.kind = CheckKind::IndexOutOfBounds;
  f.op = "gather";
  f.arg0 = 1;
  f.arg1 = 5;
  EXPECT_EQ(thrown<IndexError>(f.with_value(int64_t{3}, int64_t{7})),
            "gather: index 7 is out of bounds for dimension 1 with size 5");

  f = CheckFailure{};
  f.kind = CheckKind::ClassIndex;
  f.op = "one_hot";
  f.arg0 = 3;
  EXPECT_EQ(thrown<IndexError>(f.with_value(int64_t{0}, int64_t{4})),
            "one_hot: class index 4 is out of range for num_classes 3 (valid: 0 to 2)");

  f = CheckFailure{};
  f.kind = CheckKind::ClassTarget;
  f.op = "cross_entropy";
  f.arg0 = 10;
  f.arg1 = -100;
  EXPECT_EQ(thrown<IndexError>(f.with_value(int64_t{2}, int64_t{12})),
            "cross_entropy: target 12 is out of bounds: class indices must be in [0, 10) for input with 10 classes "
            "(or equal ignore_index=-100)");

  f = CheckFailure{};
  f.kind = CheckKind::Probability;
  f.op = "binary_cross_entropy";
  const std::string p = thrown<ValueError>(f.with_value(int64_t{4}, 1.5));
  EXPECT_NE(p.find("between 0 and 1, but element 4 is 1.5"), std::string::npos) << p;

  f = CheckFailure{};
  f.kind = CheckKind::ZeroDivisor;
  f.op = "remainder";
  f.arg0 = static_cast<int64_t>(kInt32);
  EXPECT_EQ(thrown<ValueError>(f.with_value(int64_t{1}, int64_t{0})),
            "ZeroDivisionError: remainder of an integer tensor by zero (int32): the divisor's element 1 is zero");
}

TEST(CheckFailure, DeferredReportsNameTheDeviceAndHowToStopAtTheOp) {
  CheckFailure f;
  f.op = "index_select";
  f.arg1 = 4;
  const std::string m = thrown<IndexError>(f.with_value(int64_t{0}, int64_t{9}), 2);
  EXPECT_EQ(m.rfind("index_select: index 9 is out of bounds", 0), 0u) << m;
  EXPECT_NE(m.find("cuda:2"), std::string::npos) << m;
  EXPECT_NE(m.find("CUDA_LAUNCH_BLOCKING=1"), std::string::npos) << m;
}

TEST(ValueRule, IntegerRangeWithAnAllowedValue) {
  const ValueRule r = ValueRule::int_range(0, 9).or_equal(-100);
  for (int64_t v : {0, 5, 9, -100}) EXPECT_TRUE(r.accepts(v)) << v;
  for (int64_t v : {int64_t{-1}, int64_t{10}, int64_t{-99}, std::numeric_limits<int64_t>::min()})
    EXPECT_FALSE(r.accepts(v)) << v;
  EXPECT_TRUE(r.accepts(int32_t{3}));
  EXPECT_FALSE(ValueRule::int_range(0, 9).accepts(int64_t{-100}));
}

TEST(ValueRule, FloatRangeRefusesNaN) {
  const ValueRule r = ValueRule::float_range(0.0, 1.0);
  for (double v : {0.0, 0.5, 1.0}) EXPECT_TRUE(r.accepts(v)) << v;
  for (double v : {-1e-300, 1.0000001, std::nan(""), std::numeric_limits<double>::infinity()})
    EXPECT_FALSE(r.accepts(v)) << v;
  EXPECT_TRUE(r.accepts(Half(0.25f)));
  EXPECT_FALSE(r.accepts(BFloat16(2.0f)));
}

TEST(ValueRule, NonZero) {
  const ValueRule r = ValueRule::non_zero();
  EXPECT_FALSE(r.accepts(int64_t{0}));
  EXPECT_FALSE(r.accepts(false));
  EXPECT_TRUE(r.accepts(true));
  EXPECT_TRUE(r.accepts(uint8_t{255}));
}

TEST(ValueCheck, CpuReportsTheFirstBadElement) {
  CheckFailure f;
  f.kind = CheckKind::ClassTarget;
  f.op = "nll_loss";
  f.arg0 = 3;
  f.arg1 = -1;
  const ValueRule rule = ValueRule::int_range(0, 2).or_equal(-1);
  Tensor t = tensor(std::vector<int64_t>{0, -1, 7, 2, 9, -5}, {2, 3});
  try {
    check_values(t, rule, f);
    FAIL() << "expected IndexError";
  } catch (const IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("target 7 "), std::string::npos) << e.what();
  }
  // Any layout: the transposed view's first bad element in its own order is 9 (row 0 is 0, 2).
  try {
    check_values(t.t(), rule, f);
    FAIL() << "expected IndexError";
  } catch (const IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("target 9 "), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_values(tensor(std::vector<int64_t>{0, 1, 2, -1}, {4}), rule, f));
  EXPECT_NO_THROW(check_values(tensor(std::vector<int64_t>{}, {0}), rule, f));
}

// The host half of a deferred report, on a record in ordinary memory: taken once, then the slot is empty.
TEST(DeviceChecks, APendingFailureIsTakenOnce) {
  cuda::detail::PendingFailure p;
  CheckFailure out;
  EXPECT_FALSE(cuda::detail::take_pending_failure(p, out));
  CheckFailure f;
  f.op = "gather";
  p.failure = f.with_value(int64_t{11}, int64_t{42});
  p.ready = 1;
  ASSERT_TRUE(cuda::detail::take_pending_failure(p, out));
  EXPECT_EQ(out.int_value, 42);
  EXPECT_EQ(out.position, 11);
  EXPECT_EQ(std::string(out.op), "gather");
  EXPECT_FALSE(cuda::detail::take_pending_failure(p, out));
}
}  // namespace
}  // namespace kiln::ops
