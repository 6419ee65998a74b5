// einsum, composed from permute, reshape, sum and bmm (no kernel of its own): operands are contracted left to
// right, each pair as one batched matrix product, so autograd follows from those ops.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/ops/view.h"

namespace kiln {
namespace {
// A tensor whose dims are named by labels (one char each; '0'.. stand for the dims "..." covers).
struct Labeled {
  Tensor t;
  std::string labels;
};

std::vector<std::string> split_terms(const std::string& s) {
  std::vector<std::string> terms(1);
  for (char c : s) {
    if (c == ',')
      terms.emplace_back();
    else if (c != ' ')
      terms.back().push_back(c);
  }
  return terms;
}

// Replaces "..." by labels '0', '1', ... for the last `ell` of the broadcast dims it stands for.
std::string expand_ellipsis(const std::string& term, int64_t covered, int64_t ell, const std::string& eq) {
  size_t pos = term.find("...");
  if (pos == std::string::npos) return term;
  KILN_CHECK(term.find("...", pos + 3) == std::string::npos, "einsum: more than one \"...\" in a term of \"", eq, "\"");
  std::string dims;
  for (int64_t i = ell - covered; i < ell; ++i) dims.push_back(static_cast<char>('0' + i));
  return term.substr(0, pos) + dims + term.substr(pos + 3);
}

// Sums away the dims whose labels are not in keep.
Labeled sum_out(Labeled x, const std::string& keep) {
  Shape dims;
  std::string rest;
  for (size_t i = 0; i < x.labels.size(); ++i) {
    if (keep.find(x.labels[i]) == std::string::npos)
      dims.push_back(static_cast<int64_t>(i));
    else
      rest.push_back(x.labels[i]);
  }
  if (!dims.empty()) x = {sum(x.t, dims), rest};
  return x;
}

// x's dims in the order of `order` (which holds exactly x's labels), each expanded to `size`.
Tensor arrange(const Labeled& x, const std::string& order, const std::map<char, int64_t>& size) {
  Shape perm, shape;
  for (char c : order) {
    perm.push_back(static_cast<int64_t>(x.labels.find(c)));
    shape.push_back(size.at(c));
  }
  return expand(permute(x.t, perm), shape);
}

int64_t product(const std::string& labels, const std::map<char, int64_t>& size) {
  int64_t n = 1;
  for (char c : labels) n *= size.at(c);
  return n;
}

// a * b summed over the labels both have and `later` does not need, as [batch, a-only, b-only] by one bmm.
Labeled contract(const Labeled& a, const Labeled& b, const std::string& later, const std::map<char, int64_t>& size) {
  std::string batch, contracted, a_only, b_only;
  for (char c : a.labels) {
    bool in_b = b.labels.find(c) != std::string::npos, needed = later.find(c) != std::string::npos;
    (in_b ? (needed ? batch : contracted) : a_only).push_back(c);
  }
  for (char c : b.labels)
    if (a.labels.find(c) == std::string::npos) b_only.push_back(c);
  int64_t nb = product(batch, size), nm = product(a_only, size), nk = product(contracted, size),
          nn = product(b_only, size);
  Tensor ta = reshape(arrange(a, batch + a_only + contracted, size), {nb, nm, nk});
  Tensor tb = reshape(arrange(b, batch + contracted + b_only, size), {nb, nk, nn});
  Shape out_shape;
  for (char c : batch + a_only + b_only) out_shape.push_back(size.at(c));
  return {reshape(bmm(ta, tb), out_shape), batch + a_only + b_only};
}
}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  KILN_CHECK(!operands.empty(), "einsum: needs at least one operand");
  size_t arrow = equation.find("->");
  std::vector<std::string> terms = split_terms(equation.substr(0, arrow));
  KILN_CHECK(terms.size() == operands.size(), "einsum: \"", equation, "\" has ", terms.size(), " input terms but ",
             operands.size(), " operands were given");
  // The dims "..." covers in each operand; they broadcast together, aligned on the right.
  std::vector<int64_t> covered(terms.size(), 0);
  int64_t ell = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    bool has = terms[i].find("...") != std::string::npos;
    int64_t named = static_cast<int64_t>(terms[i].size()) - (has ? 3 : 0);
    KILN_CHECK_SHAPE(has ? operands[i].dim() >= named : operands[i].dim() == named, "einsum: term \"", terms[i],
                     "\" names ", named, " dims but operand ", i, " has shape ", operands[i].shape_str());
    if (has) covered[i] = operands[i].dim() - named;
    ell = std::max(ell, covered[i]);
  }
  std::map<char, int64_t> size;
  std::map<char, int> count;
  std::vector<Labeled> xs;
  for (size_t i = 0; i < terms.size(); ++i) {
    std::string labels = expand_ellipsis(terms[i], covered[i], ell, equation);
    for (size_t d = 0; d < labels.size(); ++d) {
      char c = labels[d];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c < '0' + ell);
      KILN_CHECK(ok, "einsum: \"", equation, "\" has '", c, "'; subscripts are letters a-z, A-Z and \"...\"");
      KILN_CHECK(labels.find(c) == d, "einsum: subscript '", c, "' repeats within one term of \"", equation,
                 "\" (diagonals are not supported)");
      int64_t s = operands[i].size(static_cast<int64_t>(d));
      auto it = size.find(c);
      if (it == size.end() || it->second == 1)
        size[c] = s;
      else
        KILN_CHECK_SHAPE(s == 1 || s == it->second, "einsum: subscript '", c, "' has size ", it->second,
                         " in one operand and ", s, " in operand ", i, " (\"", equation, "\")");
      ++count[c];
    }
    xs.push_back({operands[i], labels});
  }
  std::string out;
  if (arrow == std::string::npos) {  // implicit: "..." first, then the letters seen once, sorted
    for (int64_t i = 0; i < ell; ++i) out.push_back(static_cast<char>('0' + i));
    for (auto& [c, n] : count)
      if (n == 1 && !(c >= '0' && c <= '9')) out.push_back(c);
  } else {
    out = expand_ellipsis(equation.substr(arrow + 2), ell, ell, equation);
    out.erase(std::remove(out.begin(), out.end(), ' '), out.end());
    for (char c : out) {
      KILN_CHECK(size.count(c), "einsum: output subscript '", c, "' of \"", equation, "\" is in no input term");
      KILN_CHECK(std::count(out.begin(), out.end(), c) == 1, "einsum: output subscript '", c, "' repeats in \"",
                 equation, "\"");
    }
  }
  // Labels still needed after operand i: those of the output and of the operands after it.
  auto needed_after = [&](size_t i) {
    std::string s = out;
    for (size_t j = i + 1; j < xs.size(); ++j) s += xs[j].labels;
    return s;
  };
  Labeled acc = sum_out(xs[0], needed_after(0) + (xs.size() > 1 ? xs[1].labels : ""));
  for (size_t i = 1; i < xs.size(); ++i) {
    std::string later = needed_after(i);
    Labeled next = sum_out(xs[i], later + acc.labels);
    acc = sum_out(acc, later + next.labels);
    acc = contract(acc, next, later, size);
  }
  acc = sum_out(acc, out);
  return arrange(acc, out, size);
}
}  // namespace kiln
