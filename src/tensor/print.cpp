// Printing tensors in the style of torch.Tensor.__repr__.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "kiln/autograd/node.h"
#include "kiln/tensor/tensor.h"

namespace kiln {
namespace {
constexpr int64_t kSummarizeAbove = 1000;  // torch's print threshold
constexpr int64_t kEdgeItems = 3;

struct Formatter {
  enum class Mode { Bool, Int, IntegralFloat, Fixed, Sci } mode = Mode::Fixed;
  int width = 1;
  std::string format(double v) const {
    char buf[64];
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    switch (mode) {
      case Mode::Bool: return v != 0 ? "True" : "False";
      case Mode::Int: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v)); break;
      case Mode::IntegralFloat: std::snprintf(buf, sizeof buf, "%.0f.", v); break;
      case Mode::Fixed: std::snprintf(buf, sizeof buf, "%.4f", v); break;
      case Mode::Sci: std::snprintf(buf, sizeof buf, "%.4e", v); break;
    }
    return buf;
  }
};

Formatter make_formatter(const std::vector<double>& vals, DType dtype) {
  Formatter f;
  if (dtype == kBool) {
    f.mode = Formatter::Mode::Bool;
  } else if (!is_floating_point(dtype)) {
    f.mode = Formatter::Mode::Int;
  } else {
    bool integral = true;
    double max_abs = 0, min_abs = INFINITY;
    for (double v : vals) {
      if (!std::isfinite(v)) continue;
      integral = integral && v == std::nearbyint(v);
      max_abs = std::max(max_abs, std::fabs(v));
      if (v != 0) min_abs = std::min(min_abs, std::fabs(v));
    }
    if (integral && max_abs < 1e8) f.mode = Formatter::Mode::IntegralFloat;
    else if (max_abs >= 1e8 || (min_abs < 1e-4) || (min_abs != INFINITY && max_abs / min_abs > 1000))
      f.mode = Formatter::Mode::Sci;
    else
      f.mode = Formatter::Mode::Fixed;
  }
  for (double v : vals) f.width = std::max<int>(f.width, static_cast<int>(f.format(v).size()));
  return f;
}

void print_dims(std::ostringstream& os, const Tensor& host, const std::vector<double>& flat, const Formatter& f,
                int64_t dim, int64_t offset, int indent, bool summarize) {
  const Shape& s = host.sizes();
  if (host.dim() == 0) {
    os << f.format(flat[0]);
    return;
  }
  int64_t n = s[dim];
  int64_t inner = 1;
  for (size_t d = dim + 1; d < s.size(); ++d) inner *= s[d];
  os << "[";
  bool last = dim == host.dim() - 1;
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << (last ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      if (!last && dim < host.dim() - 2) os << "\n" << std::string(indent + 1, ' ');
      i = n - kEdgeItems;
    }
    if (last) {
      std::string v = f.format(flat[offset + i]);
      os << std::string(f.width - v.size(), ' ') << v;
    } else {
      print_dims(os, host, flat, f, dim + 1, offset + i * inner, indent + 1, summarize);
    }
    if (i + 1 < n) {
      os << ",";
      if (last) os << " ";
      else os << std::string(host.dim() - dim - 1, '\n') << std::string(indent + 1, ' ');
    }
  }
  os << "]";
}
}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  std::vector<double> flat = to_vector<double>();
  bool summarize = numel() > kSummarizeAbove;
  std::vector<double> shown;
  if (summarize) {
    for (int64_t i = 0; i < std::min<int64_t>(numel(), kEdgeItems * 4); ++i) shown.push_back(flat[i]);
    for (int64_t i = std::max<int64_t>(0, numel() - kEdgeItems * 4); i < numel(); ++i) shown.push_back(flat[i]);
  }
  Formatter f = make_formatter(summarize ? shown : flat, dtype());
  if (numel() == 0) {
    os << "[]";
  } else {
    print_dims(os, *this, flat, f, 0, 0, 7, summarize);
  }
  if (numel() == 0 && dim() != 1) os << ", size=" << shape_str();
  if (is_cuda()) os << ", device='" << device().str() << "'";
  if (dtype() != kFloat32 && dtype() != kInt64 && dtype() != kBool) os << ", dtype=torch." << dtype_name(dtype());
  if (auto fn = grad_fn()) os << ", grad_fn=<" << fn->name << ">";
  else if (requires_grad()) os << ", requires_grad=True";
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }
}  // namespace kiln
