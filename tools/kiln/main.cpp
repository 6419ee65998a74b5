// kiln: the command-line tool. Each subcommand lives in its own file and registers itself here.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "kiln/core/error.h"

namespace {
// OpenMP threads that spin while waiting (libgomp's default) steal the cores from each other and from
// OpenBLAS as soon as anything else runs on the machine: a training epoch measured 25x slower on a busy
// 2-core machine. Passive waiting costs microseconds per parallel region. libgomp reads the setting only at
// load time, so the tool sets it and restarts itself once; an explicit OMP_WAIT_POLICY is respected.
void prefer_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}
}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_waits(argv);
  std::unique_ptr<CLI::App> made = kiln::cli::make_app();
  CLI::App& app = *made;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const kiln::Error& e) {
    std::cerr << "kiln: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kiln: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return kiln::cli::exit_code();
}
