#pragma once
// Bit-exact model of the PIM ALU (docs/pim-alu.md). Derived independently of the RTL: every
// operation is carried out exactly in binary64 (FP16 sums and products always fit) and rounded
// once by one rounding function; the FP32-accumulate path uses an error-free sum and
// round-to-odd so that the final conversion to binary32 rounds correctly.
#include <cstdint>

namespace sparsepim::pim {

enum class AluOp : uint8_t {
  kNop = 0,
  kAdd = 1,
  kMul = 2,
  kMac = 3,
  kMad = 4,
  kMov = 5,
  kFill = 6
};

inline constexpr uint16_t kFp16CanonicalNaN = 0x7E00;
inline constexpr uint32_t kFp32CanonicalNaN = 0x7FC00000u;

uint16_t fp16_add(uint16_t a, uint16_t b);
uint16_t fp16_mul(uint16_t a, uint16_t b);
uint16_t fp16_mac(uint16_t c, uint16_t a, uint16_t b);  // round16(c + round16(a*b))
uint32_t fp32_mac(uint32_t c, uint16_t a, uint16_t b);  // round32(c + exact a*b)

// One lane of the ALU: result in the low ACC_W bits (16 or 32).
uint32_t alu_lane(AluOp op, uint16_t a, uint16_t b, uint32_t c, bool acc_fp32);

// Conversions (round to nearest even, subnormals kept, canonical NaN).
double fp16_to_double(uint16_t h);
uint16_t fp16_from_double(double x);
inline float fp16_to_float(uint16_t h) {
  return static_cast<float>(fp16_to_double(h));
}
inline uint16_t fp16_from_float(float f) {
  return fp16_from_double(static_cast<double>(f));
}
float fp32_from_bits(uint32_t u);
uint32_t fp32_bits(float f);

}  // namespace sparsepim::pim
