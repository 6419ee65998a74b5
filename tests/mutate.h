// A small deterministic byte mutator for the readers' random-mutation tests (the CI stand-in for libFuzzer,
// whose harnesses live in tests/fuzz and need clang).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace kiln::test {

/// Applies 1-4 random edits to bytes: flip a bit, set a byte to a value a parser cares about, insert, delete,
/// duplicate or truncate a run. Edits land in [0, focus) with probability 3/4 when focus > 0 (a header).
inline std::string mutate_bytes(std::string bytes, std::mt19937_64& rng, size_t focus = 0) {
  static const char kInteresting[] = {'\0', '\xff', '"', '{', '}', '[', ']', ',', ':', '-', '0', '9', 'e', '\\', ' ', '\x7f'};
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  auto where = [&]() {
    const size_t n = (focus > 0 && focus <= bytes.size() && rng() % 4 != 0) ? focus : bytes.size();
    return pick(n);
  };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:
        if (!bytes.empty()) bytes[where()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        if (!bytes.empty()) bytes[where()] = kInteresting[pick(sizeof kInteresting)];
        break;
      case 2:
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(where()), kInteresting[pick(sizeof kInteresting)]);
        break;
      case 3:
        if (!bytes.empty()) bytes.erase(where(), 1 + pick(8));
        break;
      case 4:
        if (!bytes.empty()) {
          const size_t at = where();
          bytes.insert(at, bytes.substr(at, 1 + pick(16)));
        }
        break;
      default:
        bytes.resize(pick(bytes.size() + 1));
        break;
    }
  }
  return bytes;
}

}  // namespace kiln::test
