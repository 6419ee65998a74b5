// kiln: the command-line tool. Each subcommand lives in its own file and registers itself here.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "blas_core.h"
#include "commands.h"
#include "kiln/core/error.h"

namespace {
// Settings read only when a library loads, so the tool sets them and restarts itself once (explicit values in
// the environment are respected):
// - OpenMP threads that spin while waiting (libgomp's default) steal the cores from each other and from
//   OpenBLAS as soon as anything else runs on the machine: a training epoch measured 25x slower on a busy
//   2-core machine. Passive waiting costs microseconds per parallel region.
// - OpenBLAS's kernels: on a CPU newer than the OpenBLAS build knows it falls back to SSE3 (blas_core.h).
void restart_with_library_settings(char** argv) {
  bool changed = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    changed = true;
  }
  if (const char* core = kiln::cli::openblas_core_override()) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    changed = true;
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}
}  // namespace

int main(int argc, char** argv) {
  restart_with_library_settings(argv);
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
