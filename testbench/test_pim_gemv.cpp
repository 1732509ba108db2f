// GEMV through the attacc-style PIM units: bit-exact against an emulation of the same FP16
// arithmetic, close to FP64, faster than reading the matrices; the VCD it writes parses.
// Each run elaborates SystemC, so each runs in a forked child.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/errors.h"
#include "fork_sim.h"
#include "host/gemv.h"

using namespace sparsepim;
using nlohmann::json;
using sparsepim::testing::run_in_child;

namespace {

// Runs a GEMV in a child; `check` returns "" or a failure message.
::testing::AssertionResult gemv(const host::GemvOptions& o,
                                std::function<std::string(const json&)> check) {
  return run_in_child([&] { return check(host::run_gemv(o)); });
}

std::string expect_error(const host::GemvOptions& o, const std::string& needle) {
  try {
    host::run_gemv(o);
  } catch (const ConfigError& e) {
    return std::string(e.what()).find(needle) == std::string::npos
               ? std::string("wrong message: ") + e.what()
               : "";
  }
  return "no error for " + needle;
}

}  // namespace

TEST(PimGemv, BitExactAndCloseToFp64) {
  host::GemvOptions o;
  o.tokens = 1000;  // not a whole number of row groups
  EXPECT_TRUE(gemv(o, [](const json& r) -> std::string {
    if (!r["bit_exact"].get<bool>()) return "not bit exact";
    // FP16 accumulation of 128-term dot products: scores within 0.2 of FP64 (they are ~N(0, 128));
    // the output (a convex combination of N(0,1) values) within 1 % of its largest entry.
    if (r["max_abs_error_scores"].get<double>() > 0.2) return "scores off: " + r.dump();
    if (r["max_abs_error"].get<double>() > 0.01 * r["max_abs_output"].get<double>())
      return "output off: " + r.dump();
    if (r["commands"]["MACAB"] != 2 * 4 * 32) return "MACABs: " + r["commands"].dump();
    if (r["commands"]["ACTAB"] != 8) return "ACTABs: " + r["commands"].dump();
    if (r["macs"] != 2 * 4 * 32 * 64 * 16) return "MACs: " + r["macs"].dump();
    if (r["speedup_vs_normal_read"]["score_pass"].get<double>() < 2)
      return "no speed-up: " + r.dump();
    return "";
  }));
}

TEST(PimGemv, SmallerHeadDimensions) {
  for (uint32_t d : {32u, 64u}) {
    host::GemvOptions o;
    o.tokens = 700;
    o.head_dim = d;
    EXPECT_TRUE(gemv(o, [](const json& r) -> std::string {
      return r["bit_exact"].get<bool>() ? "" : "not bit exact at head_dim " + r["head_dim"].dump();
    }));
  }
}

TEST(PimGemv, Fp32AccumulatorsAreMoreAccurate) {
  host::GemvOptions o;
  o.tokens = 512;
  o.acc_fp32 = true;
  EXPECT_TRUE(gemv(o, [](const json& r) -> std::string {
    if (!r["bit_exact"].get<bool>()) return "not bit exact";
    if (r["max_abs_error_scores"].get<double>() > 1e-4) return "scores off: " + r.dump();
    // The probabilities themselves are rounded to FP16 before the value pass.
    if (r["max_abs_error"].get<double>() > 2e-3 * r["max_abs_output"].get<double>())
      return r.dump();
    if (r["commands"]["MVSB"] != 2 * 64 * 2 + 64 * 2 * 2)
      return "FP32 registers move in two bursts";
    return "";
  }));
}

TEST(PimGemv, SameSeedSameResult) {
  host::GemvOptions o;
  o.tokens = 300;
  std::string first;
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(gemv(o, [&](const json& r) -> std::string {
      json x = r;
      x.erase("wall_s");
      x.erase("macs_per_wall_s");
      x.erase("passes_wall_s");
      std::ofstream(::testing::TempDir() + "gemv_seed_" + std::to_string(i)) << x.dump();
      return "";
    }));
  std::ifstream a(::testing::TempDir() + "gemv_seed_0"), b(::testing::TempDir() + "gemv_seed_1");
  std::stringstream sa, sb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  EXPECT_EQ(sa.str(), sb.str());
  EXPECT_FALSE(sa.str().empty());
}

TEST(PimGemv, PassTimeGrowsWithTheMatrix) {
  std::map<uint32_t, double> cycles;
  for (uint32_t n : {1024u, 4096u}) {
    host::GemvOptions o;
    o.tokens = n;
    o.value_pass = false;
    o.sets = {"controller.refresh=off"};  // refresh would fall due in the longer run only
    EXPECT_TRUE(gemv(o, [&](const json& r) -> std::string {
      std::ofstream(::testing::TempDir() + "gemv_n" + std::to_string(n))
          << r["score_pass"]["cycles"];
      return "";
    }));
    std::ifstream(::testing::TempDir() + "gemv_n" + std::to_string(n)) >> cycles[n];
  }
  // Four row groups vs sixteen: four times the row work, plus the same fixed query write.
  EXPECT_GT(cycles[4096] / cycles[1024], 3.7);
  EXPECT_LT(cycles[4096] / cycles[1024], 4.0);
}

TEST(PimGemv, BadInputRejected) {
  EXPECT_TRUE(run_in_child([] {
    host::GemvOptions o;
    std::string err;
    o.head_dim = 48;
    if (!(err = expect_error(o, "--head-dim")).empty()) return err;
    o.head_dim = 256;
    if (!(err = expect_error(o, "--head-dim")).empty()) return err;
    o = {};
    o.memory = "hbm2";
    if (!(err = expect_error(o, "has no PIM units")).empty()) return err;
    o = {};
    o.tokens = 0;
    if (!(err = expect_error(o, "--rows")).empty()) return err;
    o = {};
    o.tokens = 16384 * 256;
    if (!(err = expect_error(o, "do not fit")).empty()) return err;
    o = {};
    o.pim_alu = "fpga";
    if (!(err = expect_error(o, "--pim-alu")).empty()) return err;
    o = {};
    o.vcd_window = "5:1";
    o.vcd = ::testing::TempDir() + "bad.vcd";
    if (!(err = expect_error(o, "--vcd-window")).empty()) return err;
    return std::string();
  }));
}

// The VCD is well formed: header, declarations, time never going back, values of the declared
// width, command codes that the translate filter knows.
TEST(PimGemv, VcdParses) {
  const std::string path = ::testing::TempDir() + "gemv.vcd";
  host::GemvOptions o;
  o.tokens = 512;
  o.vcd = path;
  ASSERT_TRUE(gemv(o, [](const json&) { return std::string(); }));
  std::ifstream in(path);
  ASSERT_TRUE(in.good());
  std::map<std::string, std::pair<std::string, int>> vars;  // id -> name, width
  std::string tok;
  bool defs = true, saw_timescale = false;
  long long last_time = -1, changes = 0, max_cmd = 0;
  while (in >> tok) {
    if (defs) {
      if (tok == "$timescale") {
        in >> tok;
        saw_timescale = tok == "1ps";
      } else if (tok == "$var") {
        std::string type, id, name;
        int width;
        in >> type >> width >> id >> name;
        vars[id] = {name, width};
      } else if (tok == "$enddefinitions") {
        defs = false;
      }
      continue;
    }
    if (tok[0] == '#') {
      const long long t = std::stoll(tok.substr(1));
      EXPECT_GT(t, last_time) << "time went back or repeated";
      last_time = t;
    } else if (tok[0] == 'b') {
      std::string id;
      in >> id;
      ASSERT_TRUE(vars.count(id)) << "undeclared " << id;
      const std::string bits = tok.substr(1);
      EXPECT_LE(int(bits.size()), vars[id].second) << vars[id].first;
      EXPECT_EQ(bits.find_first_not_of("01"), std::string::npos);
      if (vars[id].first.find("cmd") != std::string::npos)
        max_cmd = std::max(max_cmd, std::stoll(bits, nullptr, 2));
      ++changes;
    } else if (tok[0] == '0' || tok[0] == '1') {
      ASSERT_TRUE(vars.count(tok.substr(1))) << "undeclared " << tok;
      EXPECT_EQ(vars[tok.substr(1)].second, 1);
      ++changes;
    } else if (tok != "$dumpvars" && tok != "$end") {
      FAIL() << "unexpected token " << tok;
    }
  }
  EXPECT_TRUE(saw_timescale);
  EXPECT_EQ(vars.size(), 2u * 8);  // two pseudo-channels, eight signals each
  EXPECT_GT(changes, 1000);
  EXPECT_GE(max_cmd, 9);   // MACAB (code 9) and the bursts appear
  EXPECT_LE(max_cmd, 12);  // nothing beyond the filter's table
  std::ifstream gtkw(path + ".gtkw");
  EXPECT_TRUE(gtkw.good());
}

#ifdef SPARSEPIM_HAVE_RTL_ALU
// The same GEMV with the C++ model and with the Verilated RTL: the same result bits (fingerprint
// of every score and output) and the same cycle counts — the RTL computes, the engine times.
TEST(PimGemv, RtlAndModelAgreeBitForBitAndCycleForCycle) {
  std::map<std::string, std::string> seen;
  for (const char* alu : {"model", "rtl"}) {
    host::GemvOptions o;
    o.tokens = 600;
    o.pim_alu = alu;
    const std::string path = ::testing::TempDir() + "gemv_alu_" + alu;
    EXPECT_TRUE(gemv(o, [&](const json& r) -> std::string {
      if (!r["bit_exact"].get<bool>()) return std::string(alu) + ": not bit exact";
      std::ofstream(path) << r["result_fingerprint"] << " " << r["cycles"] << " "
                          << r["commands"].dump();
      return "";
    }));
    std::ifstream in(path);
    std::getline(in, seen[alu]);
  }
  EXPECT_FALSE(seen["model"].empty());
  EXPECT_EQ(seen["model"], seen["rtl"]);
}

TEST(PimGemv, RtlTraceWritten) {
  const std::string path = ::testing::TempDir() + "alu_rtl.vcd";
  host::GemvOptions o;
  o.tokens = 256;
  o.pim_alu = "rtl";
  o.vcd_rtl = path;
  o.vcd_window = "0:2";
  ASSERT_TRUE(gemv(o, [](const json&) { return std::string(); }));
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(s.find("$enddefinitions"), std::string::npos);
  EXPECT_NE(s.find("in_valid"), std::string::npos);
  EXPECT_NE(s.find("out_d"), std::string::npos);
}
#endif
