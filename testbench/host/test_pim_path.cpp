// The decode simulation's PIM path on a job built by hand: keys and values in the banks, four
// query heads sharing each column read, scores reduced on the buffer die, softmax, the value
// pass; each output compared with pim/attacc_numerics computed here from the same FP16 numbers.
// A wrong expectation and a position no pass scored must both be caught.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "fork_sim.h"
#include "hbm/memory_config.h"
#include "host/decode_timing.h"
#include "pim/attacc_numerics.h"
#include "pim/fp16_alu.h"

using namespace sparsepim;
using nlohmann::json;

namespace {

constexpr int kD = 128, kG = 4;
constexpr int64_t kTokens = 700;

// One layer, one KV head of 4 query heads; keys and values a fixed function of (token, dim).
class HandSource : public workloads::DecodeSource {
 public:
  workloads::TraceShape shape() const override { return {kTokens, 1, kG, 1, kD}; }
  int64_t first_step() const override { return kTokens - 1; }
  void kv(int, int, int64_t rows, float* k, float* v, float*) override {
    for (int64_t t = 0; t < rows; ++t)
      for (int d = 0; d < kD; ++d) {
        k[t * kD + d] = value(t, d, 1);
        v[t * kD + d] = value(t, d, 2);
      }
  }
  bool has_pre_rope() const override { return false; }
  void query(int, int, int64_t, float*, float*) override {}
  nlohmann::json describe() override { return {}; }
  static float value(int64_t t, int d, int which) {
    std::mt19937 g(uint32_t(t * 1000003 + d * 7919 + which));
    return std::normal_distribution<float>(0.f, 1.f)(g);
  }
};

struct Built {
  host::Job job;
  std::vector<uint16_t> k16, v16;
};

// Row groups 0, 1, 2, 5, 17, 18, 40 (slices 0, 1, 2, 5, 1, 2, 8: rows 0..2), each head a
// different subset of their tokens, the FP16 model's outputs as the expectation.
Built build() {
  Built b;
  host::Job& j = b.job;
  j.value = {0, 1, 2, 5, 17, 18, 40};
  j.attend = j.value;
  host::JobData& d = j.data;
  d.n = kTokens;
  b.k16.resize(size_t(kTokens) * kD);
  b.v16.resize(b.k16.size());
  for (int64_t t = 0; t < kTokens; ++t)
    for (int c = 0; c < kD; ++c) {
      b.k16[size_t(t * kD + c)] = pim::fp16_from_float(HandSource::value(t, c, 1));
      b.v16[size_t(t * kD + c)] = pim::fp16_from_float(HandSource::value(t, c, 2));
    }
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  d.q16.resize(kG * kD);
  for (auto& x : d.q16) x = pim::fp16_from_float(nd(rng));
  d.heads.resize(kG);
  for (int q = 0; q < kG; ++q)
    for (uint32_t gid : j.value)
      for (uint32_t lane = 0; lane < 16; ++lane)
        if ((lane + gid + uint32_t(q)) % (q + 2) == 0)
          d.heads[size_t(q)].push_back(gid * 16 + lane);
  std::vector<std::vector<int64_t>> slice_tokens(16);
  for (uint32_t gid : j.value)
    for (uint32_t lane = 0; lane < 16; ++lane) slice_tokens[gid % 16].push_back(gid * 16 + lane);
  d.expect.resize(kG * kD);
  for (int q = 0; q < kG; ++q) {
    const auto& pos = d.heads[size_t(q)];
    std::vector<uint32_t> sc(pos.size());
    for (size_t i = 0; i < pos.size(); ++i)
      sc[i] = pim::attacc_score(&b.k16[size_t(pos[i]) * kD], &d.q16[size_t(q) * kD], kD, false);
    std::vector<uint16_t> p16(pos.size()), prob(size_t(kTokens), 0);
    pim::attacc_softmax(sc.data(), uint32_t(sc.size()), kD, false, p16.data());
    for (size_t i = 0; i < pos.size(); ++i) prob[pos[i]] = p16[i];
    std::vector<uint32_t> out(kD);
    pim::attacc_output(
        slice_tokens, kD, false, [&](int64_t t) { return prob[size_t(t)]; },
        [&](int64_t t) { return &b.v16[size_t(t) * kD]; }, out.data());
    for (int c = 0; c < kD; ++c) d.expect[size_t(q * kD + c)] = uint16_t(out[size_t(c)]);
  }
  return b;
}

// Runs the job on one channel; returns "" when the outcome is as expected.
std::string run(const host::Job& job, const std::string& activation,
                const std::string& expect_error) {
  const hbm::MemoryConfig cfg = hbm::load_memory_config("attacc-hbm3-pim", {});
  host::HostConfig hc = host::load_host_config("attacc-host");
  hc.row_activation = activation;
  HandSource src;
  const auto region = host::region_shape(kTokens, 16, 16, policy::KmeansParams{});
  host::TimingOptions to;
  to.data_source = &src;
  to.check_timing = true;
  try {
    const json r = host::simulate_jobs({job}, cfg, hc, src.shape(), 1, region, 1, to);
    if (!expect_error.empty()) return "no error, expected '" + expect_error + "'";
    const json& p = r["pim_path"];
    if (p["outputs_checked"] != kG * kD || p["outputs_bit_exact"] != kG * kD)
      return "outputs: " + p.dump();
    if (r["timing_violations"] != 0) return "timing violations: " + r.dump();
    size_t attended = 0;
    for (const auto& h : job.data.heads) attended += h.size();
    if (p["scores_from_passes"] != attended) return "scores: " + p.dump();
    // Seven useful row groups, 4 queries each: every MACAB applies its column 4 times.
    if (p["lane_macs"].get<uint64_t>() % (kG * 16) != 0) return "MACs: " + p.dump();
    return "";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (expect_error.empty()) return "unexpected error: " + what;
    return what.find(expect_error) != std::string::npos ? "" : "wrong error: " + what;
  }
}

}  // namespace

TEST(PimPath, HandBuiltJobIsBitExactInLockstepRows) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] { return run(build().job, "lockstep", ""); }));
}

TEST(PimPath, HandBuiltJobIsBitExactInPerSliceRounds) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] { return run(build().job, "slices", ""); }));
}

TEST(PimPath, AWrongExpectationIsCaught) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    Built b = build();
    b.job.data.expect[3 * kD + 77] ^= 1;  // one bit of one output of query head 3
    return run(b.job, "auto", "differs from the FP16 model in 1 of 512 values");
  }));
}

TEST(PimPath, APositionNoPassScoredIsCaught) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    Built b = build();
    b.job.data.heads[1].push_back(3 * 16 + 4);  // row group 3 is in no score pass
    std::sort(b.job.data.heads[1].begin(), b.job.data.heads[1].end());
    return run(b.job, "auto", "which no score pass computed");
  }));
}
