#pragma once
// Counter-based random numbers: every value is a pure function of (seed, stream, index), so any
// (layer, head, position) can be generated on its own, in any order, with the same bits. That
// is what lets the generator stream layer by layer, export token by token, and stay
// deterministic by seed without carrying generator state.
#include <cmath>
#include <cstdint>

namespace sparsepim::workloads::rng {

// The splitmix64 / murmur3 finaliser: a bijection on 64 bits with full avalanche.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A stream key from a parent key and one more coordinate (layer, head, purpose, ...).
inline uint64_t key(uint64_t parent, uint64_t coordinate) {
  return mix64(parent ^ mix64(coordinate + 0x9e3779b97f4a7c15ULL));
}

// The index-th 64 random bits of a stream.
inline uint64_t bits(uint64_t stream, uint64_t index) {
  return mix64(stream + index * 0x9e3779b97f4a7c15ULL);
}

// Uniform in (0, 1), 53 bits.
inline double uniform(uint64_t stream, uint64_t index) {
  return (double(bits(stream, index) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// The index-th 64 random bits of a stream with one 64x64->128 multiply (wyrand's output
// function on the counter stream + index x its increment): half the cost of bits(), used for
// the per-channel noise that dominates generation time.
inline uint64_t bits_fast(uint64_t stream, uint64_t index) {
  const uint64_t s = stream + index * 0xa0761d6478bd642fULL;
  const __uint128_t t = static_cast<__uint128_t>(s) * (s ^ 0xe7037ed1a0b428dbULL);
  return uint64_t(t >> 64) ^ uint64_t(t);
}

// Approximately standard normal from one 64-bit draw: the sum of four 16-bit uniforms
// (Irwin-Hall, n = 4), centred and scaled to unit variance. Bounded at +-3.46; only used for
// components that are summed over many channels (the scores then are Gaussian by the central
// limit theorem), and cheap enough (integer ops, no libm) to keep generation fast and its bits
// identical on every platform.
inline float normal_fast(uint64_t stream, uint64_t index) {
  const uint64_t b = bits_fast(stream, index);
  const uint32_t s = uint32_t(b & 0xffff) + uint32_t((b >> 16) & 0xffff) +
                     uint32_t((b >> 32) & 0xffff) + uint32_t(b >> 48);
  // s has mean 4 * 32767.5 and variance 4 * (65536^2 - 1) / 12.
  constexpr float kMean = 131070.0f;
  constexpr float kInvStd = 1.0f / 37837.23f;
  return (float(s) - kMean) * kInvStd;
}

// Standard normal (Box-Muller) for the few draws whose tails matter (per-head constants,
// per-position strengths).
inline double normal(uint64_t stream, uint64_t index) {
  const double u1 = uniform(stream, 2 * index);
  const double u2 = uniform(stream, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace sparsepim::workloads::rng
