// What each spawned rank runs: collectives checked against their expected values, and a rank that dies or stalls.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <type_traits>

#include "dist/spawn.h"
#include "kiln/dist/process_group.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::test {
namespace {

using dist::ReduceOp;

std::chrono::milliseconds timeout_from_env(int default_ms) {
  const char* v = std::getenv("KILN_DIST_TEST_TIMEOUT_MS");
  return std::chrono::milliseconds(v ? std::atoi(v) : default_ms);
}

// Rank r's i-th input: small integers, so sums are exact in every dtype and ranks differ in sign and size.
double input_value(int r, int64_t i) { return static_cast<double>((r + 1) * ((i % 7) + 1) - 3 * (r % 2) - 2); }

template <typename T>
Tensor input_tensor(int r, int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<T>(input_value(r, i));
  return tensor(v, {n});
}

double expected_reduce(ReduceOp op, int world, int64_t i) {
  double acc = input_value(0, i);
  for (int r = 1; r < world; ++r) {
    double x = input_value(r, i);
    if (op == ReduceOp::Sum || op == ReduceOp::Avg) acc += x;
    if (op == ReduceOp::Max) acc = std::max(acc, x);
    if (op == ReduceOp::Min) acc = std::min(acc, x);
  }
  return op == ReduceOp::Avg ? acc / world : acc;
}

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

template <typename T>
void check_values(const Tensor& t, const std::function<double(int64_t)>& want, const std::string& what) {
  auto got = t.to_vector<T>();
  for (size_t i = 0; i < got.size(); ++i) {
    double w = want(static_cast<int64_t>(i));
    if (std::abs(static_cast<double>(got[i]) - w) > 1e-6 * std::max(1.0, std::abs(w))) {
      expect(false, what + ": element " + std::to_string(i) + " is " + std::to_string(static_cast<double>(got[i])) +
                        ", expected " + std::to_string(w));
      return;
    }
  }
}

template <typename T>
void check_dtype(dist::ProcessGroup& pg, int64_t n) {
  const int r = pg.rank(), w = pg.size();
  const std::string tag = std::string(dtype_name(dtype_of<T>)) + " n=" + std::to_string(n);
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
    if (op == ReduceOp::Avg && !std::is_floating_point<T>::value) continue;
    Tensor t = input_tensor<T>(r, n);
    pg.all_reduce(t, op)->wait();
    check_values<T>(t, [&](int64_t i) { return expected_reduce(op, w, i); },
                    std::string("all_reduce ") + dist::reduce_op_name(op) + " " + tag);
  }
  for (int root = 0; root < w; ++root) {
    Tensor t = input_tensor<T>(r, n);
    pg.broadcast(t, root)->wait();
    check_values<T>(t, [&](int64_t i) { return input_value(root, i); }, "broadcast root " + std::to_string(root) + " " + tag);
  }
  // reduce_scatter: slot k of rank r holds input_value(r, i + 1000 k), so this rank receives the reduction of
  // every rank's slot r.
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
    if (op == ReduceOp::Avg && !std::is_floating_point<T>::value) continue;
    std::vector<Tensor> ins;
    for (int k = 0; k < w; ++k) {
      std::vector<T> v(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<T>(input_value(r, i + 1000 * k));
      ins.push_back(tensor(v, {n}));
    }
    Tensor out = zeros({n}, TensorOptions(dtype_of<T>));
    pg.reduce_scatter(out, ins, op)->wait();
    check_values<T>(out, [&](int64_t i) { return expected_reduce(op, w, i + 1000 * r); },
                    std::string("reduce_scatter ") + dist::reduce_op_name(op) + " " + tag);
  }
  std::vector<Tensor> outs;
  for (int k = 0; k < w; ++k) outs.push_back(zeros({n}, TensorOptions(dtype_of<T>)));
  pg.all_gather(outs, input_tensor<T>(r, n))->wait();
  for (int k = 0; k < w; ++k)
    check_values<T>(outs[k], [&](int64_t i) { return input_value(k, i); }, "all_gather slot " + std::to_string(k) + " " + tag);
}

// Every collective, dtype and reduce op, checked against values computed locally; then async handles.
int collectives() {
  auto pg = dist::init_process_group("gloo", {timeout_from_env(20000)});
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{0}}) {
    check_dtype<float>(*pg, n);
    check_dtype<double>(*pg, n);
    check_dtype<int64_t>(*pg, n);
  }
  // Several collectives in flight at once complete in call order with the right values.
  std::vector<Tensor> ts;
  std::vector<std::shared_ptr<dist::Work>> works;
  for (int k = 0; k < 4; ++k) {
    ts.push_back(input_tensor<float>(pg->rank() + k, 100000));
    works.push_back(pg->all_reduce(ts.back(), ReduceOp::Sum));
  }
  works.push_back(pg->barrier());
  for (auto& wk : works) wk->wait();
  for (int k = 0; k < 4; ++k)
    check_values<float>(ts[k], [&](int64_t i) {
      double s = 0;
      for (int r = 0; r < pg->size(); ++r) s += input_value(r + k, i);
      return s;
    }, "async all_reduce " + std::to_string(k));
  expect(works[0]->is_completed(), "is_completed after wait");
  pg->barrier()->wait();
  dist::destroy_process_group();
  return failures == 0 ? 0 : 1;
}

// The last rank leaves (SIGKILL, or a stall) after the group is up; the others must fail with DistError in time.
int peer_failure(bool kill_last) {
  auto timeout = timeout_from_env(3000);
  auto pg = dist::init_process_group("gloo", {timeout});
  pg->barrier()->wait();
  if (pg->rank() == pg->size() - 1) {
    if (kill_last) ::raise(SIGKILL);
    std::this_thread::sleep_for(timeout + std::chrono::milliseconds(1500));  // alive but absent from the collective
    std::fflush(nullptr);
    ::_exit(0);  // skip the group's teardown: its peers are gone by now
  }
  auto start = std::chrono::steady_clock::now();
  Tensor t = input_tensor<float>(pg->rank(), 1000);
  try {
    pg->all_reduce(t)->wait();
    std::fprintf(stderr, "FAILED: all_reduce succeeded without the last rank\n");
    ::_exit(1);
  } catch (const dist::DistError& e) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("DistError after %lld ms: %s\n", static_cast<long long>(ms), e.what());
    std::string msg = e.what();
    expect(msg.find("all_reduce") != std::string::npos, "the message names the collective");
    expect(msg.find("rank " + std::to_string(pg->rank()) + " of " + std::to_string(pg->size())) != std::string::npos,
           "the message names this rank");
    expect(ms < timeout.count() + 2000, "failed within the timeout plus 2 s");
  }
  // A later collective fails at once, quoting the first failure.
  try {
    pg->barrier()->wait();
    expect(false, "barrier after a failure succeeded");
  } catch (const dist::DistError& e) {
    expect(std::string(e.what()).find("earlier failure") != std::string::npos, "later calls quote the first failure");
  }
  std::fflush(nullptr);
  ::_exit(failures == 0 ? 0 : 1);  // without teardown: tearing down with a dead peer is not what is tested
}

}  // namespace

int ddp_matches_single_process();    // scenario_ddp.cpp
int ddp_mismatched_shapes();         // scenario_ddp_failures.cpp
int ddp_rank_killed_mid_training();  // likewise

int run_scenario(const std::string& name) {
  try {
    if (name == "ddp") return ddp_matches_single_process();
    if (name == "ddp_mismatch") return ddp_mismatched_shapes();
    if (name == "ddp_kill_mid_training") return ddp_rank_killed_mid_training();
    if (name == "collectives") return collectives();
    if (name == "kill_last") return peer_failure(true);
    if (name == "stall_last") return peer_failure(false);
    std::fprintf(stderr, "unknown scenario '%s'\n", name.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAILED with exception: %s\n", e.what());
    return 1;
  }
}

}  // namespace kiln::test
