// nn::DistributedDataParallel: parameters broadcast from rank 0, gradients averaged in buckets from the grad hooks.
#include "kiln/nn/distributed.h"

#include <mutex>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "nn/ddp_replica_check.h"

namespace kiln::nn {

struct DistributedDataParallel::Reducer {
  struct Bucket {
    std::vector<size_t> params;  // indices into Reducer::params
    Tensor flat;                 // the bucket's gradients end to end
    size_t ready = 0;
    std::shared_ptr<dist::Work> work;
  };
  std::shared_ptr<dist::ProcessGroup> group;
  std::vector<Tensor> params;
  std::vector<size_t> bucket_of;  // per parameter
  std::vector<int64_t> offset;    // per parameter, in its bucket's flat buffer
  std::vector<char> marked;       // per parameter: its gradient is in its bucket, not yet averaged
  std::vector<Bucket> buckets;
  size_t launched = 0;
  bool sync = true;
  std::mutex mu;  // hooks of one backward run on the engine's thread, but keep the state safe regardless

  // A parameter's gradient is final for this backward: copy it into its bucket, launch a full bucket, and after
  // the last bucket wait for all of them and write the averages back.
  void on_grad_ready(size_t p) {
    std::lock_guard<std::mutex> lock(mu);
    if (!sync) return;
    if (marked[p]) refuse_incomplete_reduction(p);
    marked[p] = 1;
    Bucket& b = buckets[bucket_of[p]];
    const Tensor& g = params[p].grad();
    b.flat.narrow(0, offset[p], g.numel()).copy_(g.reshape({-1}));
    if (++b.ready < b.params.size()) return;
    b.work = group->all_reduce(b.flat, dist::ReduceOp::Avg);
    if (++launched < buckets.size()) return;
    for (Bucket& done : buckets) {
      done.work->wait();
      for (size_t q : done.params) {
        marked[q] = 0;
        Tensor& grad = params[q].mutable_grad();
        grad.copy_(done.flat.narrow(0, offset[q], grad.numel()).view(grad.sizes()));
      }
      done.ready = 0;
      done.work.reset();
    }
    launched = 0;
  }

  // A parameter whose gradient arrives twice before its bucket was averaged: the previous backward left buckets
  // incomplete (a parameter took no part in the loss), so its gradients were never averaged, or one backward
  // reached a parameter twice. PyTorch's DDP raises in the next iteration too; kiln names the parameters, waits
  // for what was launched (every rank launched the same buckets) and re-arms, so the program may continue.
  [[noreturn]] void refuse_incomplete_reduction(size_t p) {
    std::string missing;
    size_t count = 0;
    for (size_t q = 0; q < params.size(); ++q)
      if (!marked[q] && count++ < 8) missing += (missing.empty() ? "#" : ", #") + std::to_string(q);
    for (Bucket& b : buckets) {
      if (b.work) b.work->wait();
      b.work.reset();
      b.ready = 0;
    }
    launched = 0;
    std::fill(marked.begin(), marked.end(), 0);
    throw AutogradError("DistributedDataParallel: parameter #" + std::to_string(p) + " got a gradient again before "
                        "the previous one was averaged: the previous backward did not reach " +
                        std::to_string(count) + " parameter(s) (" + missing + (count > 8 ? ", ..." : "") +
                        ", in module.parameters() order), so its gradients were NOT averaged across ranks. Make "
                        "every parameter take part in the loss, or set requires_grad(false) on those that do not, "
                        "before wrapping the module.");
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<Module> module,
                                                 std::shared_ptr<dist::ProcessGroup> group,
                                                 DistributedDataParallelOptions options)
    : module_(std::move(module)), group_(group ? std::move(group) : dist::default_group()),
      reducer_(std::make_shared<Reducer>()) {
  KILN_CHECK(module_ != nullptr, "DistributedDataParallel: the module is null");
  KILN_CHECK(options.bucket_cap_bytes > 0, "DistributedDataParallel: bucket_cap_bytes must be positive, got ",
             options.bucket_cap_bytes);
  // A broadcast into a tensor of another size would corrupt memory or hang, so the shapes are compared first.
  detail::check_replicas_match(*module_, *group_);
  // Every replica starts from rank 0's values.
  std::vector<std::shared_ptr<dist::Work>> works;
  for (const Tensor& t : module_->parameters()) works.push_back(group_->broadcast(t, 0));
  for (const Tensor& t : module_->buffers()) works.push_back(group_->broadcast(t, 0));
  for (auto& w : works) w->wait();

  Reducer& r = *reducer_;
  r.group = group_;
  for (const Tensor& p : module_->parameters())
    if (p.requires_grad()) r.params.push_back(p);
  KILN_CHECK(!r.params.empty(), "DistributedDataParallel: the module has no parameter that requires grad");
  r.bucket_of.resize(r.params.size());
  r.offset.resize(r.params.size());
  r.marked.assign(r.params.size(), 0);
  // Backward produces gradients roughly in reverse registration order, so buckets are filled from the end; a
  // bucket holds one dtype and ends when it passes the cap.
  int64_t bytes = 0;
  for (size_t k = r.params.size(); k-- > 0;) {
    const Tensor& p = r.params[k];
    bool fresh = r.buckets.empty() || bytes >= options.bucket_cap_bytes ||
                 r.params[r.buckets.back().params.back()].dtype() != p.dtype();
    if (fresh) {
      r.buckets.emplace_back();
      bytes = 0;
    }
    auto& b = r.buckets.back();
    r.bucket_of[k] = r.buckets.size() - 1;
    r.offset[k] = bytes / static_cast<int64_t>(p.element_size());
    b.params.push_back(k);
    bytes += static_cast<int64_t>(p.nbytes());
  }
  for (auto& b : r.buckets) {
    const Tensor& last = r.params[b.params.back()];
    int64_t n = r.offset[b.params.back()] + last.numel();
    b.flat = zeros({n}, TensorOptions(last.dtype()).device(last.device()));
  }
  std::weak_ptr<Reducer> weak = reducer_;
  for (size_t k = 0; k < r.params.size(); ++k)
    autograd::register_post_accumulate_grad_hook(r.params[k], [weak, k](Tensor&) {
      if (auto alive = weak.lock()) alive->on_grad_ready(k);  // a destroyed DDP leaves its hooks idle
    });
}

DistributedDataParallel::~DistributedDataParallel() = default;

int64_t DistributedDataParallel::num_buckets() const { return static_cast<int64_t>(reducer_->buckets.size()); }

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) {
  std::lock_guard<std::mutex> lock(ddp_.reducer_->mu);
  previous_ = ddp_.reducer_->sync;
  ddp_.reducer_->sync = false;
}

DistributedDataParallel::NoSync::~NoSync() {
  std::lock_guard<std::mutex> lock(ddp_.reducer_->mu);
  ddp_.reducer_->sync = previous_;
}

}  // namespace kiln::nn
