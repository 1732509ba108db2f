// `sparsepim units` as a user runs it: both units clocked and fast on random, trace and
// generated inputs, the agreement checks in the JSON, the VCD with the units' states and its
// GTKWave save file, and bad options giving a clear error and exit code 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <unistd.h>

#include "cli_runner.h"

namespace fs = std::filesystem;
using nlohmann::json;
using sparsepim::testing::run_cli;

namespace {

json parse(const std::string& out) {
  const auto start = out.find('{');
  EXPECT_NE(start, std::string::npos) << out;
  return json::parse(out.substr(start));
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST(UnitsCli, BothUnitsClockedAndFastAgreeAndWriteAVcd) {
  const fs::path dir = fs::temp_directory_path() / ("units_cli_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path vcd = dir / "units.vcd";
  const auto r = run_cli(
      "units --blocks 6 --head-dim 64 --histories 30 --tidal 3 --budget 16 "
      "--tokens 300 --per-block --vcd " +
      vcd.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const json j = parse(r.out);
  const json& c = j["cmu"];
  EXPECT_EQ(c["head_dim"], 64);
  EXPECT_EQ(c["checks"]["clocked_equals_fast"]["results"], 6);
  EXPECT_EQ(c["checks"]["clocked_equals_fast"]["cycles"], 6);
  EXPECT_EQ(c["checks"]["library_hardware_mode_equal"]["blocks"], 6);
  EXPECT_EQ(c["cycles_per_block"]["per_block"].size(), 6u);
  const json& i = j["ipu"];
  const int commands = 8 + 2 * 30 + 3 * 3;  // refreshes, predict + select, tidal + 2 reuses
  EXPECT_EQ(i["checks"]["clocked_equals_fast_reference"]["answers"], commands);
  EXPECT_EQ(i["checks"]["clocked_equals_fast_reference"]["cycles"], commands);
  EXPECT_EQ(i["cycles_per_command"]["predict"]["count"], 30);
  EXPECT_EQ(i["cycles_per_lfps_step"]["count"], 30);
  const std::string v = slurp(vcd);
  for (const char* s :
       {"cmu_bench", "ipu_bench", " state ", "key_valid", "out_ready", "queue_fill"})
    EXPECT_NE(v.find(s), std::string::npos) << s;
  const std::string g = slurp(fs::path(vcd.string() + ".gtkw"));
  EXPECT_NE(g.find("cmu_state.filter"), std::string::npos);
  EXPECT_NE(g.find("ipu_state.filter"), std::string::npos);
  fs::remove_all(dir);
}

TEST(UnitsCli, FastModeOnATraceAndAGeneratedWorkload) {
  const std::string trace =
      (fs::path(SPARSEPIM_SOURCE_DIR) / ".." / "shared" / "traces" / "stories260k-seed1")
          .lexically_normal()
          .string();
  auto r = run_cli("units --unit cmu --mode fast --keys trace --trace " + trace + " --blocks 20");
  ASSERT_EQ(r.code, 0) << r.out;
  json j = parse(r.out);
  EXPECT_EQ(j["cmu"]["head_dim"], 8);
  EXPECT_EQ(j["cmu"]["checks"]["library_hardware_mode_equal"]["blocks"], 20);
  EXPECT_FALSE(j["cmu"]["checks"].contains("clocked_equals_fast"));
  EXPECT_FALSE(j.contains("ipu"));
  r = run_cli(
      "units --unit cmu --keys synthetic --model stories260k --context 256 --blocks 12 "
      "--lanes 8");
  ASSERT_EQ(r.code, 0) << r.out;
  j = parse(r.out);
  EXPECT_EQ(j["cmu"]["checks"]["clocked_equals_fast"]["cycles"], 12);
}

TEST(UnitsCli, BadOptions) {
  for (const char* args : {"units --lanes 12", "units --mode fast --vcd x.vcd", "units --unit gpu",
                           "units --unit ipu --budget 65", "units --unit ipu --capacity 100",
                           "units --unit cmu --head-dim 200", "units --unit cmu --keys trace",
                           "units --policy-set starc.clusters=8"}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("configuration error"), std::string::npos) << args << "\n" << r.out;
  }
}
