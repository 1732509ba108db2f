// `sparsepim traffic`: bandwidth against analytic limits and the peers' figures (DESIGN.md 6),
// request-trace parsing, determinism, and the command line's errors and exit codes.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "cli_runner.h"
#include "common/errors.h"
#include "traffic.h"

using namespace sparsepim;
using nlohmann::json;
using sparsepim::testing::CmdResult;
using sparsepim::testing::run_cli;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

json traffic(const std::string& config, const std::string& pattern, uint64_t n, uint64_t seed = 1,
             double read_ratio = 1.0) {
  TrafficOptions o;
  o.config = config;
  o.pattern = pattern;
  o.requests = n;
  o.seed = seed;
  o.read_ratio = read_ratio;
  return run_traffic(o);
}

}  // namespace

// One HBM2 channel, 1M sequential 32 B reads: the peers (DRAMSys, Ramulator 2.1) give
// 27.8-29.9 GB/s. The analytic ceiling is the data-bus peak less refresh: 32 x (1 - RFC/REFI).
TEST(TrafficBandwidth, Hbm2SequentialNearPeak) {
  const json r = traffic("hbm2", "stream", 1000000);
  const double bw = r["bandwidth_GBps"];
  EXPECT_GE(bw, 27.5);
  EXPECT_LE(bw, 32.0 * (1.0 - 220.0 / 3900.0));
  EXPECT_EQ(r["requests"], 1000000);
  EXPECT_EQ(r["commands"]["RD"], 1000000);
  EXPECT_GT(r["row_hits"].get<double>(), 0.9e6);
}

// 1M uniform random reads: every read needs ACT (2 row-bus cycles) and PRE (1): the shared
// row-command bus caps the channel at 32 B / 3 ns = 10.67 GB/s. Peers: 9.57 and 9.63 GB/s.
TEST(TrafficBandwidth, Hbm2RandomBoundByRowCommandBus) {
  const json r = traffic("hbm2", "random", 1000000);
  const double bw = r["bandwidth_GBps"];
  EXPECT_GE(bw, 9.1);
  EXPECT_LE(bw, 10.1);
  EXPECT_LE(bw, 32.0 / 3.0);
  EXPECT_GT(r["commands"]["ACT"].get<double>(), 0.95e6);
}

// Without the shared row bus (one pseudo-channel) the random rate halves: the bus, not the
// banks, is the bottleneck of the two-pseudo-channel case.
TEST(TrafficBandwidth, RowBusIsTheRandomBottleneck) {
  TrafficOptions o;
  o.config = "hbm2";
  o.pattern = "random";
  o.requests = 200000;
  o.sets = {"timing.ACT_BUS=1"};
  const double one_cycle_act = run_traffic(o)["bandwidth_GBps"];
  const double two_cycle_act = traffic("hbm2", "random", 200000)["bandwidth_GBps"];
  EXPECT_GT(one_cycle_act, two_cycle_act * 1.15);
}

TEST(TrafficBandwidth, Hbm3AndPimPresetsBelowPeak) {
  for (const char* c : {"hbm3", "attacc-hbm3-pim", "aquabolt-hbm2-pim"}) {
    const json r = traffic(c, "stream", 200000);
    const double bw = r["bandwidth_GBps"], peak = r["peak_bandwidth_GBps"];
    EXPECT_GT(bw, 0.8 * peak) << c;
    EXPECT_LE(bw, peak) << c;
  }
}

TEST(TrafficBandwidth, MultiChannelScales) {
  TrafficOptions o;
  o.config = "hbm2";
  o.channels = 4;
  o.requests = 400000;
  const json r = run_traffic(o);
  EXPECT_EQ(r["channels"], 4);
  EXPECT_GE(r["bandwidth_GBps"].get<double>(), 4 * 27.5);
  EXPECT_LE(r["bandwidth_GBps"].get<double>(), 4 * 32.0);
}

TEST(Traffic, ResultHasEveryField) {
  const json r = traffic("hbm2", "random", 10000, 3, 0.7);
  for (const char* k :
       {"simulated_ns", "requests", "bytes", "bandwidth_GBps", "row_hits", "row_misses",
        "row_conflicts", "commands", "energy_pJ", "wall_s", "requests_per_wall_s", "peak_rss_MB"})
    EXPECT_TRUE(r.contains(k)) << k;
  EXPECT_GT(r["commands"]["WR"].get<double>(), 2000);
  EXPECT_GT(r["energy_pJ"]["act_pre"].get<double>(), 0);
  EXPECT_GT(r["energy_pJ"]["background"].get<double>(), 0);
  EXPECT_NEAR(
      r["energy_pJ"]["total"].get<double>(),
      r["energy_pJ"]["act_pre"].get<double>() + r["energy_pJ"]["cell_rw"].get<double>() +
          r["energy_pJ"]["on_die"].get<double>() + r["energy_pJ"]["tsv"].get<double>() +
          r["energy_pJ"]["interposer"].get<double>() + r["energy_pJ"]["pim_mac"].get<double>() +
          r["energy_pJ"]["refresh"].get<double>() + r["energy_pJ"]["background"].get<double>(),
      1e-6 * r["energy_pJ"]["total"].get<double>());
}

// Energy of a pure read stream, per bit: the per-bit read path of the config (0.44 + 1.01 +
// 1.23 + 0.5 + 0.3 = 3.48 pJ/bit) plus activations, refresh and background on top.
TEST(Traffic, ReadEnergyPerBitFromConstants) {
  const json r = traffic("hbm2", "stream", 200000);
  const double per_bit_io =
      (r["energy_pJ"]["cell_rw"].get<double>() + r["energy_pJ"]["on_die"].get<double>() +
       r["energy_pJ"]["tsv"].get<double>() + r["energy_pJ"]["interposer"].get<double>()) /
      (8.0 * r["bytes"].get<double>());
  EXPECT_NEAR(per_bit_io, 3.48, 1e-9);
  // One 1 KB activation per 32 reads in a stream: 0.11 x 8192 / (32 x 256 bits) ~ 0.11 pJ/bit.
  EXPECT_NEAR(r["energy_pJ"]["act_pre"].get<double>() / (8.0 * r["bytes"].get<double>()), 0.11,
              0.01);
}

TEST(Traffic, SameSeedSameResult) {
  auto strip = [](json j) {
    for (const char* k : {"wall_s", "requests_per_wall_s", "commands_per_wall_s", "peak_rss_MB"})
      j.erase(k);
    return j;
  };
  const json a = strip(traffic("hbm3", "random", 50000, 9, 0.6));
  const json b = strip(traffic("hbm3", "random", 50000, 9, 0.6));
  const json c = strip(traffic("hbm3", "random", 50000, 10, 0.6));
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_NE(a.dump(), c.dump());
}

TEST(RequestTrace, ParsesFormsAndComments) {
  const std::string p = write_file("ok.trace",
                                   "# a comment\n"
                                   "R 0x1f40\n"
                                   "\n"
                                   "W 8000   # trailing comment\n"
                                   "100 R 0x40\n"
                                   "100 w 0x60\n");
  const auto v = parse_request_trace(p, 1 << 30);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].addr, 0x1f40u);
  EXPECT_FALSE(v[0].write);
  EXPECT_EQ(v[1].addr, 8000u);
  EXPECT_TRUE(v[1].write);
  EXPECT_TRUE(v[2].has_arrival);
  EXPECT_EQ(v[2].arrival, 100u);
  EXPECT_TRUE(v[3].write);
}

TEST(RequestTrace, MalformedLinesNamed) {
  struct Bad {
    const char* text;
    const char* needle;
  };
  const Bad cases[] = {{"R 0x10\nX 0x20\n", ":2: unknown operation 'X'"},
                       {"R 0x10\nR\n", ":2: expected '[cycle] R|W address'"},
                       {"R 0xZZ\n", ":1: bad address"},
                       {"R -5\n", ":1: bad address"},
                       {"R 0x10 0x20 0x30 0x40\n", ":1: expected"},
                       {"10 R 0x0\n5 R 0x20\n", ":2: arrival cycles must not decrease"},
                       {"abc R 0x0\n", ":1: bad arrival cycle"},
                       {"R 0x40000000\n", ":1: address 0x40000000 beyond the memory"}};
  int i = 0;
  for (const Bad& b : cases) {
    const std::string p = write_file("bad" + std::to_string(i++) + ".trace", b.text);
    try {
      parse_request_trace(p, 1 << 30);
      ADD_FAILURE() << "accepted: " << b.text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(b.needle), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_request_trace("/nonexistent/trace", 1 << 30), InputError);
}

TEST(RequestTrace, ArrivalsDelayRequests) {
  // Two reads 5000 cycles apart take about 5000 cycles; back to back they take ~50.
  const std::string spaced = write_file("spaced.trace", "0 R 0x0\n5000 R 0x100000\n");
  TrafficOptions o;
  o.trace_file = spaced;
  const json r = run_traffic(o);
  EXPECT_GE(r["simulated_ns"].get<double>(), 5000.0 + 31);
  const std::string packed = write_file("packed.trace", "R 0x0\nR 0x100000\n");
  o.trace_file = packed;
  EXPECT_LT(run_traffic(o)["simulated_ns"].get<double>(), 100.0);
}

TEST(Cli, TrafficPrintsJson) {
  const CmdResult r =
      run_cli("traffic --config hbm2 --pattern random --requests 2000 --check-timing");
  ASSERT_EQ(r.code, 0) << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["requests"], 2000);
  EXPECT_EQ(j["timing_violations"], 0);
  EXPECT_GT(j["timing_checked_commands"].get<int>(), 4000);
}

TEST(Cli, CommandTraceHasOneLinePerCommand) {
  const std::string path = ::testing::TempDir() + "cmds.txt";
  const CmdResult r = run_cli("traffic --requests 500 --command-trace " + path);
  ASSERT_EQ(r.code, 0) << r.out;
  const json j = json::parse(r.out);
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  std::getline(in, line);
  EXPECT_EQ(line[0], '#');
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, j["total_commands"].get<int>());
}

TEST(Cli, BadInputFailsClearly) {
  struct Case {
    std::string args;
    int code;
    const char* needle;
  };
  const std::string bad_trace = write_file("cli_bad.trace", "R 0x0\nR zz\n");
  const Case cases[] = {
      {"traffic --config nope", 2, "unknown memory preset 'nope'"},
      {"traffic --set timing.nope=1", 2, "unknown key 'timing.nope'"},
      {"traffic --set timing.RAS=99", 2, "RAS (99) > RC (42)"},
      {"traffic --pattern zigzag", 2, "--pattern"},
      {"traffic --read-ratio 1.5", 2, "--read-ratio"},
      {"traffic --trace " + bad_trace, 2, ":2: bad address"},
      {"traffic --trace /nonexistent", 2, "cannot open request trace"},
      {"traffic --requests", 114, "--requests: 1 required"},  // CLI11 usage error
      {"frobnicate", 109, "not expected: frobnicate"},        // CLI11 usage error
  };
  for (const Case& c : cases) {
    const CmdResult r = run_cli(c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << c.args << "\n" << r.out;
  }
}

// A planted bug: the engine runs with tRCD_RD two cycles short of what the checker knows the
// device needs. --check-timing must stop the run at the first violation, exit 3, and name it.
TEST(Cli, CheckTimingCatchesAPlantedViolation) {
  const CmdResult ok =
      run_cli("traffic --config hbm3 --pattern random --requests 5000 --check-timing");
  EXPECT_EQ(ok.code, 0) << ok.out;
  const CmdResult bad = run_cli(
      "traffic --config hbm2 --pattern random --requests 5000 --set timing.RCD_RD=10 "
      "--check-timing --checker-set timing.RCD_RD=12");
  EXPECT_EQ(bad.code, 3) << bad.out;
  EXPECT_NE(bad.out.find("tRCD_RD"), std::string::npos) << bad.out;
  const CmdResult bus = run_cli(
      "traffic --config hbm2 --pattern random --requests 5000 --set timing.ACT_BUS=1 "
      "--check-timing --checker-set timing.ACT_BUS=2");
  EXPECT_EQ(bus.code, 3) << bus.out;
  const CmdResult lonely = run_cli("traffic --checker-set timing.CL=3");
  EXPECT_EQ(lonely.code, 2) << lonely.out;
}
