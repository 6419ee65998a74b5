// The subcommands of the kiln tool: each adds itself to the CLI11 app.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace kiln::cli {
/// The kiln app as `kiln` parses it: version flag, one required subcommand, every command registered.
std::unique_ptr<CLI::App> make_app();
/// Parses argv exactly as `kiln` does (option syntax, conversions such as "--epochs x") without running the
/// chosen command. Throws CLI::ParseError (and CLI's --help/--version
/// requests) as App::parse does. For the argument fuzzer and the tests; `app` is used up by the call.
void parse_only(CLI::App& app, int argc, const char* const* argv);
void register_commands(CLI::App& app);
void add_info_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_doctor_command(CLI::App& app);
void add_smi_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_launch_command(CLI::App& app);
/// A validator for unsigned options: CLI11 reads "-1" into an unsigned as 2^64-1; this refuses a minus sign.
const CLI::Validator& no_minus_sign();
/// Exit status set by the command that ran (0 unless it failed softly).
int exit_code();
void set_exit_code(int code);
const char* version_string();
}  // namespace kiln::cli
