// libFuzzer harness: any bytes as a checkpoint file, read the way `kiln train --resume` and `kiln predict` do.
// Expected refusals are kiln::Error; anything else (a crash, a sanitizer report, a std:: exception whose
// internal text would reach the user) is a finding.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fashion_task.h"
#include "kiln/core/error.h"
#include "kiln/io/checkpoint.h"
#include "kiln/io/serialize.h"
#include "kiln/optim/adam.h"
#include "kiln/train/history.h"

namespace {
// One scratch file per process, rewritten for each input (the reader takes a path).
const std::string& scratch_path() {
  static const std::string path = [] {
    char name[] = "/tmp/kiln_fuzz_safetensors_XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(name);
  }();
  return path;
}

void write_input(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(scratch_path().c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_input(data, size);
  const std::string& path = scratch_path();
  try {
    kiln::Checkpoint ck = kiln::load_checkpoint(path);
    // What kiln train --resume reads from the metadata.
    auto epoch = ck.metadata.find("epoch");
    if (epoch != ck.metadata.end()) kiln::cli::parse_metadata_int(epoch->second, "epoch", path);
    auto row = ck.metadata.find("epoch_logs");
    if (row != ck.metadata.end()) kiln::train::epoch_logs_from_json(row->second);
    // What kiln eval builds from it, and kiln train --resume restores into (model and Adam's state).
    kiln::nn::Sequential net = kiln::cli::model_from_checkpoint(ck, path, kiln::Device("cpu"));
    kiln::optim::Adam adam(net->parameters());
    kiln::restore(ck, *net, &adam);
  } catch (const kiln::Error&) {
  }
  try {
    kiln::load_tensor(path);
  } catch (const kiln::Error&) {
  }
  return 0;
}
