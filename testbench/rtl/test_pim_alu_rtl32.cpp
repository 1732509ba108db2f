// PIM ALU RTL with the binary32 accumulator (ACC_FP32 = 1, verilated as Vpim_alu_cc32) against
// the bit-exact C++ model (models/pim), hand-computed answers and the host oracle.
#include "Vpim_alu_cc32.h"
#include "pim_alu_suite.h"

namespace pim_alu_tb {
namespace {

using Dut = Vpim_alu_cc32;
constexpr int kAccW = 32;

TEST(PimAluRtl32, KnownAnswers) {
  check_known_answers<Dut, kAccW>({
      // MAC / MAD: d = round32(c + exact a*b), one rounding.
      {kMac, 0x0001, 0x3C00, 0x3F800000, 0x3F800000},  // 1 + 2^-24: tie, even below
      {kMac, 0x0001, 0x3C00, 0x3F800001, 0x3F800002},  // tie, even above
      {kMac, 0x8001, 0x3C00, 0xBF800001, 0xBF800002},
      {kMac, 0x3C00, 0x3C00, 0x4B800000, 0x4B800000},  // 2^24 + 1: tie
      {kMac, 0x3C00, 0x3C00, 0x4B800001, 0x4B800002},
      {kMac, 0x3C01, 0x0FFF, 0x3F800000, 0x3F801002},  // exact product, no double rounding
      {kMac, 0x8000, 0x3C00, 0x80000000, 0x80000000},  // (-0) + (-0)
      {kMac, 0x0000, 0x3C00, 0x80000000, 0x00000000},
      {kMac, 0x7BFF, 0x4000, 0xFF800000, 0xFF800000},  // product 131008 is finite in binary32
      {kMac, 0x7C00, 0x3C00, 0xFF800000, 0x7FC00000},  // Inf - Inf
      {kMac, 0x7C00, 0x3C00, 0x7F800000, 0x7F800000},
      {kMac, 0x0000, 0x7C00, 0x3F800000, 0x7FC00000},  // 0 * Inf
      {kMac, 0x7E00, 0x3C00, 0x3F800000, 0x7FC00000},
      {kMac, 0x3C00, 0x3C00, 0xFFC00001, 0x7FC00000},  // NaN c: canonical
      {kMac, 0x3C00, 0x3C00, 0x7F800001, 0x7FC00000},
      {kMac, 0x0000, 0x3C00, 0x00000001, 0x00000001},  // binary32 subnormals kept
      {kMac, 0x8000, 0x3C00, 0x807FFFFF, 0x807FFFFF},
      {kMac, 0x7BFF, 0x3C00, 0xC77FE000, 0x00000000},  // exact cancellation: +0
      {kMac, 0x0001, 0x0001, 0x00000000, 0x27800000},  // 2^-48
      {kMac, 0x7BFF, 0x7BFF, 0x00000000, 0x4F7FC004},  // 65504^2 exactly
      {kMac, 0x7BFF, 0x7BFF, 0x7F7FFFFF, 0x7F7FFFFF},
      {kMad, 0x3C01, 0x0FFF, 0x3F800000, 0x3F801002},
      {kMad, 0x7C00, 0x3C00, 0xFF800000, 0x7FC00000},
      // The other ops are FP16 in bits 15:0, bits 31:16 zero; c is ignored.
      {kAdd, 0x3C00, 0x3C00, 0xFFFFFFFF, 0x00004000},
      {kAdd, 0x3C01, 0x1000, 0x3F800000, 0x00003C02},
      {kAdd, 0x7BFF, 0x4C00, 0x00000000, 0x00007C00},
      {kAdd, 0x7C00, 0xFC00, 0x00000000, 0x00007E00},
      {kAdd, 0x8000, 0x8000, 0x00000000, 0x00008000},
      {kMul, 0x8000, 0x3C00, 0x12345678, 0x00008000},
      {kMul, 0x0003, 0x3800, 0x00000000, 0x00000002},
      {kMul, 0x5BFF, 0x5C01, 0x00000000, 0x00007C00},
      {kMov, 0xFFFF, 0x0000, 0xFFFFFFFF, 0x0000FFFF},
      {kFill, 0x7C01, 0x0000, 0x00000000, 0x00007C01},
      {kNop, 0x3C00, 0x3C00, 0x3F800000, 0x00000000},
      {kRes7, 0x3C00, 0x3C00, 0x3F800000, 0x00000000},
  });
}

TEST(PimAluRtl32, ThroughputAndLatency) { check_throughput_and_latency<Dut, kAccW>(); }

TEST(PimAluRtl32, DirectedCornerCasesMatchModel) {
  const Result r = directed<Dut, kAccW>(model_ref(true));
  EXPECT_GT(r.lanes_checked, 2000000u);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(kAccW);
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs models/pim on the directed corner cases\n" << r.report(kAccW);
}

TEST(PimAluRtl32, DirectedCornerCasesMatchHostOracle) {
  const Result r = directed<Dut, kAccW>(host_ref(true));
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs host IEEE arithmetic\n" << r.report(kAccW);
}

class PimAluRtl32Random : public ::testing::TestWithParam<uint8_t> {};

TEST_P(PimAluRtl32Random, MatchesModel) {
  const Result r = random_op<Dut, kAccW>(GetParam(), kRandomVectorsPerOp, model_ref(true), 2);
  EXPECT_GE(r.lanes_checked, kRandomVectorsPerOp);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(kAccW);
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs models/pim, random " << op_name(GetParam()) << "\n"
                              << r.report(kAccW);
}

// MAC/MAD exercise the binary32 path; the others check the FP16 results in the wide lanes.
INSTANTIATE_TEST_SUITE_P(AllOps, PimAluRtl32Random,
                         ::testing::Values(kNop, kAdd, kMul, kMac, kMad, kMov, kFill, kRes7),
                         [](const auto& p) { return std::string(op_name(p.param)); });

TEST(PimAluRtl32, RandomMatchesHostOracle) {
  const Result r = random_mixed<Dut, kAccW>(kRandomVectorsPerOp / kLanes * 2, host_ref(true), {});
  EXPECT_EQ(r.mismatches, 0u) << "RTL vs host IEEE arithmetic\n" << r.report(kAccW);
}

TEST(PimAluRtl32, BackPressure) {
  for (auto [pv, pr] : {std::pair{1.0, 0.5}, {0.5, 1.0}, {0.7, 0.3}, {0.9, 0.9}}) {
    StreamOptions opt;
    opt.p_valid = pv;
    opt.p_ready = pr;
    opt.seed = static_cast<uint64_t>(pv * 100 + pr * 10) + 5;
    const uint64_t n = 20000;
    const Result r = random_mixed<Dut, kAccW>(n, model_ref(true), opt);
    EXPECT_EQ(r.beats_in, n);
    EXPECT_EQ(r.beats_out, n) << "beats lost or duplicated";
    EXPECT_EQ(r.protocol_errors, 0u) << r.report(kAccW);
    EXPECT_EQ(r.mismatches, 0u) << r.report(kAccW);
  }
}

TEST(PimAluRtl32, ResetMidStream) { check_reset_mid_stream<Dut, kAccW>(); }

}  // namespace
}  // namespace pim_alu_tb
