// Optimizer::state_dict / load_state_dict: options, parameter indices and per-parameter state as named
// tensors, and a load that checks everything before it changes anything.
#include <algorithm>
#include <set>

#include "kiln/optim/optimizer.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::optim {
namespace {

// Keys can come from a file (a damaged or hostile checkpoint): name at most 10 items, each cut at max_len.
std::string join(const std::vector<std::string>& items, size_t max_len = 80) {
  std::string out;
  const size_t shown = std::min<size_t>(items.size(), 10);
  for (size_t i = 0; i < shown; ++i)
    out += (i ? ", " : "") + (items[i].size() <= max_len ? items[i] : items[i].substr(0, max_len - 3) + "...");
  if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
  return out;
}

// "param_groups.<g>.": the group indices a state dict mentions (-1 when a key is malformed).
int64_t group_count(const StateDict& sd) {
  const std::string prefix = "param_groups.";
  int64_t n = 0;
  for (auto it = sd.lower_bound(prefix); it != sd.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    size_t dot = it->first.find('.', prefix.size());
    if (dot == std::string::npos) continue;
    const std::string digits = it->first.substr(prefix.size(), dot - prefix.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    n = std::max<int64_t>(n, std::stoll(digits) + 1);
  }
  return n;
}

bool has_prefix(const StateDict& sd, const std::string& prefix) {
  auto it = sd.lower_bound(prefix);
  return it != sd.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

// Collects what is wrong with a state dict, so one error names every problem.
struct Checker {
  const StateDict& sd;
  std::set<std::string> used;
  std::vector<std::string> missing, bad;

  const Tensor* find(const std::string& key) {
    auto it = sd.find(key);
    if (it == sd.end()) {
      missing.push_back(key);
      return nullptr;
    }
    used.insert(key);
    return &it->second;
  }
  // A 0-dim (or one-element) entry, or nullptr after recording the problem.
  const Tensor* scalar(const std::string& key) {
    const Tensor* t = find(key);
    if (t && (t->numel() != 1 || t->dim() > 1)) {
      bad.push_back(key + " has shape " + t->shape_str() + " but should be a 0-dim tensor");
      return nullptr;
    }
    return t;
  }
};
}  // namespace

StateDict Optimizer::state_dict() const {
  StateDict sd;
  const TensorOptions f64(kFloat64), i64(kInt64);
  int64_t index = 0;
  for (size_t gi = 0; gi < param_groups_.size(); ++gi) {
    const ParamGroup& group = param_groups_[gi];
    const std::string prefix = "param_groups." + std::to_string(gi) + ".";
    for (const auto& kv : group.options().named_values()) sd[prefix + kv.first] = scalar_tensor(kv.second, f64);
    if (group.has_initial_lr()) sd[prefix + "initial_lr"] = scalar_tensor(group.initial_lr(), f64);
    std::vector<int64_t> ids;
    for (const Tensor& p : group.params()) {
      ids.push_back(index);
      auto it = state_.find(p.impl());
      if (it != state_.end()) {
        const std::string sp = "state." + std::to_string(index) + ".";
        if (it->second->has_step()) sd[sp + "step"] = scalar_tensor(it->second->step, i64);
        for (const auto& named : it->second->tensors())
          if (named.second->defined()) sd[sp + named.first] = *named.second;
      }
      ++index;
    }
    sd[prefix + "params"] = tensor(ids, Shape{static_cast<int64_t>(ids.size())}, i64);
  }
  return sd;
}

void Optimizer::load_state_dict(const StateDict& sd) {
  const int64_t saved_groups = group_count(sd);
  KILN_CHECK(saved_groups == static_cast<int64_t>(param_groups_.size()), "load_state_dict: the state dict has ",
             saved_groups, " parameter group(s) but the optimizer has ", param_groups_.size());
  Checker check{sd, {}, {}, {}};

  // Options first: they decide which state buffers each parameter has.
  std::vector<std::unique_ptr<OptimizerOptions>> options;
  std::vector<double> initial_lrs;
  struct Target {
    int64_t saved_index;
    Tensor param;
    size_t group;
  };
  std::vector<Target> targets;
  for (size_t gi = 0; gi < param_groups_.size(); ++gi) {
    const ParamGroup& group = param_groups_[gi];
    const std::string prefix = "param_groups." + std::to_string(gi) + ".";
    auto opts = group.options().clone();
    for (const auto& kv : opts->named_values())
      if (const Tensor* t = check.scalar(prefix + kv.first)) opts->set_named_value(kv.first, t->item().to_double());
    options.push_back(std::move(opts));
    double initial_lr = -1;
    if (sd.count(prefix + "initial_lr"))
      if (const Tensor* t = check.scalar(prefix + "initial_lr")) initial_lr = t->item().to_double();
    initial_lrs.push_back(initial_lr);
    if (const Tensor* ids = check.find(prefix + "params")) {
      const int64_t n = static_cast<int64_t>(group.params().size());
      if (ids->dim() != 1 || ids->numel() != n) {
        check.bad.push_back(prefix + "params lists " + std::to_string(ids->numel()) + " parameter(s) but group " +
                            std::to_string(gi) + " has " + std::to_string(n));
      } else {
        std::vector<int64_t> saved = ids->to_vector<int64_t>();
        for (int64_t k = 0; k < n; ++k) targets.push_back({saved[k], group.params()[k], gi});
      }
    }
  }

  std::unordered_map<const TensorImpl*, std::unique_ptr<OptimizerParamState>> state;
  for (const Target& t : targets) {
    const std::string sp = "state." + std::to_string(t.saved_index) + ".";
    if (!has_prefix(sd, sp)) continue;  // never stepped
    auto st = make_state(t.param, *options[t.group]);
    if (st->has_step())
      if (const Tensor* s = check.scalar(sp + "step")) st->step = s->item().to_long();
    for (const auto& named : st->tensors()) {
      if (!named.second->defined()) continue;  // a buffer these options do not use
      const Tensor* s = check.find(sp + named.first);
      if (!s) continue;
      if (s->sizes() != t.param.sizes()) {
        check.bad.push_back(sp + named.first + " has shape " + s->shape_str() + " but its parameter has shape " +
                            t.param.shape_str());
        continue;
      }
      // Laid out as the parameter (a channels-last weight keeps the fused step), whatever the file's layout.
      *named.second = empty_like(t.param).copy_(*s);
    }
    state[t.param.impl()] = std::move(st);
  }

  std::vector<std::string> unexpected;
  for (const auto& kv : sd)
    if (!check.used.count(kv.first)) unexpected.push_back(kv.first);
  if (!check.missing.empty() || !check.bad.empty() || !unexpected.empty()) {
    std::string msg = "load_state_dict: the state dict does not fit this optimizer";
    if (!check.missing.empty()) msg += "; missing keys: " + join(check.missing);
    if (!unexpected.empty()) msg += "; unexpected keys: " + join(unexpected);
    if (!check.bad.empty()) msg += "; " + join(check.bad, 300);
    throw ValueError(msg + " (was it saved from another kind of optimizer, or for other parameters?)");
  }
  for (const auto& opts : options) opts->validate();
  for (size_t gi = 0; gi < param_groups_.size(); ++gi) {
    param_groups_[gi].set_options(std::move(options[gi]));
    if (initial_lrs[gi] >= 0) param_groups_[gi].set_initial_lr(initial_lrs[gi]);
  }
  state_ = std::move(state);
}
}  // namespace kiln::optim
