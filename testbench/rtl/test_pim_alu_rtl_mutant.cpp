// The test of the test (ACC_FP32 = 0): linked with sparsepim_pim_model_mutant, a copy of the
// model with one rounding rule flipped, the directed corner cases must find mismatches.
#include "Vpim_alu_cc.h"
#include "pim_alu_suite.h"

namespace pim_alu_tb {
namespace {

TEST(PimAluRtl16Mutant, DirectedCornerCasesCatchTheMutant) {
  const Result r = directed<Vpim_alu_cc, 16>(model_ref(false));
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(16);
  EXPECT_GT(r.mismatches, 0u) << "the directed corner cases do not distinguish the mutant model";
  std::printf("mutant model: %llu mismatches in %llu directed lane vectors; first ones:\n%s",
              static_cast<unsigned long long>(r.mismatches),
              static_cast<unsigned long long>(r.lanes_checked), r.report(16).c_str());
}

}  // namespace
}  // namespace pim_alu_tb
