// The NCCL backend's stand-in in a build without NCCL (no CUDA, or KILN_NCCL=OFF): says how to get it.
#include "dist/backends.h"

namespace kiln::dist::detail {

std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<Store>, int, int, const ProcessGroupOptions&) {
  throw NotImplemented("dist: this kiln was built without the \"nccl\" backend (it needs CUDA and NCCL's nccl.h at "
                       "build time, KILN_NCCL=AUTO|ON); use \"gloo\" with CPU tensors");
}

}  // namespace kiln::dist::detail
