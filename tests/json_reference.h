// Reading the reference files that the committed PyTorch scripts write into tests/data.
#pragma once
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "test_util.h"

namespace kiln::test {

/// Parses tests/data/<file>; throws naming the path and the script that regenerates it.
inline nlohmann::json load_json_reference(const std::string& file, const std::string& script) {
  const std::string path = data_dir() + "/" + file;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path + " (regenerate it with " + script + ")");
  return nlohmann::json::parse(f);
}

/// A number from a reference file, where non-finite values are spelled "nan", "inf", "-inf" (JSON has none).
inline double json_number(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    throw std::runtime_error("not a number in the reference file: " + s);
  }
  return v.get<double>();
}
}  // namespace kiln::test
