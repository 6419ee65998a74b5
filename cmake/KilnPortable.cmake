# KILN_PORTABLE: programs that run on a machine with none of Debian's libraries, only glibc and (for the GPU) the
# NVIDIA driver and cuBLAS; scripts/gpu-bundle.sh builds this way and assembles the folder.
# - Third-party libraries are static: OpenBLAS (always), zlib (libz.a), GoogleTest, the CUDA
#   runtime (always). cmake/KilnDeps.cmake picks the form of zlib.
# - GCC's runtimes (libstdc++.so.6, libgcc_s.so.1, libgomp.so.1) stay shared and travel in the bundle's lib/:
#   libkiln.so is one shared library under several programs, and exceptions cross between them, which needs one
#   copy of the C++ runtime and its unwinder per process (with -static-libstdc++ -static-libgcc in both,
#   a kiln::Error thrown in libkiln.so and caught in kiln_tests aborts in _Unwind_SetGR); libgomp.a cannot go
#   into a shared library at all (local-exec TLS).
# - Every program finds libkiln.so and those runtimes in lib/ beside its own folder ($ORIGIN/../lib; lib/'s
#   own files find each other the same way), so bin/, tests/, bench/, examples/ and lib/ move anywhere together.
# - Size: fatbins are compressed (--compress-mode=size: 23 MB of kernels become under 3) and unused sections
#   dropped at link time (--gc-sections).
# cuBLAS stays a shared library from the GPU machine (gpu-bundle/run.sh finds it and sets LD_LIBRARY_PATH).
if(KILN_PORTABLE)
  set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib)
  set(CMAKE_BUILD_WITH_INSTALL_RPATH ON)
  set(CMAKE_INSTALL_RPATH "$ORIGIN/../lib")
  add_link_options(-Wl,--gc-sections)
  # Debian's libz.a is not position-independent: inside libkiln.so its symbols must stay private, so that no
  # relocation has to go through the symbol table.
  add_link_options("$<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,SHARED_LIBRARY>:-Wl,--exclude-libs,libz.a>")
  if(KILN_WITH_CUDA)
    add_compile_options($<$<COMPILE_LANGUAGE:CUDA>:--compress-mode=size>)
  endif()
endif()
message(STATUS "kiln: portable binaries ${KILN_PORTABLE}")
