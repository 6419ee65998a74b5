// open_first_library / library_symbol_address: the one place kiln calls dlopen and dlsym for optional libraries.
#include "core/shared_library.h"

#include <dlfcn.h>

namespace kiln::detail {

void* open_first_library(const std::vector<std::string>& names, std::string& why, std::string* loaded) {
  for (const std::string& name : names) {
    if (void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      if (loaded != nullptr) *loaded = name;
      return lib;
    }
    const char* err = dlerror();
    if (!why.empty()) why += "; ";
    why += err ? err : name + ": cannot be loaded";
  }
  return nullptr;
}

void* library_symbol_address(void* lib, const char* name) { return dlsym(lib, name); }
}  // namespace kiln::detail
