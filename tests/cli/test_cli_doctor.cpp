// End-to-end tests of `kiln doctor` and `kiln smi`: exit status and the cause named on a machine without a
// GPU (or a pass on one that has it), the JSON forms, and the paths without a driver library or NVML.
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_run.h"
#include "kiln/cuda/cuda.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct CliRun {
  int code = -1;  // -1: did not exit normally
  std::string out;
  std::string describe() const { return "exit " + std::to_string(code) + "\n--- output:\n" + out; }
};

using kiln::test::kiln_binary;

// `env <env> kiln <args>`, stdout only (stderr is left to the test log).
CliRun run_kiln(const std::string& env, const std::string& args) {
  const std::string cmd = "env " + env + " '" + kiln_binary() + "' " + args + " < /dev/null";
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int status = pclose(p);
  if (status != -1 && WIFEXITED(status)) r.code = WEXITSTATUS(status);
  return r;
}

json last_json_line(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return json();
  size_t start = out.rfind('\n', end);
  return json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1), nullptr, false);
}

class KilnDoctorCli : public testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kiln_binary())) GTEST_SKIP() << "build the kiln_cli target: " << kiln_binary() << " is missing";
  }
};

TEST_F(KilnDoctorCli, ExitsNonZeroAndNamesTheCauseWithoutAGpu) {
  CliRun r = run_kiln("", "doctor");
  ASSERT_NE(r.code, -1) << r.describe();
  if (kiln::cuda::is_available()) {
    EXPECT_EQ(r.code, 0) << "a usable GPU must pass the doctor\n" << r.describe();
    EXPECT_NE(r.out.find("the GPU path is usable"), std::string::npos) << r.describe();
    return;
  }
  EXPECT_NE(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("NOT usable"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("fix:"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("CPU threads"), std::string::npos) << r.describe();
  if (kiln::cuda::built_with_cuda())
    EXPECT_NE(r.out.find("no NVIDIA driver"), std::string::npos) << r.describe();
  else
    EXPECT_NE(r.out.find("built without CUDA"), std::string::npos) << r.describe();
}

TEST_F(KilnDoctorCli, JsonNamesTheFirstFailure) {
  if (!kiln::cuda::built_with_cuda()) GTEST_SKIP() << "the driver check needs a CUDA build";
  // A driver library that cannot be loaded: the doctor must stop at the driver and name the file.
  CliRun r = run_kiln("KILN_LIBCUDA=/nonexistent/kiln-test/libcuda.so.1", "doctor --json");
  EXPECT_EQ(r.code, 1) << r.describe();
  json j = last_json_line(r.out);
  ASSERT_TRUE(j.is_object()) << r.describe();
  EXPECT_FALSE(j["gpu_usable"].get<bool>());
  ASSERT_TRUE(j["first_failure"].is_object()) << j.dump();
  EXPECT_EQ(j["first_failure"]["name"], "driver") << j.dump();
  EXPECT_NE(j["first_failure"]["found"].get<std::string>().find("/nonexistent/kiln-test/libcuda.so.1"), std::string::npos);
  EXPECT_TRUE(j["first_failure"]["fix"].is_string());
  for (auto& c : j["checks"]) {
    EXPECT_TRUE(c.contains("status") && c.contains("title") && c.contains("found")) << c.dump();
  }
  EXPECT_EQ(j["cpu"].size(), 3u) << j.dump();
}

TEST_F(KilnDoctorCli, TheToolkitsStubLibraryIsCalledOut) {
  if (!kiln::cuda::built_with_cuda()) GTEST_SKIP() << "the driver check needs a CUDA build";
  const std::string stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (!fs::exists(stub)) GTEST_SKIP() << stub << " is absent (no CUDA toolkit here)";
  CliRun r = run_kiln("KILN_LIBCUDA=" + stub, "doctor");
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_NE(r.out.find("stub library"), std::string::npos) << r.describe();
}

TEST_F(KilnDoctorCli, SmiWithoutNvmlSaysSoAndShowsTheCudaView) {
  CliRun r = run_kiln("KILN_NVML_LIBRARY=/nonexistent/kiln-test/libnvidia-ml.so.1", "smi");
  EXPECT_EQ(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("NVML is not available"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("What the CUDA runtime knows"), std::string::npos) << r.describe();

  CliRun j = run_kiln("KILN_NVML_LIBRARY=/nonexistent/kiln-test/libnvidia-ml.so.1", "smi --json");
  json parsed = last_json_line(j.out);
  ASSERT_TRUE(parsed.is_object()) << j.describe();
  EXPECT_FALSE(parsed["nvml"]["available"].get<bool>());
  EXPECT_TRUE(parsed["cuda"].is_object());
  EXPECT_EQ(parsed["cuda"]["gpus"].size(), static_cast<size_t>(kiln::cuda::device_count()));
}

TEST_F(KilnDoctorCli, SmiShowsWhatNvmlReports) {
#ifndef KILN_TEST_FAKE_NVML
  GTEST_SKIP() << "built without the stand-in NVML";
#else
  if (!fs::exists(KILN_TEST_FAKE_NVML)) GTEST_SKIP() << KILN_TEST_FAKE_NVML << " is absent";
  CliRun r = run_kiln(std::string("KILN_NVML_LIBRARY=") + KILN_TEST_FAKE_NVML, "smi");
  EXPECT_EQ(r.code, 0) << r.describe();
  for (const char* needle : {"NVIDIA driver 580.65.06, 2 GPU(s)", "GPU 0  NVIDIA H200  bus 00000000:18:00.0",
                             "memory 3.0 / 141.0 GiB  utilisation 37% (memory 12%)  41 C  power 123 W / n/a",
                             "processes: 4242 python3 (2.0 GiB)", "processes: none"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << "missing '" << needle << "'\n" << r.describe();
  json j = last_json_line(run_kiln(std::string("KILN_NVML_LIBRARY=") + KILN_TEST_FAKE_NVML, "smi --json").out);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["nvml"]["gpus"][0]["memory_used_bytes"], 3ll << 30);
  EXPECT_TRUE(j["nvml"]["gpus"][0]["power_limit_w"].is_null());
  EXPECT_EQ(j["nvml"]["gpus"][0]["processes"][0]["name"], "python3");
  // kiln info shows the same lines.
  CliRun info = run_kiln(std::string("KILN_NVML_LIBRARY=") + KILN_TEST_FAKE_NVML, "info");
  EXPECT_NE(info.out.find("NVML:           driver 580.65.06"), std::string::npos) << info.describe();
  EXPECT_NE(info.out.find("processes: 4242 python3"), std::string::npos) << info.describe();
#endif
}

TEST_F(KilnDoctorCli, InfoShowsTheNvmlView) {
  CliRun r = run_kiln("KILN_NVML_LIBRARY=/nonexistent/kiln-test/libnvidia-ml.so.1", "info --json");
  EXPECT_EQ(r.code, 0) << r.describe();
  json j = last_json_line(r.out);
  ASSERT_TRUE(j.is_object()) << r.describe();
  EXPECT_FALSE(j["nvml"]["available"].get<bool>());
  CliRun text = run_kiln("KILN_NVML_LIBRARY=/nonexistent/kiln-test/libnvidia-ml.so.1", "info");
  EXPECT_NE(text.out.find("NVML:"), std::string::npos) << text.describe();
}
}  // namespace
