// Replay input (STARC's per-step KV token counts) and the configs of this issue: the model
// presets as the issue lists them, RoPE frequencies with scaling, the generator parameters, and
// strict loading (unknown keys, bad values and unknown names are errors).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/common/errors.h"
#include "workload_test_util.h"
#include "workloads/kv_budget_table.h"
#include "workloads/model_preset.h"
#include "workloads/synthetic_config.h"

using namespace sparsepim;
using namespace sparsepim::workloads;
using nlohmann::json;

namespace {

template <typename E, typename F>
void expect_error(F fn, const std::string& fragment) {
  try {
    fn();
    FAIL() << "no exception";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message '" << e.what() << "' lacks '" << fragment << "'";
  }
}

}  // namespace

// ../shared/README.md: means over all 32,000 steps, Llama: STARC 1562, Quest 1024, SparQ 3890.
TEST(KvBudgetTable, SharedStarcArtifactMeans) {
  const std::string dir = wltest::shared_dir() + "/starc-artifact/";
  const KvBudgetTable starc = read_kv_budget_table(dir + "kv_budget_Llama_STARC.txt");
  const KvBudgetTable quest = read_kv_budget_table(dir + "kv_budget_Llama_Quest.txt");
  const KvBudgetTable sparq = read_kv_budget_table(dir + "kv_budget_Llama_SparQ.txt");
  EXPECT_EQ(starc.tokens.size(), 32000u);
  EXPECT_NEAR(starc.mean(), 1562.0, 0.5);
  EXPECT_EQ(quest.mean(), 1024.0);
  EXPECT_NEAR(sparq.mean(), 3890.0, 0.5);
  EXPECT_EQ(starc.tokens.front(), 1448);
  EXPECT_EQ(starc.lines[1], 2);
  for (const char* model : {"Llama", "Mistral", "GPT"})
    for (const char* method : {"STARC", "Quest", "SparQ"}) {
      const auto t = read_kv_budget_table(dir + "kv_budget_" + model + "_" + method + ".txt");
      EXPECT_EQ(t.tokens.size(), 32000u) << model << method;
      EXPECT_GT(t.min(), 0);
      // 2K-token prompts: STARC's and Quest's selections fit the context at every step.
      // SparQ's entries do not (4030 "tokens" at step 0 of a 2049-token context): they count
      // its traffic in token equivalents (a partial-channel scan of every key plus the
      // selected rows), not distinct tokens; docs/workloads.md.
      if (std::string(method) != "SparQ")
        check_budgets_fit_context(t, 2048);
      else
        EXPECT_THROW(check_budgets_fit_context(t, 2048), InputError);
    }
}

TEST(KvBudgetTable, CommentsAndLineEndings) {
  const auto t =
      parse_kv_budget_table("# header\n16\n  32  # trailing\r\n\t# indented comment\n48", "x");
  EXPECT_EQ(t.tokens, (std::vector<int64_t>{16, 32, 48}));
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(t.mean(), 32.0);
}

TEST(KvBudgetTable, RejectsBadLinesWithLineNumbers) {
  expect_error<InputError>([] { parse_kv_budget_table("16\n-4\n", "f.txt"); }, "f.txt:2: negative");
  expect_error<InputError>([] { parse_kv_budget_table("16\n12x\n", "f.txt"); },
                           "f.txt:2: not an integer: '12x'");
  expect_error<InputError>([] { parse_kv_budget_table("16\n1.5\n", "f.txt"); },
                           "f.txt:2: not an integer");
  expect_error<InputError>([] { parse_kv_budget_table("16\n\n17\n", "f.txt"); },
                           "f.txt:2: empty line");
  expect_error<InputError>([] { parse_kv_budget_table("# only comments\n", "f.txt"); },
                           "no entries");
  expect_error<InputError>([] { parse_kv_budget_table("", "f.txt"); }, "no entries");
  expect_error<InputError>([] { parse_kv_budget_table("99999999999\n", "f.txt"); },
                           "f.txt:1: token count out of range");
  expect_error<InputError>([] { parse_kv_budget_table("- 3\n", "f.txt"); }, "not an integer");
  expect_error<InputError>([] { read_kv_budget_table("/nonexistent/table.txt"); }, "cannot open");
  const auto t = parse_kv_budget_table("# c\n10\n20\n30\n", "g.txt");
  expect_error<InputError>([&] { check_budgets_fit_context(t, 15); },
                           "g.txt:3: step 1 touches 20 tokens but only 17 exist");
  check_budgets_fit_context(t, 29);
}

// The presets as issue 4 lists them.
TEST(ModelPresets, ShapesAsTheIssueLists) {
  struct Want {
    const char* name;
    int layers, q, kv, d;
    double theta;
  };
  const Want want[] = {{"llama-3.1-8b", 32, 32, 8, 128, 500000},
                       {"llama-2-7b", 32, 32, 32, 128, 10000},
                       {"mistral-7b-v0.3", 32, 32, 8, 128, 1000000},
                       {"longchat-7b-v1.5-32k", 32, 32, 32, 128, 10000},
                       {"llama-3.1-70b", 80, 64, 8, 128, 500000},
                       {"stories260k", 5, 8, 4, 8, 10000}};
  for (const auto& w : want) {
    SCOPED_TRACE(w.name);
    const ModelPreset m = load_model_preset(w.name);
    EXPECT_EQ(m.layers, w.layers);
    EXPECT_EQ(m.q_heads, w.q);
    EXPECT_EQ(m.kv_heads, w.kv);
    EXPECT_EQ(m.head_dim, w.d);
    EXPECT_EQ(m.rope.theta, w.theta);
    EXPECT_GT(m.profile.tidal_reselection_layer, 2);
  }
  EXPECT_EQ(model_preset_names().size(), 6u);
  const ModelPreset l = load_model_preset("llama-3.1-8b");
  EXPECT_EQ(l.max_context, 131072);
  EXPECT_EQ(l.profile.tidal_reselection_layer, 13);
  EXPECT_EQ(load_model_preset("llama-2-7b").profile.tidal_reselection_layer, 7);
  // The published per-head statistics made it into the preset.
  ASSERT_EQ(l.profile.retrieval_gates.size(), 32u);
  int retrieval = 0;
  for (const auto& row : l.profile.retrieval_gates)
    for (double g : row) retrieval += g > 0.5;
  EXPECT_EQ(retrieval, 234);  // 91.4 % of 256 KV heads (README: 91 %)
  ASSERT_EQ(l.profile.head_patterns.size(), 32u);
  EXPECT_EQ(l.profile.head_patterns[1].size(), 32u);
  EXPECT_EQ(l.profile.budget('V')->vertical, 3500);
  EXPECT_EQ(l.profile.budget('S')->kind, 'S');
  ASSERT_EQ(l.profile.key_outlier_channels.size(), 32u);
  EXPECT_EQ(l.profile.key_outlier_channels[0][0][0],
            0);  // DoubleSparse layer 0, head 0: 0, 97, ...
  EXPECT_EQ(l.profile.key_outlier_channels[0][0][1], 97);
  EXPECT_EQ(load_model_preset("stories260k").rope.layout, RopeLayout::kInterleaved);
}

TEST(ModelPresets, RopeFrequenciesWithScaling) {
  const ModelPreset l = load_model_preset("llama-3.1-8b");
  const auto f = rope_frequencies(l.rope, 128);
  ASSERT_EQ(f.size(), 64u);
  EXPECT_DOUBLE_EQ(f[0], 1.0);
  // Wavelength < 2048 tokens: unchanged; > 8192: divided by 8; in between: interpolated.
  EXPECT_DOUBLE_EQ(f[10], std::pow(500000.0, -20.0 / 128));
  EXPECT_DOUBLE_EQ(f[63], std::pow(500000.0, -126.0 / 128) / 8);
  // Pair 36: wavelength 2 pi / 500000^(-72/128) = 10.7K > 8192, divided by 8; pair 34:
  // wavelength 6.6K, between 2048 and 8192, interpolated.
  EXPECT_DOUBLE_EQ(f[36], std::pow(500000.0, -72.0 / 128) / 8);
  const double f34 = std::pow(500000.0, -68.0 / 128);
  EXPECT_LT(f[34], f34);
  EXPECT_GT(f[34], f34 / 8);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_LT(f[i], f[i - 1]);
  const auto lc = rope_frequencies(load_model_preset("longchat-7b-v1.5-32k").rope, 128);
  EXPECT_DOUBLE_EQ(lc[5], std::pow(10000.0, -10.0 / 128) / 8);
  const auto l2 = rope_frequencies(load_model_preset("llama-2-7b").rope, 128);
  EXPECT_DOUBLE_EQ(l2[5], std::pow(10000.0, -10.0 / 128));
}

TEST(ModelPresets, StrictLoading) {
  expect_error<ConfigError>([] { load_model_preset("gpt-5"); },
                            "unknown model 'gpt-5' (presets: llama-2-7b");
  const std::string dir = wltest::scratch_dir("presets");
  json j =
      json::parse(std::ifstream(std::string(SPARSEPIM_CONFIG_DIR) + "/models/stories260k.json"));
  {
    json bad = j;
    bad["architecture"]["n_layers"] = 5;
    std::ofstream(dir + "/extra.json") << bad.dump();
    expect_error<ConfigError>([&] { load_model_preset(dir + "/extra.json"); },
                              "architecture: unknown key 'n_layers'");
  }
  {
    json bad = j;
    bad["architecture"]["kv_heads"] = 3;
    std::ofstream(dir + "/gqa.json") << bad.dump();
    expect_error<ConfigError>([&] { load_model_preset(dir + "/gqa.json"); },
                              "must be a multiple of kv_heads");
  }
  {
    json bad = j;
    bad["rope"].erase("theta");
    std::ofstream(dir + "/theta.json") << bad.dump();
    expect_error<ConfigError>([&] { load_model_preset(dir + "/theta.json"); },
                              "missing key 'theta'");
  }
  expect_error<ConfigError>([] { load_model_preset("stories260k", {"rope.layout=\"diagonal\""}); },
                            "layout");
  expect_error<ConfigError>([] { load_model_preset("stories260k", {"architecture.layers=0"}); },
                            "architecture.layers");
  expect_error<ConfigError>([] { load_model_preset("stories260k", {"architecture.heads=8"}); },
                            "unknown key 'architecture.heads'");
  expect_error<ConfigError>(
      [] { load_model_preset("llama-3.1-8b", {"attention_profile.tidal_reselection_layer=40"}); },
      "tidal_reselection_layer");
}

TEST(SyntheticParams, LoadsAndRejectsBadValues) {
  const SyntheticParams p = load_synthetic_params();
  EXPECT_EQ(p.sink_tokens, 4);
  EXPECT_GT(p.hh_inherit_prob_deep, p.hh_inherit_prob_shallow);
  EXPECT_GT(p.vertical.hh_logit, p.slash.hh_logit);
  EXPECT_EQ(p.early.hh_logit, 0.0);
  expect_error<ConfigError>(
      [] { load_synthetic_params("synthetic", {"heavy_hitters.density=1.5"}); },
      "heavy_hitters.density: must be in [0, 1]");
  expect_error<ConfigError>([] { load_synthetic_params("synthetic", {"keys.sink=3"}); },
                            "unknown key 'keys.sink'");
  expect_error<ConfigError>(
      [] { load_synthetic_params("synthetic", {"head_kinds.vertical.hh_logit=\"big\""}); },
      "expected a number");
  expect_error<ConfigError>(
      [] { load_synthetic_params("synthetic", {"positional.slash_max_offset=2"}); },
      "slash_max_offset (2) < slash_min_offset");
  expect_error<ConfigError>([] { load_synthetic_params("nonexistent-params"); },
                            "unknown workload config");
  const std::string dir = wltest::scratch_dir("params");
  json j =
      json::parse(std::ifstream(std::string(SPARSEPIM_CONFIG_DIR) + "/workloads/synthetic.json"));
  j["heavy_hitters"]["densty"] = 0.1;
  std::ofstream(dir + "/typo.json") << j.dump();
  expect_error<ConfigError>([&] { load_synthetic_params(dir + "/typo.json"); },
                            "unknown key 'densty'");
}
