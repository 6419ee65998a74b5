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
