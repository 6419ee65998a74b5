// Printing modules the way PyTorch does, and the summary table (parameter counts, traced output shapes).
#include <algorithm>
#include <iomanip>
#include <sstream>
#include <unordered_set>

#include "kiln/nn/module.h"

namespace kiln::nn {
namespace {
void print_recursive(std::ostream& os, const Module& m, const std::string& indent) {
  auto children = m.named_children();
  std::vector<std::string> extra;
  std::istringstream lines(m.extra_repr());
  for (std::string line; std::getline(lines, line);) extra.push_back(line);
  // As torch's Module.__repr__: one line when there is at most one extra_repr line and no child; otherwise each
  // extra_repr line, then one "(name): child" line per child, indented.
  if (children.empty() && extra.size() <= 1) {
    m.pretty_print(os);
    return;
  }
  std::string inner = indent + "  ";
  os << m.name() << "(";
  for (const std::string& line : extra) os << "\n" << inner << line;
  for (const auto& kv : children) {
    os << "\n" << inner << "(" << kv.first << "): ";
    print_recursive(os, *kv.second, inner);
  }
  os << "\n" << indent << ")";
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}
}  // namespace

void Module::pretty_print(std::ostream& os) const { os << name() << "(" << extra_repr() << ")"; }

std::ostream& operator<<(std::ostream& os, const Module& m) {
  print_recursive(os, m, "");
  return os;
}

ModuleSummary summary(const Module& m) {
  ModuleSummary s;
  std::unordered_set<const TensorImpl*> counted;
  std::unordered_set<const Module*> visited;
  std::function<void(const Module&, const std::string&, int)> walk = [&](const Module& mod, const std::string& path,
                                                                          int depth) {
    if (!visited.insert(&mod).second) return;
    ModuleSummary::Row row;
    row.name = path;
    row.type = mod.name();
    row.depth = depth;
    for (const auto& kv : mod.named_parameters(/*recurse=*/false)) {
      if (!counted.insert(kv.second.impl()).second) continue;  // tied weights count once, where first seen
      int64_t n = kv.second.numel();
      row.params += n;
      if (kv.second.requires_grad()) row.trainable += n;
    }
    s.total_params += row.params;
    s.trainable_params += row.trainable;
    s.rows.push_back(row);
    for (const auto& kv : mod.named_children())
      walk(*kv.second, path.empty() ? kv.first : path + "." + kv.first, depth + 1);
  };
  walk(m, "", 0);
  return s;
}

std::string ModuleSummary::str() const {
  const bool traced = !input_shape.empty();
  std::vector<std::string> labels, shapes;
  size_t name_w = std::string("Layer (type)").size(), num_w = std::string("Param #").size();
  size_t shape_w = std::string("Output Shape").size();
  for (const auto& r : rows) {
    std::string label = std::string(static_cast<size_t>(2 * r.depth), ' ') + (r.name.empty() ? "" : r.name + " ") +
                        "(" + r.type + ")";
    labels.push_back(label);
    name_w = std::max(name_w, label.size());
    num_w = std::max(num_w, with_commas(r.params).size());
    // torchinfo prints "--" for a module it saw no output of (one called outside a traced container).
    std::string shape;
    for (const Shape& s : r.output_shapes) shape += (shape.empty() ? "" : ", ") + shape_to_string(s);
    shapes.push_back(shape.empty() ? "--" : shape);
    shape_w = std::max(shape_w, shapes.back().size());
  }
  std::ostringstream os;
  const int name_col = static_cast<int>(name_w + 4), shape_col = static_cast<int>(shape_w + 4);
  size_t width = name_w + 4 + (traced ? shape_w + 4 : 0) + num_w;
  std::string rule(width, '=');
  os << rule << "\n" << std::left << std::setw(name_col) << "Layer (type)";
  if (traced) os << std::setw(shape_col) << "Output Shape";
  os << std::right << std::setw(static_cast<int>(num_w)) << "Param #" << "\n" << rule << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    os << std::left << std::setw(name_col) << labels[i];
    if (traced) os << std::setw(shape_col) << shapes[i];
    os << std::right << std::setw(static_cast<int>(num_w)) << with_commas(rows[i].params) << "\n";
  }
  os << rule << "\n";
  if (traced) os << "Input shape: " << shape_to_string(input_shape) << "\n";
  os << "Total params: " << with_commas(total_params) << "\n"
     << "Trainable params: " << with_commas(trainable_params) << "\n"
     << "Non-trainable params: " << with_commas(non_trainable_params()) << "\n"
     << rule << "\n";
  return os.str();
}
}  // namespace kiln::nn
