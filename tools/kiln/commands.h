// The subcommands of the kiln tool: each adds itself to the CLI11 app.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace kiln::cli {
void register_commands(CLI::App& app);
void add_info_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_doctor_command(CLI::App& app);
void add_smi_command(CLI::App& app);
void add_compare_command(CLI::App& app);
/// Exit status set by the command that ran (0 unless it failed softly).
int exit_code();
void set_exit_code(int code);
const char* version_string();
}  // namespace kiln::cli
