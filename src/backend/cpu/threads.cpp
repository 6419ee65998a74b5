// One thread count for OpenMP loops and OpenBLAS.
#include "kiln/core/threads.h"

#include <cblas.h>
#include <omp.h>

#include "kiln/core/error.h"

namespace kiln {
int get_num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) {
  KILN_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

std::string blas_config() { return openblas_get_config(); }
}  // namespace kiln
