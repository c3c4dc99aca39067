// Counter-based random numbers (Philox4x32-10, Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011). A value is a pure function of (seed, counter), so
// results do not depend on thread count or call order: element i of a tensor uses
// counter i.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace frugal {

class Philox {
 public:
  explicit Philox(uint64_t seed, uint64_t stream = 0) : key_{lo(seed), hi(seed)}, stream_(stream) {}

  // Four 32-bit random words for block `counter`.
  std::array<uint32_t, 4> block(uint64_t counter) const {
    std::array<uint32_t, 4> c{lo(counter), hi(counter), lo(stream_), hi(stream_)};
    std::array<uint32_t, 2> k = key_;
    for (int r = 0; r < 10; ++r) {
      uint64_t p0 = uint64_t{0xD2511F53} * c[0];
      uint64_t p1 = uint64_t{0xCD9E8D57} * c[2];
      c = {hi(p1) ^ c[1] ^ k[0], lo(p1), hi(p0) ^ c[3] ^ k[1], lo(p0)};
      k[0] += 0x9E3779B9;
      k[1] += 0xBB67AE85;
    }
    return c;
  }
  // One 32-bit word for index i (uses word i%4 of block i/4).
  uint32_t u32(uint64_t i) const { return block(i >> 2)[i & 3]; }
  // Uniform in [0, 1) with 24 random bits.
  float uniform(uint64_t i) const { return static_cast<float>(u32(i) >> 8) * (1.0f / 16777216.0f); }
  // Standard normal (Box-Muller over two words of block i).
  float normal(uint64_t i) const {
    auto b = block(i);
    double u1 = (static_cast<double>(b[0]) + 1.0) / 4294967297.0;
    double u2 = static_cast<double>(b[1]) / 4294967296.0;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  static uint32_t lo(uint64_t x) { return static_cast<uint32_t>(x); }
  static uint32_t hi(uint64_t x) { return static_cast<uint32_t>(x >> 32); }
  std::array<uint32_t, 2> key_;
  uint64_t stream_;
};

}  // namespace frugal
