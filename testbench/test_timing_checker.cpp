// The independent timing checker: planted violations (one per rule, on hand-written command
// streams), random and locality-heavy traffic through the real engine (zero violations over
// millions of commands), mutated engines (the checker must notice), and PIM operations.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fork_sim.h"
#include "hbm/channel_engine.h"
#include "hbm/memory_config.h"
#include "hbm/timing_checker.h"

namespace sparsepim::hbm {
namespace {

// ---------------------------------------------------------------------------------------------
// Hand-written streams

Command bank_cmd(uint64_t cycle, Cmd cmd, uint32_t pc, uint32_t sid, uint32_t bg, uint32_t bank,
                 uint32_t row = 0, uint32_t column = 0, uint16_t channel = 0) {
  Command c;
  c.cycle = cycle;
  c.cmd = cmd;
  c.channel = channel;
  c.pc = uint8_t(pc);
  c.sid = uint8_t(sid);
  c.bg = uint8_t(bg);
  c.bank = uint8_t(bank);
  c.row = row;
  c.column = column;
  return c;
}
// Shorthands for pseudo-channel 0, SID 0.
Command act(uint64_t t, uint32_t bg, uint32_t ba, uint32_t row = 0) {
  return bank_cmd(t, Cmd::ACT, 0, 0, bg, ba, row);
}
Command pre(uint64_t t, uint32_t bg, uint32_t ba) {
  return bank_cmd(t, Cmd::PRE, 0, 0, bg, ba);
}
Command rd(uint64_t t, uint32_t bg, uint32_t ba, uint32_t row = 0) {
  return bank_cmd(t, Cmd::RD, 0, 0, bg, ba, row);
}
Command wr(uint64_t t, uint32_t bg, uint32_t ba, uint32_t row = 0) {
  return bank_cmd(t, Cmd::WR, 0, 0, bg, ba, row);
}
// All-bank commands: scope_channel = true reaches the whole channel (attacc-hbm3-pim's scope).
Command all_bank(uint64_t t, Cmd cmd, uint32_t pc, bool scope_channel, uint32_t row = 0) {
  Command c = bank_cmd(t, cmd, pc, 0, 0, 0, row);
  c.scope_channel = scope_channel;
  return c;
}
Command chan(uint64_t t, Cmd cmd, uint32_t row = 0) {
  return all_bank(t, cmd, 0, true, row);
}
// A channel-scope MACAB computing in the banks of `mask` (bit = bank of the channel, pc-major).
Command macab(uint64_t t, uint32_t row, uint64_t mask) {
  Command c = chan(t, Cmd::MACAB, row);
  c.bank_mask = mask;
  return c;
}
// attacc-hbm3-pim: the four single-bank ACTs of slice (pc, sid, bg) at t, t + 4, t + 8, t + 12
// (tRRD_L), and that slice's bits of a channel-scope bank mask.
std::vector<Command> slice_acts(uint64_t t, uint32_t pc, uint32_t sid, uint32_t bg, uint32_t row) {
  std::vector<Command> v;
  for (uint32_t b = 0; b < 4; ++b) v.push_back(bank_cmd(t + 4 * b, Cmd::ACT, pc, sid, bg, b, row));
  return v;
}
uint64_t slice_mask(uint32_t pc, uint32_t sid, uint32_t bg) {
  return uint64_t(0xF) << (pc * 32 + (sid * 4 + bg) * 4);
}
std::vector<Command> cat(std::vector<Command> a, const std::vector<Command>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Case {
  std::string name;
  std::string preset;
  std::vector<std::string> overrides;
  std::vector<Command> legal;
  std::vector<Command> bad;  // empty: the legal stream with its last command one cycle earlier
  std::vector<std::string> expect;  // rules reported for `bad`, in order (first = messages()[0])
  // Applied to the loaded configuration, for values the loader rightly rejects as a preset
  // (e.g. CCD_R below BL) but which isolate one rule.
  std::function<void(MemoryConfig&)> tweak = nullptr;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

std::vector<Command> last_earlier(std::vector<Command> v) {
  --v.back().cycle;
  return v;
}

TimingChecker run_stream(const MemoryConfig& cfg, const std::vector<Command>& cmds) {
  TimingChecker chk(cfg);
  for (const auto& c : cmds) chk.on_command(c);
  return chk;
}

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

std::string all_messages(const TimingChecker& chk) {
  std::string s;
  for (const auto& m : chk.messages()) s += "  " + m + "\n";
  return s;
}

// Timing values used below (cycles):
//  hbm2:  BL2 CL17 CWL7 RCD_RD12 RCD_WR6 RP14 RAS28 RC42 WR14 RTP5 CCD_S/L/R 2/3/2 RRD_S/L 4/6
//         FAW16 WTR_S/L 4/9 RTW18 RFC220 RFC_PB96 RREFD8
//  hbm3:  BL2 CL20 CWL10 RCD_RD31 RCD_WR15 RP26 RAS45 RC72 WR33 RTP9 CCD_S/L/R 2/4/3 RRD_S/L 4/5
//         FAW24 WTR_S/L 7/10 RTW20 RFC560
//  attacc-hbm3-pim: BL2 CL19 CWL6 RCD19 RP19 RAS45 RC63 WR21 RTP_L8 CCD_S/L/R 2/4/2 RRD_S/L 2/4
//         FAW39 WTR_S/L 8/11 RTW3 (effective 17) RFC456 CCDAB6; 2 SIDs, channel-scope PIM.
std::vector<Case> planted_cases() {
  const std::vector<std::string> none;
  const std::vector<std::string> two_sids = {"organization.sids=2"};
  std::vector<Case> v;
  // --- buses
  v.push_back({"ROW_BUS_act_holds_two_cycles",
               "hbm2",
               none,
               {act(0, 0, 0), bank_cmd(2, Cmd::ACT, 1, 0, 0, 0)},
               {},
               {"ROW_BUS"}});
  v.push_back({"ROW_BUS_pre_after_act",
               "hbm3",
               none,
               {bank_cmd(0, Cmd::ACT, 1, 0, 0, 0), pre(2, 0, 0)},
               {},
               {"ROW_BUS"}});
  v.push_back(
      {"COL_BUS",
       "attacc-hbm3-pim",
       none,
       {chan(0, Cmd::ACTAB, 3), chan(19, Cmd::MACAB, 3), bank_cmd(20, Cmd::WRGB, 0, 0, 0, 0)},
       {},
       {"COL_BUS"}});
  // RD data [38,40); MVGB at 34 puts its data at [40,42); at 33 it overlaps.
  v.push_back({"DATA_BUS",
               "attacc-hbm3-pim",
               none,
               {act(0, 0, 0), rd(19, 0, 0), bank_cmd(34, Cmd::MVGB, 0, 0, 1, 0)},
               {},
               {"DATA_BUS"}});
  // Two SIDs with CCD_R = 1: only the data bus keeps reads of different SIDs apart.
  v.push_back({"DATA_BUS_other_sid",
               "hbm3",
               two_sids,
               {act(0, 0, 0), bank_cmd(2, Cmd::ACT, 0, 1, 0, 0), rd(40, 0, 0),
                bank_cmd(42, Cmd::RD, 0, 1, 0, 0)},
               {},
               {"DATA_BUS"},
               [](MemoryConfig& m) { m.timing.CCD_R = 1; }});
  // Effective RTW = max(3, CL+BL+2-CWL = 17) on attacc.
  v.push_back({"tRTW_effective",
               "attacc-hbm3-pim",
               none,
               {act(0, 0, 0), rd(19, 0, 0), wr(36, 0, 0)},
               {},
               {"tRTW"}});
  v.push_back(
      {"tRTW_preset", "hbm2", none, {act(0, 0, 0), rd(12, 0, 0), wr(30, 0, 0)}, {}, {"tRTW"}});
  v.push_back({"tRTW_buffer_bursts",
               "attacc-hbm3-pim",
               none,
               {bank_cmd(0, Cmd::MVSB, 0, 0, 0, 0), bank_cmd(17, Cmd::WRGB, 0, 0, 1, 0)},
               {},
               {"tRTW"}});
  // --- bank state
  v.push_back({"ACT_TO_OPEN_BANK",
               "hbm2",
               none,
               {act(0, 0, 0, 1), pre(28, 0, 0), act(42, 0, 0, 2)},
               {act(0, 0, 0, 1), act(42, 0, 0, 2)},
               {"ACT_TO_OPEN_BANK"}});
  v.push_back({"COL_TO_CLOSED_BANK",
               "hbm2",
               none,
               {act(0, 0, 0), rd(12, 0, 0)},
               {act(0, 0, 1), rd(12, 0, 0)},
               {"COL_TO_CLOSED_BANK"}});
  v.push_back({"ROW_MISMATCH",
               "hbm2",
               none,
               {act(0, 0, 0, 5), rd(12, 0, 0, 5)},
               {act(0, 0, 0, 5), rd(12, 0, 0, 6)},
               {"ROW_MISMATCH"}});
  v.push_back({"PRE_closed_bank_is_legal",
               "hbm2",
               none,
               {pre(0, 0, 0), pre(1, 0, 0), act(2, 0, 0)},
               {pre(0, 0, 0), pre(1, 0, 0), act(1, 0, 0)},
               {"ROW_BUS"}});
  v.push_back({"ACTAB_WITH_OPEN_BANK",
               "attacc-hbm3-pim",
               none,
               {bank_cmd(0, Cmd::ACT, 1, 1, 3, 3, 7), bank_cmd(45, Cmd::PRE, 1, 1, 3, 3),
                chan(64, Cmd::ACTAB, 2)},
               {bank_cmd(0, Cmd::ACT, 1, 1, 3, 3, 7), chan(64, Cmd::ACTAB, 2)},
               {"ACTAB_WITH_OPEN_BANK"}});
  v.push_back(
      {"MACAB_closed_bank",
       "attacc-hbm3-pim",
       none,
       {chan(0, Cmd::ACTAB, 3), chan(19, Cmd::MACAB, 3)},
       {chan(0, Cmd::ACTAB, 3), bank_cmd(45, Cmd::PRE, 1, 1, 2, 1), chan(64, Cmd::MACAB, 3)},
       {"COL_TO_CLOSED_BANK"}});
  v.push_back({"MACAB_row_mismatch",
               "attacc-hbm3-pim",
               none,
               {chan(0, Cmd::ACTAB, 3), chan(19, Cmd::MACAB, 3)},
               {chan(0, Cmd::ACTAB, 3), chan(19, Cmd::MACAB, 4)},
               {"ROW_MISMATCH"}});
  v.push_back({"REF_WITH_OPEN_BANK",
               "hbm2",
               none,
               {act(0, 1, 1), pre(28, 1, 1), all_bank(42, Cmd::REF, 0, false)},
               {act(0, 1, 1), all_bank(42, Cmd::REF, 0, false)},
               {"REF_WITH_OPEN_BANK"}});
  v.push_back({"REFPB_WITH_OPEN_BANK",
               "hbm2",
               none,
               {act(0, 1, 1), pre(28, 1, 1), bank_cmd(42, Cmd::REFPB, 0, 0, 1, 1)},
               {act(0, 1, 1), bank_cmd(42, Cmd::REFPB, 0, 0, 1, 1)},
               {"REF_WITH_OPEN_BANK"}});
  // REF on the other pseudo-channel does not care about open banks here.
  v.push_back({"REF_other_pc_open_bank",
               "hbm2",
               none,
               {act(0, 1, 1), all_bank(2, Cmd::REF, 1, false)},
               {act(0, 1, 1), all_bank(2, Cmd::REF, 0, false)},
               {"REF_WITH_OPEN_BANK", "tRC"}});
  // --- bank timing
  v.push_back({"tRCD_RD", "hbm2", none, {act(0, 2, 3), rd(12, 2, 3)}, {}, {"tRCD_RD"}});
  v.push_back({"tRCD_RD_hbm3", "hbm3", none, {act(0, 2, 3), rd(31, 2, 3)}, {}, {"tRCD_RD"}});
  v.push_back({"tRCD_RD_actab_macab",
               "attacc-hbm3-pim",
               none,
               {chan(0, Cmd::ACTAB, 9), chan(19, Cmd::MACAB, 9)},
               {},
               {"tRCD_RD"}});
  v.push_back({"tRCD_WR", "hbm2", none, {act(0, 2, 3), wr(6, 2, 3)}, {}, {"tRCD_WR"}});
  v.push_back({"tRAS", "hbm2", none, {act(0, 0, 0), pre(28, 0, 0)}, {}, {"tRAS"}});
  v.push_back({"tRAS_actab_prea",
               "attacc-hbm3-pim",
               none,
               {chan(0, Cmd::ACTAB), chan(45, Cmd::PREA)},
               {},
               {"tRAS"}});
  v.push_back({"tRAS_prea_pc",
               "hbm3",
               none,
               {act(0, 3, 3), all_bank(45, Cmd::PREA, 0, false)},
               {},
               {"tRAS"}});
  v.push_back({"tRC", "hbm3", none, {act(0, 0, 0), pre(45, 0, 0), act(72, 0, 0)}, {}, {"tRC"}});
  v.push_back({"tRC_actab",
               "attacc-hbm3-pim",
               {"timing.RC=70"},
               {chan(0, Cmd::ACTAB), chan(45, Cmd::PREA), chan(70, Cmd::ACTAB)},
               {},
               {"tRC"}});
  v.push_back({"tRP", "hbm2", none, {act(0, 0, 0), pre(30, 0, 0), act(44, 0, 0)}, {}, {"tRP"}});
  v.push_back({"tRP_prea_actab",
               "attacc-hbm3-pim",
               none,
               {chan(0, Cmd::ACTAB), chan(45, Cmd::PREA), chan(64, Cmd::ACTAB)},
               {},
               {"tRP"}});
  v.push_back({"tRTP", "hbm2", none, {act(0, 0, 0), rd(30, 0, 0), pre(35, 0, 0)}, {}, {"tRTP"}});
  v.push_back({"tRTP_macab_prea",
               "attacc-hbm3-pim",
               none,
               {chan(0, Cmd::ACTAB), chan(40, Cmd::MACAB), chan(48, Cmd::PREA)},
               {},
               {"tRTP"}});
  v.push_back({"tWR", "hbm2", none, {act(0, 0, 0), wr(30, 0, 0), pre(53, 0, 0)}, {}, {"tWR"}});
  // --- bank group / SID / pseudo-channel
  v.push_back({"tRRD_L", "hbm2", none, {act(0, 0, 0), act(6, 0, 1)}, {}, {"tRRD_L"}});
  v.push_back({"tRRD_S", "hbm2", none, {act(0, 0, 0), act(4, 1, 0)}, {}, {"tRRD_S"}});
  v.push_back({"tRRD_other_sid_free",
               "attacc-hbm3-pim",
               none,
               {act(0, 0, 0), bank_cmd(2, Cmd::ACT, 0, 1, 0, 0)},
               {act(0, 0, 0), act(2, 0, 1)},
               {"tRRD_L"}});
  v.push_back({"tFAW",
               "hbm3",
               none,
               {act(0, 0, 0), act(4, 1, 0), act(8, 2, 0), act(12, 3, 0), act(24, 0, 1)},
               {},
               {"tFAW"}});
  // FAW counts per SID: four ACTs of SID 1 in between do not matter.
  v.push_back(
      {"tFAW_per_sid",
       "attacc-hbm3-pim",
       none,
       {act(0, 0, 0), act(2, 1, 0), act(4, 2, 0), act(6, 3, 0), bank_cmd(8, Cmd::ACT, 0, 1, 0, 0),
        bank_cmd(10, Cmd::ACT, 0, 1, 1, 0), bank_cmd(12, Cmd::ACT, 0, 1, 2, 0),
        bank_cmd(14, Cmd::ACT, 0, 1, 3, 0), act(39, 0, 1)},
       {},
       {"tFAW"}});
  v.push_back({"tCCD_L",
               "hbm3",
               none,
               {act(0, 0, 0), act(5, 0, 1), rd(36, 0, 0), rd(40, 0, 1)},
               {},
               {"tCCD_L"}});
  v.push_back({"tCCD_L_buffer_bursts",
               "attacc-hbm3-pim",
               none,
               {bank_cmd(0, Cmd::WRGB, 0, 0, 0, 0), bank_cmd(4, Cmd::WRGB, 0, 0, 0, 0)},
               {},
               {"tCCD_L"}});
  // CCD_S equals BL on every preset: one cycle early also overlaps the data bus.
  v.push_back({"tCCD_S",
               "hbm2",
               none,
               {act(0, 0, 0), act(4, 1, 0), rd(16, 0, 0), rd(18, 1, 0)},
               {},
               {"tCCD_S", "DATA_BUS"}});
  v.push_back({"tCCD_S_only",
               "hbm2",
               {"timing.BL=1"},
               {act(0, 0, 0), act(4, 1, 0), rd(16, 0, 0), rd(18, 1, 0)},
               {},
               {"tCCD_S"}});
  v.push_back({"tCCD_R",
               "hbm3",
               two_sids,
               {act(0, 0, 0), bank_cmd(2, Cmd::ACT, 0, 1, 0, 0), rd(31, 0, 0),
                bank_cmd(34, Cmd::RD, 0, 1, 0, 0)},
               {},
               {"tCCD_R"}});
  v.push_back({"tWTR_L", "hbm2", none, {act(0, 0, 0), wr(6, 0, 0), rd(24, 0, 0)}, {}, {"tWTR_L"}});
  v.push_back({"tWTR_S",
               "hbm2",
               none,
               {act(0, 0, 0), act(4, 1, 0), wr(6, 0, 0), rd(19, 1, 0)},
               {},
               {"tWTR_S"}});
  // --- all-bank PIM
  v.push_back({"tCCDAB",
               "attacc-hbm3-pim",
               none,
               {chan(0, Cmd::ACTAB), chan(19, Cmd::MACAB), chan(25, Cmd::MACAB)},
               {},
               {"tCCDAB"}});
  // --- per-slice PIM rounds (PimOp::kMacRowGroups): single-bank ACTs, MACAB over the open banks
  {
    // Slice A = (pc0, sid0, bg0) row 5: ACTs 0, 4, 8, 12; slice B = (pc1, sid1, bg2) row 9: ACTs
    // 2, 6, 10, 14 (other pseudo-channel: only the row bus between them). The MACAB computes in
    // both slices' banks (different rows) and names the row of its lowest bank (A's).
    const std::vector<Command> round = cat(slice_acts(0, 0, 0, 0, 5), slice_acts(2, 1, 1, 2, 9));
    std::vector<Command> sorted = round;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Command& a, const Command& b) { return a.cycle < b.cycle; });
    const uint64_t both = slice_mask(0, 0, 0) | slice_mask(1, 1, 2);
    // tRCD_RD from the latest ACT of a participating bank (B's bank 3 at 14): 33.
    v.push_back({"tRCD_RD_per_slice_round",
                 "attacc-hbm3-pim",
                 none,
                 cat(sorted, {macab(33, 5, both)}),
                 {},
                 {"tRCD_RD"}});
    const std::vector<Command> a = slice_acts(0, 0, 0, 0, 5);
    // No bank open: the round was closed (PREA at 12 + tRAS 45) before the MACAB.
    v.push_back({"MACAB_no_bank_open",
                 "attacc-hbm3-pim",
                 none,
                 cat(a, {macab(31, 5, slice_mask(0, 0, 0))}),
                 cat(a, {chan(57, Cmd::PREA), macab(76, 5, slice_mask(0, 0, 0))}),
                 {"COL_TO_CLOSED_BANK"}});
    // The mask names a bank that is closed (bank 0 of bg1).
    v.push_back({"MACAB_mask_names_closed_bank",
                 "attacc-hbm3-pim",
                 none,
                 cat(a, {macab(31, 5, slice_mask(0, 0, 0))}),
                 cat(a, {macab(31, 5, slice_mask(0, 0, 0) | 0x10)}),
                 {"COL_TO_CLOSED_BANK"}});
    // The mask leaves out an open bank (bank 3 of the slice would compute too).
    v.push_back({"MACAB_BANKS_open_bank_left_out",
                 "attacc-hbm3-pim",
                 none,
                 cat(a, {macab(31, 5, slice_mask(0, 0, 0))}),
                 cat(a, {macab(31, 5, 0x7)}),
                 {"MACAB_BANKS"}});
    // A per-slice MACAB names the row of its lowest participating bank.
    v.push_back({"MACAB_per_slice_row",
                 "attacc-hbm3-pim",
                 none,
                 cat(sorted, {macab(33, 5, both)}),
                 cat(sorted, {macab(33, 9, both)}),
                 {"ROW_MISMATCH"}});
    // Two slices of one SID: the fifth ACT waits tFAW 39 after the first (0, 2, 4, 6 -> 39).
    v.push_back({"tFAW_inside_a_round",
                 "attacc-hbm3-pim",
                 none,
                 {bank_cmd(0, Cmd::ACT, 0, 0, 0, 0, 5), bank_cmd(2, Cmd::ACT, 0, 0, 1, 0, 7),
                  bank_cmd(4, Cmd::ACT, 0, 0, 0, 1, 5), bank_cmd(6, Cmd::ACT, 0, 0, 1, 1, 7),
                  bank_cmd(39, Cmd::ACT, 0, 0, 0, 2, 5)},
                 {},
                 {"tFAW"}});
    // After an ACTAB every bank of a whole-scope MACAB holds its row, however it was reopened:
    // bank 25 of pc1 closed at tRAS and reopened (tRP / tRC) at another row.
    const Command pre25 = bank_cmd(45, Cmd::PRE, 1, 1, 2, 1);
    v.push_back({"MACAB_after_actab_reopened_bank",
                 "attacc-hbm3-pim",
                 none,
                 {chan(0, Cmd::ACTAB, 3), pre25, bank_cmd(64, Cmd::ACT, 1, 1, 2, 1, 3),
                  chan(83, Cmd::MACAB, 3)},
                 {chan(0, Cmd::ACTAB, 3), pre25, bank_cmd(64, Cmd::ACT, 1, 1, 2, 1, 7),
                  chan(83, Cmd::MACAB, 3)},
                 {"ROW_MISMATCH"}});
  }
  // --- refresh
  v.push_back(
      {"tRFC_act", "hbm2", none, {all_bank(0, Cmd::REF, 0, false), act(220, 0, 0)}, {}, {"tRFC"}});
  v.push_back({"tRFC_ref",
               "hbm2",
               none,
               {all_bank(0, Cmd::REF, 0, false), all_bank(220, Cmd::REF, 0, false)},
               {},
               {"tRFC"}});
  v.push_back({"tRFC_actab",
               "attacc-hbm3-pim",
               none,
               {all_bank(0, Cmd::REF, 1, false), chan(456, Cmd::ACTAB)},
               {},
               {"tRFC"}});
  v.push_back({"tRFC_other_pc_free",
               "hbm2",
               none,
               {all_bank(0, Cmd::REF, 0, false), bank_cmd(1, Cmd::ACT, 1, 0, 0, 0)},
               {all_bank(0, Cmd::REF, 0, false), act(1, 0, 0)},
               {"tRFC"}});
  v.push_back({"tRP_ref",
               "hbm2",
               none,
               {act(0, 0, 0), pre(30, 0, 0), all_bank(44, Cmd::REF, 0, false)},
               {},
               {"tRP"}});
  v.push_back({"tRC_ref",
               "hbm3",
               none,
               {act(0, 0, 0), pre(45, 0, 0), all_bank(72, Cmd::REF, 0, false)},
               {},
               {"tRC"}});
  v.push_back({"tRFC_PB",
               "hbm2",
               none,
               {bank_cmd(0, Cmd::REFPB, 0, 0, 0, 3), act(96, 0, 3)},
               {},
               {"tRFC_PB"}});
  v.push_back({"tRREFD_act",
               "hbm2",
               none,
               {bank_cmd(0, Cmd::REFPB, 0, 0, 0, 3), act(8, 1, 0)},
               {},
               {"tRREFD"}});
  v.push_back({"tRREFD_refpb",
               "hbm2",
               none,
               {bank_cmd(0, Cmd::REFPB, 0, 0, 0, 3), bank_cmd(8, Cmd::REFPB, 0, 0, 1, 0)},
               {},
               {"tRREFD"}});
  v.push_back({"tRP_refpb",
               "hbm2",
               none,
               {act(0, 0, 3), pre(30, 0, 3), bank_cmd(44, Cmd::REFPB, 0, 0, 0, 3)},
               {},
               {"tRP"}});
  // --- stream sanity
  v.push_back({"ORDER",
               "hbm2",
               none,
               {act(10, 0, 0), rd(22, 0, 0), rd(25, 0, 0)},
               {act(10, 0, 0), rd(25, 0, 0), rd(22, 0, 0)},
               {"ORDER", "COL_BUS", "tCCD_L"}});
  v.push_back({"ADDRESS", "hbm2", none, {act(0, 3, 3)}, {act(0, 4, 0)}, {"ADDRESS"}});
  // Channels are independent (channel 1 may ACT the same bank in the same cycle).
  v.push_back({"channels_independent",
               "hbm2",
               {"organization.channels=2"},
               {act(0, 0, 0), bank_cmd(0, Cmd::ACT, 0, 0, 0, 0, 0, 0, 1)},
               {act(0, 0, 0), act(0, 0, 0)},
               {"ROW_BUS", "ACT_TO_OPEN_BANK", "tRC", "tRRD_L"}});
  return v;
}

class Planted : public ::testing::TestWithParam<Case> {};

TEST_P(Planted, LegalStreamIsCleanAndViolationIsNamed) {
  const Case& k = GetParam();
  MemoryConfig cfg = load_memory_config(k.preset, k.overrides);
  if (k.tweak) k.tweak(cfg);
  {
    const TimingChecker chk = run_stream(cfg, k.legal);
    EXPECT_EQ(chk.commands_checked(), k.legal.size());
    EXPECT_EQ(chk.violations(), 0u) << "legal stream reported:\n" << all_messages(chk);
  }
  const std::vector<Command> bad = k.bad.empty() ? last_earlier(k.legal) : k.bad;
  const TimingChecker chk = run_stream(cfg, bad);
  ASSERT_EQ(chk.violations(), k.expect.size()) << all_messages(chk);
  ASSERT_FALSE(chk.messages().empty());
  EXPECT_TRUE(starts_with(chk.messages()[0], k.expect[0] + " violated: ")) << all_messages(chk);
  for (size_t i = 0; i < k.expect.size(); ++i)
    EXPECT_TRUE(starts_with(chk.messages()[i], k.expect[i] + " violated: ")) << all_messages(chk);
}

INSTANTIATE_TEST_SUITE_P(Rules, Planted, ::testing::ValuesIn(planted_cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// Every rule of the checker is planted by at least one case above.
TEST(TimingChecker, EveryRuleIsPlanted) {
  std::vector<bool> seen(TimingChecker::kNumRules, false);
  for (const Case& k : planted_cases())
    for (const auto& e : k.expect)
      for (int r = 0; r < TimingChecker::kNumRules; ++r)
        if (TimingChecker::rule_name(TimingChecker::Rule(r)) == e) seen[r] = true;
  for (int r = 0; r < TimingChecker::kNumRules; ++r)
    EXPECT_TRUE(seen[r]) << "no planted case for "
                         << TimingChecker::rule_name(TimingChecker::Rule(r));
}

TEST(TimingChecker, MessageFormat) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  const TimingChecker chk = run_stream(
      cfg, {bank_cmd(1220, Cmd::ACT, 1, 0, 2, 3, 7), bank_cmd(1231, Cmd::RD, 1, 0, 2, 3, 7)});
  ASSERT_EQ(chk.messages().size(), 1u);
  EXPECT_EQ(
      chk.messages()[0],
      "tRCD_RD violated: RD at cycle 1231 ch0 pc1 sid0 bg2 ba3, ACT at 1220, needs >= 12 cycles");
  EXPECT_EQ(chk.violations(TimingChecker::Rule::kRCD_RD), 1u);
}

TEST(TimingChecker, ThrowOnFirst) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  TimingChecker chk(cfg, /*throw_on_first=*/true);
  chk.on_command(act(0, 0, 0));
  try {
    chk.on_command(rd(11, 0, 0));
    FAIL() << "no TimingViolation thrown";
  } catch (const TimingViolation& e) {
    EXPECT_TRUE(starts_with(e.what(), "tRCD_RD violated: RD at cycle 11")) << e.what();
  }
  EXPECT_EQ(chk.violations(), 1u);
  // Without throw_on_first the same stream only counts.
  TimingChecker quiet(cfg);
  quiet.on_command(act(0, 0, 0));
  EXPECT_NO_THROW(quiet.on_command(rd(11, 0, 0)));
  EXPECT_EQ(quiet.violations(), 1u);
}

TEST(TimingChecker, KeepsFirstHundredMessages) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  TimingChecker chk(cfg);
  for (uint64_t i = 0; i < 250; ++i) chk.on_command(rd(i * 100, 0, 0));  // bank never opened
  EXPECT_EQ(chk.violations(), 250u);
  EXPECT_EQ(chk.messages().size(), 100u);
}

// ---------------------------------------------------------------------------------------------
// Traffic through the real engine

struct RunResult {
  uint64_t commands = 0;
  uint64_t violations = 0;
  std::vector<std::string> messages;
  std::array<uint64_t, kNumCmds> per_cmd{};
  double seconds = 0;
  double checker_seconds = 0;
};

// Counts commands per kind, to show what a run exercised.
class CmdCounter : public CommandObserver {
 public:
  void on_command(const Command& c) override {
    ++n[idx(c.cmd)];
    pim_acts += c.cmd == Cmd::ACT && c.pim;
    partial_macabs += c.cmd == Cmd::MACAB && c.bank_mask != kAllBanks;
  }
  std::array<uint64_t, kNumCmds> n{};
  uint64_t pim_acts = 0, partial_macabs = 0;
};

// Address generator: uniform random, 32-byte aligned; with `locality` > 0, that share of the
// requests continue one of a few sequential streams instead.
class Addresses {
 public:
  Addresses(uint64_t capacity, double locality, uint64_t seed)
      : cap_units_(capacity / 32), locality_(locality), rng_(seed) {
    for (auto& s : streams_) s = (rng_() % cap_units_);
  }
  uint64_t next() {
    if (locality_ > 0 && u_(rng_) < locality_) {
      uint64_t& s = streams_[rng_() % streams_.size()];
      s = (s + 1) % cap_units_;
      if (u_(rng_) < 0.002) s = rng_() % cap_units_;  // jump now and then
      return s * 32;
    }
    return (rng_() % cap_units_) * 32;
  }
  bool coin(double p) { return u_(rng_) < p; }

 private:
  uint64_t cap_units_;
  double locality_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> u_{0.0, 1.0};
  std::array<uint64_t, 4> streams_{};
};

RunResult run_engine(const MemoryConfig& engine_cfg, const MemoryConfig& checker_cfg,
                     uint64_t min_commands, double write_share, double locality, uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  ChannelEngine eng(engine_cfg, 0);
  TimingChecker chk(checker_cfg);
  CmdCounter count;
  eng.add_observer(&chk);
  eng.add_observer(&count);
  Addresses gen(eng.mapper().capacity(), locality, seed);
  uint64_t tag = 0;
  while (chk.commands_checked() < min_commands) {
    const uint64_t addr = gen.next();
    const bool w = gen.coin(write_share);
    while (!eng.can_accept(addr, w)) eng.step();
    eng.enqueue({tag++, addr, w, nullptr});
  }
  eng.drain();
  RunResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.commands = chk.commands_checked();
  r.violations = chk.violations();
  r.messages = chk.messages();
  r.per_cmd = count.n;
  return r;
}

std::string summary(const RunResult& r) {
  std::string s = std::to_string(r.commands) + " commands in " + std::to_string(r.seconds) + " s:";
  for (int i = 0; i < kNumCmds; ++i)
    if (r.per_cmd[i]) s += " " + std::string(kCmdNames[i]) + "=" + std::to_string(r.per_cmd[i]);
  return s;
}

std::string first_messages(const RunResult& r, size_t n = 10) {
  std::string s;
  for (size_t i = 0; i < r.messages.size() && i < n; ++i) s += "  " + r.messages[i] + "\n";
  return s;
}

void expect_clean_run(const std::string& preset, const std::vector<std::string>& overrides,
                      uint64_t min_commands, double write_share, double locality, uint64_t seed) {
  const MemoryConfig cfg = load_memory_config(preset, overrides);
  const RunResult r = run_engine(cfg, cfg, min_commands, write_share, locality, seed);
  std::printf("[ checker  ] %s: %s\n", preset.c_str(), summary(r).c_str());
  EXPECT_GE(r.commands, min_commands);
  EXPECT_EQ(r.violations, 0u) << first_messages(r);
}

TEST(TimingCheckerEngine, RandomTrafficHbm2) {
  expect_clean_run("hbm2", {}, 1'000'000, 0.3, 0.0, 1);
}
TEST(TimingCheckerEngine, RandomTrafficHbm3) {
  expect_clean_run("hbm3", {}, 1'000'000, 0.3, 0.0, 2);
}
TEST(TimingCheckerEngine, RandomTrafficAttacc) {
  expect_clean_run("attacc-hbm3-pim", {}, 1'000'000, 0.3, 0.0, 3);
}
TEST(TimingCheckerEngine, LocalityMixHbm2) {
  expect_clean_run("hbm2", {}, 1'000'000, 0.3, 0.8, 4);
}
TEST(TimingCheckerEngine, LocalityMixHbm3) {
  expect_clean_run("hbm3", {}, 1'000'000, 0.3, 0.8, 5);
}
TEST(TimingCheckerEngine, LocalityMixAttacc) {
  expect_clean_run("attacc-hbm3-pim", {}, 500'000, 0.3, 0.8, 6);
}
// Other controller modes: per-bank refresh (REFPB), closed page, two SIDs on hbm3.
TEST(TimingCheckerEngine, PerBankRefresh) {
  expect_clean_run("hbm2", {"controller.refresh=per_bank"}, 400'000, 0.3, 0.5, 7);
  expect_clean_run("attacc-hbm3-pim", {"controller.refresh=per_bank"}, 400'000, 0.3, 0.5, 8);
}
TEST(TimingCheckerEngine, ClosedPage) {
  expect_clean_run("hbm3", {"controller.page_policy=closed"}, 400'000, 0.3, 0.5, 9);
}
TEST(TimingCheckerEngine, TwoSidsHbm3) {
  expect_clean_run("hbm3", {"organization.sids=2"}, 400'000, 0.3, 0.5, 10);
}
TEST(TimingCheckerEngine, WriteHeavy) {
  expect_clean_run("hbm2", {}, 400'000, 0.7, 0.5, 11);
}

// One checker observing two channels (one engine each): its state is kept per channel.
TEST(TimingCheckerEngine, TwoChannelsOneChecker) {
  const MemoryConfig cfg = load_memory_config("hbm3", {"organization.channels=2"});
  ChannelEngine e0(cfg, 0), e1(cfg, 1);
  TimingChecker chk(cfg);
  e0.add_observer(&chk);
  e1.add_observer(&chk);
  Addresses gen(e0.mapper().capacity(), 0.3, 31);
  uint64_t tag = 0;
  while (chk.commands_checked() < 300'000) {
    const uint64_t addr = gen.next();
    const bool w = gen.coin(0.3);
    ChannelEngine& e = e0.mapper().decode(addr).channel == 0 ? e0 : e1;
    while (!e.can_accept(addr, w)) e.step();
    e.enqueue({tag++, addr, w, nullptr});
  }
  e0.drain();
  e1.drain();
  std::printf("[ checker  ] hbm3 x2 channels: %llu commands\n",
              (unsigned long long)chk.commands_checked());
  std::string msgs;
  for (size_t i = 0; i < chk.messages().size() && i < 10; ++i)
    msgs += "  " + chk.messages()[i] + "\n";
  EXPECT_EQ(chk.violations(), 0u) << msgs;
}

// Mutations: the engine runs with a relaxed timing, the checker keeps the true one.
void expect_mutation_caught(const std::string& preset, const std::string& mutation,
                            TimingChecker::Rule rule, double locality) {
  const MemoryConfig truth = load_memory_config(preset);
  const MemoryConfig mutated = load_memory_config(preset, {mutation});
  ChannelEngine eng(mutated, 0);
  TimingChecker chk(truth);
  eng.add_observer(&chk);
  Addresses gen(eng.mapper().capacity(), locality, 99);
  uint64_t tag = 0;
  while (chk.commands_checked() < 200'000) {
    const uint64_t addr = gen.next();
    const bool w = gen.coin(0.3);
    while (!eng.can_accept(addr, w)) eng.step();
    eng.enqueue({tag++, addr, w, nullptr});
  }
  eng.drain();
  std::printf("[ checker  ] %s with %s: %llu violations, %llu of %s, of %llu commands\n",
              preset.c_str(), mutation.c_str(), (unsigned long long)chk.violations(),
              (unsigned long long)chk.violations(rule),
              std::string(TimingChecker::rule_name(rule)).c_str(),
              (unsigned long long)chk.commands_checked());
  EXPECT_GT(chk.violations(rule), 0u);
  ASSERT_FALSE(chk.messages().empty());
  std::printf("[ checker  ]   first: %s\n", chk.messages()[0].c_str());
}

TEST(TimingCheckerMutation, RcdRdReduced) {
  expect_mutation_caught("hbm2", "timing.RCD_RD=10", TimingChecker::Rule::kRCD_RD, 0.0);
}
TEST(TimingCheckerMutation, ActBusOneCycle) {
  expect_mutation_caught("hbm2", "timing.ACT_BUS=1", TimingChecker::Rule::kRowBus, 0.0);
}
TEST(TimingCheckerMutation, FawReduced) {
  expect_mutation_caught("hbm3", "timing.FAW=16", TimingChecker::Rule::kFAW, 0.0);
}
TEST(TimingCheckerMutation, WtrReduced) {
  expect_mutation_caught("hbm2", "timing.WTR_L=5", TimingChecker::Rule::kWTR_L, 0.8);
}

// ---------------------------------------------------------------------------------------------
// PIM operations through the engine, mixed with normal reads and writes.

// Runs in a child process with a watchdog, so that an engine that stops making progress fails
// the test instead of hanging the binary. Returns an empty string on success.
// With use_run_until the engine advances by run_until(now + random) between rounds (as the TLM
// wrapper drives it); otherwise by a random number of step() calls.
// With row_groups every fifth op is a kMacRowGroups op: 1-3 rounds, each activating a random
// subset of the scope's slices at random rows.
std::string pim_mix(const std::string& preset, uint64_t seed, int rounds, bool use_run_until,
                    bool row_groups = false) {
  const auto t0 = std::chrono::steady_clock::now();
  const MemoryConfig cfg = load_memory_config(preset);
  ChannelEngine eng(cfg, 0);
  TimingChecker chk(cfg);
  CmdCounter count;
  eng.add_observer(&chk);
  eng.add_observer(&count);
  Addresses gen(eng.mapper().capacity(), 0.5, seed);
  std::mt19937 rng(uint32_t(seed) + 1);
  uint64_t tag = 0;
  for (int round = 0; round < rounds; ++round) {
    const int normal = int(rng() % 200);
    for (int i = 0; i < normal; ++i) {
      const uint64_t addr = gen.next();
      const bool w = gen.coin(0.3);
      while (!eng.can_accept(addr, w)) eng.step();
      eng.enqueue({tag++, addr, w, nullptr});
    }
    PimOp op;
    op.tag = tag++;
    op.pc = rng() % cfg.org.pseudo_channels;
    switch (round % (row_groups ? 5 : 4)) {
      case 0:
        op.kind = PimOp::Kind::kWriteBuffer;
        op.columns = 1 + rng() % 16;
        break;
      case 1:
        op.kind = PimOp::Kind::kMacRows;
        op.row_first = rng() % (cfg.org.rows - 8);
        op.row_count = 1 + rng() % 4;
        op.columns = 1 + rng() % cfg.org.columns;
        break;
      case 2:
        op.kind = PimOp::Kind::kMoveToBufferDie;
        op.columns = 1 + rng() % 16;
        break;
      case 3:
        op.kind = PimOp::Kind::kMoveToBanks;
        op.columns = 1 + rng() % 16;
        break;
      default: {
        op.kind = PimOp::Kind::kMacRowGroups;
        op.columns = 1 + rng() % cfg.org.columns;
        op.column_first = rng() % (cfg.org.columns - op.columns + 1);
        const bool whole = cfg.pim.scope == PimScope::kChannel;
        const uint32_t pcs = whole ? cfg.org.pseudo_channels : 1;
        const uint32_t slices = pcs * cfg.org.sids * cfg.org.bank_groups;
        std::vector<std::vector<SliceRow>> rr(1 + rng() % 3);
        for (auto& r : rr) {
          const uint32_t want = 1 + rng() % slices;
          for (uint32_t s = 0; s < slices; ++s)
            if (rng() % slices < want) {
              const uint32_t pc = whole ? s / (cfg.org.sids * cfg.org.bank_groups) : op.pc;
              r.push_back({pc, (s / cfg.org.bank_groups) % cfg.org.sids, s % cfg.org.bank_groups,
                           uint32_t(rng() % cfg.org.rows)});
            }
          if (r.empty()) r.push_back({whole ? 0 : op.pc, 0, 0, uint32_t(rng() % cfg.org.rows)});
        }
        op.rounds = make_mac_rounds(rr);
        break;
      }
    }
    eng.enqueue_pim(op);
    // Let part of the work run before the next round arrives.
    if (use_run_until) {
      eng.run_until(eng.now() + rng() % 400);
    } else {
      for (uint32_t k = rng() % 100; k > 0 && eng.step(); --k) {
      }
    }
  }
  eng.drain();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ checker  ] %s PIM mix (%s): %llu commands in %.3f s:", preset.c_str(),
              use_run_until ? "run_until" : "step", (unsigned long long)chk.commands_checked(), s);
  for (int i = 0; i < kNumCmds; ++i)
    if (count.n[i])
      std::printf(" %s=%llu", std::string(kCmdNames[i]).c_str(), (unsigned long long)count.n[i]);
  if (row_groups)
    std::printf(" (PIM-round ACTs %llu, MACABs on part of the scope %llu)",
                (unsigned long long)count.pim_acts, (unsigned long long)count.partial_macabs);
  std::printf("\n");
  std::string err;
  for (Cmd c :
       {Cmd::ACTAB, Cmd::MACAB, Cmd::PREA, Cmd::WRGB, Cmd::MVSB, Cmd::MVGB, Cmd::RD, Cmd::WR})
    if (count.n[idx(c)] == 0) err += "no " + std::string(cmd_name(c)) + " issued\n";
  if (row_groups && count.pim_acts == 0) err += "no single-bank ACT of a PIM round issued\n";
  if (row_groups && count.partial_macabs == 0) err += "no MACAB on part of the scope issued\n";
  if (chk.violations()) {
    err += std::to_string(chk.violations()) + " violations (";
    for (int r = 0; r < TimingChecker::kNumRules; ++r)
      if (const uint64_t n = chk.violations(TimingChecker::Rule(r)))
        err += " " + std::string(TimingChecker::rule_name(TimingChecker::Rule(r))) + "=" +
               std::to_string(n);
    err += " ), first ones:\n";
    for (size_t i = 0; i < chk.messages().size() && i < 10; ++i)
      err += "  " + chk.messages()[i] + "\n";
  }
  return err;
}

// KNOWN ENGINE BUG (found by these tests; the checker follows the rule list): the engine lets an
// MVGB (data at cycle+CWL) follow an RD or MVSB (data at cycle+CL) of the same pseudo-channel
// after only tCCD, so the two bursts overlap on the data bus (DATA_BUS); its read-to-write
// turnaround covers WR and WRGB but not MVGB. The PimOps* tests fail until that is fixed.
// The *RunUntil variants also guard against run_until() not returning once the engine falls
// idle with a refresh due before the limit (seen on an in-progress engine version).
TEST(TimingCheckerEngine, PimOpsAttacc) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(10);  // watchdog: an engine that stops making progress fails the test (SIGALRM)
    return pim_mix("attacc-hbm3-pim", 12, 2000, false);
  }));
}
TEST(TimingCheckerEngine, PimOpsAttaccRunUntil) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(10);
    return pim_mix("attacc-hbm3-pim", 13, 2000, true);
  }));
}
// Pseudo-channel PIM scope (all-bank commands reach one pseudo-channel).
TEST(TimingCheckerEngine, PimOpsAquabolt) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(10);
    return pim_mix("aquabolt-hbm2-pim", 14, 2000, false);
  }));
}
TEST(TimingCheckerEngine, PimOpsAquaboltRunUntil) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(10);
    return pim_mix("aquabolt-hbm2-pim", 15, 2000, true);
  }));
}

// Mutations inside per-slice rounds: the engine runs kMacRowGroups ops (every slice, random
// rows) with a relaxed tFAW or tRCD_RD, the checker keeps the true device.
void expect_row_group_mutation_caught(const std::string& mutation, TimingChecker::Rule rule) {
  const MemoryConfig truth = load_memory_config("attacc-hbm3-pim");
  const MemoryConfig mutated = load_memory_config("attacc-hbm3-pim", {mutation});
  ChannelEngine eng(mutated, 0);
  TimingChecker chk(truth);
  eng.add_observer(&chk);
  std::mt19937 rng(5);
  for (int op_index = 0; op_index < 20; ++op_index) {
    std::vector<std::vector<SliceRow>> rr(2);
    for (auto& r : rr)
      for (uint32_t s = 0; s < 16; ++s)
        r.push_back({s / 8, (s / 4) % 2, s % 4, uint32_t(rng() % 16384)});
    PimOp op;
    op.kind = PimOp::Kind::kMacRowGroups;
    op.columns = 4;
    op.rounds = make_mac_rounds(rr);
    eng.enqueue_pim(op);
  }
  eng.drain();
  std::printf("[ checker  ] row groups with %s: %llu violations, %llu of %s, of %llu commands\n",
              mutation.c_str(), (unsigned long long)chk.violations(),
              (unsigned long long)chk.violations(rule),
              std::string(TimingChecker::rule_name(rule)).c_str(),
              (unsigned long long)chk.commands_checked());
  EXPECT_GT(chk.violations(rule), 0u);
  ASSERT_FALSE(chk.messages().empty());
  std::printf("[ checker  ]   first: %s\n", chk.messages()[0].c_str());
}
TEST(TimingCheckerMutation, RowGroupsFawReduced) {
  expect_row_group_mutation_caught("timing.FAW=20", TimingChecker::Rule::kFAW);
}
TEST(TimingCheckerMutation, RowGroupsRcdRdReduced) {
  expect_row_group_mutation_caught("timing.RCD_RD=15", TimingChecker::Rule::kRCD_RD);
}

// The same mixes with per-slice MAC rounds (kMacRowGroups) as every fifth op: 3,000 ops each.
TEST(TimingCheckerEngine, PimRowGroupsAttacc) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(30);
    return pim_mix("attacc-hbm3-pim", 16, 3000, false, true);
  }));
}
TEST(TimingCheckerEngine, PimRowGroupsAttaccRunUntil) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(30);
    return pim_mix("attacc-hbm3-pim", 17, 3000, true, true);
  }));
}
TEST(TimingCheckerEngine, PimRowGroupsAquabolt) {
  EXPECT_TRUE(sparsepim::testing::run_in_child([] {
    alarm(30);
    return pim_mix("aquabolt-hbm2-pim", 18, 3000, false, true);
  }));
}

// Checker throughput on a recorded stream (no engine in the loop).
TEST(TimingCheckerEngine, CheckerThroughput) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  std::vector<Command> rec;
  rec.reserve(1'100'000);
  class Recorder : public CommandObserver {
   public:
    explicit Recorder(std::vector<Command>& v) : v_(v) {}
    void on_command(const Command& c) override { v_.push_back(c); }
    std::vector<Command>& v_;
  } recorder(rec);
  ChannelEngine eng(cfg, 0);
  eng.add_observer(&recorder);
  Addresses gen(eng.mapper().capacity(), 0.5, 21);
  uint64_t tag = 0;
  while (rec.size() < 1'000'000) {
    const uint64_t addr = gen.next();
    const bool w = gen.coin(0.3);
    while (!eng.can_accept(addr, w)) eng.step();
    eng.enqueue({tag++, addr, w, nullptr});
  }
  eng.drain();
  TimingChecker chk(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& c : rec) chk.on_command(c);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rate = double(rec.size()) / s;
  std::printf("[ checker  ] %zu commands checked in %.3f s = %.1f M commands/s\n", rec.size(), s,
              rate / 1e6);
  EXPECT_EQ(chk.violations(), 0u);
  EXPECT_GT(rate, 2e6);
}

}  // namespace
}  // namespace sparsepim::hbm
