// History and EpochLogs accessors, and the confusion-matrix table.
#include <algorithm>
#include <sstream>

#include "kiln/core/error.h"
#include "kiln/train/history.h"
#include "kiln/train/metrics.h"

namespace kiln::train {

double EpochLogs::get(const std::string& key) const {
  if (key == "loss") return loss;
  if (key == "accuracy" || key == "acc") return accuracy;
  if (key == "val_loss") return val_loss;
  if (key == "val_accuracy" || key == "val_acc") return val_accuracy;
  if (key == "lr") return lr;
  if (key == "seconds") return seconds;
  if (key == "samples_per_second") return samples_per_second;
  throw ValueError("unknown metric '" + key + "'; expected loss, accuracy, val_loss, val_accuracy, lr, seconds or "
                   "samples_per_second");
}

std::vector<double> History::series(const std::string& key) const {
  std::vector<double> out;
  for (auto& e : epochs) out.push_back(e.get(key));
  return out;
}

std::string EvalResult::confusion_table(const std::vector<std::string>& names) const {
  size_t c = confusion.size();
  auto label = [&](size_t i) { return i < names.size() ? names[i] : std::to_string(i); };
  size_t label_w = 4, cell_w = 5;
  for (size_t i = 0; i < c; ++i) label_w = std::max(label_w, label(i).size());
  for (auto& row : confusion)
    for (auto v : row) cell_w = std::max(cell_w, std::to_string(v).size() + 1);
  std::ostringstream os;
  os << std::string(label_w, ' ') << " | predicted\n" << std::string(label_w, ' ') << " |";
  for (size_t p = 0; p < c; ++p) {
    std::string h = std::to_string(p);
    os << std::string(cell_w - h.size(), ' ') << h;
  }
  os << "\n" << std::string(label_w + 2 + cell_w * c, '-') << "\n";
  for (size_t t = 0; t < c; ++t) {
    std::string l = label(t);
    os << l << std::string(label_w - l.size(), ' ') << " |";
    for (size_t p = 0; p < c; ++p) {
      std::string v = std::to_string(confusion[t][p]);
      os << std::string(cell_w - v.size(), ' ') << v;
    }
    os << "\n";
  }
  return os.str();
}
}  // namespace kiln::train
