// The default random generator.
#include "kiln/core/generator.h"

namespace kiln {
Generator& default_generator() {
  static Generator g;
  return g;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }
}  // namespace kiln
