// The doctor's CUDA_VISIBLE_DEVICES link: the variable parsed with CUDA's rules, without a GPU, so that
// every way it hides GPUs can be named (and tested on any machine).
#include <dirent.h>

#include <set>
#include <sstream>

#include "kiln/diag/doctor.h"

namespace kiln::diag {
namespace {
std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool is_integer(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size() || s.size() - i > 9) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool is_uuid(const std::string& s) { return s.rfind("GPU-", 0) == 0 || s.rfind("MIG-", 0) == 0; }

std::string ordinal_range(int physical_gpus) {
  if (physical_gpus == 1) return "this machine has 1 GPU (ordinal 0)";
  return "this machine has " + std::to_string(physical_gpus) + " GPUs (ordinals 0 to " +
         std::to_string(physical_gpus - 1) + ")";
}
}  // namespace

int count_physical_gpus(const std::string& gpus_dir) {
  DIR* d = opendir(gpus_dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

Check check_visible_devices(const std::optional<std::string>& value, int physical_gpus) {
  Check c{"cuda_visible_devices", "CUDA_VISIBLE_DEVICES", CheckStatus::Ok, "", ""};
  if (!value) {
    c.found = "not set: every GPU is visible";
    return c;
  }
  const std::string shown = "CUDA_VISIBLE_DEVICES='" + *value + "'";
  const std::string unset_fix = "Unset it (unset CUDA_VISIBLE_DEVICES) or list the GPUs to use, e.g. CUDA_VISIBLE_DEVICES=0,1; "
                                "`nvidia-smi -L` lists their ordinals and UUIDs.";
  if (trim(*value).empty()) {
    c.status = CheckStatus::Fail;
    c.found = shown + " is empty, which hides every GPU";
    c.fix = unset_fix;
    return c;
  }
  std::vector<std::string> entries;
  std::istringstream in(*value);
  for (std::string e; std::getline(in, e, ',');) entries.push_back(trim(e));
  if (value->back() == ',') entries.push_back("");

  // CUDA keeps the entries before the first bad one and drops it and everything after it.
  std::set<std::string> seen;
  int selected = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& e = entries[i];
    std::string problem;
    if (is_integer(e) && std::stoi(e) < 0) {
      if (i == 0) {
        c.status = CheckStatus::Fail;
        c.found = shown + " starts with a negative ordinal, which hides every GPU";
        c.fix = unset_fix;
        return c;
      }
      break;  // "0,-1": a deliberate way to end the list
    }
    if (is_integer(e)) {
      if (physical_gpus >= 0 && std::stoi(e) >= physical_gpus)
        problem = "entry '" + e + "' names GPU " + std::to_string(std::stoi(e)) + " but " +
                  (physical_gpus == 0 ? std::string("this machine has no GPU") : ordinal_range(physical_gpus));
      else if (!seen.insert(std::to_string(std::stoi(e))).second)
        problem = "GPU " + e + " is listed twice";
    } else if (is_uuid(e)) {
      if (!seen.insert(e).second) problem = e + " is listed twice";
    } else {
      problem = e.empty() ? std::string("entry ") + std::to_string(i + 1) + " is empty"
                          : "entry '" + e + "' is neither a GPU ordinal (0, 1, ...) nor a GPU-/MIG- UUID";
    }
    if (!problem.empty()) {
      c.status = CheckStatus::Fail;
      c.found = shown + ": " + problem + "; CUDA ignores it and every entry after it" +
                (selected == 0 ? ", so no GPU is visible" : ", so only " + std::to_string(selected) + " GPU(s) are visible");
      c.fix = physical_gpus > 0 ? "Use ordinals 0 to " + std::to_string(physical_gpus - 1) +
                                      " or GPU UUIDs, each once, separated by commas; `nvidia-smi -L` lists them. "
                                      "Or unset CUDA_VISIBLE_DEVICES to see every GPU."
                                : unset_fix;
      return c;
    }
    ++selected;
  }
  c.found = shown + ": " + std::to_string(selected) + " GPU(s) selected";
  return c;
}
}  // namespace kiln::diag
