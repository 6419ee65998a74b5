// The dtype a *.per_dtype.cpp/.cu translation unit instantiates its kernels for. CMake compiles each such
// file once per row of the dtype table (cmake/KilnPerDType.cmake), with KILN_INSTANCE_DTYPE set to the
// row's enum name, so the heavy kernel templates of one family are spread over one unit per dtype.
#pragma once
#include "kiln/core/dtype.h"

#ifndef KILN_INSTANCE_DTYPE
#error "a *.per_dtype source is compiled through the wrappers cmake/KilnPerDType.cmake generates"
#endif

namespace kiln {
/// The C++ type of this unit's dtype.
using instance_t = cpp_type_t<DType::KILN_INSTANCE_DTYPE>;
}  // namespace kiln
