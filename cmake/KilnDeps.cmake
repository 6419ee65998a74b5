# Finds the third-party libraries kiln is built on (all from Debian's packages; see scripts/install-deps.sh).
find_package(Threads REQUIRED)
if(KILN_PORTABLE)
  set(ZLIB_USE_STATIC_LIBS ON)  # libz.a (cmake/KilnPortable.cmake)
endif()
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenMP REQUIRED)
find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()

# OpenBLAS, OpenMP flavour (Debian's libopenblas-openmp-dev), linked statically: BLAS then shares kiln's one
# OpenMP thread pool instead of running its own pthreads beside it (two pools on the same cores thrash), and
# the library does not depend on which flavour Debian's alternatives system points libopenblas.so.0 at.
set(KILN_OPENBLAS_DIR /usr/lib/x86_64-linux-gnu/openblas-openmp CACHE PATH "Folder with the OpenMP OpenBLAS")
find_path(OPENBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-openmp NO_DEFAULT_PATH REQUIRED)
find_library(OPENBLAS_LIBRARY NAMES libopenblas.a PATHS ${KILN_OPENBLAS_DIR} NO_DEFAULT_PATH REQUIRED)
add_library(kiln_openblas INTERFACE)
target_include_directories(kiln_openblas INTERFACE ${OPENBLAS_INCLUDE_DIR})
target_link_libraries(kiln_openblas INTERFACE ${OPENBLAS_LIBRARY} OpenMP::OpenMP_CXX Threads::Threads m)

# Gloo (Debian's libgloo-dev): the CPU collectives behind dist::ProcessGroup's "gloo" backend. AUTO builds it
# when the package is found. Debian's libgloo.so records its own dependencies (hiredis, ibverbs) as DT_NEEDED,
# so kiln links only gloo; kiln never includes the Redis or ibverbs headers, which would need their -dev
# packages. A test link below makes a package that cannot link fail at configure time, not in the build.
set(KILN_GLOO "AUTO" CACHE STRING "Build the Gloo process-group backend: AUTO (when libgloo-dev is found), ON or OFF")
set_property(CACHE KILN_GLOO PROPERTY STRINGS AUTO ON OFF)
set(KILN_WITH_GLOO OFF)
if(NOT KILN_GLOO STREQUAL "OFF")
  find_package(Gloo CONFIG QUIET)
  if(Gloo_FOUND AND TARGET gloo)
    include(CheckCXXSourceCompiles)
    set(CMAKE_REQUIRED_LIBRARIES gloo Threads::Threads)
    check_cxx_source_compiles("
      #include <gloo/rendezvous/context.h>
      #include <gloo/transport/tcp/device.h>
      int main() { gloo::transport::tcp::attr a; auto d = gloo::transport::tcp::CreateDevice(a);
                   gloo::rendezvous::Context c(0, 1); return d ? 0 : 1; }" KILN_GLOO_LINKS)
    unset(CMAKE_REQUIRED_LIBRARIES)
    if(KILN_GLOO_LINKS)
      set(KILN_WITH_GLOO ON)
    endif()
  endif()
  if(KILN_GLOO STREQUAL "ON" AND NOT KILN_WITH_GLOO)
    message(FATAL_ERROR "KILN_GLOO=ON but Gloo was not found or does not link (install libgloo-dev)")
  endif()
endif()
message(STATUS "kiln: Gloo backend ${KILN_WITH_GLOO}")

# NCCL, the GPU process-group backend (src/dist/nccl/): only its header is needed at build time. libnccl.so.2 is
# loaded with dlopen on the first NCCL group, as cuBLAS is, so libkiln has no link dependency on it.
set(KILN_NCCL "AUTO" CACHE STRING "Build the NCCL process-group backend: AUTO (with CUDA, when nccl.h is found), ON or OFF")
set_property(CACHE KILN_NCCL PROPERTY STRINGS AUTO ON OFF)
set(KILN_WITH_NCCL OFF)
if(NOT KILN_NCCL STREQUAL "OFF" AND KILN_WITH_CUDA)
  find_path(KILN_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(KILN_NCCL_INCLUDE_DIR)
    set(KILN_WITH_NCCL ON)
  endif()
endif()
if(KILN_NCCL STREQUAL "ON" AND NOT KILN_WITH_NCCL)
  message(FATAL_ERROR "KILN_NCCL=ON but CUDA is off or nccl.h was not found (install NCCL's development files)")
endif()
message(STATUS "kiln: NCCL backend ${KILN_WITH_NCCL}")

# Highway (Debian's libhwy-dev): the CPU's vector kernels (src/ops/simd/), one build per instruction set with the
# best chosen at run time, and its vector exp/log/tanh.
find_package(hwy 1.0 REQUIRED CONFIG)

# oneDNN (Debian's libdnnl-dev, OpenMP runtime): the CPU's float32 convolution primitives, on kiln's OpenMP pool.
# Found by hand: Debian's dnnl-config.cmake also demands the OpenCL development files, which kiln does not use.
# Off (the GPU bundle, whose size limit a 40 MB libdnnl would break), float32 convolutions take the im2col path.
option(KILN_ONEDNN "CPU convolutions through oneDNN (libdnnl-dev)" ON)
if(KILN_ONEDNN)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp REQUIRED)
  find_library(DNNL_LIBRARY NAMES dnnl REQUIRED)
  add_library(kiln_dnnl INTERFACE)
  target_include_directories(kiln_dnnl INTERFACE ${DNNL_INCLUDE_DIR})
  target_link_libraries(kiln_dnnl INTERFACE ${DNNL_LIBRARY})
endif()
