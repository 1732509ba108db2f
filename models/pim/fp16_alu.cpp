#include "pim/fp16_alu.h"

#include <cmath>
#include <cstring>

namespace sparsepim::pim {

double fp16_to_double(uint16_t h) {
  const bool neg = h >> 15;
  const int exp = (h >> 10) & 0x1F;
  const int man = h & 0x3FF;
  double v;
  if (exp == 0x1F)
    v = man ? std::nan("") : INFINITY;
  else if (exp == 0)
    v = std::ldexp(double(man), -24);  // subnormal: man x 2^-24
  else
    v = std::ldexp(double(man | 0x400), exp - 25);  // 1.man x 2^(exp-15)
  return neg ? -v : v;
}

// Rounds a binary64 value to binary16, ties to even. The value x is scaled so that one unit in
// the last place of its binary16 binade (never finer than the subnormal step 2^-24) becomes 1;
// rounding to an integer there is the whole rounding step. Subnormals and the carry into the
// next binade fall out of the encoding (E + 14) << 10 plus the integer significand n.
uint16_t fp16_from_double(double x) {
  if (std::isnan(x)) return kFp16CanonicalNaN;
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double ax = std::fabs(x);
  if (ax == 0) return sign;
  if (std::isinf(ax)) return sign | 0x7C00;
  int e2;
  std::frexp(ax, &e2);                           // ax = m x 2^e2, m in [0.5, 1)
  int E = e2 - 1;                                // ax in [2^E, 2^(E+1))
  if (E < -14) E = -14;                          // below the normal range the step stays 2^-24
  if (E > 16) return sign | 0x7C00;              // far beyond 65504: the significand cannot help
  const double scaled = std::ldexp(ax, 10 - E);  // exact: a power-of-two scaling
#ifdef SPARSEPIM_ALU_MUTANT
  const double n = std::round(scaled);  // planted bug: ties away from zero
#else
  const double n = std::nearbyint(scaled);  // default FP environment: ties to even
#endif
  const int32_t bits = ((E + 14) << 10) + int32_t(n);
  if (bits >= 0x7C00) return sign | 0x7C00;  // rounded past 65504: overflow to infinity
  return uint16_t(sign | bits);
}

float fp32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint32_t fp32_bits(float f) {
  if (std::isnan(f)) return kFp32CanonicalNaN;
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// FP16 + FP16 and FP16 x FP16 are exact in binary64 (a sum needs at most 41 significant bits,
// a product 22), so each operation is "exact result, then one rounding". IEEE binary64 already
// gives the special cases: Inf - Inf and 0 x Inf are NaN, x + (-x) = +0, signs of products.
uint16_t fp16_add(uint16_t a, uint16_t b) {
  return fp16_from_double(fp16_to_double(a) + fp16_to_double(b));
}

uint16_t fp16_mul(uint16_t a, uint16_t b) {
  return fp16_from_double(fp16_to_double(a) * fp16_to_double(b));
}

uint16_t fp16_mac(uint16_t c, uint16_t a, uint16_t b) {
  return fp16_add(c, fp16_mul(a, b));
}

// c (binary32) + a x b (exact in binary64). The sum may not be exact in binary64, and rounding
// twice (to 64, then to 32 bits) can go wrong on ties; so the sum is rounded to odd first
// (TwoSum gives the exact error; a non-zero error forces the last bit to 1), after which the
// conversion to binary32 rounds correctly (53 >= 2 x 24 + 2).
uint32_t fp32_mac(uint32_t c_bits, uint16_t a, uint16_t b) {
  const double c = static_cast<double>(fp32_from_bits(c_bits));
  const double p = fp16_to_double(a) * fp16_to_double(b);
  double s = c + p;
  if (std::isnan(s)) return kFp32CanonicalNaN;
  if (std::isfinite(s)) {
    const double bb = s - c;
    const double err = (c - (s - bb)) + (p - bb);  // Knuth TwoSum: s + err == c + p exactly
    if (err != 0) {
      uint64_t u;
      std::memcpy(&u, &s, 8);
      if ((u & 1) == 0) s = std::nextafter(s, err > 0 ? INFINITY : -INFINITY);
    }
  }
  return fp32_bits(static_cast<float>(s));
}

uint32_t alu_lane(AluOp op, uint16_t a, uint16_t b, uint32_t c, bool acc_fp32) {
  switch (op) {
    case AluOp::kAdd:
      return fp16_add(a, b);
    case AluOp::kMul:
      return fp16_mul(a, b);
    case AluOp::kMac:
    case AluOp::kMad:
      return acc_fp32 ? fp32_mac(c, a, b) : fp16_mac(uint16_t(c), a, b);
    case AluOp::kMov:
    case AluOp::kFill:
      return a;
    case AluOp::kNop:
      return 0;
  }
  return 0;  // reserved code 7
}

}  // namespace sparsepim::pim
