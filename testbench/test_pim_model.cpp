// The bit-exact ALU model against references that share none of its code: GCC's _Float16
// arithmetic (an IEEE binary16 add or multiply computed in binary32 and rounded once is
// correctly rounded, 24 >= 2 x 11 + 2) and fmaf (an FP16 x FP16 product is exact in binary32,
// so c + a*b rounded once is exactly the FP32-accumulate MAC).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "pim/fp16_alu.h"

using namespace sparsepim::pim;

namespace {
uint16_t bits(_Float16 h) {
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}
_Float16 half(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return h;
}
bool is_nan16(uint16_t u) {
  return (u & 0x7C00) == 0x7C00 && (u & 0x3FF);
}
uint16_t canon16(uint16_t u) {
  return is_nan16(u) ? kFp16CanonicalNaN : u;
}
}  // namespace

TEST(Fp16Model, AddMulMatchFloat16OnRandomPairs) {
  std::mt19937 rng(1);
  uint64_t bad = 0;
  for (int i = 0; i < 4000000; ++i) {
    const uint16_t a = uint16_t(rng()), b = uint16_t(rng());
    bad += fp16_add(a, b) != canon16(bits(half(a) + half(b)));
    bad += fp16_mul(a, b) != canon16(bits(half(a) * half(b)));
    const uint16_t c = uint16_t(rng());
    bad += fp16_mac(c, a, b) != canon16(bits(half(c) + half(bits(half(a) * half(b)))));
  }
  EXPECT_EQ(bad, 0u);
}

TEST(Fp16Model, Fp32MacIsFusedMultiplyAdd) {
  std::mt19937 rng(2);
  uint64_t bad = 0;
  for (int i = 0; i < 4000000; ++i) {
    const uint16_t a = uint16_t(rng()), b = uint16_t(rng());
    uint32_t c = rng();
    if (i % 4 == 0) c = fp32_bits(float(fp16_to_double(uint16_t(rng()))));  // near FP16 values
    const float ref = std::fmaf(fp16_to_float(a), fp16_to_float(b), fp32_from_bits(c));
    bad += fp32_mac(c, a, b) != fp32_bits(ref);
  }
  EXPECT_EQ(bad, 0u);
}

TEST(Fp16Model, ConversionRoundTripsEveryEncoding) {
  for (uint32_t u = 0; u < 65536; ++u)
    ASSERT_EQ(fp16_from_double(fp16_to_double(uint16_t(u))), canon16(uint16_t(u))) << std::hex << u;
}

TEST(Fp16Model, CornerCases) {
  const uint16_t max = 0x7BFF, inf = 0x7C00, ninf = 0xFC00, one = 0x3C00;
  EXPECT_EQ(fp16_add(max, 0x4FFF), inf);  // 65504 + 31.98: past the rounding boundary
  EXPECT_EQ(fp16_add(max, 0x4BFF), max);  // 65504 + 15.99: below the boundary, stays
  EXPECT_EQ(fp16_add(max, 0x4C00), inf);  // 65504 + 16 = 65520: tie, rounds to even = Inf
  EXPECT_EQ(fp16_add(inf, ninf), kFp16CanonicalNaN);
  EXPECT_EQ(fp16_mul(0x0000, inf), kFp16CanonicalNaN);
  EXPECT_EQ(fp16_add(0x7C01, one), kFp16CanonicalNaN);  // signalling payload in, canonical out
  EXPECT_EQ(fp16_add(0xFE00, one), kFp16CanonicalNaN);  // negative NaN in, positive canonical out
  EXPECT_EQ(fp16_add(one, 0xBC00), 0x0000);             // x + (-x) = +0
  EXPECT_EQ(fp16_add(0x8000, 0x8000), 0x8000);          // -0 + -0 = -0
  EXPECT_EQ(fp16_mul(0x8000, one), 0x8000);
  EXPECT_EQ(fp16_mul(0x0001, 0x3800), 0x0000);  // 2^-24 x 0.5: tie between 0 and 2^-24, even is 0
  EXPECT_EQ(fp16_mul(0x0001, 0x3E00), 0x0002);  // 2^-24 x 1.5: tie, rounds to even 2 x 2^-24
  EXPECT_EQ(fp16_add(0x03FF, 0x0001), 0x0400);  // largest subnormal + step = smallest normal
  EXPECT_EQ(fp16_mul(0x0400, 0x3800), 0x0200);  // smallest normal / 2: exact subnormal
  EXPECT_EQ(fp16_add(one, 0x1000), 0x3C00);     // 1 + 2^-11: tie, stays at even 1.0
  EXPECT_EQ(fp16_add(0x3C01, 0x1000), 0x3C02);  // 1+ulp + 2^-11: tie, rounds up to even
  // MAC chain walking down into the subnormals and across zero.
  uint16_t acc = 0x0400;
  for (int i = 0; i < 2048; ++i) acc = fp16_mac(acc, 0x8001, one);  // acc -= 2^-24
  EXPECT_EQ(acc, 0x8400);
  EXPECT_EQ(fp32_mac(0x7F7FFFFF, 0x7BFF, 0x7BFF), 0x7F7FFFFF);  // 3.4e38 + 4.3e9 stays
  EXPECT_EQ(fp32_mac(0xFF800000, 0x7C00, one), kFp32CanonicalNaN);
  EXPECT_EQ(alu_lane(AluOp::kMov, 0x7C01, 0, 0, false), 0x7C01u);  // moves copy bits
  EXPECT_EQ(alu_lane(AluOp::kNop, one, one, one, false), 0u);
  EXPECT_EQ(alu_lane(AluOp::kMac, one, one, fp32_bits(1.0f), true), fp32_bits(2.0f));
}
