// CSVDataset: a numeric CSV table split into float32 features and a target column.
#include <cmath>
#include <string>
#include <vector>

#include "io/csv.h"
#include "kiln/core/error.h"
#include "kiln/data/datasets.h"

namespace kiln::data {

CSVDataset::CSVDataset(const std::string& path, const std::string& target_column, const CsvOptions& options) {
  load(path, &target_column, 0, options);
}

CSVDataset::CSVDataset(const std::string& path, int64_t target_column, const CsvOptions& options) {
  load(path, nullptr, target_column, options);
}

void CSVDataset::load(const std::string& path, const std::string* name, int64_t position, const CsvOptions& options) {
  const DType tdt = options.target_dtype;
  KILN_CHECK_DTYPE(tdt == kInt64 || tdt == kInt32 || tdt == kFloat32 || tdt == kFloat64,
                   "CSVDataset: target_dtype must be int64 or int32 (class labels) or float32 or float64 "
                   "(regression), got ",
                   dtype_name(tdt));
  io::CsvOptions csv;
  csv.delimiter = options.delimiter;
  csv.header = options.header;
  io::CsvTable table = io::read_csv(path, csv);
  const int64_t cols = table.cols, rows = table.rows;

  int64_t target = -1;
  if (name) {
    KILN_CHECK(options.header, "CSVDataset: '", path, "': the target column is given by name ('", *name,
               "') but options.header is false, so columns have no names; give its 0-based position instead");
    for (int64_t c = 0; c < cols; ++c)
      if (table.columns[static_cast<size_t>(c)] == *name) target = c;
    if (target < 0) {
      std::string names;
      for (const std::string& c : table.columns) names += (names.empty() ? "'" : ", '") + c + "'";
      throw ValueError("CSVDataset: '" + path + "' has no column named '" + *name + "'; its columns are " + names);
    }
  } else {
    target = position < 0 ? position + cols : position;
    KILN_CHECK(target >= 0 && target < cols, "CSVDataset: '", path, "' has ", cols,
               " columns, so target column ", position, " does not exist (valid: ", -cols, " to ", cols - 1, ")");
  }
  KILN_CHECK(cols >= 2, "CSVDataset: '", path, "' has only the target column; a dataset needs at least one feature");

  const int64_t nf = cols - 1;
  Tensor features = make_tensor({rows, nf}, kFloat32, Device(kCPU));
  float* f = features.data_ptr<float>();
  std::vector<double> t(static_cast<size_t>(rows));
  const bool integer = !is_floating_point(tdt);
  const double max_label = tdt == kInt32 ? 2147483647.0 : 9.0e15;  // beyond 2^53 doubles skip integers
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = table.values.data() + r * cols;
    for (int64_t c = 0, k = 0; c < cols; ++c) {
      if (c == target) continue;
      f[r * nf + k++] = static_cast<float>(row[c]);
    }
    const double v = row[target];
    if (integer && (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > max_label))
      throw ValueError(detail::str("CSVDataset: '", path, "' data row ", r + 1, " has target ", v,
                                   ", which is not a whole number in range; class labels must be integers (use "
                                   "target_dtype = kFloat32 for a regression target)"));
    t[static_cast<size_t>(r)] = v;
  }
  Tensor targets = make_tensor({rows}, tdt, Device(kCPU));
  switch (tdt) {
    case DType::Int64:
      for (int64_t r = 0; r < rows; ++r) targets.data_ptr<int64_t>()[r] = static_cast<int64_t>(t[r]);
      break;
    case DType::Int32:
      for (int64_t r = 0; r < rows; ++r) targets.data_ptr<int32_t>()[r] = static_cast<int32_t>(t[r]);
      break;
    case DType::Float32:
      for (int64_t r = 0; r < rows; ++r) targets.data_ptr<float>()[r] = static_cast<float>(t[r]);
      break;
    default:
      for (int64_t r = 0; r < rows; ++r) targets.data_ptr<double>()[r] = t[r];
  }
  if (options.header) {
    for (int64_t c = 0; c < cols; ++c)
      if (c != target) feature_names_.push_back(table.columns[static_cast<size_t>(c)]);
    target_name_ = table.columns[static_cast<size_t>(target)];
  }
  reset(std::move(features), std::move(targets));
}

}  // namespace kiln::data
