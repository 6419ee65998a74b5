// Training curves as a PNG: the loss and accuracy chart that `kiln train` redraws after every epoch.
#pragma once
#include <string>
#include <vector>

namespace kiln::train {

/// Writes a 1200x500 PNG to path with two panels side by side: "Loss" (train_loss and val_loss against the
/// 1-based epoch) and "Accuracy" (train_acc and val_acc); training is drawn in blue, validation in orange.
/// Element i of each vector is epoch i + 1. An empty vector is left out of its panel and legend (e.g. val_*
/// without validation data); a NaN or infinite value is skipped and breaks the line there. The file is
/// replaced atomically. Throws IOError when it cannot be written.
void write_training_plot(const std::string& path, const std::vector<double>& train_loss,
                         const std::vector<double>& val_loss, const std::vector<double>& train_acc,
                         const std::vector<double>& val_acc);

}  // namespace kiln::train
