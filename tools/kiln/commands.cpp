// The list of subcommands and the shared exit status.
#include "commands.h"

#include "kiln/version.h"

namespace kiln::cli {
namespace {
int g_exit_code = 0;
}
void register_commands(CLI::App& app) {
  add_info_command(app);
  add_train_command(app);
  add_predict_command(app);
  add_doctor_command(app);
  add_smi_command(app);
  add_compare_command(app);
}
int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }
const char* version_string() { return KILN_VERSION; }
}  // namespace kiln::cli
