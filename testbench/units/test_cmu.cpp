// The cluster-mapping unit: the policy library's hardware-arithmetic k-means (its number
// formats, its agreement with the float k-means, ClusterStore's hardware mode), the storage
// layout against models/host/gemv.cpp's, and the clocked SystemC unit against the fast mode —
// results and cycle counts — on random blocks of every supported head dimension and lane count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "fork_sim.h"
#include "models/cmu/cluster_layout.h"
#include "models/cmu/cmu_model.h"
#include "models/cmu/cmu_sim.h"
#include "models/common/errors.h"
#include "models/policy/kmeans.h"
#include "models/policy/kmeans_hw.h"
#include "models/policy/kv_cache.h"
#include "models/policy/policy_params.h"
#include "unit_test_util.h"

using namespace sparsepim;
using namespace sparsepim::cmu;
using sparsepim::testing::random_block;
using sparsepim::testing::run_in_child;
using sparsepim::testing::to_float;

namespace {

__extension__ typedef unsigned __int128 u128;

CmuConfig config(int d, const std::string& memory = "attacc-hbm3-pim") {
  return make_cmu_config(policy::load_policy_params("default"), hbm::load_memory_config(memory), d);
}

// ---- hardware arithmetic ------------------------------------------------------------------

TEST(KmeansHw, InverseSquareRootIsTheLargestRootBelowTheBound) {
  std::mt19937_64 rng(1);
  const u128 limit = u128(1) << 80;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t s = (uint64_t(1) << 32) + rng() % ((uint64_t(1) << 41) - (uint64_t(1) << 32));
    const uint64_t r = policy::hw::inv_sqrt(s);
    ASSERT_LE(u128(r) * r * s, limit);
    ASSERT_GT(u128(r + 1) * (r + 1) * s, limit);
  }
  EXPECT_EQ(policy::hw::inv_sqrt(uint64_t(1) << 32), uint32_t(1) << 24);
}

TEST(KmeansHw, NormaliseIsCloseToTheExactUnitVector) {
  std::mt19937_64 rng(2);
  for (int kind = 0; kind < 4; ++kind)
    for (int b = 0; b < 20; ++b) {
      const int d = 8 << (b % 5);
      const auto block = random_block(rng, d, kind);
      const auto f = to_float(block);
      std::vector<int32_t> y(static_cast<size_t>(d));
      for (int t = 0; t < kBlockTokens; ++t) {
        policy::hw::normalise_key(&block[size_t(t * d)], d, y.data());
        double n2 = 0;
        for (int c = 0; c < d; ++c) n2 += double(f[size_t(t * d + c)]) * f[size_t(t * d + c)];
        int64_t sum2 = 0;
        for (int c = 0; c < d; ++c) {
          const double exact = n2 > 0 ? f[size_t(t * d + c)] / std::sqrt(n2) * 65536.0 : 0.0;
          // Truncations: the alignment to 17 bits (< 1 unit), r (< 0.1), the final shift (< 1).
          ASSERT_NEAR(y[size_t(c)], exact, 2.1) << "kind " << kind << " d " << d;
          sum2 += int64_t(y[size_t(c)]) * y[size_t(c)];
        }
        ASSERT_LE(sum2, int64_t(1) << 32);  // never longer than 1.0
      }
    }
  // A single power of two maps to exactly -1.0 (A = 2^16, r = 2^24), another single element to
  // just below (r and the final shift truncate); a zero key to zeros.
  std::vector<uint16_t> one(8, 0);
  one[3] = workloads::float_to_half(-0.0009765625f);
  std::vector<int32_t> y(8);
  policy::hw::normalise_key(one.data(), 8, y.data());
  EXPECT_EQ(y[3], -65536);
  one[3] = workloads::float_to_half(0.001f);
  policy::hw::normalise_key(one.data(), 8, y.data());
  EXPECT_EQ(y[3], 65535);
  std::vector<uint16_t> zero(8, 0);
  policy::hw::normalise_key(zero.data(), 8, y.data());
  for (int32_t v : y) EXPECT_EQ(v, 0);
}

TEST(KmeansHw, RoundedMeanAndTheUnitsReciprocal) {
  EXPECT_EQ(policy::hw::rounded_mean(7, 2), 4);    // 3.5 -> 4
  EXPECT_EQ(policy::hw::rounded_mean(-7, 2), -4);  // halves away from zero
  EXPECT_EQ(policy::hw::rounded_mean(10, 4), 3);   // 2.5 -> 3
  EXPECT_EQ(policy::hw::rounded_mean(9, 4), 2);    // 2.25 -> 2
  // The unit divides by n = 1..64 as (x * ceil(2^29 / n)) >> 29 for x = |S| + n/2 < 2^23. Exact
  // because e = ceil(2^29/n) * n - 2^29 < n and x * e < 2^23 * 63 < 2^29; checked here on the
  // ranges where an error would show first (small x and the top of the range).
  for (uint64_t n = 1; n <= 64; ++n) {
    const uint64_t m = ((uint64_t(1) << kRecipShift) + n - 1) / n;
    ASSERT_LT((m * n - (uint64_t(1) << kRecipShift)) << 23, uint64_t(1) << kRecipShift);
    for (uint64_t x = 0; x < (1u << 15); ++x) ASSERT_EQ((x * m) >> kRecipShift, x / n);
    for (uint64_t x = (1u << 23) - (1u << 15); x < (1u << 23); ++x)
      ASSERT_EQ((x * m) >> kRecipShift, x / n);
  }
}

TEST(KmeansHw, ToleranceThreshold) {
  EXPECT_EQ(policy::hw::tolerance_threshold(1e-4), 43u);  // ceil(1e-8 * 2^32 = 42.9)
  EXPECT_EQ(policy::hw::tolerance_threshold(0.0), 0u);
  EXPECT_EQ(policy::hw::tolerance_threshold(1.0 / 65536), 1u);
}

// The integer k-means against the FP32 one on the same FP16 keys: identical labels on most
// blocks (a k-means run can flip at a near tie, and then follows another path).
TEST(KmeansHw, AgreesWithTheFloatKmeans) {
  std::mt19937_64 rng(3);
  policy::KmeansParams p;
  policy::KmeansScratch scratch;
  for (int kind : {0, 1}) {
    int same = 0, blocks = 0;
    double worst = 0;
    for (int b = 0; b < 200; ++b) {
      const int d = 128;
      const auto block = random_block(rng, d, kind);
      const auto f = to_float(block);
      std::vector<uint8_t> l_hw(kBlockTokens), l_f(kBlockTokens);
      std::vector<float> c_hw(size_t(4 * d)), c_f(size_t(4 * d));
      std::vector<int> s_hw(4), s_f(4);
      policy::hw::kmeans_block_float_io(f.data(), kBlockTokens, d, p, l_hw.data(), c_hw.data(),
                                        s_hw.data());
      policy::kmeans_block(f.data(), kBlockTokens, d, p, &scratch, l_f.data(), c_f.data(),
                           s_f.data());
      ++blocks;
      if (l_hw != l_f) continue;
      ++same;
      for (size_t i = 0; i < c_hw.size(); ++i)
        worst = std::max(worst, double(std::fabs(c_hw[i] - c_f[i])));
    }
    std::printf("kind %d: identical labels on %d of %d blocks, centroid difference <= %.2e\n", kind,
                same, blocks, worst);
    EXPECT_GE(same, kind == 1 ? 190 : 150);
    EXPECT_LT(worst, 1e-4);  // a few Q1.16 units
  }
}

// ClusterStore in the hardware arithmetic (starc.arithmetic = hardware) lays out a KV head's
// blocks exactly as the unit's fast mode chained block by block.
TEST(KmeansHw, ClusterStoreHardwareModeEqualsTheUnit) {
  policy::PolicyParams pp = policy::load_policy_params("default", {"starc.arithmetic=hardware"});
  ASSERT_TRUE(pp.starc.kmeans.hardware_arithmetic);
  std::mt19937_64 rng(4);
  const int d = 64, blocks = 8;
  std::vector<uint16_t> all;
  for (int b = 0; b < blocks; ++b) {
    const auto blk = random_block(rng, d, b % 4);
    all.insert(all.end(), blk.begin(), blk.end());
  }
  const auto keys = to_float(all);
  policy::ClusterStore store(pp.starc.kmeans, d, pp.row_group_tokens, true);
  store.extend(keys.data(), int64_t(blocks) * kBlockTokens + 5);
  ASSERT_EQ(store.clusters(), blocks * kClusters);
  const CmuConfig cfg = make_cmu_config(pp, hbm::load_memory_config("attacc-hbm3-pim"), d);
  uint64_t base = 0;
  for (int b = 0; b < blocks; ++b) {
    const CmuBlockResult r = cmu_fast(cfg, 16, &all[size_t(b) * kBlockTokens * d], base);
    base = r.end_slot;
    EXPECT_EQ(int(store.iterations()[size_t(b)]), r.iterations);
    for (int j = 0; j < kClusters; ++j) {
      const int64_t c = int64_t(b) * kClusters + j;
      EXPECT_EQ(store.size(c), r.sizes[size_t(j)]);
      EXPECT_EQ(uint64_t(store.cluster_slot(c)), r.cluster_start[size_t(j)]);
      for (int i = 0; i < d; ++i)
        ASSERT_EQ(store.centroid(c)[i] * 65536.0f, float(r.centroids[size_t(j * d + i)]));
    }
    for (int t = 0; t < kBlockTokens; ++t) {
      const uint32_t p = uint32_t(b * kBlockTokens + t);
      EXPECT_EQ(store.cluster_of(p), int64_t(b) * kClusters + r.labels[size_t(t)]);
      EXPECT_EQ(uint64_t(store.slot(p)), r.slots[size_t(t)]);
    }
  }
  EXPECT_EQ(uint64_t(store.region_slots()), base);
}

TEST(KmeansHw, ArithmeticParameterIsChecked) {
  EXPECT_FALSE(policy::load_policy_params("default").starc.kmeans.hardware_arithmetic);
  EXPECT_THROW(policy::load_policy_params("default", {"starc.arithmetic=fixed"}), ConfigError);
}

// ---- layout ----------------------------------------------------------------------------------

// gemv.cpp's Layout (DESIGN.md 2.3), restated: token(r, slice, group, lane) and the bank of
// dimension 32j + col.
struct GemvLayout {
  uint32_t slices, bpt, groups, tokens_per_row;
  GemvLayout(const hbm::MemoryConfig& c, uint32_t head_dim) {
    slices = c.org.pseudo_channels * c.org.sids * c.org.bank_groups;
    bpt = head_dim / 32;
    groups = c.org.banks_per_group / bpt;
    tokens_per_row = 16 * slices * groups;
  }
  uint64_t token(uint32_t r, uint32_t s, uint32_t g, uint32_t lane) const {
    return uint64_t(r) * tokens_per_row + (uint64_t(g) * slices + s) * 16 + lane;
  }
};

TEST(ClusterLayout, SlotsAreGemvTokens) {
  for (const char* mem : {"attacc-hbm3-pim", "aquabolt-hbm2-pim", "hbm2", "hbm3"}) {
    const auto cfg = hbm::load_memory_config(mem);
    for (int d : {32, 64, 128}) {
      const LayoutGeometry g = make_layout_geometry(cfg, d, 0, 8192);
      const GemvLayout gl(cfg, uint32_t(d));
      ASSERT_EQ(g.tokens_per_row(), gl.tokens_per_row);
      for (uint64_t slot = 0; slot < 5 * g.tokens_per_row(); ++slot) {
        const SlotAddress a = slot_address(g, slot);
        const uint32_t slice = (a.pc * cfg.org.sids + a.sid) * cfg.org.bank_groups + a.bg;
        ASSERT_EQ(a.bank % g.banks_per_token, 0u);
        ASSERT_EQ(gl.token(a.row, slice, a.bank / gl.bpt, a.lane), slot) << mem << " d " << d;
        ASSERT_EQ(a.value_row, 8192 + a.row);
        // Key dimension 32j + col is column col of bank (first + j).
        const hbm::DramAddress k = key_column_address(g, slot, uint32_t(d - 1));
        ASSERT_EQ(k.bank, a.bank + uint32_t(d - 1) / 32);
        ASSERT_EQ(k.column, uint32_t(d - 1) % 32);
        const hbm::DramAddress v = value_column_address(g, slot, 0, 1);
        ASSERT_EQ(v.column, 2 * a.lane + 1);
        ASSERT_EQ(v.row, a.value_row);
      }
    }
  }
}

TEST(ClusterLayout, BlockLayoutAlignsEveryCluster) {
  const uint8_t labels[8] = {2, 0, 2, 2, 1, 0, 2, 2};
  const int sizes[4] = {2, 1, 5, 0};
  BlockLayout a, p;
  block_layout(labels, 8, sizes, 4, 3, 16, true, &a);
  EXPECT_EQ(a.cluster_start, (std::vector<uint64_t>{16, 32, 48, 64}));
  EXPECT_EQ(a.slot, (std::vector<uint64_t>{48, 16, 49, 50, 32, 17, 51, 52}));
  EXPECT_EQ(a.end, 64u);
  block_layout(labels, 8, sizes, 4, 3, 16, false, &p);
  EXPECT_EQ(p.cluster_start, (std::vector<uint64_t>{3, 5, 6, 11}));
  EXPECT_EQ(p.end, 11u);
}

TEST(ClusterLayout, RejectsWhatTheHardwareCannotMap) {
  auto cfg = hbm::load_memory_config("attacc-hbm3-pim");
  EXPECT_THROW(make_layout_geometry(cfg, 129), ConfigError);
  EXPECT_NO_THROW(make_layout_geometry(cfg, 96));  // 3 banks, one token group
  cfg.org.sids = 3;
  EXPECT_THROW(make_layout_geometry(cfg, 128), ConfigError);
  policy::PolicyParams pp = policy::load_policy_params("default", {"starc.block_tokens=32"});
  EXPECT_THROW(make_cmu_config(pp, hbm::load_memory_config("attacc-hbm3-pim"), 128), ConfigError);
  pp = policy::load_policy_params("default", {"starc.max_iterations=17"});
  EXPECT_THROW(make_cmu_config(pp, hbm::load_memory_config("attacc-hbm3-pim"), 128), ConfigError);
}

TEST(CmuModel, CycleFormula) {
  // d = 128 on 16 lanes: C = 8; 1 + 512 + 64 * 41 + 8 + it * 529 + 1 + 64 + 4 + 32 + 1.
  EXPECT_EQ(cmu_cycles(128, 16, 1).total(), 3247u + 529u);
  EXPECT_EQ(cmu_cycles(128, 16, 16).total(), 3247u + 16u * 529u);
  EXPECT_EQ(cmu_cycles(8, 16, 3).total(), cmu_cycles(16, 16, 3).total());  // one chunk each
}

// ---- clocked == fast ---------------------------------------------------------------------------

CmuJob random_job(int d, int lanes, int blocks, uint64_t seed, const std::string& memory,
                  bool aligned) {
  std::mt19937_64 rng(seed);
  CmuJob job;
  job.config = config(d, memory);
  job.config.aligned = aligned;
  job.lanes = lanes;
  job.base_slot = rng() % 100000;
  for (int b = 0; b < blocks; ++b) job.blocks.push_back(random_block(rng, d, int(rng() % 4)));
  return job;
}

// Runs the job clocked (in a child process) and fast; every result and cycle count must match.
std::string clocked_equals_fast(const CmuJob& job, bool compare_cycles = true) {
  const auto clocked = run_cmu_clocked(job);
  uint64_t base = job.base_slot;
  for (size_t b = 0; b < job.blocks.size(); ++b) {
    const CmuBlockResult f = cmu_fast(job.config, job.lanes, job.blocks[b].data(), base);
    base = f.end_slot;
    const std::string diff = compare_results(clocked[b], f, compare_cycles);
    if (!diff.empty()) return "block " + std::to_string(b) + ": " + diff;
    if (!compare_cycles && clocked[b].cycles < f.cycles)
      return "block " + std::to_string(b) + ": fewer cycles with stalls than without";
  }
  return "";
}

class CmuClockedVsFast : public ::testing::TestWithParam<int> {};

// 200 random blocks per head dimension on the default 16 lanes: 1000 blocks in all.
TEST_P(CmuClockedVsFast, Lanes16) {
  const int d = GetParam();
  EXPECT_TRUE(run_in_child([&] {
    return clocked_equals_fast(random_job(d, 16, 200, 100 + uint64_t(d), "attacc-hbm3-pim", true));
  }));
}

TEST_P(CmuClockedVsFast, Lanes8And32) {
  const int d = GetParam();
  for (int lanes : {8, 32})
    EXPECT_TRUE(run_in_child([&] {
      return clocked_equals_fast(
          random_job(d, lanes, 10, 200 + uint64_t(d + lanes), "attacc-hbm3-pim", true));
    })) << "lanes "
        << lanes;
}

std::string dim_name(const ::testing::TestParamInfo<int>& p) {
  return "d" + std::to_string(p.param);
}
INSTANTIATE_TEST_SUITE_P(HeadDims, CmuClockedVsFast, ::testing::Values(8, 16, 32, 64, 128),
                         dim_name);

TEST(CmuClocked, PackedLayoutOnAnotherPreset) {
  EXPECT_TRUE(run_in_child(
      [] { return clocked_equals_fast(random_job(64, 16, 20, 7, "aquabolt-hbm2-pim", false)); }));
}

TEST(CmuClocked, StallsChangeNoResult) {
  EXPECT_TRUE(run_in_child([] {
    CmuJob job = random_job(32, 8, 12, 9, "attacc-hbm3-pim", true);
    job.stall_seed = 12345;
    return clocked_equals_fast(job, false);
  }));
}

// The comparison itself can fail: a changed label, centroid or cycle count is reported.
TEST(CmuModel, ComparisonSeesDifferences) {
  std::mt19937_64 rng(5);
  const auto blk = random_block(rng, 16, 1);
  const CmuBlockResult a = cmu_fast(config(16), 16, blk.data(), 0);
  CmuBlockResult b = a;
  EXPECT_EQ(compare_results(a, b, true), "");
  b.centroids[5] += 1;
  EXPECT_NE(compare_results(a, b, true), "");
  b = a;
  b.addresses[7].row += 1;
  EXPECT_NE(compare_results(a, b, true), "");
  b = a;
  b.cycles += 1;
  EXPECT_NE(compare_results(a, b, true), "");
  EXPECT_EQ(compare_results(a, b, false), "");
}

}  // namespace
