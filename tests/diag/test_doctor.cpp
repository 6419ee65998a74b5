// `kiln doctor`'s links, each fed the inputs that break it: a build without CUDA, a driver library that cannot
// be loaded, a driver too old for the runtime, and every way CUDA_VISIBLE_DEVICES hides GPUs. None needs a GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "kiln/diag/doctor.h"

namespace {
using namespace kiln::diag;

::testing::AssertionResult mentions(const std::string& text, const std::string& needle) {
  if (text.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' should mention '" << needle << "'";
}

DriverProbe working_driver(int cuda_version, const std::string& release = "580.65.06") {
  DriverProbe p;
  p.version_file_found = true;
  p.kernel_module_version = release;
  p.libcuda_loaded = true;
  p.cuda_version = cuda_version;
  return p;
}

TEST(DoctorBuild, WithoutCudaFailsAndSaysHowToRebuild) {
  Check c = check_build(false);
  EXPECT_EQ(c.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(c.found, "built without CUDA"));
  EXPECT_TRUE(mentions(c.fix, "nvcc"));
  EXPECT_EQ(check_build(true).status, CheckStatus::Ok);
}

TEST(DoctorDriver, ParsesTheKernelModuleVersion) {
  EXPECT_EQ(parse_kernel_module_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 06:54:38 UTC 2025\n"
                                        "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"),
            "580.65.06");
  EXPECT_EQ(parse_kernel_module_version("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  575.57.08  Release Build"),
            "575.57.08");
  EXPECT_EQ(parse_kernel_module_version("something else"), "");
}

TEST(DoctorDriver, AnUnloadableLibraryIsNoDriver) {
  const std::string missing = "/nonexistent/kiln-test/libcuda.so.1";
  DriverProbe p = probe_driver("/nonexistent/kiln-test/version", missing);
  EXPECT_FALSE(p.version_file_found);
  EXPECT_FALSE(p.libcuda_loaded);
  EXPECT_FALSE(p.libcuda_error.empty());
  Check c = check_driver(p, missing);
  EXPECT_EQ(c.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(c.found, "no NVIDIA driver"));
  EXPECT_TRUE(mentions(c.found, missing));
  EXPECT_TRUE(mentions(c.fix, "Install the NVIDIA driver"));
}

TEST(DoctorDriver, AKernelModuleWithoutItsLibraryNamesTheLibrary) {
  const std::string version_file = ::testing::TempDir() + "kiln_doctor_nvidia_version";
  std::ofstream(version_file) << "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 2025\n";
  DriverProbe p = probe_driver(version_file, "/nonexistent/libcuda.so.1");
  std::remove(version_file.c_str());
  EXPECT_TRUE(p.version_file_found);
  EXPECT_EQ(p.kernel_module_version, "580.65.06");
  Check c = check_driver(p, "/nonexistent/libcuda.so.1");
  EXPECT_EQ(c.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(c.found, "580.65.06 is loaded but its user-space library"));
  EXPECT_TRUE(mentions(c.fix, "Container Toolkit"));
}

TEST(DoctorDriver, AKernelModuleAndLibraryOfDifferentReleasesIsAMismatch) {
  EXPECT_EQ(library_file_version("/usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06"), "580.65.06");
  EXPECT_EQ(library_file_version("/usr/lib/x86_64-linux-gnu/libcuda.so.1"), "");
  EXPECT_EQ(library_file_version("/usr/local/cuda/lib64/stubs/libcuda.so"), "");
  DriverProbe p = working_driver(13000, "580.65.06");
  p.libcuda_version = "575.57.08";
  Check c = check_driver(p, "libcuda.so.1");
  EXPECT_EQ(c.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(c.found, "version mismatch: the loaded kernel module is 580.65.06 but libcuda.so.1 is 575.57.08"));
  EXPECT_TRUE(mentions(c.fix, "Reboot"));
  p.libcuda_version = "580.65.06";
  EXPECT_EQ(check_driver(p, "libcuda.so.1").status, CheckStatus::Ok);
}

TEST(DoctorDriver, TheToolkitsStubLibraryIsNotADriver) {
  DriverProbe p = working_driver(0);
  p.version_file_found = false;
  p.libcuda_path = "/usr/local/cuda/lib64/stubs/libcuda.so";
  p.cuda_version_error = kCudaErrorStubLibrary;
  Check c = check_driver(p, "libcuda.so.1");
  EXPECT_EQ(c.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(c.found, "stub library"));
  EXPECT_TRUE(mentions(c.found, p.libcuda_path));
  EXPECT_TRUE(mentions(c.fix, "LD_LIBRARY_PATH"));
  // The real stub is tried by the CLI test (tests/cli/test_cli_doctor.cpp), in a child process: loading it here
  // would make it this process's libcuda.so.1 (its soname) for every later CUDA test.
}

TEST(DoctorDriverVersion, ShowsBothVersionsAndTheDriverNeeded) {
  EXPECT_EQ(minimum_driver_for_runtime(13000), "580");
  EXPECT_EQ(minimum_driver_for_runtime(13020), "580");
  EXPECT_EQ(minimum_driver_for_runtime(12040), "525.60.13");
  EXPECT_EQ(minimum_driver_for_runtime(9000), "");

  Check old = check_driver_version(working_driver(12090, "575.57.08"), 13000);
  EXPECT_EQ(old.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(old.found, "575.57.08 supports CUDA up to 12.9"));
  EXPECT_TRUE(mentions(old.found, "kiln's CUDA runtime is 13.0"));
  EXPECT_TRUE(mentions(old.found, "needs driver >= 580"));
  EXPECT_TRUE(mentions(old.fix, "580 or newer"));

  // Minor-version compatibility: a 13.0 driver runs a 13.2 runtime.
  EXPECT_EQ(check_driver_version(working_driver(13000), 13020).status, CheckStatus::Ok);
  EXPECT_EQ(check_driver_version(working_driver(13000), 12040).status, CheckStatus::Ok);

  DriverProbe silent = working_driver(0);
  EXPECT_EQ(check_driver_version(silent, 13000).status, CheckStatus::Fail);
}

TEST(DoctorVisibleDevices, UnsetOrValidListsPass) {
  EXPECT_EQ(check_visible_devices(std::nullopt, 2).status, CheckStatus::Ok);
  Check c = check_visible_devices(std::string("0,1"), 2);
  EXPECT_EQ(c.status, CheckStatus::Ok);
  EXPECT_TRUE(mentions(c.found, "2 GPU(s) selected"));
  EXPECT_EQ(check_visible_devices(std::string(" 1 "), 2).status, CheckStatus::Ok);
  EXPECT_EQ(check_visible_devices(std::string("GPU-8f2e1c3a-0000-1111-2222-333344445555"), 1).status, CheckStatus::Ok);
  // Without a driver the number of GPUs is unknown: ordinals are not range-checked.
  EXPECT_EQ(check_visible_devices(std::string("5"), -1).status, CheckStatus::Ok);
  // "0,-1": CUDA stops at -1; GPU 0 stays visible.
  EXPECT_EQ(check_visible_devices(std::string("0,-1"), 2).status, CheckStatus::Ok);
}

TEST(DoctorVisibleDevices, EmptyHidesEveryGpu) {
  for (const char* v : {"", "  "}) {
    Check c = check_visible_devices(std::string(v), 2);
    EXPECT_EQ(c.status, CheckStatus::Fail) << "'" << v << "'";
    EXPECT_TRUE(mentions(c.found, "is empty, which hides every GPU"));
    EXPECT_TRUE(mentions(c.fix, "unset CUDA_VISIBLE_DEVICES"));
  }
  Check minus = check_visible_devices(std::string("-1"), 2);
  EXPECT_EQ(minus.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(minus.found, "hides every GPU"));
}

TEST(DoctorVisibleDevices, AnOutOfRangeOrdinalIsNamed) {
  Check c = check_visible_devices(std::string("7"), 2);
  EXPECT_EQ(c.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(c.found, "entry '7' names GPU 7 but this machine has 2 GPUs (ordinals 0 to 1)"));
  EXPECT_TRUE(mentions(c.found, "no GPU is visible"));
  EXPECT_TRUE(mentions(c.fix, "ordinals 0 to 1"));

  Check later = check_visible_devices(std::string("0,3,1"), 2);
  EXPECT_EQ(later.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(later.found, "only 1 GPU(s) are visible"));

  Check none = check_visible_devices(std::string("0"), 0);
  EXPECT_EQ(none.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(none.found, "this machine has no GPU"));
}

TEST(DoctorVisibleDevices, MalformedAndRepeatedEntriesAreNamed) {
  Check bogus = check_visible_devices(std::string("gpu0"), 2);
  EXPECT_EQ(bogus.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(bogus.found, "entry 'gpu0' is neither a GPU ordinal"));
  EXPECT_TRUE(mentions(bogus.found, "CUDA ignores it and every entry after it"));

  Check gap = check_visible_devices(std::string("0,,1"), 2);
  EXPECT_EQ(gap.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(gap.found, "entry 2 is empty"));

  Check twice = check_visible_devices(std::string("1,1"), 2);
  EXPECT_EQ(twice.status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(twice.found, "GPU 1 is listed twice"));
}

TEST(DoctorVisibleDevices, CountsPhysicalGpusFromTheDriverFolder) {
  EXPECT_EQ(count_physical_gpus("/nonexistent/kiln-test/gpus"), -1);
}

TEST(DoctorChain, StopsAtTheFirstBrokenLink) {
  DoctorOptions o;
  o.built_with_cuda = false;
  o.runtime_version = 13000;
  o.run_gpu_checks = false;
  DoctorReport r = run_doctor(o);
  ASSERT_GE(r.gpu.size(), 4u);
  EXPECT_FALSE(r.gpu_usable);
  EXPECT_EQ(r.gpu[0].name, "build");
  EXPECT_EQ(r.gpu[0].status, CheckStatus::Fail);
  for (size_t i = 1; i < r.gpu.size(); ++i) EXPECT_EQ(r.gpu[i].status, CheckStatus::Skipped) << r.gpu[i].name;
  // The CPU side is reported whatever happens to the GPU.
  ASSERT_EQ(r.cpu.size(), 3u);
  for (auto& c : r.cpu) EXPECT_FALSE(c.found.empty()) << c.name;
}

TEST(DoctorChain, AMissingDriverLibraryStopsAfterTheBuild) {
  DoctorOptions o;
  o.built_with_cuda = true;
  o.runtime_version = 13000;
  o.driver_version_file = "/nonexistent/kiln-test/version";
  o.libcuda = "/nonexistent/kiln-test/libcuda.so.1";
  o.cuda_visible_devices = std::string("");
  DoctorReport r = run_doctor(o);
  EXPECT_FALSE(r.gpu_usable);
  ASSERT_GE(r.gpu.size(), 5u);
  EXPECT_EQ(r.gpu[0].status, CheckStatus::Ok);
  EXPECT_EQ(r.gpu[1].name, "driver");
  EXPECT_EQ(r.gpu[1].status, CheckStatus::Fail);
  EXPECT_TRUE(mentions(r.gpu[1].found, o.libcuda));
  for (size_t i = 2; i < r.gpu.size(); ++i) EXPECT_EQ(r.gpu[i].status, CheckStatus::Skipped) << r.gpu[i].name;
}

TEST(DoctorLibraries, VersionNumbersAreDecoded) {
  EXPECT_EQ(cudnn_version_string(91002), "9.10.2");
  EXPECT_EQ(cudnn_version_string(8907), "8.9.7");
  EXPECT_EQ(nccl_version_string(22703), "2.27.3");
  EXPECT_EQ(nccl_version_string(2804), "2.8.4");
  EXPECT_EQ(cuda_version_string(13000), "13.0");
  EXPECT_EQ(cuda_version_string(12090), "12.9");
  // Either loaded with a version or not loaded with a reason; never neither.
  for (const LibraryProbe& p : {probe_cudnn(), probe_nccl()}) {
    if (p.loaded) EXPECT_FALSE(p.file.empty());
    else EXPECT_FALSE(p.error.empty());
  }
  EXPECT_FALSE(cpu_simd_level().empty());
}
}  // namespace
