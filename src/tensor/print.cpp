// Printing tensors exactly as PyTorch 1.13's repr does (torch/_tensor_str.py): the same choice of integer, fixed or
// scientific notation, widths, 80-column wrapping, "..." summaries and suffixes (tests/data/print_reference.json).
#include <cmath>
#include <cstdio>
#include <sstream>

#include "kiln/autograd/node.h"
#include "kiln/tensor/tensor.h"

namespace kiln {
namespace {
// torch's default print options (torch.set_printoptions).
constexpr int64_t kThreshold = 1000;  // more elements than this are summarised
constexpr int64_t kEdgeItems = 3;     // shown at each end of a summarised dim
constexpr int kLineWidth = 80;

// The host copy's values as PyTorch reads them: integers exactly (int64 beyond 2^53 too), floats as double.
struct Values {
  DType dtype;
  bool floating;
  std::vector<double> f;
  std::vector<int64_t> i;
};

std::string printf_double(const char* spec, double v) {
  char buf[512];  // %.4f of 1e308 needs 314 characters
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

// Python's str() of a non-finite float: C may print a negative NaN as "-nan".
std::string non_finite(double v) { return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"); }

// torch's _Formatter: one width and one notation for every element shown.
class Formatter {
 public:
  Formatter(const Values& v, const std::vector<int64_t>& shown) : v_(v) {
    if (!v.floating) {
      for (int64_t k : shown) width_ = std::max<int>(width_, static_cast<int>(plain(k).size()));
      return;
    }
    std::vector<double> finite;  // the nonzero finite values decide the notation; zeros and nan/inf do not
    for (int64_t k : shown)
      if (std::isfinite(v.f[k]) && v.f[k] != 0) finite.push_back(v.f[k]);
    if (finite.empty()) return;
    double lo = INFINITY, hi = 0;
    for (double x : finite) {
      lo = std::min(lo, std::fabs(x));
      hi = std::max(hi, std::fabs(x));
      int_mode_ = int_mode_ && x == std::ceil(x);
    }
    sci_ = hi / lo > 1000. || hi > 1.e8 || (!int_mode_ && lo < 1.e-4);
    for (double x : finite) {
      const int len = sci_ ? static_cast<int>(printf_double("%.4e", x).size())
                           : int_mode_ ? static_cast<int>(printf_double("%.0f", x).size()) + 1
                                       : static_cast<int>(printf_double("%.4f", x).size());
      width_ = std::max(width_, len);
    }
  }

  int width() const { return width_; }

  /// Element k, right-aligned to the common width (a longer nan or inf is not cut).
  std::string format(int64_t k) const {
    std::string s;
    if (!v_.floating) {
      s = plain(k);
    } else {
      const double x = v_.f[k];
      if (!std::isfinite(x)) s = non_finite(x);
      else if (sci_) s = printf_double("%.4e", x);
      else if (int_mode_) s = printf_double("%.0f", x) + ".";
      else s = printf_double("%.4f", x);
    }
    return s.size() < static_cast<size_t>(width_) ? std::string(width_ - s.size(), ' ') + s : s;
  }

 private:
  std::string plain(int64_t k) const {
    if (v_.dtype == kBool) return v_.i[k] ? "True" : "False";
    return std::to_string(v_.i[k]);
  }

  const Values& v_;
  bool int_mode_ = true, sci_ = false;
  int width_ = 1;
};

// A row-major walk over the host copy: the element offsets of each printed index, and of what the formatter sees.
struct Printer {
  const Shape& shape;
  std::vector<int64_t> strides;  // contiguous
  bool summarize;

  bool elided(int64_t d) const { return summarize && shape[d] > 2 * kEdgeItems; }

  // The indices of dim d that are printed (-1 marks the "..." between the two ends).
  std::vector<int64_t> indices(int64_t d) const {
    std::vector<int64_t> out;
    if (!elided(d)) {
      for (int64_t i = 0; i < shape[d]; ++i) out.push_back(i);
      return out;
    }
    for (int64_t i = 0; i < kEdgeItems; ++i) out.push_back(i);
    out.push_back(-1);
    for (int64_t i = shape[d] - kEdgeItems; i < shape[d]; ++i) out.push_back(i);
    return out;
  }

  // torch's get_summarized_data: the elements the formatter measures.
  void shown(int64_t d, int64_t offset, std::vector<int64_t>& out) const {
    if (d == static_cast<int64_t>(shape.size())) {
      out.push_back(offset);
      return;
    }
    for (int64_t i : indices(d))
      if (i >= 0) shown(d + 1, offset + i * strides[d], out);
  }

  // torch's _vector_str: as many elements per line as fit in 80 columns after the indent.
  std::string vector(int64_t offset, int indent, const Formatter& f) const {
    const int64_t d = static_cast<int64_t>(shape.size()) - 1;
    const int per_line = std::max(1, (kLineWidth - indent) / (f.width() + 2));
    std::vector<std::string> items;
    for (int64_t i : indices(d)) items.push_back(i < 0 ? " ..." : f.format(offset + i * strides[d]));
    std::string out = "[";
    for (size_t k = 0; k < items.size(); ++k) {
      if (k > 0) out += k % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
      out += items[k];
    }
    return out + "]";
  }

  // torch's _tensor_str_with_formatter: sub-tensors separated by one blank line per remaining dim beyond one.
  std::string tensor(int64_t d, int64_t offset, int indent, const Formatter& f) const {
    const int64_t rank = static_cast<int64_t>(shape.size());
    if (rank == 0) return f.format(0);
    if (d == rank - 1) return vector(offset, indent, f);
    const std::string sep = "," + std::string(rank - d - 1, '\n') + std::string(indent + 1, ' ');
    std::string out = "[";
    bool first = true;
    for (int64_t i : indices(d)) {
      if (!first) out += sep;
      first = false;
      out += i < 0 ? "..." : tensor(d + 1, offset + i * strides[d], indent + 1, f);
    }
    return out + "]";
  }
};

std::string tuple_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// torch's _add_suffixes: ", suffix", or a new indented line once the current one would pass 80 columns.
std::string add_suffixes(const std::string& body, const std::vector<std::string>& suffixes, int indent) {
  std::string out = body;
  const size_t newline = body.rfind('\n');
  // torch's count (len - rfind + 1) is two more than the last line's length; kept, to wrap where torch wraps.
  size_t last_line = body.size() - (newline == std::string::npos ? size_t(0) : newline + 1) + 2;
  for (const std::string& s : suffixes) {
    if (last_line + s.size() + 2 > static_cast<size_t>(kLineWidth)) {
      out += ",\n" + std::string(indent, ' ') + s;
      last_line = indent + s.size();
    } else {
      out += ", " + s;
      last_line += s.size() + 2;
    }
  }
  return out + ")";
}
}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  // torch prints the device unless it is the default one (the CPU).
  if (is_cuda()) suffixes.push_back("device='" + device().str() + "'");
  const bool default_dtype = dtype() == kFloat32 || dtype() == kInt64 || dtype() == kBool;
  std::string body;
  if (numel() == 0) {
    if (dim() != 1) suffixes.push_back("size=" + tuple_str(sizes()));
    // Without elements nothing shows that the values are integers, so only float32 goes unnamed.
    if (dtype() != kFloat32) suffixes.push_back(std::string("dtype=torch.") + dtype_name(dtype()));
    body = "[]";
  } else {
    if (!default_dtype) suffixes.push_back(std::string("dtype=torch.") + dtype_name(dtype()));
    Values v{dtype(), is_floating_point(), {}, {}};
    if (v.floating) v.f = to_vector<double>();
    else v.i = to_vector<int64_t>();
    Printer p{sizes(), Shape(sizes().size(), 1), numel() > kThreshold};
    for (int64_t d = dim() - 2; d >= 0; --d) p.strides[d] = p.strides[d + 1] * sizes()[d + 1];
    std::vector<int64_t> shown;
    p.shown(0, 0, shown);
    Formatter f(v, shown);
    body = p.tensor(0, 0, indent, f);
  }
  if (auto fn = grad_fn()) suffixes.push_back("grad_fn=<" + fn->name() + ">");
  else if (requires_grad()) suffixes.push_back("requires_grad=True");
  return add_suffixes(prefix + body, suffixes, indent);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }
}  // namespace kiln
