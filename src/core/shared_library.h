// Opening optional shared libraries with dlopen (cuBLAS, cuDNN, NCCL, and the doctor's probes): kiln links none of
// them, so a machine without them still runs everything else, and each caller words its own error.
#pragma once
#include <string>
#include <vector>

namespace kiln::detail {

/// dlopen(RTLD_NOW | RTLD_LOCAL) of each name in turn (a soname for the loader's path, or a full path); returns
/// the first that loads, or nullptr. Every failure's loader message is appended to `why`, "; "-separated.
/// `loaded`, when given, receives the name that loaded.
void* open_first_library(const std::vector<std::string>& names, std::string& why, std::string* loaded = nullptr);

/// The address of symbol `name` in lib, or nullptr.
void* library_symbol_address(void* lib, const char* name);

/// The symbol `name` of lib as the function pointer type F, or nullptr.
template <typename F>
F library_symbol(void* lib, const char* name) {
  return reinterpret_cast<F>(library_symbol_address(lib, name));
}
}  // namespace kiln::detail
