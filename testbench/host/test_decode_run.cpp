// `sparsepim run` (the decode simulation) as a user runs it: command counts against a hand
// computation of the AttAcc dataflow, the independent timing checker on full decode steps,
// determinism, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace fs = std::filesystem;
using nlohmann::json;
using sparsepim::testing::run_cli;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("sparsepim_run_" + name);
  fs::remove_all(p);
  return p;
}

json run_json(const std::string& args, const fs::path& out) {
  const auto r = run_cli("run " + args + " --json --out " + out.string());
  EXPECT_EQ(r.code, 0) << r.out;
  const auto start = r.out.find('{');
  return json::parse(r.out.substr(start));
}

// Drops what depends on the machine (wall time, memory).
json stable(json s) {
  for (const char* k : {"wall_s", "selection_wall_s", "peak_rss_MB"}) s.erase(k);
  for (auto& p : s["policies"])
    for (const char* k : {"sim_wall_s", "sim_peak_rss_MB"}) p.erase(k);
  return s;
}

}  // namespace

TEST(DecodeRun, DenseCommandsMatchTheDataflowByHand) {
  // Llama-3.1-8B shapes (32 layers, 8 KV heads of 4 query heads, d = 128), 512-token prompt,
  // 2 steps: the caches hold 513 and 514 tokens = 33 row groups of 16 = 3 row indices of 16
  // slices, for keys and for values. Per (layer, KV head, step):
  //   WRGB 4 queries x 8 bursts = 32; key pass 3 x (ACTAB, 32 MACAB, PREA) and the partial
  //   scores of the 33 useful row groups out (MVSB 4 queries x 4 banks each); value pass: the
  //   probabilities in (MVGB 4 x 2 per useful row group), 3 x (ACTAB, 32 MACAB, PREA), the
  //   partial outputs out (MVSB 4 x 64 banks x 2). Whole rows: lockstep ACTAB is the cheaper.
  const json s = run_json("--context 512 --steps 2 --budget 64 --policy dense --check-timing",
                          scratch("dense"));
  const json& p = s["policies"][0];
  const int jobs = 32 * 8 * 2;
  EXPECT_EQ(p["commands"]["WRGB"], 32 * jobs);
  EXPECT_EQ(p["commands"]["ACTAB"], 6 * jobs);
  EXPECT_EQ(p["commands"]["MACAB"], 6 * 32 * jobs);
  EXPECT_EQ(p["commands"]["PREA"], 6 * jobs);
  EXPECT_EQ(p["commands"]["MVSB"], (4 * 4 * 33 + 512) * jobs);
  EXPECT_EQ(p["commands"]["MVGB"], 4 * 2 * 33 * jobs);
  EXPECT_EQ(p["slice_rounds_per_step"], 0);
  EXPECT_EQ(p["timing_violations"], 0);
  EXPECT_EQ(p["recall"], 1.0);
  EXPECT_EQ(p["rel_l2_error"], 0.0);
  // Latency: a positive total per token, and the phases of the critical heads sum below it.
  EXPECT_GT(p["latency_ns"]["total"].get<double>(), 0);
  EXPECT_LE(p["latency_ns"]["sum_of_phases"].get<double>(),
            p["latency_ns"]["total"].get<double>() * 1.0001);
  for (const char* k :
       {"query_write", "selection", "scoring", "softmax", "value_pass", "readout", "clustering"})
    EXPECT_TRUE(p["latency_ns"].contains(k)) << k;
  for (const char* k : {"act_pre", "cell_rw", "pim_mac", "on_die", "tsv", "interposer",
                        "buffer_die_softmax", "host_readout", "total"})
    EXPECT_TRUE(p["energy_pJ"].contains(k)) << k;
}

TEST(DecodeRun, EveryPolicyPassesTheTimingCheckerAndIsDeterministic) {
  const std::string args =
      "--context 1000 --steps 2 --budget 96 --seed 3 --check-timing "
      "--policy dense,topk,sparq,quest,starc,tidal,lfps,starc+tidal,starc+lfps";
  const json a = run_json(args, scratch("a")), b = run_json(args, scratch("b"));
  ASSERT_EQ(a["policies"].size(), 9u);
  for (const auto& p : a["policies"]) {
    EXPECT_EQ(p["timing_violations"], 0) << p["policy"];
    // Every MAC round (ACTAB row or per-slice round) has one MACAB stream of 32 columns
    // (SparQ's scan reads r/d of a row).
    const double rounds =
        p["lockstep_rows_per_step"].get<double>() + p["slice_rounds_per_step"].get<double>();
    if (p["policy"] != "sparq") {
      EXPECT_EQ(p["commands"]["MACAB"].get<double>(), 32 * 2 * rounds) << p["policy"];
    }
    for (const char* k :
         {"policy", "latency_ns", "energy_pJ", "recall", "topk_overlap", "rel_l2_error",
          "row_groups_per_step", "row_hit_rate", "bank_imbalance", "internal_bw_utilization"})
      EXPECT_TRUE(p.contains(k)) << k;
  }
  EXPECT_EQ(stable(a).dump(), stable(b).dump()) << "same seed, same summary";
  // The files: summary.json equals the printed JSON, and the CSV has a row per policy.
  const fs::path out = scratch("files");
  const json c = run_json(args, out);
  std::ifstream js(out / "summary.json");
  json from_file;
  js >> from_file;
  EXPECT_EQ(stable(from_file).dump(), stable(c).dump());
  std::ifstream csv(out / "summary.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 1 + 9);
}

TEST(DecodeRun, Fp16NumericsThroughThePimPath) {
  // --numerics fp16 moves the data through the PIM path: keys and values in the banks in the
  // policy's layout, queries and probabilities through the GEMV buffers, MACs in the units,
  // partial results reduced on the buffer die; every output must equal pim/attacc_numerics (the
  // FP16 model, computed in phase 1 without the memory system) bit for bit. Dense attention then
  // differs from FP64 by FP16 rounding only — small but not zero — while fp32 numerics of a
  // dense selection are exact by definition.
  const json s16 = run_json(
      "--context 200 --steps 1 --budget 32 --policy dense,topk,sparq,quest,starc,tidal,lfps,"
      "starc+tidal,starc+lfps --numerics fp16 --check-timing",
      scratch("fp16"));
  for (const auto& p : s16["policies"]) {
    const json& path = p["pim_path"];
    EXPECT_EQ(path["alu"], "model");
    EXPECT_EQ(path["jobs"], 32 * 8) << p["policy"];
    EXPECT_EQ(path["outputs_checked"], 32 * 8 * 4 * 128) << p["policy"];
    EXPECT_EQ(path["outputs_bit_exact"], path["outputs_checked"]) << p["policy"];
    EXPECT_GT(path["lane_macs"].get<double>(), 0) << p["policy"];
    EXPECT_EQ(p["timing_violations"], 0) << p["policy"];
  }
  // Every softmax input came from a pass: dense scores all 201 tokens of its 4 query heads.
  EXPECT_EQ(s16["policies"][0]["pim_path"]["scores_from_passes"], 32 * 8 * 4 * 201);
  const json s32 =
      run_json("--context 200 --steps 1 --budget 32 --policy dense,topk", scratch("fp32"));
  const auto& d16 = s16["policies"][0];
  EXPECT_EQ(d16["policy"], "dense");
  EXPECT_GT(d16["rel_l2_error"].get<double>(), 1e-4);
  EXPECT_LT(d16["rel_l2_error"].get<double>(), 2e-2);
  EXPECT_EQ(d16["selection_rel_l2_error"], 0.0);
  EXPECT_EQ(s32["policies"][0]["rel_l2_error"], 0.0);
  // Sparse: the FP16 output error is the selection's error plus rounding, close to it.
  const auto& t16 = s16["policies"][1];
  EXPECT_GT(t16["rel_l2_error"].get<double>(), t16["selection_rel_l2_error"].get<double>() * 0.8);
  EXPECT_LT(t16["rel_l2_error"].get<double>(),
            t16["selection_rel_l2_error"].get<double>() + 3 * d16["rel_l2_error"].get<double>());
  // Timing does not depend on the numerics.
  EXPECT_EQ(s16["policies"][0]["latency_ns"]["total"], s32["policies"][0]["latency_ns"]["total"]);
  EXPECT_EQ(s16["policies"][0]["energy_pJ"]["total"], s32["policies"][0]["energy_pJ"]["total"]);
}

#ifdef SPARSEPIM_HAVE_RTL_ALU
TEST(DecodeRun, RtlAluCoSimulatedInTheDecodePath) {
  // The Verilated ALU computes every MAC of the step (dense and STARC's cluster order) and the
  // outputs equal the FP16 model bit for bit, as with the C++ model; the timing is the same.
  const json rtl = run_json(
      "--context 64 --steps 1 --budget 16 --policy dense,starc --numerics fp16 --pim-alu rtl",
      scratch("rtl"));
  const json model =
      run_json("--context 64 --steps 1 --budget 16 --policy dense,starc --numerics fp16",
               scratch("rtl_model"));
  for (size_t i = 0; i < 2; ++i) {
    const json& p = rtl["policies"][i];
    EXPECT_EQ(p["pim_path"]["alu"], "rtl");
    EXPECT_EQ(p["pim_path"]["outputs_checked"], 32 * 8 * 4 * 128);
    EXPECT_EQ(p["pim_path"]["outputs_bit_exact"], p["pim_path"]["outputs_checked"]);
    EXPECT_EQ(p["pim_path"]["alu_beats"], model["policies"][i]["pim_path"]["alu_beats"]);
    EXPECT_EQ(p["latency_ns"], model["policies"][i]["latency_ns"]);
    EXPECT_EQ(p["rel_l2_error"], model["policies"][i]["rel_l2_error"]);
  }
}
#endif

TEST(DecodeRun, ClockedClusterMappingUnitAgreesWithItsFastMode) {
  // A 703-token prompt: the second step completes block 10 of every (layer, KV head), which
  // STARC clusters in that step; the cluster-mapping unit runs on each of the 256 blocks, clocked
  // (one SystemC run) and fast, and they must agree in labels, centroids, layout and cycles.
  const std::string args = "--context 703 --steps 2 --budget 64 --policy starc,dense";
  const json c = run_json(args + " --units clocked", scratch("clocked"));
  const json f = run_json(args + " --units fast", scratch("fast"));
  const auto& u = c["policies"][0]["units"];
  EXPECT_EQ(u["cmu_blocks"], 32 * 8);
  EXPECT_EQ(u["cmu_clocked_blocks_checked"], 32 * 8);
  EXPECT_EQ(u["cmu_cycles_per_block"], f["policies"][0]["units"]["cmu_cycles_per_block"]);
  EXPECT_GT(u["cmu_cycles_per_block"].get<double>(), 3000);
  EXPECT_GT(c["policies"][0]["latency_ns"]["clustering"].get<double>(), 0);
  EXPECT_EQ(c["policies"][1]["units"]["cmu_blocks"], 0);
  EXPECT_EQ(stable(c)["policies"][0]["latency_ns"].dump(),
            stable(f)["policies"][0]["latency_ns"].dump());
}

TEST(DecodeRun, IndexPredictionUnitCyclesByHand) {
  // TidalDecode, 600-token prompt, one step (601 tokens), budget 64, Llama-3.1-8B (32 layers, 32
  // query heads): at the selection layers 2 and 13 the unit selects the top 63 of 600 scored
  // positions and appends the current token (600 + 2 x 63 + 1 + 2 = 729 cycles, docs/units.md),
  // at the other 28 sparse layers it hands out the 64 stored positions (64 + 2 cycles).
  const json s =
      run_json("--context 600 --steps 1 --budget 64 --policy tidal,dense,lfps", scratch("ipu"));
  const auto& u = s["policies"][0]["units"];
  EXPECT_EQ(u["ipu_calls_per_step"], 30 * 32);
  EXPECT_EQ(u["ipu_cycles_per_step"], 2 * 32 * 729 + 28 * 32 * 66);
  EXPECT_EQ(s["policies"][1]["units"]["ipu_calls_per_step"], 0);
  EXPECT_GT(s["policies"][2]["units"]["ipu_cycles_per_step"].get<double>(), 0);
}

TEST(DecodeRun, ClockedIndexPredictionUnitAgreesWithTheLibrary) {
  // --units clocked: every IPU command of the run goes through the SystemC unit with the
  // positions and FP16 scores the policy used. 600-token prompt, 2 steps, Llama-3.1-8B: 30 sparse
  // layers x 32 query heads = 960 calls per step. LFPS and starc+lfps: a SELECT each at the first
  // step (a refresh: no history yet), PREDICT + SELECT at the second = 960 + 2 x 960 commands.
  // TidalDecode: one command per call (SELECT at layers 2 and 13, REUSE elsewhere) = 2 x 960.
  const std::string args = "--context 600 --steps 2 --budget 64 --policy lfps,tidal,starc+lfps";
  const json f = run_json(args + " --units fast", scratch("ipu_fast"));
  const json c = run_json(args + " --units clocked", scratch("ipu_clocked"));
  const json h = run_json(args + " --units clocked --policy-set index_prediction.scores=fp16",
                          scratch("ipu_fp16"));
  const int expected[] = {3 * 960, 2 * 960, 3 * 960};
  for (size_t i = 0; i < 3; ++i) {
    const auto& uf = f["policies"][i]["units"];
    const auto& uc = c["policies"][i]["units"];
    const auto& uh = h["policies"][i]["units"];
    const std::string name = c["policies"][i]["policy"];
    EXPECT_FALSE(uf.contains("ipu_clocked_commands_checked")) << name;
    EXPECT_EQ(uc["ipu_clocked_commands_checked"], expected[i]) << name;
    EXPECT_EQ(uh["ipu_clocked_commands_checked"], expected[i]) << name;
    // FP16 scores in the library too: every answer and cycle count equal.
    EXPECT_EQ(uh["ipu_clocked_equal_to_library"], expected[i]) << name;
    EXPECT_EQ(uh["ipu_clocked_cycles_per_step"], uh["ipu_cycles_per_step"]) << name;
    // FP32 scores in the library (the default): the rest are FP16 ties and what follows them.
    EXPECT_EQ(uc["ipu_clocked_equal_to_library"].get<int>() +
                  uc["ipu_clocked_fp16_ties"].get<int>() +
                  uc["ipu_clocked_after_fp16_tie"].get<int>(),
              expected[i])
        << name;
    EXPECT_GT(uc["ipu_clocked_equal_to_library"].get<int>(), expected[i] * 8 / 10) << name;
    // The clocked mode changes no result.
    EXPECT_EQ(uc["ipu_cycles_per_step"], uf["ipu_cycles_per_step"]) << name;
    EXPECT_EQ(c["policies"][i]["recall"], f["policies"][i]["recall"]) << name;
    EXPECT_EQ(stable(c)["policies"][i]["latency_ns"].dump(),
              stable(f)["policies"][i]["latency_ns"].dump())
        << name;
  }
}

TEST(DecodeRun, UnitsOnTheCriticalPathWhenAsked) {
  // --selection ipu puts the index-prediction unit's cycles (one unit per channel, at tCK) where
  // the buffer die's top-k cost model was; --clustering cmu reads a completed block's keys out to
  // the cluster-mapping unit instead of the in-memory k-means. Policies without that work keep
  // their latency to the picosecond. 4031 + 1 tokens: a block completes between the 2 steps.
  const std::string base = "--context 4031 --steps 2 --budget 256 --policy dense,tidal,starc";
  const json ref = run_json(base, scratch("units_ref"));
  const json on = run_json(base + " --selection ipu --clustering cmu", scratch("units_on"));
  EXPECT_EQ(on["config"]["selection"], "ipu");
  EXPECT_EQ(on["config"]["clustering"], "cmu");
  const auto lat = [](const json& s, int i, const char* phase) {
    return s["policies"][i]["latency_ns"][phase].get<double>();
  };
  EXPECT_EQ(ref["policies"][0]["latency_ns"], on["policies"][0]["latency_ns"]);  // dense
  // TidalDecode: the unit (≈ 1 element per cycle) is slower than the assumed 16/ns buffer die.
  EXPECT_GT(lat(on, 1, "selection"), lat(ref, 1, "selection"));
  EXPECT_GT(on["policies"][1]["units"]["ipu_cycles_per_step"].get<double>(), 0);
  EXPECT_EQ(lat(on, 1, "clustering"), 0);
  // STARC: the clustering phase changes (CMU cycles + the block's keys read out; other phases
  // move only with refresh, which now falls elsewhere).
  EXPECT_GT(lat(ref, 2, "clustering"), 0);
  EXPECT_NE(lat(on, 2, "clustering"), lat(ref, 2, "clustering"));
  EXPECT_EQ(ref["policies"][2]["units"]["cmu_blocks"], on["policies"][2]["units"]["cmu_blocks"]);
  EXPECT_GT(on["policies"][2]["commands"]["RD"].get<double>(), 0);
  EXPECT_EQ(ref["policies"][2]["commands"].value("RD", 0.0), 0.0);
}

TEST(DecodeRun, WaveformsOnePerPolicy) {
  const fs::path out = scratch("vcd");
  fs::create_directories(out);
  const auto r =
      run_cli("run --context 600 --steps 1 --budget 64 --policy dense,starc+lfps --vcd " +
              (out / "w.vcd").string() + " --vcd-window 0:5000 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"w.dense.vcd", "w.starc_lfps.vcd", "w.dense.vcd.gtkw"}) {
    ASSERT_TRUE(fs::exists(out / f)) << f;
    std::ifstream in(out / f);
    std::string first;
    std::getline(in, first);
    EXPECT_FALSE(first.empty()) << f;
  }
  std::ifstream in(out / "w.dense.vcd");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("$enddefinitions"), std::string::npos);
  EXPECT_NE(text.find("#"), std::string::npos) << "value changes inside the window";
}

TEST(DecodeRun, ReplayUsesTheTablesLastEntriesAsBudgets) {
  const fs::path out = scratch("replay");
  fs::create_directories(out);
  {
    std::ofstream t(out / "table.txt");
    t << "# tokens per step\n5000\n40\n# two more\n64  # a comment\n100\n";
  }
  const json s = run_json(
      "--context 600 --steps 2 --policy topk,starc --replay " + (out / "table.txt").string(), out);
  EXPECT_EQ(s["config"]["replay_budgets"], json::array({64, 100}));
  for (const auto& p : s["policies"]) EXPECT_LT(p["recall"].get<double>(), 1.0) << p["policy"];
  struct Case {
    std::string table, message;
  };
  for (const Case& c : std::vector<Case>{{"10\n-3\n", "negative"},
                                         {"10\nabc\n", "abc"},
                                         {"7\n", "1 steps in the table"},
                                         {"10\n0\n", "no token"},
                                         {"10\n9000\n", "9000 tokens"}}) {
    {
      std::ofstream t(out / "bad.txt");
      t << c.table;
    }
    const auto r = run_cli("run --context 600 --steps 2 --policy starc --replay " +
                           (out / "bad.txt").string() + " --out " + (out / "bad").string());
    EXPECT_EQ(r.code, 2) << c.table << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.table << "\n" << r.out;
    EXPECT_FALSE(fs::exists(out / "bad" / "summary.json"));
  }
}

TEST(DecodeRun, BadInputIsAClearError) {
  const std::string trace =
      (fs::path(SPARSEPIM_SOURCE_DIR) / ".." / "shared" / "traces" / "stories260k-seed1")
          .lexically_normal()
          .string();
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--model nosuch --context 512 --steps 1", "nosuch"},
      {"--memory nosuch --context 512 --steps 1", "nosuch"},
      {"--memory hbm2 --context 512 --steps 1", "AttAcc-style PIM"},
      {"--context 512 --steps 1 --budget 513", "not below the context"},
      {"--context 512 --steps 1 --policy bogus", "unknown policy 'bogus'"},
      {"--trace " + trace + " --steps 4", "disagrees with --model"},
      {"--context 131000 --steps 1", "does not fit"},
      {"--context 512 --steps 0", "steps"},
      {"--context 512 --steps 1 --stacks 0", "--stacks"},
      {"--context 512 --steps 1 --numerics fp64", "--numerics"},
      {"--context 512 --steps 1 --budget 64 --pim-alu gates", "--pim-alu"},
      {"--context 512 --steps 1 --budget 64 --pim-alu rtl", "add --numerics fp16"},
      {"--context 512 --steps 1 --budget 64 --set pim.query_slots=2", "exceeds pim.query_slots"},
      {"--context 512 --steps 1 --budget 64 --set pim.query_slots=7", "exceeds timing.CCDAB"},
      {"--context 512 --steps 1 --budget 64 --units slow", "--units"},
      {"--context 1100 --steps 1 --budget 1050 --policy lfps --units clocked",
       "largest queue capacity"},
      {"--context 512 --steps 1 --budget 64 --vcd-window 0:100", "--vcd-window needs --vcd"},
      {"--context 512 --steps 1 --budget 64 --row-activation sometimes", "--row-activation"},
      {"--context 512 --steps 1 --budget 64 --selection gpu", "--selection"},
      {"--context 512 --steps 1 --budget 64 --clustering offline", "--clustering"},
  };
  for (const auto& c : cases) {
    const fs::path out = scratch("bad");
    const auto r = run_cli("run " + c.args + " --out " + out.string());
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(out / "summary.json")) << "no partial results: " << c.args;
  }
  const auto r =
      run_cli("run --context 512 --steps 1 --budget 64 --policy dense --out /dev/null/x");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("cannot create the output directory"), std::string::npos) << r.out;
}
