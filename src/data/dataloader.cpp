// DataLoader: one epoch's batches made inline or by worker threads, handed out in order, optionally pinned and
// copied to a GPU on a side stream one batch ahead of the consumer.
#include "kiln/data/dataloader.h"

#include <condition_variable>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "data/seeding.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/copy.h"

namespace kiln::data {
namespace {

void note_pin_memory_without_gpu() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::fprintf(stderr,
                 "kiln: note: DataLoader pin_memory is on but no GPU is usable (%s); batches stay in ordinary "
                 "memory\n",
                 cuda::unavailable_reason().c_str());
  });
}

// A batch (or the error that replaced it) waiting for the consumer.
struct Slot {
  Example batch;
  std::exception_ptr error;
};

Tensor pinned(const Tensor& t) { return t.defined() && t.is_cpu() ? t.pin_memory() : t; }
}  // namespace

/// The state of one epoch: its batch list, the worker threads and their output, and the device copy in flight.
struct DataLoader::Run {
  Run(const DataLoader& loader, int64_t epoch)
      : dataset(loader.dataset_),
        transform(loader.options_.transform()),
        seed(loader.seed_),
        epoch(epoch),
        pin(loader.pin_),
        batches(loader.batch_sampler_->batches(epoch)),
        num_workers(loader.options_.num_workers()),
        window(2 * static_cast<int64_t>(loader.options_.num_workers())) {
    to_cpu = loader.options_.device() && loader.options_.device()->is_cpu();
    if (loader.device_ && loader.device_->is_cuda()) {
      device = loader.device_;
      copy_stream = cuda::new_stream(device->index());
      compute_ready = std::make_unique<cuda::Event>();  // CPU-only builds cannot even construct an Event
    }
    try {
      for (int w = 0; w < num_workers; ++w) workers.emplace_back([this] { work(); });
    } catch (const std::system_error& e) {
      stop_workers();  // a thread that could not start must not leave the others running
      throw Error(::kiln::detail::str("DataLoader: could not start worker thread ", workers.size() + 1, " of ",
                                      num_workers, " (", e.what(), "); use fewer workers (num_workers, --workers)"));
    } catch (...) {
      stop_workers();
      throw;
    }
  }

  // A batch whose copy is still in flight may be dropped here: its tensors were marked with record_stream
  // (see issue), so the allocator keeps their memory until the copy stream has finished with it.
  ~Run() { stop_workers(); }

  void stop_workers() noexcept {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    work_cv.notify_all();
    for (std::thread& t : workers)
      if (t.joinable()) t.join();
  }

  // Makes batch k: gather the samples, transform, pin. Called by workers or inline.
  Example produce(int64_t k) const {
    Example e = dataset->get_batch(batches[static_cast<size_t>(k)]);
    if (transform) {
      // Per-batch generator: the same batch gets the same random transform whichever thread makes it.
      Generator gen(detail::mix64(detail::mix64(detail::mix64(seed) ^ static_cast<uint64_t>(epoch)) ^
                                  static_cast<uint64_t>(k)));
      e.data = transform(e.data, &gen);
    }
    if (to_cpu) {  // a dataset held on a GPU, delivered on the CPU as asked
      if (e.data.defined()) e.data = e.data.cpu();
      if (e.target.defined()) e.target = e.target.cpu();
    }
    if (pin) {
      e.data = pinned(e.data);
      e.target = pinned(e.target);
    }
    return e;
  }

  void work() noexcept {
    for (;;) {
      int64_t k;
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return stop || next_claim >= num_batches() || next_claim < taken + window; });
        if (stop || next_claim >= num_batches()) return;
        k = next_claim++;
      }
      Slot slot;
      try {
        slot.batch = produce(k);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ready.emplace(k, std::move(slot));
      }
      ready_cv.notify_all();
    }
  }

  // Batch k as made on the host (inline, or the workers' result in order); rethrows its error.
  Example take(int64_t k) {
    if (num_workers == 0) return produce(k);
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mu);
      ready_cv.wait(lock, [&] { return ready.count(k) > 0; });
      auto it = ready.find(k);
      slot = std::move(it->second);
      ready.erase(it);
      ++taken;
    }
    work_cv.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(slot.batch);
  }

  // Starts the asynchronous copy of batch k to the device; errors are kept for the moment k is handed out.
  void issue(int64_t k) {
    pending = InFlight();
    try {
      Example host = take(k);
      const int d = device->index();
      cuda::DeviceGuard guard(d);
      cuda::Stream compute = cuda::current_stream(d);
      // Allocated on the compute stream, which will use and free it; the copy stream first waits for the
      // compute stream so that memory this stream freed earlier is really done with before being overwritten.
      // The copy stream writes the tensors, so each is marked with record_stream before its copy is queued:
      // whenever it is freed (handed out and dropped, dropped unhanded at the end of an epoch, or dropped here
      // when a later copy throws), the allocator reuses the memory only after the copy stream is done with it,
      // whichever stream is current by then. The `done` event below is still needed: record_stream only guards
      // reuse, it does not make the data visible to the compute stream.
      Example dev;
      auto alloc = [&](const Tensor& t) {
        return t.defined() && t.device() != *device ? make_tensor(t.sizes(), t.dtype(), *device) : Tensor();
      };
      dev.data = alloc(host.data);
      dev.target = alloc(host.target);
      compute_ready->record(compute);
      compute_ready->wait(copy_stream);
      {
        cuda::StreamGuard on_copy_stream(copy_stream);
        auto queue_copy = [&](Tensor& dst, const Tensor& src) {
          if (!dst.defined()) return;
          dst.record_stream(copy_stream);
          dst.copy_(src, /*non_blocking=*/true);
        };
        queue_copy(dev.data, host.data);
        queue_copy(dev.target, host.target);
      }
      if (!dev.data.defined()) dev.data = host.data;  // already on the device (or undefined)
      if (!dev.target.defined()) dev.target = host.target;
      auto done = std::make_unique<cuda::Event>();
      done->record(copy_stream);
      pending.batch = std::move(dev);
      pending.done = std::move(done);
    } catch (...) {
      pending.error = std::current_exception();
    }
    pending.valid = true;
  }

  // The next batch in order, or false at the end of the epoch.
  bool next(Example& out) {
    if (handed >= num_batches()) return false;
    const int64_t k = handed++;
    if (!device) {
      out = take(k);
      return true;
    }
    if (!pending.valid) issue(k);  // the first batch of the epoch
    InFlight current = std::move(pending);
    pending = InFlight();
    // Queue the next copy before handing this batch out, so it overlaps the compute on this one.
    if (k + 1 < num_batches()) issue(k + 1);
    if (current.error) std::rethrow_exception(current.error);
    if (current.done) current.done->wait(cuda::current_stream(device->index()));
    out = std::move(current.batch);
    return true;
  }

  int64_t num_batches() const { return static_cast<int64_t>(batches.size()); }

  struct InFlight {
    bool valid = false;
    Example batch;
    std::unique_ptr<cuda::Event> done;  // recorded on the copy stream after the batch's copies
    std::exception_ptr error;
  };

  std::shared_ptr<Dataset> dataset;
  Transform transform;
  uint64_t seed;
  int64_t epoch;
  bool pin;
  bool to_cpu = false;
  std::vector<std::vector<int64_t>> batches;
  int num_workers;
  int64_t window;  // batches made or being made ahead of the consumer

  std::mutex mu;
  std::condition_variable work_cv, ready_cv;
  std::map<int64_t, Slot> ready;
  int64_t next_claim = 0;  // next batch a worker takes on
  int64_t taken = 0;       // batches the consumer has taken from the workers
  bool stop = false;
  std::vector<std::thread> workers;

  int64_t handed = 0;  // batches handed to the user (or replaced by their error)
  std::optional<Device> device;
  cuda::Stream copy_stream;
  std::unique_ptr<cuda::Event> compute_ready;
  InFlight pending;
};

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  KILN_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  KILN_CHECK(options_.batch_size() >= 1, "DataLoader: batch_size must be at least 1, got ", options_.batch_size());
  KILN_CHECK(options_.num_workers() >= 0, "DataLoader: num_workers must be 0 (load in this thread) or more, got ",
             options_.num_workers());
  seed_ = options_.seed() ? *options_.seed() : detail::seed_from_default_generator();
  if (options_.batch_sampler()) {
    batch_sampler_ = options_.batch_sampler();
  } else {
    std::shared_ptr<Sampler> sampler = options_.sampler();
    if (!sampler) {
      const int64_t n = dataset_->size();
      sampler = options_.shuffle() ? std::shared_ptr<Sampler>(std::make_shared<RandomSampler>(n, seed_))
                                   : std::make_shared<SequentialSampler>(n);
    }
    batch_sampler_ = std::make_shared<BatchSampler>(sampler, options_.batch_size(), options_.drop_last());
  }
  if (options_.device() && options_.device()->is_cuda()) {
    KILN_CHECK_DEVICE(cuda::is_available(), "DataLoader: cannot deliver batches on ", options_.device()->str(),
                      ": ", cuda::unavailable_reason(), ". Leave the loader's device unset (or cpu) on this machine");
    device_ = resolve_device(*options_.device());
    pin_ = true;  // asynchronous host-to-device copies need pinned memory
  } else if (options_.pin_memory()) {
    if (cuda::is_available())
      pin_ = true;
    else
      note_pin_memory_without_gpu();
  }
}

DataLoader::~DataLoader() = default;

int64_t DataLoader::size() const { return batch_sampler_->size(); }

void DataLoader::set_epoch(int64_t epoch) {
  KILN_CHECK(epoch >= 0, "DataLoader::set_epoch: epoch must be non-negative, got ", epoch);
  epoch_ = epoch;
}

DataLoader::Iterator DataLoader::begin() {
  run_.reset();  // joins the workers of an epoch left unfinished
  ++generation_;
  run_ = std::make_unique<Run>(*this, epoch_);
  ++epoch_;
  return Iterator(this, generation_);
}

bool DataLoader::next(uint64_t generation, Example& out) {
  KILN_CHECK(generation == generation_ && run_ != nullptr,
             "DataLoader: this iterator belongs to an epoch that has ended or that a later begin() replaced");
  if (run_->next(out)) return true;
  run_.reset();  // epoch done: release the threads and buffers now rather than at the next begin()
  return false;
}

DataLoader::Iterator::Iterator(DataLoader* loader, uint64_t generation) : loader_(loader), generation_(generation) {
  if (!loader_->next(generation_, batch_)) loader_ = nullptr;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  KILN_CHECK(loader_ != nullptr, "DataLoader: cannot step past the end of an epoch");
  batch_ = Example();  // drop the previous batch before making the next, so its memory can be reused
  if (!loader_->next(generation_, batch_)) loader_ = nullptr;
  return *this;
}

}  // namespace kiln::data
