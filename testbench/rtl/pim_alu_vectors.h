#pragma once
// Test vectors for the PIM ALU equivalence suites: special values, directed corner cases
// (overflow boundaries, rounding ties both ways, invalid operations, signed zeros, MAC chains
// into the subnormal range and across zero) and random vectors (uniform bit patterns mixed with
// values near powers of two, near the format limits and near cancellation).
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "host_fp_ref.h"
#include "pim_alu_harness.h"

namespace pim_alu_tb {

struct LaneVec {
  uint8_t op;
  uint16_t a, b;
  uint32_t c;
};

// ~50 FP16 values: zeros, subnormal and normal limits, values around 1 and around the overflow
// boundary, infinities and NaNs with various payloads and signs.
inline const std::vector<uint16_t>& specials16() {
  static const std::vector<uint16_t> v = {
      0x0000, 0x8000,                          // +-0
      0x0001, 0x8001, 0x0002, 0x0003,          // smallest subnormals
      0x0200, 0x03FE, 0x03FF, 0x83FF,          // mid / largest subnormals
      0x0400, 0x8400, 0x0401, 0x07FF, 0x0800,  // smallest normals
      0x1000, 0x1400, 0x0FFF,                  // 2^-11, 2^-10 (half ulp / ulp of 1)
      0x3555, 0xB555, 0x2E66,                  // 1/3, 0.1
      0x3800, 0x3A00, 0x3BFF, 0x3C00, 0xBC00, 0x3C01, 0x3C02, 0x3C03, 0x3E00, 0x4000, 0xC000,
      0x4200,                                  // around 1
      0x4BFF, 0x4C00, 0x4C01,                  // 16: 0x7BFF + 16 is the overflow tie
      0x5BFF, 0x5C00, 0x5C01,                  // 256: 255.875 * 256 = 65504
      0x7800, 0x7BFE, 0x7BFF, 0xFBFF,          // largest normals
      0x7C00, 0xFC00,                          // +-Inf
      0x7C01, 0x7D00, 0x7E00, 0xFE00, 0xFFFF, 0x7FFF, 0xFC01,  // NaNs (signalling and quiet)
  };
  return v;
}

// FP32 accumulator values for ACC_FP32 = 1.
inline const std::vector<uint32_t>& specials32() {
  static const std::vector<uint32_t> v = {
      0x00000000, 0x80000000,                          // +-0
      0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,  // subnormal limits
      0x00800000, 0x80800000,                          // smallest normal
      0x27800000, 0xA7800000,                          // +-2^-48: smallest product
      0x33800000, 0x33000000, 0xB3800000,              // 2^-24, 2^-25
      0x3F800000, 0xBF800000, 0x3F800001, 0xBF800001, 0x3F7FFFFF,  // around 1 (ties with 2^-24)
      0x3EAAAAAB,                                      // 1/3
      0x4B800000, 0x4B800001, 0x4B7FFFFF,              // 2^24 (ulp 2: ties with 1.0)
      0x477FE000, 0xC77FE000, 0x477FF000,              // +-65504, 65520
      0x4F800000, 0xCF800000, 0x4F7FFFFF,              // 2^32: largest product magnitude
      0x7F7FFFFF, 0xFF7FFFFF, 0x7F7FFFFE,              // largest normals
      0x7F800000, 0xFF800000,                          // +-Inf
      0x7F800001, 0x7FA00000, 0x7FC00000, 0xFFC00000, 0x7FC00001, 0xFFFFFFFF,  // NaNs
  };
  return v;
}

// Pack lane vectors into beats (16 lanes, one op per beat) in order; a partial last beat of an
// op repeats that op's first vector.
inline std::vector<Beat> pack(const std::vector<LaneVec>& vecs) {
  std::vector<Beat> beats;
  std::vector<LaneVec> sorted(vecs);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const LaneVec& x, const LaneVec& y) { return x.op < y.op; });
  size_t i = 0;
  while (i < sorted.size()) {
    Beat bt;
    bt.op = sorted[i].op;
    const size_t first = i;
    for (int l = 0; l < kLanes; ++l) {
      const LaneVec& v = (i < sorted.size() && sorted[i].op == bt.op) ? sorted[i++] : sorted[first];
      bt.a[l] = v.a;
      bt.b[l] = v.b;
      bt.c[l] = v.c;
    }
    beats.push_back(bt);
  }
  return beats;
}

// ------------------------------------------------------------------------- directed vectors

// The FP16 value of half an ulp of the normal value with exponent field e (e >= 2).
inline uint16_t half_ulp16(int e) {
  return host::d2h(std::ldexp(1.0, e - 15 - 11));
}

inline std::vector<LaneVec> directed_vectors(bool acc32, uint64_t seed = 7) {
  std::vector<LaneVec> v;
  std::mt19937_64 rng(seed);
  const auto& s16 = specials16();
  const auto& s32 = specials32();
  auto c_any = [&]() -> uint32_t {  // c for ops that ignore it
    return acc32 ? s32[rng() % s32.size()] : s16[rng() % s16.size()];
  };

  // 1. Every op on all pairs of special values; MAC/MAD on all triples.
  for (uint8_t op = 0; op < 8; ++op) {
    for (uint16_t a : s16)
      for (uint16_t b : s16) {
        if (op == kMac || op == kMad) {
          if (acc32)
            for (uint32_t c : s32) v.push_back({op, a, b, c});
          else
            for (uint16_t c : s16) v.push_back({op, a, b, c});
        } else {
          v.push_back({op, a, b, c_any()});
        }
      }
  }

  // 2. Overflow boundaries. ADD: values near the largest normal plus values around 16 (the
  //    overflow tie 65504 + 16 = 65520) in every sign combination. MUL: products around 65504 /
  //    65520 (255.875 * 256 = 65504).
  for (uint16_t x : {0x7BFF, 0x7BFE, 0x7BFD, 0x7BF0, 0x7A00})
    for (uint32_t y = 0x4400; y <= 0x4E00; ++y)
      for (uint16_t sx : {0x0000, 0x8000})
        for (uint16_t sy : {0x0000, 0x8000}) {
          const auto a = static_cast<uint16_t>(x | sx), b = static_cast<uint16_t>(y | sy);
          v.push_back({kAdd, a, b, c_any()});
          v.push_back({kAdd, b, a, c_any()});
        }
  for (uint32_t x = 0x5B80; x <= 0x5C80; ++x)
    for (uint32_t y = 0x5B80; y <= 0x5C80; y += 3)
      v.push_back({kMul, static_cast<uint16_t>(x), static_cast<uint16_t>(y | ((x & 1) << 15)),
                   c_any()});
  for (uint16_t y : {0x3BFF, 0x3C00, 0x3C01, 0x3BFE, 0x3C02, 0xBC01, 0x4000})
    for (uint16_t x : {0x7BFF, 0x7BFE, 0x7800, 0x77FF, 0xFBFF}) v.push_back({kMul, x, y, c_any()});

  // 3. Rounding ties in both directions (the even neighbour below and above).
  //    ADD: a + k * half-ulp(a), k odd, both signs; every exponent, random mantissas.
  for (int e = 2; e <= 30; ++e)
    for (int k = 0; k < 48; ++k) {
      const uint16_t m = k < 4 ? static_cast<uint16_t>(k == 0 ? 0 : k == 1 ? 1 : k == 2 ? 0x3FF : 0x3FE)
                               : static_cast<uint16_t>(rng() & 0x3FF);
      const auto a = static_cast<uint16_t>((e << 10) | m);
      for (int mult : {1, 3, 5, -1, -3}) {
        const uint16_t h = host::d2h(mult * host::h2d(half_ulp16(e)));
        for (uint16_t sg : {0x0000, 0x8000}) {
          v.push_back({kAdd, static_cast<uint16_t>(a | sg), static_cast<uint16_t>(h ^ sg), c_any()});
          v.push_back({kAdd, static_cast<uint16_t>(h ^ sg), static_cast<uint16_t>(a | sg), c_any()});
        }
      }
    }
  //    MUL: every FP16 a times factors whose products drop exactly one bit (x1.5, x0.75, x2.5,
  //    x1.25 give ties whenever the dropped bit is 1) or land in the subnormal range
  //    (x0.5, x0.25, x2^-11, x2^-14, x2^-24, x 3 * 2^-16).
  for (uint32_t a = 0; a <= 0xFFFF; ++a)
    for (uint16_t b : {0x3E00, 0xBA00, 0x4100, 0x3D00, 0x3800, 0x3400, 0x1000, 0x0400, 0x0001,
                       0x0600})
      v.push_back({kMul, static_cast<uint16_t>(a), b, c_any()});
  //    ADD: every FP16 a against the special values (subnormal sums, cancellations, NaN/Inf).
  for (uint32_t a = 0; a <= 0xFFFF; ++a)
    for (size_t k = 0; k < s16.size(); k += 2)
      v.push_back({kAdd, static_cast<uint16_t>(a), s16[k + (a & 1)], c_any()});

  // 4. MAC: c = -(a*b) +- a few ulps (exact cancellation to +0, tiny results), c = the
  //    product's half ulp (ties after the product rounding), c at the overflow boundary.
  for (uint8_t op : {kMac, kMad})
    for (int k = 0; k < 4000; ++k) {
      const uint16_t a = s16[rng() % s16.size()] ^ static_cast<uint16_t>(rng() & 0x8000);
      const uint16_t b = static_cast<uint16_t>(rng());
      const int d = static_cast<int>(rng() % 7) - 3;
      if (acc32) {
        const uint32_t p = host::prod32(a, b);
        v.push_back({op, a, b, (p ^ 0x80000000u) + static_cast<uint32_t>(d)});
        v.push_back({op, a, b, s32[rng() % s32.size()]});
      } else {
        const uint16_t p = host::mul16(a, b);
        v.push_back({op, a, b, static_cast<uint16_t>((p ^ 0x8000) + d)});
        v.push_back({op, a, b, static_cast<uint16_t>(0x7BFF ^ (rng() & 0x8000))});
      }
    }

  // 5. MAC chains: the accumulator walks down through the subnormal range, across zero (hitting
  //    exact zero) and into the negatives. Each step's c is the previous result (host oracle).
  for (uint8_t op : {kMac, kMad})
    for (int chain = 0; chain < 16; ++chain) {
      uint32_t c = acc32 ? host::f2u(static_cast<float>(std::ldexp(1.0 + chain / 16.0, -20 + chain)))
                         : static_cast<uint32_t>((chain % 4 == 0)   ? 0x0800
                                                 : (chain % 4 == 1) ? 0x2000
                                                 : (chain % 4 == 2) ? 0x0400
                                                                    : 0x0010);
      for (int step = 0; step < 700; ++step) {
        uint16_t a, b;
        switch (chain % 4) {
          case 0: a = 0x8001; b = static_cast<uint16_t>(0x3C00 + (rng() % 0x1000)); break;
          case 1: a = 0x8400; b = static_cast<uint16_t>(0x3800 + (rng() % 0x0C00)); break;
          case 2: a = (step % 3 == 2) ? 0x0003 : 0x8005; b = 0x3C00 + static_cast<uint16_t>(rng() % 0x400); break;
          default: a = 0x8001; b = 0x3C00; break;  // one ulp per step: exact zero, then -ulps
        }
        if (acc32 && chain >= 8) a = static_cast<uint16_t>(a + 0x1400);  // larger steps in FP32
        v.push_back({op, a, b, c});
        c = acc32 ? host::mac32(c, a, b) : host::mac16(static_cast<uint16_t>(c), a, b);
      }
    }
  return v;
}

// ------------------------------------------------------------------------- random vectors

// An FP16 value drawn from "interesting" regions.
inline uint16_t interesting16(std::mt19937_64& rng) {
  const uint64_t r = rng();
  const auto sign = static_cast<uint16_t>((r >> 8) & 0x8000);
  const auto mant = static_cast<uint16_t>((r >> 20) & 0x3FF);
  const auto ex = static_cast<uint16_t>((r >> 32) % 31);
  switch (r % 8) {
    case 0:  // near the extremes of the exponent range (subnormals, tiny normals, largest)
    {
      static const uint16_t e[] = {0, 0, 1, 2, 29, 30};
      return sign | static_cast<uint16_t>((e[(r >> 40) % 6] << 10) | mant);
    }
    case 1:  // near powers of two
    {
      static const uint16_t m[] = {0x000, 0x001, 0x002, 0x3FF, 0x3FE, 0x3FD, 0x200, 0x1FF};
      return sign | static_cast<uint16_t>((ex << 10) | m[(r >> 44) % 8]);
    }
    case 2:  // few significant bits (products then drop few bits: ties)
      return sign | static_cast<uint16_t>((ex << 10) | (mant & 0x3C0));
    case 3:  // around 1
      return sign | static_cast<uint16_t>(((12 + (r >> 40) % 7) << 10) | mant);
    case 4:
      return specials16()[(r >> 40) % specials16().size()];
    default:  // any finite or special value, uniformly in the exponent field
      return sign | static_cast<uint16_t>(((r >> 40) % 32) << 10 | mant);
  }
}

inline uint32_t interesting32(std::mt19937_64& rng) {
  const uint64_t r = rng();
  const uint32_t sign = static_cast<uint32_t>(r >> 31) & 0x80000000u;
  const uint32_t mant = static_cast<uint32_t>(r >> 9) & 0x7FFFFFu;
  switch (r % 6) {
    case 0: return specials32()[(r >> 40) % specials32().size()];
    case 1:  // the range of FP16 products (2^-48 .. 2^32)
      return sign | (static_cast<uint32_t>(79 + (r >> 40) % 80) << 23) | mant;
    case 2:  // subnormal / tiny
      return sign | (static_cast<uint32_t>((r >> 40) % 3) << 23) | mant;
    case 3:  // near powers of two
      return sign | (static_cast<uint32_t>(79 + (r >> 40) % 80) << 23) |
             ((r >> 50) & 1 ? 0x7FFFFFu - ((r >> 52) & 3) : ((r >> 52) & 3));
    default: return static_cast<uint32_t>(r);
  }
}

// One random beat of operation `op`: per lane, half uniform bit patterns, half interesting
// values, with near-cancellation operands for ADD and MAC/MAD.
inline void random_beat(uint8_t op, bool acc32, std::mt19937_64& rng, Beat& bt) {
  bt.op = op;
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t r = rng();
    uint16_t a, b;
    uint32_t c;
    if (r % 2 == 0) {
      a = static_cast<uint16_t>(r >> 8);
      b = static_cast<uint16_t>(r >> 24);
      c = static_cast<uint32_t>(rng());
    } else {
      a = interesting16(rng);
      b = interesting16(rng);
      c = acc32 ? interesting32(rng) : interesting16(rng);
      if ((r >> 1) % 3 == 0) {  // near cancellation
        const int d = static_cast<int>((r >> 40) % 9) - 4;
        if (op == kAdd) {
          b = static_cast<uint16_t>((a ^ 0x8000) + d);
          if ((r >> 50) & 1) b = static_cast<uint16_t>(b + ((r >> 51) & 1 ? 0x0400 : -0x0400));
        } else if (acc32) {
          c = (host::prod32(a, b) ^ 0x80000000u) + static_cast<uint32_t>(d * static_cast<int>(1 + ((r >> 50) & 0xFFF)));
        } else {
          c = static_cast<uint16_t>((host::mul16(a, b) ^ 0x8000) + d);
        }
      }
    }
    bt.a[l] = a;
    bt.b[l] = b;
    bt.c[l] = acc32 ? c : (c & 0xFFFFu);
  }
}

}  // namespace pim_alu_tb
