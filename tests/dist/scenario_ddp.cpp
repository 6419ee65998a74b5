// DDP over the spawned ranks against single-process training on the same global batch, with no_sync accumulation.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "dist/spawn.h"
#include "kiln/core/generator.h"
#include "kiln/dist/process_group.h"
#include "kiln/nn/container.h"
#include "kiln/nn/distributed.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::test {

namespace {

std::shared_ptr<nn::Module> make_model(uint64_t seed) {
  manual_seed(seed);
  return nn::Sequential(nn::Linear(4, 8), nn::Tanh(), nn::Linear(8, 2)).ptr();
}

Tensor forward(const std::shared_ptr<nn::Module>& m, const Tensor& x) {
  return std::static_pointer_cast<nn::SequentialImpl>(m)->forward(x);
}

}  // namespace

// Three plain steps and one step of two micro-batches (the first under no_sync), each rank on its slice of the
// global batch; the reference trains one model on the whole batch. The parameters must agree to float32 rounding.
int ddp_matches_single_process() {
  auto pg = dist::init_process_group("gloo", {std::chrono::milliseconds(20000)});
  const int r = pg->rank(), w = pg->size();
  const int64_t per_rank = 3, global = per_rank * w, steps = 5;  // steps 3 and 4 are the accumulation pair
  Generator data_gen(1234);  // the same global data on every rank
  Tensor x = randn({steps, global, 4}, {}, &data_gen), y = randn({steps, global, 2}, {}, &data_gen);

  nn::DistributedDataParallelOptions opts;
  if (const char* b = std::getenv("KILN_DIST_TEST_BUCKET_BYTES")) opts.bucket_cap_bytes = std::atoll(b);
  nn::DistributedDataParallel ddp(make_model(100 + static_cast<uint64_t>(r)), pg, opts);  // rank 0's init wins
  optim::SGD opt(ddp.module()->parameters(), optim::SGDOptions(0.1));
  auto local = [&](int64_t s, const Tensor& t) { return t.select(0, s).narrow(0, r * per_rank, per_rank); };
  for (int64_t s = 0; s < 3; ++s) {
    opt.zero_grad();
    nn::functional::mse_loss(forward(ddp.module(), local(s, x)), local(s, y)).backward();
    opt.step();
  }
  opt.zero_grad();
  {
    auto guard = ddp.no_sync();
    nn::functional::mse_loss(forward(ddp.module(), local(3, x)), local(3, y)).backward();
  }
  nn::functional::mse_loss(forward(ddp.module(), local(4, x)), local(4, y)).backward();
  opt.step();

  auto ref = make_model(100);
  optim::SGD ref_opt(ref->parameters(), optim::SGDOptions(0.1));
  for (int64_t s = 0; s < 3; ++s) {
    ref_opt.zero_grad();
    nn::functional::mse_loss(forward(ref, x.select(0, s)), y.select(0, s)).backward();
    ref_opt.step();
  }
  ref_opt.zero_grad();
  for (int64_t s = 3; s < 5; ++s) nn::functional::mse_loss(forward(ref, x.select(0, s)), y.select(0, s)).backward();
  ref_opt.step();

  auto got = ddp.module()->parameters(), want = ref->parameters();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    auto g = got[i].to_vector<float>(), e = want[i].to_vector<float>();
    for (size_t j = 0; j < g.size(); ++j)
      if (std::abs(g[j] - e[j]) > 1e-5f) {
        std::fprintf(stderr, "FAILED: parameter %zu element %zu is %g, single-process training gives %g\n", i, j, g[j], e[j]);
        ++bad;
        break;
      }
  }
  std::printf("rank %d: %lld buckets, %d parameters differ\n", r, static_cast<long long>(ddp.num_buckets()), bad);
  pg->barrier()->wait();
  dist::destroy_process_group();
  return bad == 0 ? 0 : 1;
}

}  // namespace kiln::test
