// CPU threading: one setting for kiln's loops and OpenBLAS together (like torch.set_num_threads).
#pragma once
#include <string>

namespace kiln {
/// Threads used by CPU ops (elementwise loops, reductions and OpenBLAS alike).
int get_num_threads();
/// Sets both pools at once so they never oversubscribe the cores; n must be >= 1.
void set_num_threads(int n);
/// The BLAS build kiln uses, e.g. "OpenBLAS 0.3.21 NO_AFFINITY Haswell MAX_THREADS=64".
std::string blas_config();
}  // namespace kiln
