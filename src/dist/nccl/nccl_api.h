// NCCL's entry points as kiln calls them, resolved from libnccl.so.2 on first use (only for *_cuda.cpp files).
#pragma once
#include <nccl.h>

namespace kiln::dist::detail {

/// The NCCL functions the NCCL process group uses. libkiln does not link NCCL (a large library most processes
/// never need, and a CPU-only machine may lack): it is loaded when the first NCCL group is made.
struct NcclApi {
  decltype(&ncclGetVersion) get_version;
  decltype(&ncclGetUniqueId) get_unique_id;
  decltype(&ncclCommInitRank) comm_init_rank;
  decltype(&ncclCommDestroy) comm_destroy;
  decltype(&ncclCommAbort) comm_abort;
  decltype(&ncclCommGetAsyncError) comm_get_async_error;
  decltype(&ncclGetErrorString) error_string;
  decltype(&ncclGetLastError) last_error;
  decltype(&ncclAllReduce) all_reduce;
  decltype(&ncclBroadcast) broadcast;
  decltype(&ncclAllGather) all_gather;
  decltype(&ncclReduceScatter) reduce_scatter;
  decltype(&ncclGroupStart) group_start;
  decltype(&ncclGroupEnd) group_end;
};

/// Loads NCCL once (thread-safe) and returns its functions. Looks for libnccl.so.2 on the loader's path
/// (LD_LIBRARY_PATH, the cache), then in the CUDA toolkit's library folder the build used. Throws DistError naming
/// the library and the loader's reason when it is missing or lacks a function.
const NcclApi& nccl();

/// Throws DistError "<call> failed: <NCCL's reason>" unless result is ncclSuccess (or ncclInProgress).
void check_nccl(ncclResult_t result, const char* call);

}  // namespace kiln::dist::detail
