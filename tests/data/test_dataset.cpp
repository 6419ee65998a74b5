// Tests for TensorDataset, Subset, random_split, the default get_batch and CSVDataset.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "data/data_test_util.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/data/dataset.h"
#include "kiln/data/datasets.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln::test {
namespace {

using data::Example;

// data[i] = [i, 10 i, 100 i] (float32), targets[i] = i % 3 (int64).
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  std::vector<float> d;
  std::vector<int64_t> t;
  for (int64_t i = 0; i < n; ++i) {
    d.insert(d.end(), {float(i), float(10 * i), float(100 * i)});
    t.push_back(i % 3);
  }
  return std::make_shared<data::TensorDataset>(tensor(d, {n, 3}), tensor(t, {n}));
}

// A dataset without a get_batch of its own: the default stacks get() results.
class SquaresDataset : public data::Dataset {
 public:
  int64_t size() const override { return 5; }
  Example get(int64_t i) const override {
    KILN_CHECK_INDEX(i >= 0 && i < 5, "index ", i);
    return {tensor(std::vector<double>{double(i), double(i * i)}, {2}), scalar_tensor(i, kInt64)};
  }
};

TEST(TensorDatasetTest, GetReturnsRowsAndGetBatchGathersThem) {
  auto ds = numbered(6);
  EXPECT_EQ(ds->size(), 6);
  Example e = ds->get(4);
  expect_values(e.data, {4, 40, 400});
  EXPECT_EQ(e.target.item<int64_t>(), 1);
  Example b = ds->get_batch({5, 0, 5, 2});
  EXPECT_EQ(b.data.sizes(), (Shape{4, 3}));
  expect_values(b.data, {5, 50, 500, 0, 0, 0, 5, 50, 500, 2, 20, 200});
  EXPECT_EQ(b.target.to_vector<int64_t>(), (std::vector<int64_t>{2, 0, 2, 2}));
}

TEST(TensorDatasetTest, MismatchedFirstDimsAreAShapeErrorNamingBothShapes) {
  std::string msg = error_message<ShapeError>([] { data::TensorDataset(zeros({4, 2}), zeros({3})); });
  EXPECT_NE(msg.find("[4, 2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
  EXPECT_THROW(data::TensorDataset(scalar_tensor(1.0), Tensor()), ShapeError);
}

TEST(TensorDatasetTest, OutOfRangeIndicesAndEmptyBatchesThrow) {
  auto ds = numbered(3);
  EXPECT_THROW(ds->get(3), IndexError);
  EXPECT_THROW(ds->get(-1), IndexError);
  EXPECT_THROW(ds->get_batch({0, 7}), IndexError);
  EXPECT_THROW(ds->get_batch({}), ValueError);
}

TEST(TensorDatasetTest, UnlabelledDataHasUndefinedTargets) {
  data::TensorDataset ds(arange(8, TensorOptions(kFloat32)).view({4, 2}), Tensor());
  EXPECT_FALSE(ds.get(1).target.defined());
  Example b = ds.get_batch({3, 1});
  EXPECT_FALSE(b.target.defined());
  expect_values(b.data, {6, 7, 2, 3});
}

TEST(DatasetTest, DefaultGetBatchStacksSamples) {
  SquaresDataset ds;
  Example b = ds.get_batch({4, 1, 2});
  EXPECT_EQ(b.data.sizes(), (Shape{3, 2}));
  expect_values(b.data, {4, 16, 1, 1, 2, 4});
  EXPECT_EQ(b.target.to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 2}));
  EXPECT_THROW(ds.get_batch({5}), IndexError);
}

TEST(SubsetTest, MapsIndicesAndKeepsTheFastPath) {
  auto ds = numbered(10);
  data::Subset sub(ds, {7, 2, 9});
  EXPECT_EQ(sub.size(), 3);
  expect_values(sub.get(1).data, {2, 20, 200});
  Example b = sub.get_batch({2, 0});
  expect_values(b.data, {9, 90, 900, 7, 70, 700});
  EXPECT_THROW(sub.get(3), IndexError);
  EXPECT_THROW(data::Subset(ds, {10}), IndexError);
}

TEST(RandomSplitTest, LengthsPartitionTheDatasetReproducibly) {
  auto ds = numbered(10);
  Generator g1(42), g2(42), g3(7);
  auto a = data::random_split(ds, {7, 3}, &g1);
  auto b = data::random_split(ds, std::vector<int64_t>{7, 3}, &g2);
  auto c = data::random_split(ds, {7, 3}, &g3);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0]->size(), 7);
  EXPECT_EQ(a[1]->size(), 3);
  EXPECT_EQ(a[0]->indices(), b[0]->indices());
  EXPECT_EQ(a[1]->indices(), b[1]->indices());
  EXPECT_NE(a[0]->indices(), c[0]->indices());
  std::vector<int64_t> all = a[0]->indices();
  all.insert(all.end(), a[1]->indices().begin(), a[1]->indices().end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
}

TEST(RandomSplitTest, FractionsBecomeCountsWithTheRemainderGivenToTheFirst) {
  auto ds = numbered(10);
  Generator g(1);
  auto parts = data::random_split(ds, {0.5, 0.25, 0.25}, &g);
  ASSERT_EQ(parts.size(), 3u);
  // floor: 5, 2, 2; the one left over goes to the first.
  EXPECT_EQ(parts[0]->size(), 6);
  EXPECT_EQ(parts[1]->size(), 2);
  EXPECT_EQ(parts[2]->size(), 2);
}

TEST(RandomSplitTest, LengthsThatDoNotAddUpAreAValueError) {
  auto ds = numbered(10);
  std::string msg = error_message<ValueError>([&] { data::random_split(ds, {6, 3}); });
  EXPECT_NE(msg.find("9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("10"), std::string::npos) << msg;
  EXPECT_THROW(data::random_split(ds, {0.5, 0.4}), ValueError);
  EXPECT_THROW(data::random_split(ds, {11, -1}), ValueError);
  EXPECT_THROW(data::random_split(ds, {2.5, 7.5}), ValueError);
}

class CsvDatasetTest : public TempDirTest {};

TEST_F(CsvDatasetTest, SplitsTheTargetColumnByName) {
  std::string p = write_text("iris.csv", "a,label,b\n1.5,0,2\n3,2,4.25\n-1,1,0\n");
  data::CSVDataset ds(p, "label");
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.data().sizes(), (Shape{3, 2}));
  EXPECT_EQ(ds.data().dtype(), kFloat32);
  expect_values(ds.data(), {1.5, 2, 3, 4.25, -1, 0});
  EXPECT_EQ(ds.targets().dtype(), kInt64);
  EXPECT_EQ(ds.targets().to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(ds.feature_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ds.target_name(), "label");
}

TEST_F(CsvDatasetTest, TargetByPositionAndFloatTargets) {
  std::string p = write_text("reg.tsv", "1\t2\t0.5\n3\t4\t-1.25\n");
  data::CsvOptions opts;
  opts.delimiter = '\t';
  opts.header = false;
  opts.target_dtype = kFloat32;
  data::CSVDataset last(p, -1, opts);
  EXPECT_EQ(last.targets().dtype(), kFloat32);
  expect_values(last.targets(), {0.5, -1.25});
  expect_values(last.data(), {1, 2, 3, 4});
  data::CSVDataset first(p, 0, opts);
  expect_values(first.targets(), {1, 3});
  expect_values(first.data(), {2, 0.5, 4, -1.25});
  EXPECT_TRUE(first.feature_names().empty());
}

TEST_F(CsvDatasetTest, BadTargetsAreReportedClearly) {
  std::string p = write_text("t.csv", "x,y\n1,0\n2,1.5\n");
  std::string msg = error_message<ValueError>([&] { data::CSVDataset(p, "y"); });
  EXPECT_NE(msg.find("1.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("row 2"), std::string::npos) << msg;
  msg = error_message<ValueError>([&] { data::CSVDataset(p, "z"); });
  EXPECT_NE(msg.find("'x', 'y'"), std::string::npos) << msg;
  EXPECT_THROW(data::CSVDataset(p, 2), ValueError);
  EXPECT_THROW(data::CSVDataset(path("missing.csv"), 0), IOError);
  std::string one = write_text("one.csv", "y\n1\n");
  EXPECT_THROW(data::CSVDataset(one, "y"), ValueError);
}

}  // namespace
}  // namespace kiln::test
