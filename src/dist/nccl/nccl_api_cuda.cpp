// Loads NCCL with dlopen when the first NCCL group is made (see nccl_api.h for why it is not linked).
#include "dist/nccl/nccl_api.h"

#include <string>

#include "core/shared_library.h"
#include "kiln/dist/store.h"

namespace kiln::dist::detail {
namespace {

void* open_nccl() {
  std::string why;
  if (void* h = kiln::detail::open_first_library(
          {"libnccl.so.2", std::string(KILN_NCCL_BUILD_DIR) + "/libnccl.so.2"}, why))
    return h;
  throw DistError("dist: cannot load NCCL (libnccl.so.2), which the \"nccl\" backend needs: " + why +
                  ". Install NCCL 2 (Debian/Ubuntu: libnccl2), or put its folder on LD_LIBRARY_PATH; CPU tensors "
                  "can use the \"gloo\" backend");
}

template <typename F>
void resolve(void* lib, F& fn, const char* name) {
  fn = kiln::detail::library_symbol<F>(lib, name);
  if (!fn) throw DistError(std::string("dist: NCCL has no function ") + name + " (an NCCL older than 2.13?)");
}

}  // namespace

const NcclApi& nccl() {
  static const NcclApi api = [] {
    void* lib = open_nccl();
    NcclApi a{};
    resolve(lib, a.get_version, "ncclGetVersion");
    resolve(lib, a.get_unique_id, "ncclGetUniqueId");
    resolve(lib, a.comm_init_rank, "ncclCommInitRank");
    resolve(lib, a.comm_destroy, "ncclCommDestroy");
    resolve(lib, a.comm_abort, "ncclCommAbort");
    resolve(lib, a.comm_get_async_error, "ncclCommGetAsyncError");
    resolve(lib, a.error_string, "ncclGetErrorString");
    resolve(lib, a.last_error, "ncclGetLastError");
    resolve(lib, a.all_reduce, "ncclAllReduce");
    resolve(lib, a.broadcast, "ncclBroadcast");
    resolve(lib, a.all_gather, "ncclAllGather");
    resolve(lib, a.reduce_scatter, "ncclReduceScatter");
    resolve(lib, a.group_start, "ncclGroupStart");
    resolve(lib, a.group_end, "ncclGroupEnd");
    return a;
  }();
  return api;
}

void check_nccl(ncclResult_t result, const char* call) {
  if (result == ncclSuccess || result == ncclInProgress) return;
  const NcclApi& api = nccl();
  std::string detail = api.last_error ? api.last_error(nullptr) : "";
  throw DistError(std::string("dist: ") + call + " failed: " + api.error_string(result) +
                  (detail.empty() ? "" : " (" + detail + ")"));
}

}  // namespace kiln::dist::detail
