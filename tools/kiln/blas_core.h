// Which OpenBLAS kernels the tool should ask for, when OpenBLAS's own CPU detection falls short.
#pragma once

namespace kiln::cli {
/// The OPENBLAS_CORETYPE to run with, or nullptr to keep OpenBLAS's choice: "SkylakeX" (or "Haswell") when
/// OpenBLAS picked its generic Prescott (SSE3) kernels on a CPU that has AVX-512 (or AVX2 and FMA), which
/// happens when the CPU model is newer than the OpenBLAS build knows. nullptr when OPENBLAS_CORETYPE is set.
const char* openblas_core_override();
}  // namespace kiln::cli
