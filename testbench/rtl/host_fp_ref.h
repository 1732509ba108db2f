#pragma once
// A third oracle for the PIM ALU, independent of both the RTL and models/pim: the host's IEEE 754
// arithmetic plus the NaN rule of docs/pim-alu.md.
//  - A sum or product of two FP16 values is exact in binary64 (at most 40 significant bits), so
//    one conversion binary64 -> _Float16 (GCC, libgcc soft-fp: round to nearest even,
//    subnormals, overflow to Inf) is round16 of the exact result.
//  - An FP16 x FP16 product is exact in binary32, so fmaf(a, b, c) (correctly rounded) is
//    round32(c + exact a*b).
// Used for known-answer cross-checks and to tell which side is wrong when RTL and model differ.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace pim_alu_tb::host {

inline double h2d(uint16_t h) {
  _Float16 f;
  std::memcpy(&f, &h, sizeof f);
  return static_cast<double>(f);
}
inline uint16_t d2h(double d) {
  if (std::isnan(d)) return 0x7E00;
  const auto f = static_cast<_Float16>(d);
  uint16_t h;
  std::memcpy(&h, &f, sizeof h);
  return h;
}
inline float u2f(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline uint32_t f2u(float f) {
  if (std::isnan(f)) return 0x7FC00000u;
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline uint16_t add16(uint16_t a, uint16_t b) { return d2h(h2d(a) + h2d(b)); }
inline uint16_t mul16(uint16_t a, uint16_t b) { return d2h(h2d(a) * h2d(b)); }
inline uint16_t mac16(uint16_t c, uint16_t a, uint16_t b) { return add16(c, mul16(a, b)); }
// The exact product as binary32 bits (NaN canonical).
inline uint32_t prod32(uint16_t a, uint16_t b) {
  return f2u(static_cast<float>(h2d(a)) * static_cast<float>(h2d(b)));
}
inline uint32_t mac32(uint32_t c, uint16_t a, uint16_t b) {
  return f2u(std::fmaf(static_cast<float>(h2d(a)), static_cast<float>(h2d(b)), u2f(c)));
}

inline uint32_t lane(uint8_t op, uint16_t a, uint16_t b, uint32_t c, bool acc32) {
  switch (op) {
    case 1: return add16(a, b);
    case 2: return mul16(a, b);
    case 3:
    case 4: return acc32 ? mac32(c, a, b) : mac16(static_cast<uint16_t>(c), a, b);
    case 5:
    case 6: return a;
    default: return 0;
  }
}

}  // namespace pim_alu_tb::host
