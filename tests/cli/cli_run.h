// Running the built `kiln` binary from the CLI tests: where it is, and one run's exit status and output.
#pragma once
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace kiln::test {

/// <build>/tests/kiln_tests -> <build>/bin/kiln (tests/CMakeLists.txt does not pass the binary's path).
inline std::string kiln_binary() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return (std::filesystem::path(buf).parent_path().parent_path() / "bin" / "kiln").string();
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct CliResult {
  bool exited = false;  ///< false: killed by a signal (a crash)
  int code = -1;
  std::string out, err;
  /// The last non-empty stdout line parsed as JSON (null when it is not JSON).
  nlohmann::json last_json() const {
    std::istringstream in(out);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
  }
  std::string describe() const {
    return "exit " + (exited ? std::to_string(code) : "by signal") + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
  }
};

/// Runs `<binary> args` (args are shell words: quote paths), with stdout and stderr captured in files named
/// `<base>.out` and `<base>.err`.
inline CliResult run_cli(const std::string& binary, const std::string& args, const std::string& base) {
  const std::string cmd = "'" + binary + "' " + args + " > '" + base + ".out' 2> '" + base + ".err' < /dev/null";
  const int status = std::system(cmd.c_str());
  CliResult r;
  if (status != -1 && WIFEXITED(status)) {
    r.exited = true;
    r.code = WEXITSTATUS(status);
  }
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}
}  // namespace kiln::test
