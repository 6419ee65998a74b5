// kiln_nccl_bandwidth: all_reduce time and bandwidth over kiln's NCCL backend, reported as nccl-tests does.
// One process (a one-GPU communicator), or N ranks under `kiln launch -n N -- kiln_nccl_bandwidth`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kiln/cuda/cuda.h"
#include "kiln/dist/process_group.h"
#include "kiln/tensor/ops/creation.h"

using namespace kiln;

int main(int argc, char** argv) {
  try {
    if (!cuda::is_available()) {
      std::fprintf(stderr, "kiln_nccl_bandwidth: no usable GPU: %s\n", cuda::unavailable_reason().c_str());
      return 2;
    }
    std::vector<int64_t> sizes_mib = {1, 16, 128, 512};
    if (argc > 1) {
      sizes_mib.clear();
      for (int i = 1; i < argc; ++i) sizes_mib.push_back(std::atoll(argv[i]));
    }
    std::shared_ptr<dist::ProcessGroup> pg;
    int local = 0;
    if (const char* w = std::getenv("WORLD_SIZE"); w && std::atoi(w) > 1) {
      pg = dist::init_process_group("nccl", {std::chrono::seconds(120)});
      if (const char* l = std::getenv("LOCAL_RANK")) local = std::atoi(l);
    } else {
      pg = dist::new_group("nccl", std::make_shared<dist::TCPStore>("127.0.0.1", 0, true, std::chrono::seconds(60)),
                           0, 1, {std::chrono::seconds(120)});
    }
    const int n = pg->size();
    Device dev("cuda:" + std::to_string(local % cuda::device_count()));
    cuda::DeviceGuard guard(dev.index());
    if (pg->rank() == 0)
      std::printf("# all_reduce(sum, float32) over %d rank(s), nccl; busbw = algbw * 2(n-1)/n (0 for one rank: "
                  "nothing crosses a link)\n%12s %8s %12s %14s %14s\n", n, "bytes", "iters", "time_us", "algbw_GB/s",
                  "busbw_GB/s");
    for (int64_t mib : sizes_mib) {
      const int64_t count = mib * (1 << 20) / 4;
      Tensor t = ones({count}, TensorOptions(kFloat32).device(dev));
      for (int i = 0; i < 3; ++i) pg->all_reduce(t)->wait();  // warm-up: NCCL's buffers and channels
      pg->barrier()->synchronize();
      const int iters = mib >= 128 ? 10 : 40;
      auto start = std::chrono::steady_clock::now();
      std::shared_ptr<dist::Work> last;
      for (int i = 0; i < iters; ++i) last = pg->all_reduce(t);
      last->synchronize();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iters;
      double algbw = static_cast<double>(count) * 4 / s / 1e9;
      double busbw = algbw * 2.0 * (n - 1) / n;
      if (pg->rank() == 0)
        std::printf("%12lld %8d %12.1f %14.2f %14.2f\n", static_cast<long long>(count * 4), iters, s * 1e6, algbw, busbw);
    }
    pg->barrier()->synchronize();
    if (dist::is_initialized()) dist::destroy_process_group();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_nccl_bandwidth: %s\n", e.what());
    return 1;
  }
}
