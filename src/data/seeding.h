// Seed arithmetic shared by the samplers and the DataLoader: mixing and seeds drawn from the default generator.
#pragma once
#include <cstdint>

#include "kiln/core/generator.h"

namespace kiln::data::detail {

/// splitmix64's finaliser: nearby inputs (seed, seed + 1, ...) give unrelated outputs.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A seed taken from the default generator's stream, so kiln::manual_seed(s) fixes it as torch.manual_seed does.
inline uint64_t seed_from_default_generator() {
  Generator& g = default_generator();
  const uint64_t offset = g.advance(4);
  return mix64(g.seed() ^ mix64(offset));
}

}  // namespace kiln::data::detail
