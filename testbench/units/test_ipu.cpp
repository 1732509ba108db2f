// The index-prediction unit: LFPS candidate lists, streaming top-k and the TidalDecode position
// store, clocked SystemC against the fast mode (answers and cycle counts) and both against a
// naive reference written here (a set of interval positions; a full sort by score), on random
// decode histories, FP16 score ties, signed zeros and infinities, and every edge the commands
// allow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "fork_sim.h"
#include "models/common/errors.h"
#include "models/ipu/ipu_model.h"
#include "models/ipu/ipu_sim.h"
#include "models/policy/policy_params.h"
#include "workloads/npy.h"

using namespace sparsepim;
using namespace sparsepim::ipu;
using sparsepim::testing::run_in_child;

namespace {

// ---- naive reference -----------------------------------------------------------------------

std::vector<uint32_t> naive_candidates(const std::vector<uint32_t>& history, int64_t n,
                                       const IpuConfig& c) {
  std::set<int64_t> s;
  for (uint32_t h : history)
    for (int64_t p = int64_t(h) - c.expansion; p <= int64_t(h) + 1 + c.expansion; ++p)
      if (p >= 0 && p < n) s.insert(p);
  for (int64_t p = 0; p < std::min<int64_t>(c.sinks, n); ++p) s.insert(p);
  for (int64_t p = std::max<int64_t>(0, n - c.recent_window); p < n; ++p) s.insert(p);
  return {s.begin(), s.end()};
}

std::vector<uint32_t> naive_top_k(std::vector<std::pair<uint32_t, uint16_t>> pairs, uint32_t k) {
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
    const float x = workloads::half_to_float(a.second), y = workloads::half_to_float(b.second);
    return x > y || (x == y && a.first < b.first);
  });
  std::vector<uint32_t> out;
  for (size_t i = 0; i < pairs.size() && i < k; ++i) out.push_back(pairs[i].first);
  std::sort(out.begin(), out.end());
  return out;
}

// Random FP16 scores with many ties, both zeros and both infinities.
uint16_t random_score(std::mt19937_64& rng) {
  static const uint16_t special[] = {0x0000, 0x8000, 0x7c00, 0xfc00, 0x3c00, 0xbc00, 0x0001};
  const uint32_t r = uint32_t(rng() % 100);
  if (r < 15) return special[rng() % 7];
  if (r < 40) return uint16_t(0x3800 + rng() % 8);  // a handful of close values: many ties
  std::normal_distribution<float> nd(0.0f, 4.0f);
  return workloads::float_to_half(nd(rng));
}

// A job and the answers the naive reference expects.
struct Case {
  IpuJob job;
  std::vector<std::vector<uint32_t>> expect;
};

// LFPS decode histories: per slot a full refresh (top-k over every position), then steps of
// PREDICT (the candidates of the last selection) and SELECT over the candidates (stored as the
// next history), interleaved over the slots at random.
Case lfps_case(uint64_t seed, int capacity, int steps) {
  std::mt19937_64 rng(seed);
  Case c;
  IpuConfig& cfg = c.job.config;
  cfg.capacity = capacity;
  cfg.expansion = int(rng() % 4);
  cfg.sinks = int(rng() % 9);
  cfg.recent_window = int(rng() % 3 == 0 ? 0 : rng() % 80);
  std::vector<uint32_t> n(kSimSlots), k(kSimSlots);
  std::vector<std::vector<uint32_t>> history(kSimSlots);
  auto select = [&](uint32_t slot, const std::vector<uint32_t>& positions) {
    IpuCommand s;
    s.op = kOpSelect;
    s.slot = slot;
    s.k = k[slot];
    s.store = true;
    for (uint32_t p : positions) s.pairs.push_back({p, random_score(rng)});
    std::shuffle(s.pairs.begin(), s.pairs.end(), rng);
    history[slot] = naive_top_k(s.pairs, s.k);
    c.expect.push_back(history[slot]);
    c.job.commands.push_back(std::move(s));
  };
  for (uint32_t slot = 0; slot < kSimSlots; ++slot) {
    n[slot] = 1 + uint32_t(rng() % 700);
    k[slot] = 1 + uint32_t(rng() % uint32_t(capacity));
    std::vector<uint32_t> all(n[slot]);
    std::iota(all.begin(), all.end(), 0u);
    select(slot, all);
  }
  for (int i = 0; i < steps; ++i) {
    const uint32_t slot = uint32_t(rng() % kSimSlots);
    n[slot] += 1;
    IpuCommand p;
    p.op = kOpPredict;
    p.slot = slot;
    p.n = n[slot];
    const auto cand = naive_candidates(history[slot], n[slot], cfg);
    c.expect.push_back(cand);
    c.job.commands.push_back(p);
    select(slot, cand);
  }
  return c;
}

// TidalDecode: a selection layer keeps the top B-1 of positions 0..n-2 plus the current token;
// later layers read the stored positions back.
Case tidal_case(uint64_t seed, int capacity, int selections) {
  std::mt19937_64 rng(seed);
  Case c;
  c.job.config.capacity = capacity;
  for (int i = 0; i < selections; ++i) {
    IpuCommand s;
    s.op = kOpSelect;
    s.slot = uint32_t(rng() % kSimSlots);
    s.n = 1 + uint32_t(rng() % 400);
    s.k = uint32_t(rng() % uint32_t(capacity + 1));  // B - 1, may be 0
    s.store = true;
    s.append = true;
    for (uint32_t p = 0; p + 1 < s.n; ++p) s.pairs.push_back({p, random_score(rng)});
    auto e = naive_top_k(s.pairs, s.k);
    e.push_back(s.n - 1);
    c.expect.push_back(e);
    const uint32_t slot = s.slot;
    c.job.commands.push_back(std::move(s));
    for (int r = 0; r < 2; ++r) {
      IpuCommand u;
      u.op = kOpReuse;
      u.slot = slot;
      c.job.commands.push_back(u);
      c.expect.push_back(e);
    }
  }
  return c;
}

// Checks the fast mode against the naive answers, then the clocked unit against the fast mode.
std::string check_case(const Case& c, bool compare_cycles = true) {
  IpuFast fast(c.job.config);
  std::vector<IpuAnswer> f;
  for (size_t i = 0; i < c.job.commands.size(); ++i) {
    f.push_back(fast.run(c.job.commands[i]));
    if (f.back().positions != c.expect[i])
      return "fast mode differs from the naive reference at command " + std::to_string(i);
  }
  const auto clocked = run_ipu_clocked(c.job);
  if (clocked.size() != f.size()) return "answer count";
  for (size_t i = 0; i < f.size(); ++i) {
    if (clocked[i].positions != f[i].positions)
      return "clocked answer " + std::to_string(i) + " differs (" +
             std::to_string(clocked[i].positions.size()) + " vs " +
             std::to_string(f[i].positions.size()) + " positions)";
    if (compare_cycles && clocked[i].cycles != f[i].cycles)
      return "command " + std::to_string(i) + ": " + std::to_string(clocked[i].cycles) +
             " cycles clocked, " + std::to_string(f[i].cycles) + " modelled";
    if (!compare_cycles && clocked[i].cycles < f[i].cycles) return "fewer cycles with stalls";
  }
  return "";
}

// ---- tests ---------------------------------------------------------------------------------

// 4 x 260 LFPS steps = 1040 histories predicted and selected, each parameter set different.
class IpuLfps : public ::testing::TestWithParam<int> {};
TEST_P(IpuLfps, HistoriesClockedEqualsFastEqualsReference) {
  const int seed = GetParam();
  EXPECT_TRUE(run_in_child([&] { return check_case(lfps_case(uint64_t(seed), 64, 260)); }));
}
INSTANTIATE_TEST_SUITE_P(Seeds, IpuLfps, ::testing::Values(1, 2, 3, 4));

TEST(Ipu, TidalSelectionAndReuse) {
  EXPECT_TRUE(run_in_child([] { return check_case(tidal_case(11, 64, 40)); }));
}

TEST(Ipu, LargeQueue) {
  EXPECT_TRUE(run_in_child([] {
    Case c = tidal_case(12, 1024, 2);
    const Case l = lfps_case(13, 1024, 3);
    // The LFPS commands start with a refresh of every slot, so what the Tidal commands stored
    // before them does not change their answers.
    c.job.config.expansion = l.job.config.expansion;
    c.job.config.sinks = l.job.config.sinks;
    c.job.config.recent_window = l.job.config.recent_window;
    c.job.commands.insert(c.job.commands.end(), l.job.commands.begin(), l.job.commands.end());
    c.expect.insert(c.expect.end(), l.expect.begin(), l.expect.end());
    return check_case(c);
  }));
}

TEST(Ipu, EdgeCases) {
  Case c;
  IpuConfig& cfg = c.job.config;
  cfg.expansion = 1000;  // wider than the cache
  cfg.sinks = 10;
  cfg.recent_window = 0;
  auto cmd = [&](IpuOp op, uint32_t slot, uint32_t n, uint32_t k, bool store, bool append,
                 std::vector<std::pair<uint32_t, uint16_t>> pairs, std::vector<uint32_t> e) {
    IpuCommand x;
    x.op = op;
    x.slot = slot;
    x.n = n;
    x.k = k;
    x.store = store;
    x.append = append;
    x.pairs = std::move(pairs);
    c.job.commands.push_back(x);
    c.expect.push_back(std::move(e));
  };
  cmd(kOpReuse, 3, 0, 0, false, false, {}, {});                              // empty slot
  cmd(kOpPredict, 3, 0, 0, false, false, {}, {});                            // empty cache
  cmd(kOpPredict, 3, 4, 0, false, false, {}, {0, 1, 2, 3});                  // sinks > n
  cmd(kOpSelect, 3, 0, 5, true, false, {}, {});                              // no pairs
  cmd(kOpSelect, 3, 0, 0, true, false, {{7, 0x3c00}, {2, 0x4000}}, {});      // k = 0
  cmd(kOpSelect, 3, 0, 9, true, false, {{7, 0x3c00}, {2, 0x4000}}, {2, 7});  // k > m
  cmd(kOpSelect, 4, 0, 1, false, false, {{5, 0x0000}, {3, 0x8000}}, {3});    // -0 == +0
  cmd(kOpSelect, 4, 0, 1, false, false, {{5, 0xfc00}, {3, 0xfbff}}, {3});    // -inf lowest
  cmd(kOpSelect, 4, 0, 2, false, false, {{9, 0x7c00}, {3, 0x7bff}, {1, 0x7bff}}, {1, 9});
  cmd(kOpReuse, 4, 0, 0, false, false, {}, {});  // no store: slot 4 still empty
  cmd(kOpReuse, 3, 0, 0, false, false, {}, {2, 7});
  cmd(kOpPredict, 3, 20, 0, false, false, {}, naive_candidates({2, 7}, 20, cfg));
  cmd(kOpSelect, 5, 1, 3, true, true, {}, {0});  // Tidal at n = 1: only the current token
  EXPECT_TRUE(run_in_child([&] { return check_case(c); }));
}

TEST(Ipu, StallsChangeNoAnswer) {
  EXPECT_TRUE(run_in_child([] {
    Case c = lfps_case(21, 64, 40);
    c.job.stall_seed = 777;
    return check_case(c, false);
  }));
}

TEST(IpuModel, CycleFormulas) {
  EXPECT_EQ(predict_cycles(10, 100), 115u);
  EXPECT_EQ(select_cycles(100, 16, false), 100u + 32u + 2u);
  EXPECT_EQ(select_cycles(3, 16, true), 3u + 6u + 1u + 2u);
  EXPECT_EQ(reuse_cycles(0), 2u);
}

TEST(IpuModel, ContractIsChecked) {
  IpuConfig cfg;
  IpuFast fast(cfg);
  IpuCommand s;
  s.op = kOpSelect;
  s.k = 65;  // beyond the 64-cell queue
  EXPECT_THROW(fast.run(s), std::invalid_argument);
  s.k = 2;
  s.pairs = {{1, 0x3c00}, {1, 0x4000}};
  EXPECT_THROW(fast.run(s), std::invalid_argument);  // duplicate position
  s.pairs = {{1, 0x7e00}};
  EXPECT_THROW(fast.run(s), std::invalid_argument);  // NaN
  s.pairs = {};
  s.slot = kSimSlots;
  EXPECT_THROW(fast.run(s), std::invalid_argument);
  EXPECT_THROW(make_ipu_config(policy::load_policy_params("default"), 100), ConfigError);
  EXPECT_EQ(make_ipu_config(policy::load_policy_params("default"), 64).recent_window,
            policy::load_policy_params("default").lfps.recent_window);
}

}  // namespace
