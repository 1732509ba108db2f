#include "hbm/timing_rules.h"

#include <algorithm>

namespace sparsepim::hbm {

uint32_t effective_read_to_write(const Timing& t) {
  const int64_t bus = int64_t(t.CL) + t.BL + 2 - int64_t(t.CWL);
  return uint32_t(std::max<int64_t>(t.RTW, bus));
}

std::vector<TimingRule> hbm_timing_rules(const Timing& t) {
  using C = Cmd;
  using L = Level;
  const std::vector<Cmd> kRowCmds = {C::ACT, C::PRE, C::PREA, C::REF, C::REFPB, C::ACTAB};
  const std::vector<Cmd> kColCmds = {C::RD, C::WR, C::MACAB, C::WRGB, C::MVSB, C::MVGB};
  // Commands that move a burst over a pseudo-channel's data path (host <-> banks or buffer die
  // <-> banks); MACAB stays inside the banks.
  const std::vector<Cmd> kDataCmds = {C::RD, C::WR, C::WRGB, C::MVSB, C::MVGB};
  const std::vector<Cmd> kActs = {C::ACT, C::ACTAB};
  const std::vector<Cmd> kPres = {C::PRE, C::PREA};
  const std::vector<Cmd> kWrites = {C::WR, C::WRGB};
  // Bursts that drive the data path in the write direction (data CWL after the command).
  const std::vector<Cmd> kWriteDirection = {C::WR, C::WRGB, C::MVGB};
  const uint32_t write_to_pre = t.CWL + t.BL + t.WR;

  return {
      // ---- row-command bus, shared by the pseudo-channels of a channel (JESD235/238) ----
      {"ACT on row bus", L::kChannel, kActs, kRowCmds, t.ACT_BUS},
      {"row cmd on row bus", L::kChannel, {C::PRE, C::PREA, C::REF, C::REFPB}, kRowCmds, 1},

      // ---- pseudo-channel: column-command bus and data bus ----
      {"column cmd bus", L::kPseudoChannel, kColCmds, kColCmds, 1},
      {"data bus burst", L::kPseudoChannel, kDataCmds, kDataCmds, t.BL},
      {"tRTW", L::kPseudoChannel, {C::RD, C::MVSB}, kWriteDirection, effective_read_to_write(t)},
      {"tCCD_R", L::kSid, kDataCmds, kDataCmds, t.CCD_R, /*other_siblings=*/true},
      {"tRFC (REF to REF)", L::kPseudoChannel, {C::REF}, {C::REF}, t.RFC},

      // ---- SID (rank): different bank groups ----
      {"tRRD_S", L::kSid, kActs, kActs, t.RRD_S},
      // Every single-bank ACT counts, those of per-slice PIM rounds included; ACTAB is AttAcc's
      // power-limited all-bank activation and does not.
      {"tFAW", L::kSid, {C::ACT}, {C::ACT}, t.FAW, false, 4},
      {"tCCD_S", L::kSid, kDataCmds, kDataCmds, t.CCD_S},
      {"tWTR_S", L::kSid, kWrites, {C::RD}, t.CWL + t.BL + t.WTR_S},
      {"tRREFD (REFPB to REFPB)", L::kSid, {C::REFPB}, {C::REFPB}, t.RREFD},
      {"tRREFD (REFPB to ACT)", L::kSid, {C::REFPB}, {C::ACT}, t.RREFD},
      {"tRRD_S (ACT to REFPB)", L::kSid, {C::ACT}, {C::REFPB}, t.RRD_S},

      // ---- bank group ----
      {"tRRD_L", L::kBankGroup, kActs, kActs, t.RRD_L},
      {"tCCD_L", L::kBankGroup, kDataCmds, kDataCmds, t.CCD_L},
      {"tWTR_L", L::kBankGroup, kWrites, {C::RD}, t.CWL + t.BL + t.WTR_L},

      // ---- bank (all-bank commands apply these to every bank of their scope) ----
      // A MACAB computes in the banks of its scope that have an open row: every bank after an
      // ACTAB, the activated slices' banks after the single-bank ACTs of a per-slice round
      // (PimOp::kMacRowGroups). Either way it waits tRCD_RD after the ACT/ACTAB of each of them;
      // the engine asks for the latest over the whole scope (a bank left closed this round was
      // last activated before the previous PREA, > tRAS > tRCD_RD back). That at least one bank
      // is open is the engine's state, not a timing rule; the timing checker checks both.
      {"tRCD_RD", L::kBank, kActs, {C::RD, C::MACAB}, t.RCD_RD},
      {"tRCD_WR", L::kBank, kActs, {C::WR}, t.RCD_WR},
      {"tRAS", L::kBank, kActs, kPres, t.RAS},
      {"tRC", L::kBank, kActs, {C::ACT, C::ACTAB, C::REFPB}, t.RC},
      {"tRC (ACT to REF)", L::kBank, kActs, {C::REF}, t.RC},
      {"tRP", L::kBank, kPres, {C::ACT, C::ACTAB, C::REF, C::REFPB}, t.RP},
      {"tRTP", L::kBank, {C::RD, C::MACAB}, kPres, t.RTP_L},
      {"tWR", L::kBank, {C::WR}, kPres, write_to_pre},
      {"tRFC", L::kBank, {C::REF}, {C::ACT, C::ACTAB, C::REFPB, C::REF}, t.RFC},
      {"tRFC_PB", L::kBank, {C::REFPB}, {C::ACT, C::ACTAB, C::REFPB, C::REF}, t.RFC_PB},
      // All-bank MAC: one MACAB every nCCDAB on every bank of the scope; a MACAB and a normal
      // column access to the same bank share its column path.
      {"tCCDAB", L::kBank, {C::MACAB}, {C::MACAB}, t.CCDAB},
      {"MACAB vs RD/WR (bank column path)", L::kBank, {C::MACAB}, {C::RD, C::WR}, t.CCD_L},
      {"RD/WR vs MACAB (bank column path)", L::kBank, {C::RD, C::WR}, {C::MACAB}, t.CCD_L},
  };
}

}  // namespace sparsepim::hbm
