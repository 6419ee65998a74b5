// The list of subcommands and the shared exit status.
#include "commands.h"

#include "kiln/version.h"

namespace kiln::cli {
namespace {
int g_exit_code = 0;
}
std::unique_ptr<CLI::App> make_app() {
  auto app = std::make_unique<CLI::App>("kiln: deep learning on CPU and NVIDIA GPUs");
  app->require_subcommand(1);
  app->set_version_flag("--version", std::string(version_string()));
  register_commands(*app);
  return app;
}
void parse_only(CLI::App& app, int argc, const char* const* argv) {
  // The app's parse-complete callback runs after CLI11 has converted and checked every option and before any
  // subcommand's callback. Stop there: the callbacks themselves stay, because each command's option storage
  // lives in its callback (clearing the callbacks freed it while CLI11 still wrote to it: found by the fuzzer).
  struct ParsedOnly {};
  app.parse_complete_callback([] { throw ParsedOnly{}; });
  try {
    app.parse(argc, argv);
  } catch (const ParsedOnly&) {
  }
}
void register_commands(CLI::App& app) {
  add_info_command(app);
  add_train_command(app);
  add_predict_command(app);
  add_doctor_command(app);
  add_smi_command(app);
  add_compare_command(app);
  add_bench_command(app);
  add_launch_command(app);
}
int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }
const char* version_string() { return KILN_VERSION; }
const CLI::Validator& no_minus_sign() {
  static const CLI::Validator v(
      [](std::string& text) {
        return text.find_first_not_of(" \t") != std::string::npos && text[text.find_first_not_of(" \t")] == '-'
                   ? std::string("must not be negative, got ") + text
                   : std::string();
      },
      "NONNEGATIVE");
  return v;
}

}  // namespace kiln::cli
