// The installed kernel wrappers: a copy-on-write list, so a kernel call reads it without a lock.
#include "ops/kernel_wrappers.h"

#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace kiln::detail {
std::atomic<int> kernel_wrapper_count{0};
}

namespace kiln::ops {

namespace {
using WrapperList = std::vector<std::pair<int, std::shared_ptr<KernelWrapper>>>;
// Constructed on first use: wrappers may be installed from other files' static initialisers (the placement
// log under KILN_LOG_DEVICE_PLACEMENT), which can run before this file's.
std::mutex& list_mutex() {  // serialises writers; readers take a snapshot
  static std::mutex m;
  return m;
}
std::shared_ptr<const WrapperList>& installed_list() {
  static std::shared_ptr<const WrapperList> list = std::make_shared<const WrapperList>();
  return list;
}
int next_handle = 1;
}  // namespace

int add_kernel_wrapper(std::shared_ptr<KernelWrapper> w) {
  std::lock_guard<std::mutex> lock(list_mutex());
  auto next = std::make_shared<WrapperList>(*std::atomic_load(&installed_list()));
  int handle = next_handle++;
  next->emplace_back(handle, std::move(w));
  std::atomic_store(&installed_list(), std::shared_ptr<const WrapperList>(std::move(next)));
  kiln::detail::kernel_wrapper_count.fetch_add(1);
  return handle;
}

void remove_kernel_wrapper(int handle) {
  std::lock_guard<std::mutex> lock(list_mutex());
  auto next = std::make_shared<WrapperList>(*std::atomic_load(&installed_list()));
  for (auto it = next->begin(); it != next->end(); ++it) {
    if (it->first != handle) continue;
    next->erase(it);
    std::atomic_store(&installed_list(), std::shared_ptr<const WrapperList>(std::move(next)));
    kiln::detail::kernel_wrapper_count.fetch_sub(1);
    return;
  }
}

KernelWrapperScope::KernelWrapperScope(const KernelCall& call) : call_(call), uncaught_(std::uncaught_exceptions()) {
  auto list = std::atomic_load(&installed_list());
  snapshot_ = list;
  for (auto& entry : *list) {
    entry.second->before(call_);
    ++entered_;
  }
}

KernelWrapperScope::~KernelWrapperScope() {
  if (std::uncaught_exceptions() != uncaught_) return;  // the kernel threw: no after()
  auto list = std::static_pointer_cast<const WrapperList>(snapshot_);
  for (int i = entered_ - 1; i >= 0; --i) (*list)[static_cast<size_t>(i)].second->after(call_);
}
}  // namespace kiln::ops
