// The commands of a decode step, for every policy, against a second derivation: the policy
// library's own selections (run here, outside the simulator) turned into row groups and rows by
// the AttAcc dataflow written out again in this file, and counted — with rows opened by ACTAB
// (lockstep) and by per-slice rounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_runner.h"
#include "models/policy/accuracy.h"
#include "models/policy/kv_cache.h"
#include "workloads/decode_source.h"
#include "workloads/model_preset.h"
#include "workloads/synthetic_config.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace sparsepim;

namespace {

constexpr int64_t kContext = 700, kBudget = 48;
constexpr int kSlices = 16, kRowGroup = 16, kG = 4, kBanksPerGroup = 4, kColumns = 32;

struct Expected {
  std::map<std::string, double> lockstep, slices;  // command -> count
};

// Counts of one MAC pass over row groups `groups` (sorted ids) with `mvsb`/`mvgb` bursts per
// useful row group.
void pass(const std::vector<uint32_t>& groups, uint32_t columns, double mvsb, double mvgb,
          Expected* e) {
  if (groups.empty()) return;
  std::set<uint32_t> rows;
  std::map<uint32_t, int> per_slice;
  for (uint32_t g : groups) {
    rows.insert(g / kSlices);
    ++per_slice[g % kSlices];
  }
  int rounds = 0, acts = 0;
  for (auto& [s, n] : per_slice) {
    rounds = std::max(rounds, n);
    acts += 4 * n;
  }
  e->lockstep["ACTAB"] += double(rows.size());
  e->lockstep["MACAB"] += double(rows.size()) * columns;
  e->slices["ACT"] += acts;
  e->slices["MACAB"] += double(rounds) * columns;
  for (auto* m : {&e->lockstep, &e->slices}) {
    (*m)["MVSB"] += mvsb * double(groups.size());
    (*m)["MVGB"] += mvgb * double(groups.size());
  }
}

std::map<std::string, Expected> expected_counts(const std::vector<std::string>& policies) {
  const auto model = workloads::load_model_preset("llama-3.1-8b");
  workloads::SyntheticSource src(model, workloads::load_synthetic_params("synthetic"), 1, kContext,
                                 1);
  const int64_t T = kContext + 1;
  // The region's staging area starts after the larger of token order and the padded clusters.
  const int64_t blocks = T / 64;
  const uint32_t staging_first =
      uint32_t(std::max<int64_t>((T + kRowGroup - 1) / kRowGroup, blocks * (64 / kRowGroup + 3)));
  policy::AccuracyOptions o;
  o.policies = policies;
  o.budgets = {kBudget};
  o.params = policy::load_policy_params("default");
  o.model = {model.layers, model.q_heads, model.kv_heads, model.head_dim,
             model.profile.tidal_reselection_layer};
  std::map<std::string, Expected> out;
  o.on_selection = [&](size_t, const policy::Policy& pol, const policy::StepInput& in,
                       const policy::Selection& sel, policy::KvCache& cache) {
    Expected& e = out[pol.name()];
    const policy::ClusterStore* store =
        pol.cluster_layout() ? &cache.clusters(o.params.starc.kmeans, kRowGroup, true) : nullptr;
    auto groups = [&](const std::vector<uint32_t>& pos) {
      std::set<uint32_t> g;
      for (uint32_t p : pos) {
        if (!store) {
          g.insert(p / kRowGroup);
        } else if (store->slot(p) >= policy::kStagingSlotBase) {
          g.insert(staging_first + uint32_t((int64_t(p) - store->clustered_tokens()) / kRowGroup));
        } else {
          g.insert(uint32_t(store->slot(p) / kRowGroup));
        }
      }
      return std::vector<uint32_t>(g.begin(), g.end());
    };
    const auto& w = sel.work;
    for (auto* m : {&e.lockstep, &e.slices}) (*m)["WRGB"] += kG * 8;  // 4 queries x 256 B
    // Metadata (centroids, or Quest's min and max rows), then the key scan.
    const int64_t items = pol.name() == "quest" ? 2 * w.metadata_items : w.metadata_items;
    std::vector<uint32_t> meta;
    for (int64_t i = 0; i < (items + kRowGroup - 1) / kRowGroup; ++i) meta.push_back(uint32_t(i));
    pass(meta, kColumns, kG * kBanksPerGroup, 0, &e);
    const auto scan = groups(w.scanned), value = groups(w.fetched);
    const uint32_t scan_columns =
        w.key_channels == 0 || w.key_channels >= in.cache->head_dim()
            ? kColumns
            : uint32_t((kColumns * w.key_channels + in.cache->head_dim() - 1) /
                       in.cache->head_dim());
    pass(scan, scan_columns, kG * kBanksPerGroup, 0, &e);
    // Exact scores: a full-width scan has them; after SparQ's r-channel scan the fetched keys
    // are read again in full.
    std::vector<uint32_t> attend;
    if (scan_columns == kColumns)
      std::set_difference(value.begin(), value.end(), scan.begin(), scan.end(),
                          std::back_inserter(attend));
    else
      attend = value;
    pass(attend, kColumns, kG * kBanksPerGroup, 0, &e);
    pass(value, kColumns, 0, kG * 2, &e);
    for (auto* m : {&e.lockstep, &e.slices}) (*m)["MVSB"] += kG * 64 * 2;  // partial outputs
  };
  policy::evaluate_accuracy(src, o);
  return out;
}

json run(const std::string& policies, const std::string& mode) {
  const fs::path out = fs::temp_directory_path() / ("sparsepim_counts_" + mode);
  const auto r = sparsepim::testing::run_cli("run --context " + std::to_string(kContext) +
                                             " --steps 1 --budget " + std::to_string(kBudget) +
                                             " --policy " + policies + " --row-activation " + mode +
                                             " --check-timing --json --out " + out.string());
  EXPECT_EQ(r.code, 0) << r.out;
  return json::parse(r.out.substr(r.out.find('{')));
}

}  // namespace

TEST(DecodeCounts, EveryPolicyMatchesASecondDerivation) {
  const std::vector<std::string> names = {"dense", "topk", "sparq",       "quest",     "starc",
                                          "tidal", "lfps", "starc+tidal", "starc+lfps"};
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
  const auto want = expected_counts(names);
  for (const std::string mode : {"lockstep", "slices"}) {
    const json s = run(list, mode);
    ASSERT_EQ(s["policies"].size(), names.size());
    for (const auto& p : s["policies"]) {
      const std::string name = p["policy"];
      const auto& e = mode == "lockstep" ? want.at(name).lockstep : want.at(name).slices;
      for (const auto& [cmd, n] : e)
        EXPECT_EQ(p["commands"].value(cmd, 0.0), n) << name << " " << mode << " " << cmd;
      EXPECT_EQ(p["timing_violations"], 0) << name << " " << mode;
    }
  }
}
