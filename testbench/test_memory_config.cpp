// Device specs: the presets load with the values of DESIGN.md 2.1, and every kind of bad
// configuration is rejected with a message that names the problem.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "common/errors.h"
#include "hbm/address_mapping.h"
#include "hbm/memory_config.h"

using namespace sparsepim;
using namespace sparsepim::hbm;

namespace {

// Expects a ConfigError whose message contains `needle`.
void expect_error(const std::string& preset, const std::vector<std::string>& sets,
                  const std::string& needle) {
  try {
    load_memory_config(preset, sets);
    ADD_FAILURE() << "no error for " << preset << " with overrides; expected '" << needle << "'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' does not mention '" << needle << "'";
  }
}

}  // namespace

TEST(MemoryConfig, PresetsListed) {
  const auto names = memory_preset_names();
  for (const char* n : {"hbm2", "hbm3", "attacc-hbm3-pim", "aquabolt-hbm2-pim"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

TEST(MemoryConfig, Hbm2MatchesDesign) {
  const MemoryConfig c = load_memory_config("hbm2");
  EXPECT_EQ(c.org.pseudo_channels, 2u);
  EXPECT_EQ(c.org.banks_per_pc(), 16u);
  EXPECT_EQ(c.org.row_bytes(), 1024u);
  EXPECT_DOUBLE_EQ(c.timing.tCK_ns, 1.0);
  const Timing& t = c.timing;
  EXPECT_EQ(t.CL, 17u);
  EXPECT_EQ(t.CWL, 7u);
  EXPECT_EQ(t.RCD_RD, 12u);
  EXPECT_EQ(t.RCD_WR, 6u);
  EXPECT_EQ(t.RP, 14u);
  EXPECT_EQ(t.RAS, 28u);
  EXPECT_EQ(t.RC, 42u);
  EXPECT_EQ(t.CCD_S, 2u);
  EXPECT_EQ(t.CCD_L, 3u);
  EXPECT_EQ(t.RRD_S, 4u);
  EXPECT_EQ(t.RRD_L, 6u);
  EXPECT_EQ(t.FAW, 16u);
  EXPECT_EQ(t.WR, 14u);
  EXPECT_EQ(t.RTP_L, 5u);
  EXPECT_EQ(t.WTR_S, 4u);
  EXPECT_EQ(t.WTR_L, 9u);
  EXPECT_EQ(t.RFC, 220u);
  EXPECT_EQ(t.REFI, 3900u);
  EXPECT_EQ(t.RREFD, 8u);
  // 2 pseudo-channels x 32 B per 2-cycle burst at 1 GHz = 32 GB/s per channel.
  EXPECT_DOUBLE_EQ(c.peak_channel_GBps(), 32.0);
}

TEST(MemoryConfig, Hbm3MatchesDesign) {
  const MemoryConfig c = load_memory_config("hbm3");
  const Timing& t = c.timing;
  EXPECT_DOUBLE_EQ(t.tCK_ns, 0.625);
  EXPECT_EQ(t.CL, 20u);
  EXPECT_EQ(t.CWL, 10u);
  EXPECT_EQ(t.RCD_RD, 31u);
  EXPECT_EQ(t.RCD_WR, 15u);
  EXPECT_EQ(t.RP, 26u);
  EXPECT_EQ(t.RAS, 45u);
  EXPECT_EQ(t.RC, 72u);
  EXPECT_EQ(t.CCD_S, 2u);
  EXPECT_EQ(t.CCD_L, 4u);
  EXPECT_EQ(t.CCD_R, 3u);
  EXPECT_EQ(t.RRD_S, 4u);
  EXPECT_EQ(t.RRD_L, 5u);
  EXPECT_EQ(t.FAW, 24u);
  EXPECT_EQ(t.WR, 33u);
  EXPECT_EQ(t.RTP_L, 9u);
  EXPECT_EQ(t.WTR_S, 7u);
  EXPECT_EQ(t.WTR_L, 10u);
  EXPECT_EQ(t.RTW, 20u);
  EXPECT_EQ(t.REFI, 6240u);  // 3.9 us at 0.625 ns
  EXPECT_NEAR(c.peak_channel_GBps(), 51.2, 1e-9);
}

TEST(MemoryConfig, AttaccMatchesDesign) {
  const MemoryConfig c = load_memory_config("attacc-hbm3-pim");
  EXPECT_EQ(c.org.banks_per_channel(), 64u);
  EXPECT_EQ(c.org.rows, 16384u);
  EXPECT_EQ(c.pim.scope, PimScope::kChannel);
  EXPECT_EQ(c.pim.lanes, 16u);
  const Timing& t = c.timing;
  EXPECT_DOUBLE_EQ(t.tCK_ns, 0.769);
  EXPECT_EQ(t.CL, 19u);
  EXPECT_EQ(t.CWL, 6u);
  EXPECT_EQ(t.RCD_RD, 19u);
  EXPECT_EQ(t.RP, 19u);
  EXPECT_EQ(t.RAS, 45u);
  EXPECT_EQ(t.RC, 63u);
  EXPECT_EQ(t.WR, 21u);
  EXPECT_EQ(t.RTP_S, 6u);
  EXPECT_EQ(t.RTP_L, 8u);
  EXPECT_EQ(t.RRD_S, 2u);
  EXPECT_EQ(t.RRD_L, 4u);
  EXPECT_EQ(t.WTR_S, 8u);
  EXPECT_EQ(t.WTR_L, 11u);
  EXPECT_EQ(t.FAW, 39u);
  EXPECT_EQ(t.RFC, 456u);
  EXPECT_EQ(t.RFC_PB, 260u);
  EXPECT_EQ(t.REFI, 5070u);
  EXPECT_EQ(t.RREFD, 11u);
  EXPECT_EQ(t.CCDAB, 6u);
  // DESIGN.md 2.1: 64 banks x 32 B every nCCDAB = 6 cycles of 0.769 ns ~ 444 GB/s per channel.
  const double internal = 64.0 * 32 / (t.CCDAB * t.tCK_ns);
  EXPECT_NEAR(internal, 443.9, 0.1);
}

TEST(MemoryConfig, AquaboltMatchesDesign) {
  const MemoryConfig c = load_memory_config("aquabolt-hbm2-pim");
  EXPECT_EQ(c.pim.scope, PimScope::kPseudoChannel);
  EXPECT_EQ(c.pim.banks_per_unit, 2u);
  const Timing& t = c.timing;
  EXPECT_EQ(t.CL, 20u);
  EXPECT_EQ(t.CWL, 8u);
  EXPECT_EQ(t.RCD_RD, 14u);
  EXPECT_EQ(t.RCD_WR, 10u);
  EXPECT_EQ(t.RP, 14u);
  EXPECT_EQ(t.RAS, 33u);
  EXPECT_EQ(t.RC, 47u);
  EXPECT_EQ(t.CCD_L, 4u);
  EXPECT_EQ(t.RRD_S, 4u);
  EXPECT_EQ(t.RRD_L, 6u);
  EXPECT_EQ(t.FAW, 16u);
  EXPECT_EQ(t.WR, 16u);
  EXPECT_EQ(t.RTP_S, 4u);
  EXPECT_EQ(t.RTP_L, 5u);
  EXPECT_EQ(t.RFC, 350u);
  EXPECT_EQ(t.REFI, 3900u);
}

TEST(MemoryConfig, OverridesApply) {
  const MemoryConfig c =
      load_memory_config("hbm2", {"timing.CL=18", "controller.page_policy=closed"});
  EXPECT_EQ(c.timing.CL, 18u);
  EXPECT_EQ(c.controller.page_policy, PagePolicy::kClosed);
}

TEST(MemoryConfig, BadConfigsRejected) {
  expect_error("no-such-preset", {}, "unknown memory preset 'no-such-preset'");
  expect_error("/nonexistent/x.json", {}, "cannot open");
  expect_error("hbm2", {"timing.CLX=3"}, "unknown key 'timing.CLX'");
  expect_error("hbm2", {"timing.CL"}, "expected section.key=value");
  expect_error("hbm2", {"organization.rows=0"}, "rows: must be positive");
  expect_error("hbm2", {"organization.rows=-4"}, "rows: must be positive");
  expect_error("hbm2", {"organization.bank_groups=3"}, "power of two");
  expect_error("hbm2", {"timing.RAS=50"}, "RAS (50) > RC (42)");
  expect_error("hbm2", {"timing.CCD_S=1"}, "BL (2) > CCD_S (1)");
  expect_error("hbm2", {"timing.CCD_L=1"}, "CCD_S (2) > CCD_L (1)");
  expect_error("hbm2", {"timing.RFC=5000"}, "RFC (5000) > REFI (3900)");
  expect_error("hbm2", {"timing.tCK_ns=0"}, "tCK_ns: must be positive");
  expect_error("hbm2", {"timing.CL=\"fast\""}, "CL: expected an integer");
  expect_error("hbm2", {"controller.page_policy=sometimes"}, "page_policy");
  expect_error("hbm2", {"controller.write_low_watermark=30"}, "write_low_watermark");
  expect_error("hbm2", {"pim.scope=everywhere"}, "pim.scope");
  expect_error("hbm2", {"address_mapping.lsb_first=[\"offset\",\"column\",\"bank\"]"},
               "every address bit must be assigned exactly once");
  expect_error("hbm2",
               {"address_mapping.lsb_first=[\"offset\",\"pseudo_channel\",\"pseudo_channel\","
                "\"bank_group\",\"column\",\"bank\",\"sid\",\"row\",\"channel\"]"},
               "assigned twice");
  expect_error("hbm2",
               {"address_mapping.lsb_first=[\"offset\",\"pseudo_channel\",\"bank_group\","
                "\"column\",\"bank\",\"row\",\"channel\",\"dimm\"]"},
               "unknown field 'dimm'");
  expect_error("hbm2",
               {"address_mapping.lsb_first=[\"pseudo_channel\",\"offset\",\"bank_group\","
                "\"column\",\"bank\",\"row\",\"channel\"]"},
               "'offset' must be the least significant");
}

TEST(MemoryConfig, UnknownKeyInFileRejected) {
  const std::string path = ::testing::TempDir() + "bad_memory.json";
  {
    std::ifstream in(config_dir() + "/memory/hbm2.json");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto pos = s.find("\"CL\": 17");
    ASSERT_NE(pos, std::string::npos);
    s.replace(pos, 8, "\"CL\": 17, \"tXYZ\": 3");
    std::ofstream(path) << s;
  }
  try {
    load_memory_config(path);
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'tXYZ'"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "{ \"name\": \"x\", ";
  EXPECT_THROW(load_memory_config(path), ConfigError);
  std::remove(path.c_str());
}

// Every address decodes to in-range coordinates and encodes back to itself.
TEST(AddressMapping, RoundTrip) {
  for (const char* preset : {"hbm2", "hbm3", "attacc-hbm3-pim", "aquabolt-hbm2-pim"}) {
    for (const auto& sets : std::vector<std::vector<std::string>>{
             {},
             {"organization.channels=8"},
             {"address_mapping.lsb_first=[\"offset\",\"column:2\",\"bank_group\",\"pseudo_"
              "channel\","
              "\"bank\",\"column\",\"sid\",\"row\",\"channel\"]"}}) {
      const MemoryConfig c = load_memory_config(preset, sets);
      const AddressMapper m(c);
      ASSERT_EQ(m.capacity(), c.org.capacity_bytes());
      std::mt19937_64 rng(7);
      for (int i = 0; i < 100000; ++i) {
        const uint64_t addr = rng() % m.capacity();
        const DramAddress a = m.decode(addr);
        ASSERT_LT(a.channel, c.org.channels);
        ASSERT_LT(a.pc, c.org.pseudo_channels);
        ASSERT_LT(a.sid, c.org.sids);
        ASSERT_LT(a.bg, c.org.bank_groups);
        ASSERT_LT(a.bank, c.org.banks_per_group);
        ASSERT_LT(a.row, c.org.rows);
        ASSERT_LT(a.column, c.org.columns);
        ASSERT_EQ(m.encode(a, uint32_t(addr % c.org.bytes_per_column)), addr) << preset;
      }
    }
  }
}

// The default mapping puts the pseudo-channel and the bank group right above the burst offset.
TEST(AddressMapping, DefaultInterleavesPseudoChannelsThenBankGroups) {
  const MemoryConfig c = load_memory_config("hbm2");
  const AddressMapper m(c);
  EXPECT_EQ(m.decode(0).pc, 0u);
  EXPECT_EQ(m.decode(32).pc, 1u);
  EXPECT_EQ(m.decode(64).bg, 1u);
  EXPECT_EQ(m.decode(64).pc, 0u);
  EXPECT_EQ(m.decode(256).column, 1u);
  EXPECT_EQ(m.decode(256).bg, 0u);
  EXPECT_EQ(m.decode(32 * 256).bank, 1u);  // after 32 columns x 4 BG x 2 PC
}
