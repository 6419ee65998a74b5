// The exception types kiln throws, and the KILN_CHECK macro for user errors.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln {

/// Base of every kiln error. what() is a message a user can act on.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error { public: using Error::Error; };
class DTypeError : public Error { public: using Error::Error; };
class DeviceError : public Error { public: using Error::Error; };
class OutOfMemoryError : public Error { public: using Error::Error; };
class IOError : public Error { public: using Error::Error; };
class NotImplemented : public Error { public: using Error::Error; };
class ValueError : public Error { public: using Error::Error; };
class IndexError : public Error { public: using Error::Error; };
/// An error reported by the CUDA runtime or a CUDA library that is not the user's input.
class CudaError : public Error { public: using Error::Error; };
/// Autograd misuse: backward through a freed graph, in-place change of a saved tensor, ...
class AutogradError : public Error { public: using Error::Error; };

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  append(os, args...);
  return os.str();
}
}  // namespace detail
}  // namespace kiln

/// Throws ErrorType with the streamed message parts when cond is false.
#define KILN_CHECK_T(ErrorType, cond, ...)                        \
  do {                                                            \
    if (!(cond)) throw ErrorType(::kiln::detail::str(__VA_ARGS__)); \
  } while (0)
#define KILN_CHECK(cond, ...) KILN_CHECK_T(::kiln::ValueError, cond, __VA_ARGS__)
#define KILN_CHECK_SHAPE(cond, ...) KILN_CHECK_T(::kiln::ShapeError, cond, __VA_ARGS__)
#define KILN_CHECK_DTYPE(cond, ...) KILN_CHECK_T(::kiln::DTypeError, cond, __VA_ARGS__)
#define KILN_CHECK_DEVICE(cond, ...) KILN_CHECK_T(::kiln::DeviceError, cond, __VA_ARGS__)
#define KILN_CHECK_INDEX(cond, ...) KILN_CHECK_T(::kiln::IndexError, cond, __VA_ARGS__)
