// Tests for diag::compare_devices: on the CPU every op lands within float32's expected error of the float64
// reference (and on a GPU too, where one is present), and the table explains the causes.
#include <gtest/gtest.h>

#include <string>

#include "gpu_skip.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/diag/compare.h"

namespace {
using namespace kiln;

TEST(Compare, CpuFloat32IsWithinToleranceOfFloat64) {
  diag::CompareOptions o;
  o.devices = {Device("cpu")};
  o.train_steps = 2;
  const uint64_t offset = default_generator().offset();
  std::vector<diag::OpComparison> rows = diag::compare_devices(o);
  EXPECT_EQ(default_generator().offset(), offset) << "compare must leave the default generator as it was";
  ASSERT_EQ(rows.size(), 11u);
  for (const auto& r : rows) {
    EXPECT_TRUE(r.within) << r.op << ": max abs " << r.max_abs_diff << ", max rel " << r.max_rel_diff;
    EXPECT_EQ(r.device, "cpu");
    EXPECT_GE(r.max_abs_diff, 0.0);
    EXPECT_FALSE(r.causes.empty());
  }
  // float32 really is compared: a float64-exact result would mean the reference ran twice.
  EXPECT_GT(rows.front().max_abs_diff, 0.0);
  const std::string table = diag::format_comparisons(rows);
  for (const char* want : {"matmul", "softmax", "cross_entropy", "MLP", "summation order", "TF32", "atomics"})
    EXPECT_NE(table.find(want), std::string::npos) << want << " missing from\n" << table;
}

TEST(Compare, RejectsNoDevices) { EXPECT_THROW(diag::compare_devices({}), ValueError); }

TEST(CompareCUDA, GpuFloat32IsWithinToleranceOfFloat64) {
  KILN_SKIP_WITHOUT_GPU();
  diag::CompareOptions o;
  o.devices = {Device("cuda:0")};
  for (const auto& r : diag::compare_devices(o))
    EXPECT_TRUE(r.within) << r.op << " on " << r.device << ": max abs " << r.max_abs_diff << ", max rel "
                          << r.max_rel_diff << " (tolerance " << r.tolerance << ")";
}
}  // namespace
