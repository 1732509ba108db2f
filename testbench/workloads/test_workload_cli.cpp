// `sparsepim workload` and `sparsepim stats` end to end: JSON out, the same checksum for the same
// seed, an export that stats reads back, and every bad input answered with a clear message and
// exit code 2 (configuration or input error).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "workload_test_util.h"

using nlohmann::json;
using wltest::run_cli;

namespace {

json run_json(const std::string& args) {
  const auto r = run_cli(args);
  EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
  try {
    return json::parse(r.out);
  } catch (const json::exception&) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return json{};
  }
}

void expect_rejected(const std::string& args, const std::string& fragment, int code = 2) {
  const auto r = run_cli(args);
  EXPECT_EQ(r.code, code) << args << "\n" << r.out;
  EXPECT_NE(r.out.find(fragment), std::string::npos) << args << "\n" << r.out;
}

}  // namespace

TEST(WorkloadCli, StatsOfASharedTrace) {
  const json j = run_json("stats --trace " + wltest::shared_trace(3));
  EXPECT_EQ(j["shape"]["tokens"], 512);
  EXPECT_EQ(j["shape"]["q_heads"], 8);
  EXPECT_EQ(j["shape"]["kv_heads"], 4);
  EXPECT_TRUE(j["finite"].get<bool>());
  EXPECT_GT(j["last_window_mass"]["mean"].get<double>(), 0.75);
  EXPECT_EQ(j["last_window_mass"]["per_layer"].size(), 5u);
  EXPECT_EQ(j["decode_steps"]["count"], 480);
  EXPECT_GT(j["peak_rss_MB"].get<double>(), 0.0);
  // --steps picks the last rows; --layers a subset.
  const json k = run_json("stats --trace " + wltest::shared_trace(3) + " --steps 100 --layers 0,4");
  EXPECT_EQ(k["decode_steps"]["first_row"], 412);
  EXPECT_TRUE(k["recall"]["per_layer"][1].is_null());
  EXPECT_FALSE(k["recall"]["per_layer"][4].is_null());
}

TEST(WorkloadCli, SameSeedSameChecksumAndExportRoundTrip) {
  const std::string args = "workload --model stories260k --context 200 --steps 8 --seed ";
  const json a = run_json(args + "5"), b = run_json(args + "5"), c = run_json(args + "6");
  EXPECT_EQ(a["checksum"], b["checksum"]);
  EXPECT_NE(a["checksum"], c["checksum"]);
  EXPECT_EQ(a["tokens"], 208);
  EXPECT_GT(a["MB_per_s"].get<double>(), 0.0);
  const std::string dir = wltest::scratch_dir("cli_export");
  const json e = run_json(args + "5 --export " + dir + " --dtype float16");
  EXPECT_EQ(e["export"], dir);
  const json e2 = run_json(args + "5 --export " + dir + "2");
  const json e3 = run_json(args + "5 --export " + dir + "3");
  EXPECT_EQ(e2["checksum"], e3["checksum"]);  // exported bytes are deterministic too
  const json st = run_json("stats --trace " + dir + " --steps 8");
  EXPECT_EQ(st["shape"]["tokens"], 208);
  EXPECT_EQ(st["source"]["dtype"], "float16");
  EXPECT_EQ(st["source"]["meta"]["generator"]["seed"], 5);
  EXPECT_EQ(st["decode_steps"]["first_row"], 200);
  // Statistics of the generated workload directly equal those of its float32 export.
  const json direct = run_json("stats --model stories260k --context 200 --steps 8 --seed 5");
  const json via = run_json("stats --trace " + dir + "2 --steps 8");
  EXPECT_NEAR(direct["recall"]["mean"].get<double>(), via["recall"]["mean"].get<double>(), 1e-9);
  EXPECT_NEAR(direct["cross_step_overlap"]["layers_2_up"].get<double>(),
              via["cross_step_overlap"]["layers_2_up"].get<double>(), 1e-9);
}

TEST(WorkloadCli, BadInputsAreRejectedClearly) {
  expect_rejected("workload --model gpt-9 --context 100", "unknown model 'gpt-9' (presets:");
  expect_rejected("workload --model llama-3.1-8b --context 0", "--context must be a positive");
  expect_rejected("workload --model llama-3.1-8b --context -5", "--context must be a positive");
  expect_rejected("workload --model llama-3.1-8b --context 100 --steps 0",
                  "--steps must be a positive");
  expect_rejected("workload --model llama-2-7b --context 4096 --steps 1",
                  "exceeds Llama-2-7B's max_context 4096");
  expect_rejected("workload --model stories260k --context 10 --dtype float64", "--dtype");
  expect_rejected("workload --model stories260k --context 10 --set keys.nope=1",
                  "unknown key 'keys.nope'");
  expect_rejected("workload --model stories260k --context 10 --set heavy_hitters.density=2",
                  "heavy_hitters.density");
  expect_rejected("stats --model stories260k --context 100 --steps 2 --recall-k 500",
                  "--recall-k 500 is larger than the context");
  expect_rejected("stats --trace " + wltest::shared_trace(1) + " --overlap-k 4096",
                  "--overlap-k 4096 is larger than the context");
  expect_rejected("stats --model stories260k --context 100", "--model needs --context and --steps");
  expect_rejected(
      "stats --trace " + wltest::shared_trace(1) + " --model stories260k --context 10 --steps 2",
      "not both");
  expect_rejected("stats", "give --trace DIR");
  expect_rejected("stats --trace /nonexistent/trace", "does not exist");
  expect_rejected("stats --trace " + wltest::shared_trace(1) + " --steps 600",
                  "exceeds the trace's 511");
  expect_rejected("stats --trace " + wltest::shared_trace(1) + " --layers 0,9",
                  "--layers: layer 9 out of range");
  expect_rejected("stats --trace " + wltest::shared_trace(1) + " --layers two",
                  "--layers: expected");
  expect_rejected("stats --kv-budget /nonexistent/budget.txt", "cannot open KV budget table");
  // A command-line usage error (CLI11) is non-zero as well.
  const auto r = run_cli("workload --context 10");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--model"), std::string::npos);
}

TEST(WorkloadCli, KvBudgetTableSummary) {
  const json j = run_json("stats --kv-budget " + wltest::shared_dir() +
                          "/starc-artifact/kv_budget_Llama_STARC.txt");
  EXPECT_EQ(j["kv_budget"]["steps"], 32000);
  EXPECT_NEAR(j["kv_budget"]["mean"].get<double>(), 1562.0, 0.5);
  const std::string dir = wltest::scratch_dir("cli_budget");
  std::ofstream(dir + "/b.txt") << "100\n# note\n-3\n";
  expect_rejected("stats --kv-budget " + dir + "/b.txt", "b.txt:3: negative token count '-3'");
}
