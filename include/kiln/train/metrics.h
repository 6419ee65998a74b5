// Evaluation results: loss, accuracy and the confusion matrix of a classifier.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::train {

struct EvalResult {
  double loss = 0;
  double accuracy = 0;     ///< NaN for non-classification losses
  int64_t samples = 0;
  /// confusion[true_class][predicted_class]; empty for non-classification losses.
  std::vector<std::vector<int64_t>> confusion;
  /// The confusion matrix as an aligned text table with class names (numbers when names is empty).
  std::string confusion_table(const std::vector<std::string>& names = {}) const;
};
}  // namespace kiln::train
