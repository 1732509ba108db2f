// PIM ALU RTL (ACC_FP32 = 0, verilated as Vpim_alu_cc) against the bit-exact C++ model
// (models/pim, sparsepim_pim_model) and against hand-computed answers and the host oracle.
#include "Vpim_alu_cc.h"
#include "pim_alu_suite.h"

namespace pim_alu_tb {
namespace {

using Dut = Vpim_alu_cc;
constexpr int kAccW = 16;

TEST(PimAluRtl16, KnownAnswers) {
  check_known_answers<Dut, kAccW>({
      // ADD: ties both ways, overflow boundary, subnormal/normal boundary, signed zeros, NaN.
      {kAdd, 0x3C00, 0x3C00, 0, 0x4000},
      {kAdd, 0x3C00, 0x1000, 0, 0x3C00},  // 1 + 2^-11: tie, even neighbour below
      {kAdd, 0x3C01, 0x1000, 0, 0x3C02},  // tie, even neighbour above
      {kAdd, 0xBC01, 0x9000, 0, 0xBC02},
      {kAdd, 0x3C00, 0x1001, 0, 0x3C01},  // just above the tie
      {kAdd, 0x3C00, 0x0001, 0, 0x3C00},  // sticky only
      {kAdd, 0x3C00, 0x8001, 0, 0x3C00},  // 1 - 2^-24
      {kAdd, 0x4000, 0xBBFF, 0, 0x3C00},  // 2 - (1 - 2^-11) = 1 + 2^-11: tie after cancellation
      {kAdd, 0x7BFF, 0x4BFF, 0, 0x7BFF},  // 65504 + 15.99: stays finite
      {kAdd, 0x7BFF, 0x4C00, 0, 0x7C00},  // 65504 + 16 = 65520: tie, rounds to Inf
      {kAdd, 0xFBFF, 0xCC00, 0, 0xFC00},
      {kAdd, 0x7BFE, 0x4C00, 0, 0x7BFE},  // 65472 + 16: tie, even below
      {kAdd, 0x7800, 0x7800, 0, 0x7C00},  // 32768 + 32768 = 65536: overflow
      {kAdd, 0x03FF, 0x0001, 0, 0x0400},  // largest subnormal + ulp = smallest normal
      {kAdd, 0x0400, 0x8001, 0, 0x03FF},
      {kAdd, 0x0001, 0x8001, 0, 0x0000},
      {kAdd, 0x3C00, 0xBC00, 0, 0x0000},  // x + (-x) = +0
      {kAdd, 0x8000, 0x8000, 0, 0x8000},  // (-0) + (-0) = -0
      {kAdd, 0x0000, 0x8000, 0, 0x0000},
      {kAdd, 0x8000, 0x0000, 0, 0x0000},
      {kAdd, 0x8000, 0x3C00, 0, 0x3C00},
      {kAdd, 0x7C00, 0xFC00, 0, 0x7E00},  // Inf - Inf
      {kAdd, 0x7C00, 0x7C00, 0, 0x7C00},
      {kAdd, 0x7C00, 0xFBFF, 0, 0x7C00},
      {kAdd, 0xFFFF, 0x3C00, 0, 0x7E00},  // NaN payload and sign are not propagated
      {kAdd, 0x7C01, 0x7C00, 0, 0x7E00},
      {kAdd, 0x3C00, 0xFE00, 0, 0x7E00},
      // MUL
      {kMul, 0x3C00, 0x3C00, 0, 0x3C00},
      {kMul, 0x0001, 0x3800, 0, 0x0000},  // 2^-25: tie, even (zero) below
      {kMul, 0x8001, 0x3800, 0, 0x8000},
      {kMul, 0x0003, 0x3800, 0, 0x0002},  // 1.5 * 2^-24: tie, even above
      {kMul, 0x0001, 0x3A00, 0, 0x0001},  // 0.75 * 2^-24
      {kMul, 0x0001, 0x3400, 0, 0x0000},  // 0.25 * 2^-24
      {kMul, 0x0200, 0x4000, 0, 0x0400},  // subnormal * 2 = smallest normal
      {kMul, 0x0400, 0x3800, 0, 0x0200},
      {kMul, 0x3E00, 0x3C01, 0, 0x3E02},  // 1.5 + 1.5 ulp: tie, even above
      {kMul, 0x3E00, 0x3C03, 0, 0x3E04},  // 1.5 + 4.5 ulp: tie, even below
      {kMul, 0x5BFF, 0x5C00, 0, 0x7BFF},  // 65504 exactly
      {kMul, 0x5BFF, 0x5C01, 0, 0x7C00},
      {kMul, 0x7BFF, 0x3BFF, 0, 0x7BFE},
      {kMul, 0x7BFF, 0xC000, 0, 0xFC00},
      {kMul, 0x0000, 0x7C00, 0, 0x7E00},  // 0 * Inf
      {kMul, 0xFC00, 0x8000, 0, 0x7E00},
      {kMul, 0x8000, 0x3C00, 0, 0x8000},  // sign XOR for zeros
      {kMul, 0x8000, 0x8000, 0, 0x0000},
      {kMul, 0xFC00, 0xBC00, 0, 0x7C00},
      {kMul, 0xFC00, 0x0001, 0, 0xFC00},
      {kMul, 0xFE00, 0x3C00, 0, 0x7E00},
      // MAC / MAD: d = round16(c + round16(a*b))
      {kMac, 0x3C00, 0x3C00, 0x3C00, 0x4000},
      {kMac, 0x3C00, 0x3C00, 0xBC00, 0x0000},
      {kMac, 0x8000, 0x3C00, 0x8000, 0x8000},  // (-0) + (-0)
      {kMac, 0x0000, 0x3C00, 0x8000, 0x0000},
      {kMac, 0x3C01, 0x0FFF, 0x3C00, 0x3C00},  // not fused: the product rounds to 2^-11 first
      {kMac, 0x7BFF, 0x4000, 0xFC00, 0x7E00},  // product overflows to +Inf, c = -Inf
      {kMac, 0x7BFF, 0x4000, 0xFBFF, 0x7C00},  // Inf + finite
      {kMac, 0x0000, 0x7C00, 0x3C00, 0x7E00},
      {kMac, 0x3C00, 0x3C00, 0x7C00, 0x7C00},
      {kMac, 0x3C00, 0x3C00, 0xFFFF, 0x7E00},
      {kMac, 0x8001, 0x3C00, 0x0001, 0x0000},  // walks to exact zero: +0
      {kMac, 0x8001, 0x3C00, 0x0000, 0x8001},
      {kMad, 0x3C01, 0x0FFF, 0x3C00, 0x3C00},
      {kMad, 0x7BFF, 0x4000, 0xFC00, 0x7E00},
      // MOV / FILL copy bits (no NaN canonicalisation); NOP and the reserved code give 0.
      {kMov, 0xFFFF, 0x1234, 0x5678, 0xFFFF},
      {kMov, 0x7C01, 0, 0, 0x7C01},
      {kFill, 0x8000, 0x3C00, 0, 0x8000},
      {kFill, 0xFE01, 0, 0, 0xFE01},
      {kNop, 0x3C00, 0x3C00, 0x3C00, 0x0000},
      {kRes7, 0x3C00, 0x3C00, 0x3C00, 0x0000},
  });
}

TEST(PimAluRtl16, ThroughputAndLatency) { check_throughput_and_latency<Dut, kAccW>(); }

TEST(PimAluRtl16, DirectedCornerCasesMatchModel) {
  const Result r = directed<Dut, kAccW>(model_ref(false));
  EXPECT_GT(r.lanes_checked, 2000000u);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(kAccW);
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs models/pim on the directed corner cases\n" << r.report(kAccW);
}

TEST(PimAluRtl16, DirectedCornerCasesMatchHostOracle) {
  const Result r = directed<Dut, kAccW>(host_ref(false));
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs host IEEE arithmetic\n" << r.report(kAccW);
}

class PimAluRtl16Random : public ::testing::TestWithParam<uint8_t> {};

TEST_P(PimAluRtl16Random, MatchesModel) {
  const Result r = random_op<Dut, kAccW>(GetParam(), kRandomVectorsPerOp, model_ref(false), 1);
  EXPECT_GE(r.lanes_checked, kRandomVectorsPerOp);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(kAccW);
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs models/pim, random " << op_name(GetParam()) << "\n"
                              << r.report(kAccW);
}

INSTANTIATE_TEST_SUITE_P(AllOps, PimAluRtl16Random,
                         ::testing::Values(kNop, kAdd, kMul, kMac, kMad, kMov, kFill, kRes7),
                         [](const auto& p) { return std::string(op_name(p.param)); });

TEST(PimAluRtl16, RandomMatchesHostOracle) {
  const Result r = random_mixed<Dut, kAccW>(kRandomVectorsPerOp / kLanes * 2, host_ref(false), {});
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs host IEEE arithmetic\n" << r.report(kAccW);
}

TEST(PimAluRtl16, BackPressure) {
  for (auto [pv, pr] : {std::pair{1.0, 0.5}, {0.5, 1.0}, {0.7, 0.3}, {0.3, 0.9}, {0.9, 0.9}}) {
    StreamOptions opt;
    opt.p_valid = pv;
    opt.p_ready = pr;
    opt.seed = static_cast<uint64_t>(pv * 100 + pr * 10);
    const uint64_t n = 20000;
    const Result r = random_mixed<Dut, kAccW>(n, model_ref(false), opt);
    EXPECT_EQ(r.beats_in, n);
    EXPECT_EQ(r.beats_out, n) << "beats lost or duplicated";
    EXPECT_EQ(r.protocol_errors, 0u) << r.report(kAccW);
    EXPECT_EQ(r.mismatches, 0u) << r.report(kAccW);
  }
}

TEST(PimAluRtl16, ResetMidStream) { check_reset_mid_stream<Dut, kAccW>(); }

}  // namespace
}  // namespace pim_alu_tb
