// The --device flag every example takes: parsing (argparse-style errors) and picking the device.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kiln/kiln.h"

namespace kiln::examples {

/// Prints the usage line; device_help says what --device chooses in this example.
inline void usage(const char* prog, const char* device_help) {
  std::fprintf(stderr, "usage: %s [--device cpu|cuda|cuda:N|auto]\n  --device  %s\n", prog, device_help);
}

/// --device auto|cpu|cuda|cuda:N; anything else prints the usage and exits with status 2, as argparse does.
inline std::string parse_device_flag(int argc, char** argv, const char* device_help) {
  std::string spec = "auto";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(argv[0], device_help);
      std::exit(0);
    } else if (a == "--device" && i + 1 < argc) {
      spec = argv[++i];
    } else if (a.rfind("--device=", 0) == 0) {
      spec = a.substr(std::strlen("--device="));
    } else {
      std::fprintf(stderr, "%s: %s '%s'\n", argv[0], a == "--device" ? "missing value for" : "unrecognised argument",
                   a.c_str());
      usage(argv[0], device_help);
      std::exit(2);
    }
  }
  if (spec != "auto") {
    try {
      (void)Device(spec);  // only the spelling here; whether the GPU exists is checked when it is used
    } catch (const DeviceError& e) {
      std::fprintf(stderr, "%s: bad --device: %s\n", argv[0], e.what());
      usage(argv[0], device_help);
      std::exit(2);
    }
  }
  return spec;
}

/// "auto" picks the GPU when one is usable; other specs must name a device that exists (DeviceError otherwise).
inline Device pick_device(const std::string& spec) {
  if (spec == "auto") return cuda::is_available() ? Device("cuda:0") : Device("cpu");
  return resolve_device(Device(spec));
}
}  // namespace kiln::examples
