// `sparsepim accuracy` as a user runs it: JSON records on a real trace and a generated workload,
// determinism, and every kind of bad input giving a clear error and exit code 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace fs = std::filesystem;
using nlohmann::json;
using sparsepim::testing::run_cli;

namespace {

std::string trace_dir() {
  return (fs::path(SPARSEPIM_SOURCE_DIR) / ".." / "shared" / "traces" / "stories260k-seed1")
      .lexically_normal()
      .string();
}

json parse_records(const std::string& out) {
  const auto start = out.find('[');
  EXPECT_NE(start, std::string::npos) << out;
  return json::parse(out.substr(start));
}

}  // namespace

TEST(AccuracyCli, JsonRecordsOnARealTrace) {
  const auto r = run_cli("accuracy --trace " + trace_dir() + " --budget 16,600 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const json recs = parse_records(r.out);
  ASSERT_EQ(recs.size(), 9u * 2u);
  for (const auto& rec : recs) {
    for (const char* k :
         {"policy", "budget", "recall", "topk_overlap", "rel_l2_error", "cosine",
          "keys_scored_per_step", "tokens_fetched_per_step", "row_groups_per_step", "per_layer"})
      EXPECT_TRUE(rec.contains(k)) << k;
    ASSERT_EQ(rec["per_layer"].size(), 5u);
    EXPECT_TRUE(rec["per_layer"][0].contains("recall"));
    const double recall = rec["recall"];
    EXPECT_GT(recall, 0.3);
    EXPECT_LE(recall, 1.0 + 1e-12);
    if (rec["budget"] == 600) {  // above the 512-token context: dense
      EXPECT_EQ(recall, 1.0) << rec["policy"];
      EXPECT_EQ(rec["rel_l2_error"], 0.0);
    }
    if (rec["policy"] == "topk") {
      EXPECT_EQ(rec["topk_overlap"], 1.0);
    }
    if (rec["policy"] == "dense") {
      EXPECT_EQ(rec["tokens_fetched_per_step"], rec["keys_scored_per_step"]);
    }
  }
}

TEST(AccuracyCli, TableAndSameSeedSameNumbers) {
  const std::string args =
      "accuracy --model stories260k --context 300 --steps 3 --seed 5 --budget 32 "
      "--policy starc,lfps,starc+lfps --json";
  const auto a = run_cli(args), b = run_cli(args);
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  const auto c = run_cli(
      "accuracy --model stories260k --context 300 --steps 3 --seed 6 --budget 32 "
      "--policy starc,lfps,starc+lfps --json");
  EXPECT_NE(a.out, c.out) << "another seed, other data";
  const auto t =
      run_cli("accuracy --trace " + trace_dir() + " --steps 20 --budget 16 --policy topk,quest");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("recall"), std::string::npos);
  EXPECT_NE(t.out.find("quest"), std::string::npos);
  EXPECT_NE(t.out.find("Recall per layer"), std::string::npos);
}

TEST(AccuracyCli, BadInputIsAClearError) {
  struct Case {
    std::string args, message;
  };
  const std::string tr = "accuracy --trace " + trace_dir();
  const fs::path broken = fs::temp_directory_path() / "sparsepim_accuracy_broken_trace";
  fs::remove_all(broken);
  fs::create_directories(broken);
  for (const char* f : {"q.npy", "k.npy", "meta.json"})
    fs::copy_file(fs::path(trace_dir()) / f, broken / f);
  const std::vector<Case> cases = {
      {tr + " --budget 16 --policy nosuch", "unknown policy 'nosuch'"},
      {tr + " --budget 0", "at least 1 token"},
      {tr + " --budget 16,x", "--budget"},
      {tr + " --budget 16 --policy tidal --policy-set tidal.reselection_layer=9",
       "re-selection layer 9"},
      {tr + " --budget 16 --policy-set lfps.bogus=1", "bogus"},
      {tr + " --budget 16 --context 100", "do not apply to a trace"},
      {tr + " --budget 16 --model llama-3.1-8b", "disagrees with model"},
      {"accuracy --trace " + broken.string() + " --budget 16", "v.npy"},
      {"accuracy --budget 16", "give --trace DIR"},
      {"accuracy --model nosuch --context 100 --steps 2 --budget 16", "nosuch"},
      {"accuracy --model stories260k --context 100000 --steps 2 --budget 16", "context"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  fs::remove_all(broken);
}
