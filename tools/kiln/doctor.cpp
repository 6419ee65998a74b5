// `kiln doctor`: checks, link by link, what a GPU program needs and says what to fix; exit 0 only when the
// GPU path is fully usable. The checks live in the library (kiln/diag/doctor.h); this file prints them.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "kiln/diag/doctor.h"

namespace kiln::cli {
namespace {
using diag::Check;
using diag::CheckStatus;

nlohmann::json to_json(const Check& c) {
  nlohmann::json j = {{"name", c.name}, {"title", c.title}, {"status", diag::check_status_label(c.status)},
                      {"found", c.found}};
  j["fix"] = c.fix.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.fix);
  return j;
}

const Check* first_failure(const diag::DoctorReport& r) {
  for (const Check& c : r.gpu)
    if (c.status == CheckStatus::Fail) return &c;
  return nullptr;
}

void print_check(const Check& c) {
  std::printf("  %-4s  %s: %s\n", diag::check_status_label(c.status), c.title.c_str(), c.found.c_str());
  if (!c.fix.empty() && c.status != CheckStatus::Ok) std::printf("        fix: %s\n", c.fix.c_str());
}

void print_human(const diag::DoctorReport& r) {
  std::printf("GPU path (stops at the first broken link):\n");
  for (const Check& c : r.gpu) print_check(c);
  std::printf("CPU:\n");
  for (const Check& c : r.cpu) print_check(c);
  if (r.gpu_usable) {
    std::printf("Result: the GPU path is usable.\n");
  } else if (const Check* f = first_failure(r)) {
    std::printf("Result: the GPU path is NOT usable; first broken link: %s (see its fix above). kiln runs on the CPU "
                "until it is fixed.\n",
                f->title.c_str());
  } else {
    std::printf("Result: the GPU path was not fully checked.\n");
  }
  std::fflush(stdout);
}
}  // namespace

void add_doctor_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "doctor", "Check the driver, CUDA, GPUs and libraries a GPU program needs; say what to fix (exit 0 when usable)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object instead of text");
  cmd->callback([json] {
    const diag::DoctorReport r = diag::run_doctor(diag::doctor_options_from_environment());
    if (*json) {
      nlohmann::json j;
      j["gpu_usable"] = r.gpu_usable;
      j["checks"] = nlohmann::json::array();
      for (const Check& c : r.gpu) j["checks"].push_back(to_json(c));
      j["cpu"] = nlohmann::json::array();
      for (const Check& c : r.cpu) j["cpu"].push_back(to_json(c));
      const Check* f = first_failure(r);
      j["first_failure"] = f ? to_json(*f) : nlohmann::json(nullptr);
      std::cout << j.dump() << "\n";
    } else {
      print_human(r);
    }
    if (!r.gpu_usable) set_exit_code(1);
  });
}
}  // namespace kiln::cli
