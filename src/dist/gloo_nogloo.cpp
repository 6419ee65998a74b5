// Stand-in for the Gloo backend in a build without Gloo (KILN_GLOO=OFF or libgloo-dev missing).
#include "dist/backends.h"

namespace kiln::dist::detail {

std::shared_ptr<ProcessGroup> make_gloo_group(std::shared_ptr<Store>, int, int, const ProcessGroupOptions&) {
  throw NotImplemented(
      "dist: kiln was built without Gloo, so the \"gloo\" backend is unavailable (install libgloo-dev and rebuild)");
}

}  // namespace kiln::dist::detail
