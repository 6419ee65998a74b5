// kiln: the command-line tool. Each subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "kiln/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"kiln: deep learning on CPU and NVIDIA GPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kiln::cli::version_string()));
  kiln::cli::register_commands(app);
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
