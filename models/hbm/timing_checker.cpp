// The independent timing checker. Every rule of DESIGN.md 2.2 (and the refinements of the PIM
// and refresh commands) is written out below as an explicit check against the history of earlier
// commands, one `gap` or state test per rule, in the order of a JEDEC rule list:
//
//   buses     ROW_BUS, COL_BUS, DATA_BUS, tRTW
//   bank      state (ACT to a closed bank, RD/WR/MACAB to the open row), tRCD_RD, tRCD_WR, tRAS,
//             tRC, tRP, tRTP, tWR
//   group     tRRD_L, tCCD_L, tWTR_L
//   SID       tRRD_S, tFAW, tCCD_S, tWTR_S
//   pc        tCCD_R (other SID)
//   PIM       ACTAB with every bank closed; MACAB: it computes in the banks of its bank mask
//             (after an ACTAB: all of its scope or the enabled subset; in a per-slice round: the
//             banks of the slices the round activated, which must be exactly the banks of the
//             scope with an open row), at least one, each with a row open; a bank opened
//             by ACTAB holds the MACAB's row, and so does the lowest participating bank; tRCD_RD
//             after the ACT/ACTAB of every participating bank; tCCDAB
//             (ACTAB/MACAB/PREA otherwise obey the bank rules on every bank they reach; the
//             single-bank ACTs of a per-slice round are ordinary ACTs: tRRD, tFAW, row bus ...)
//   refresh   banks closed, tRP/tRC before REF/REFPB, tRFC, tRFC_PB, tRREFD
//
// Nothing here is shared with the engine's rule table (timing_rules.h / timing_state.h).
#include "hbm/timing_checker.h"

#include <algorithm>
#include <sstream>

namespace sparsepim::hbm {

namespace {
constexpr std::array<std::string_view, TimingChecker::kNumRules> kRuleNames = {
    "ORDER",
    "ADDRESS",
    "ROW_BUS",
    "COL_BUS",
    "DATA_BUS",
    "tRTW",
    "ACT_TO_OPEN_BANK",
    "COL_TO_CLOSED_BANK",
    "ROW_MISMATCH",
    "ACTAB_WITH_OPEN_BANK",
    "REF_WITH_OPEN_BANK",
    "tRCD_RD",
    "tRCD_WR",
    "tRAS",
    "tRC",
    "tRP",
    "tRTP",
    "tWR",
    "tRRD_L",
    "tRRD_S",
    "tFAW",
    "tCCD_L",
    "tCCD_S",
    "tCCD_R",
    "tWTR_L",
    "tWTR_S",
    "tCCDAB",
    "tRFC",
    "tRFC_PB",
    "tRREFD",
    "MACAB_BANKS"};

bool is_read_direction(Cmd c) {
  return c == Cmd::RD || c == Cmd::MVSB;
}
bool is_write_direction(Cmd c) {
  return c == Cmd::WR || c == Cmd::WRGB;
}
}  // namespace

std::string_view TimingChecker::rule_name(Rule r) {
  return kRuleNames[static_cast<int>(r)];
}

TimingChecker::TimingChecker(const MemoryConfig& cfg, bool throw_on_first)
    : org_(cfg.org),
      t_(cfg.timing),
      banks_per_pc_(cfg.org.banks_per_pc()),
      throw_on_first_(throw_on_first) {
  const int64_t cl = t_.CL, cwl = t_.CWL, bl = t_.BL;
  rtw_eff_ = std::max<int64_t>(t_.RTW, cl + bl + 2 - cwl);
  wr_to_pre_ = cwl + bl + t_.WR;
  wtr_l_ = cwl + bl + t_.WTR_L;
  wtr_s_ = cwl + bl + t_.WTR_S;
  channels_.resize(org_.channels);
  for (auto& ch : channels_) {
    ch.pcs.resize(org_.pseudo_channels);
    ch.sids.resize(size_t(org_.pseudo_channels) * org_.sids);
    ch.groups.resize(size_t(org_.pseudo_channels) * org_.sids * org_.bank_groups);
    ch.banks.resize(size_t(org_.pseudo_channels) * banks_per_pc_);
  }
  messages_.reserve(kMaxMessages);
}

// ---------------------------------------------------------------------------------------------
// Reporting (only on the violation path: allocation is fine here)

std::string TimingChecker::describe(const Command& c) const {
  std::ostringstream s;
  s << cmd_name(c.cmd) << " at cycle " << c.cycle << " ch" << c.channel;
  if (c.cmd == Cmd::MACAB && c.bank_mask != ~uint64_t(0)) {
    if (c.scope_channel)
      s << " (banks 0x" << std::hex << c.bank_mask << std::dec << " of the channel)";
    else
      s << " pc" << unsigned(c.pc) << " (banks 0x" << std::hex << c.bank_mask << std::dec << ")";
  } else if (is_all_bank(c.cmd)) {
    if (c.scope_channel)
      s << " (all banks of the channel)";
    else
      s << " pc" << unsigned(c.pc) << " (all banks)";
  } else {
    s << " pc" << unsigned(c.pc) << " sid" << unsigned(c.sid) << " bg" << unsigned(c.bg) << " ba"
      << unsigned(c.bank);
  }
  return s.str();
}

std::string TimingChecker::describe_bank(uint32_t pc, int32_t b) const {
  if (b < 0) return {};
  const uint32_t B = org_.banks_per_group, G = org_.bank_groups;
  std::ostringstream s;
  s << "pc" << pc << " sid" << uint32_t(b) / (B * G) << " bg" << (uint32_t(b) / B) % G << " ba"
    << uint32_t(b) % B;
  return s.str();
}

void TimingChecker::report(Rule r, std::string msg) {
  ++violations_;
  ++per_rule_[static_cast<int>(r)];
  if (messages_.size() < kMaxMessages) messages_.push_back(msg);
  if (throw_on_first_) throw TimingViolation(msg);
}

void TimingChecker::gap(Rule r, const Command& c, const Prior& p, int64_t need) {
  if (int64_t(c.cycle) >= p.cycle + need) return;
  std::ostringstream s;
  s << rule_name(r) << " violated: " << describe(c) << ", " << cmd_name(p.cmd) << " at " << p.cycle;
  if (p.bank >= 0) s << " (" << describe_bank(p.pc, p.bank) << ")";
  s << ", needs >= " << need << " cycles";
  report(r, s.str());
}

void TimingChecker::state_violation(Rule r, const Command& c, const std::string& detail) {
  report(r, std::string(rule_name(r)) + " violated: " + describe(c) + ", " + detail);
}

bool TimingChecker::valid_address(const Command& c) {
  std::string why;
  if (c.channel >= org_.channels)
    why = "channel out of range";
  else if (int(c.cmd) >= kNumCmds)
    why = "unknown command";
  else if (!(is_all_bank(c.cmd) && c.scope_channel) && c.pc >= org_.pseudo_channels)
    why = "pseudo-channel out of range";
  else if (c.sid >= org_.sids || c.bg >= org_.bank_groups || c.bank >= org_.banks_per_group)
    why = "sid / bank group / bank out of range";
  if (why.empty()) return true;
  state_violation(Rule::kAddress, c, why);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Buses

void TimingChecker::check_row_bus(ChannelHist& ch, const Command& c) {
  const int64_t t = int64_t(c.cycle);
  // The row-command bus is shared by every pseudo-channel of the channel; the earlier command
  // holds it until row_bus_free.
  gap(Rule::kRowBus, c, {ch.row_bus_cmd_cycle, ch.row_bus_cmd, -1, 0},
      ch.row_bus_free - ch.row_bus_cmd_cycle);
  const int64_t hold = (c.cmd == Cmd::ACT || c.cmd == Cmd::ACTAB) ? int64_t(t_.ACT_BUS) : 1;
  if (t + hold >= ch.row_bus_free) {
    ch.row_bus_free = t + hold;
    ch.row_bus_cmd_cycle = t;
    ch.row_bus_cmd = c.cmd;
  }
}

void TimingChecker::check_col_bus(ChannelHist& ch, const Command& c, uint32_t pc_lo,
                                  uint32_t pc_hi) {
  // One column command per cycle on each pseudo-channel's column bus.
  Prior last;
  for (uint32_t p = pc_lo; p < pc_hi; ++p)
    if (ch.pcs[p].col > last.cycle) last = {ch.pcs[p].col, ch.pcs[p].col_cmd, -1, p};
  gap(Rule::kColBus, c, last, 1);
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    ch.pcs[p].col = int64_t(c.cycle);
    ch.pcs[p].col_cmd = c.cmd;
  }
}

void TimingChecker::check_data_bus(PcHist& p, const Command& c, uint32_t pc) {
  const int64_t t = int64_t(c.cycle);
  const int64_t bl = t_.BL;
  const int64_t lat = is_read_direction(c.cmd) ? int64_t(t_.CL) : int64_t(t_.CWL);
  const int64_t start = t + lat;
  const int64_t max_lat = std::max(t_.CL, t_.CWL), min_lat = std::min(t_.CL, t_.CWL);
  // Newest first; bursts issued so long ago that they end before any burst of this command's
  // cycle could start are past, and so is everything older.
  for (uint32_t k = 0; k < p.burst_count; ++k) {
    const Burst& b = p.bursts[(p.burst_pos + kBurstRing - 1 - k) % kBurstRing];
    if (b.issue + max_lat + bl <= t + min_lat) break;
    if (b.start < start + bl && start < b.start + bl) {
      std::ostringstream s;
      s << rule_name(Rule::kDataBus) << " violated: " << describe(c) << ", data [" << start << ","
        << start + bl << ") overlaps " << cmd_name(b.cmd) << " at " << b.issue << " (pc" << pc
        << ") data [" << b.start << "," << b.start + bl << ")";
      report(Rule::kDataBus, s.str());
      break;
    }
  }
  p.bursts[p.burst_pos] = {t, start, c.cmd};
  p.burst_pos = (p.burst_pos + 1) % kBurstRing;
  p.burst_count = std::min(p.burst_count + 1, kBurstRing);

  // Read-to-write turnaround: the effective RTW the bus needs (preamble and postamble included).
  if (is_write_direction(c.cmd)) gap(Rule::kRTW, c, {p.rd_dir, p.rd_dir_cmd, -1, pc}, rtw_eff_);
  if (is_read_direction(c.cmd)) {
    p.rd_dir = t;
    p.rd_dir_cmd = c.cmd;
  }
}

// ---------------------------------------------------------------------------------------------
// Data column commands: bank group, SID and pseudo-channel spacing

void TimingChecker::check_data_column(ChannelHist& ch, const Command& c) {
  const uint32_t pc = c.pc, sid = c.sid, bg = c.bg;
  const GroupHist& g = group(ch, pc, sid, bg);
  // Same bank group: tCCD_L between any two data column commands; WR -> RD: CWL+BL+tWTR_L.
  gap(Rule::kCCD_L, c, {g.data, g.data_cmd, -1, pc}, t_.CCD_L);
  if (c.cmd == Cmd::RD) gap(Rule::kWTR_L, c, {g.wr, Cmd::WR, -1, pc}, wtr_l_);
  // Same SID, other bank groups: tCCD_S; WR -> RD: CWL+BL+tWTR_S.
  Prior data_s, wr_s, data_r;
  for (uint32_t s = 0; s < org_.sids; ++s) {
    for (uint32_t gg = 0; gg < org_.bank_groups; ++gg) {
      if (s == sid && gg == bg) continue;
      const GroupHist& o = group(ch, pc, s, gg);
      Prior& d = s == sid ? data_s : data_r;
      if (o.data > d.cycle) d = {o.data, o.data_cmd, -1, pc};
      if (s == sid && o.wr > wr_s.cycle) wr_s = {o.wr, Cmd::WR, -1, pc};
    }
  }
  gap(Rule::kCCD_S, c, data_s, t_.CCD_S);
  if (c.cmd == Cmd::RD) gap(Rule::kWTR_S, c, wr_s, wtr_s_);
  // Other SIDs of the pseudo-channel: tCCD_R.
  gap(Rule::kCCD_R, c, data_r, t_.CCD_R);
}

void TimingChecker::record_data_column(ChannelHist& ch, const Command& c) {
  GroupHist& g = group(ch, c.pc, c.sid, c.bg);
  g.data = int64_t(c.cycle);
  g.data_cmd = c.cmd;
  if (c.cmd == Cmd::WR) g.wr = int64_t(c.cycle);
}

// ---------------------------------------------------------------------------------------------
// Single-bank commands

void TimingChecker::on_act(ChannelHist& ch, const Command& c, uint32_t b) {
  const uint32_t pc = c.pc;
  const int64_t t = int64_t(c.cycle);
  BankHist& k = bank(ch, pc, b);
  GroupHist& g = group(ch, pc, c.sid, c.bg);
  SidHist& s = sid_hist(ch, pc, c.sid);
  const PcHist& p = ch.pcs[pc];

  if (k.open) state_violation(Rule::kActOpenBank, c, "row " + std::to_string(k.row) + " is open");
  gap(Rule::kRC, c, {k.act, k.act_cmd, -1, pc}, t_.RC);             // ACT -> ACT same bank
  gap(Rule::kRP, c, {k.pre, k.pre_cmd, -1, pc}, t_.RP);             // PRE -> ACT
  gap(Rule::kRFC, c, {p.ref, Cmd::REF, -1, pc}, t_.RFC);            // REF -> ACT, pseudo-channel
  gap(Rule::kRFC_PB, c, {k.refpb, Cmd::REFPB, -1, pc}, t_.RFC_PB);  // REFPB -> ACT same bank
  if (s.refpb_bank != b)                                            // REFPB -> ACT other bank, SID
    gap(Rule::kRREFD, c, {s.refpb, Cmd::REFPB, int32_t(s.refpb_bank), pc}, t_.RREFD);
  gap(Rule::kRRD_L, c, {g.act, Cmd::ACT, -1, pc}, t_.RRD_L);  // ACT -> ACT same bank group
  Prior other;                                                // ACT -> ACT other bank group
  for (uint32_t gg = 0; gg < org_.bank_groups; ++gg) {
    if (gg == c.bg) continue;
    const GroupHist& o = group(ch, pc, c.sid, gg);
    if (o.act > other.cycle) other = {o.act, Cmd::ACT, -1, pc};
  }
  gap(Rule::kRRD_S, c, other, t_.RRD_S);
  // Four-activate window: the fifth ACT of a SID waits FAW after the first of the last four.
  gap(Rule::kFAW, c, {s.faw[s.faw_pos], Cmd::ACT, -1, pc}, t_.FAW);

  k.open = true;
  k.row = c.row;
  k.act = t;
  k.act_cmd = Cmd::ACT;
  g.act = t;
  s.faw[s.faw_pos] = t;
  s.faw_pos = (s.faw_pos + 1) % 4;
}

void TimingChecker::on_pre(ChannelHist& ch, const Command& c, uint32_t b) {
  BankHist& k = bank(ch, c.pc, b);
  if (!k.open) return;  // precharging a closed bank is a no-op
  gap(Rule::kRAS, c, {k.act, k.act_cmd, -1, c.pc}, t_.RAS);
  gap(Rule::kRTP, c, {k.rd, k.rd_cmd, -1, c.pc}, t_.RTP_L);
  gap(Rule::kWR, c, {k.wr, Cmd::WR, -1, c.pc}, wr_to_pre_);
  k.open = false;
  k.pre = int64_t(c.cycle);
  k.pre_cmd = Cmd::PRE;
}

void TimingChecker::on_rd_wr(ChannelHist& ch, const Command& c, uint32_t b) {
  BankHist& k = bank(ch, c.pc, b);
  const bool rd = c.cmd == Cmd::RD;
  if (!k.open)
    state_violation(Rule::kColClosedBank, c, "bank is closed");
  else if (k.row != c.row)
    state_violation(
        Rule::kRowMismatch, c,
        "row " + std::to_string(c.row) + " requested, row " + std::to_string(k.row) + " open");
  gap(rd ? Rule::kRCD_RD : Rule::kRCD_WR, c, {k.act, k.act_cmd, -1, c.pc},
      rd ? t_.RCD_RD : t_.RCD_WR);
  check_data_column(ch, c);
  check_data_bus(ch.pcs[c.pc], c, c.pc);
  record_data_column(ch, c);
  if (rd) {
    k.rd = int64_t(c.cycle);
    k.rd_cmd = Cmd::RD;
  } else {
    k.wr = int64_t(c.cycle);
  }
}

void TimingChecker::on_buffer_burst(ChannelHist& ch, const Command& c) {
  // WRGB / MVSB / MVGB: a burst over the pseudo-channel's data path, spaced like any data column
  // command of its bank group; it does not touch the bank's row.
  check_data_column(ch, c);
  check_data_bus(ch.pcs[c.pc], c, c.pc);
  record_data_column(ch, c);
}

void TimingChecker::on_refpb(ChannelHist& ch, const Command& c, uint32_t b) {
  const uint32_t pc = c.pc;
  BankHist& k = bank(ch, pc, b);
  SidHist& s = sid_hist(ch, pc, c.sid);
  if (k.open) state_violation(Rule::kRefOpenBank, c, "row " + std::to_string(k.row) + " is open");
  gap(Rule::kRP, c, {k.pre, k.pre_cmd, -1, pc}, t_.RP);
  gap(Rule::kRC, c, {k.act, k.act_cmd, -1, pc}, t_.RC);
  gap(Rule::kRFC, c, {ch.pcs[pc].ref, Cmd::REF, -1, pc}, t_.RFC);
  gap(Rule::kRFC_PB, c, {k.refpb, Cmd::REFPB, -1, pc}, t_.RFC_PB);
  gap(Rule::kRREFD, c, {s.refpb, Cmd::REFPB, int32_t(s.refpb_bank), pc}, t_.RREFD);
  k.refpb = int64_t(c.cycle);
  s.refpb = int64_t(c.cycle);
  s.refpb_bank = b;
}

// ---------------------------------------------------------------------------------------------
// All-bank commands: every bank of the scope obeys the bank rules; the check measures from the
// latest relevant earlier command over all those banks.

void TimingChecker::on_prea(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi) {
  Prior act, rd, wr;
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      const BankHist& k = bank(ch, p, b);
      if (!k.open) continue;  // closed banks: nothing to precharge
      if (k.act > act.cycle) act = {k.act, k.act_cmd, int32_t(b), p};
      if (k.rd > rd.cycle) rd = {k.rd, k.rd_cmd, int32_t(b), p};
      if (k.wr > wr.cycle) wr = {k.wr, Cmd::WR, int32_t(b), p};
    }
  }
  gap(Rule::kRAS, c, act, t_.RAS);
  gap(Rule::kRTP, c, rd, t_.RTP_L);
  gap(Rule::kWR, c, wr, wr_to_pre_);
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      BankHist& k = bank(ch, p, b);
      if (!k.open) continue;
      k.open = false;
      k.pre = int64_t(c.cycle);
      k.pre_cmd = Cmd::PREA;
    }
  }
}

void TimingChecker::on_actab(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi) {
  Prior act, pre, refpb, ref;
  int32_t open_bank = -1;
  uint32_t open_pc = 0;
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    if (ch.pcs[p].ref > ref.cycle) ref = {ch.pcs[p].ref, Cmd::REF, -1, p};
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      const BankHist& k = bank(ch, p, b);
      if (k.open && open_bank < 0) {
        open_bank = int32_t(b);
        open_pc = p;
      }
      if (k.act > act.cycle) act = {k.act, k.act_cmd, int32_t(b), p};
      if (k.pre > pre.cycle) pre = {k.pre, k.pre_cmd, int32_t(b), p};
      if (k.refpb > refpb.cycle) refpb = {k.refpb, Cmd::REFPB, int32_t(b), p};
    }
  }
  if (open_bank >= 0)
    state_violation(Rule::kActabOpenBank, c,
                    describe_bank(open_pc, open_bank) + " has row " +
                        std::to_string(bank(ch, open_pc, uint32_t(open_bank)).row) + " open");
  gap(Rule::kRC, c, act, t_.RC);
  gap(Rule::kRP, c, pre, t_.RP);
  gap(Rule::kRFC, c, ref, t_.RFC);
  gap(Rule::kRFC_PB, c, refpb, t_.RFC_PB);
  // ACTAB is AttAcc's power-limited all-bank mode: not counted in tRRD / tFAW.
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      BankHist& k = bank(ch, p, b);
      k.open = true;
      k.row = c.row;
      k.act = int64_t(c.cycle);
      k.act_cmd = Cmd::ACTAB;
    }
  }
}

void TimingChecker::on_macab(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi) {
  // The banks that compute: bit i of the mask = bank i of the scope (pseudo-channels in order);
  // every bit set = the whole scope.
  const bool whole = c.bank_mask == ~uint64_t(0);
  auto takes_part = [&](uint32_t i) { return whole || (i < 64 && (c.bank_mask >> i & 1) != 0); };
  Prior act, mac;
  bool any_open = false, any_actab = false;
  int32_t closed = -1, left_out = -1, mismatch = -1, lowest = -1;
  uint32_t closed_pc = 0, left_out_pc = 0, mismatch_pc = 0, lowest_pc = 0;
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    if (ch.pcs[p].macab > mac.cycle) mac = {ch.pcs[p].macab, Cmd::MACAB, -1, p};
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      const BankHist& k = bank(ch, p, b);
      const bool part = takes_part((p - pc_lo) * banks_per_pc_ + b);
      any_open |= k.open;
      if (part && !k.open && closed < 0) closed = int32_t(b), closed_pc = p;
      // A bank a single-bank ACT opened for the round must compute; after an ACTAB the mask
      // enables a subset (the useful slices of a lockstep row).
      if (!part && k.open && k.act_cmd != Cmd::ACTAB && left_out < 0)
        left_out = int32_t(b), left_out_pc = p;
      if (part && k.open) {
        if (lowest < 0) lowest = int32_t(b), lowest_pc = p;
        any_actab |= k.act_cmd == Cmd::ACTAB;
        if (k.row != c.row && mismatch < 0) mismatch = int32_t(b), mismatch_pc = p;
      }
      if ((part || k.open) && k.act > act.cycle) act = {k.act, k.act_cmd, int32_t(b), p};
    }
  }
  // After an ACTAB (one row everywhere) every participating bank holds the MACAB's row; a MACAB
  // of single-bank activations only names the row of its lowest participating bank.
  if (!any_actab && mismatch >= 0 && (mismatch != lowest || mismatch_pc != lowest_pc))
    mismatch = -1;
  if (!any_open)
    state_violation(Rule::kColClosedBank, c, "no bank of its scope is open");
  else if (closed >= 0)
    state_violation(Rule::kColClosedBank, c, describe_bank(closed_pc, closed) + " is closed");
  if (left_out >= 0)
    state_violation(Rule::kMacBanks, c,
                    describe_bank(left_out_pc, left_out) + " has row " +
                        std::to_string(bank(ch, left_out_pc, uint32_t(left_out)).row) +
                        " open but is not in the bank mask");
  if (mismatch >= 0)
    state_violation(Rule::kRowMismatch, c,
                    describe_bank(mismatch_pc, mismatch) + " has row " +
                        std::to_string(bank(ch, mismatch_pc, uint32_t(mismatch)).row) +
                        " open, MACAB row " + std::to_string(c.row));
  gap(Rule::kRCD_RD, c, act, t_.RCD_RD);  // ACT/ACTAB -> MACAB on every participating bank
  gap(Rule::kCCDAB, c, mac, t_.CCDAB);    // MACAB -> MACAB (power limit)
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    ch.pcs[p].macab = int64_t(c.cycle);
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      if (!takes_part((p - pc_lo) * banks_per_pc_ + b)) continue;
      BankHist& k = bank(ch, p, b);
      k.rd = int64_t(c.cycle);
      k.rd_cmd = Cmd::MACAB;
    }
  }
}

void TimingChecker::on_ref(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi) {
  Prior act, pre, refpb, ref;
  int32_t open_bank = -1;
  uint32_t open_pc = 0;
  for (uint32_t p = pc_lo; p < pc_hi; ++p) {
    if (ch.pcs[p].ref > ref.cycle) ref = {ch.pcs[p].ref, Cmd::REF, -1, p};
    for (uint32_t b = 0; b < banks_per_pc_; ++b) {
      const BankHist& k = bank(ch, p, b);
      if (k.open && open_bank < 0) {
        open_bank = int32_t(b);
        open_pc = p;
      }
      if (k.act > act.cycle) act = {k.act, k.act_cmd, int32_t(b), p};
      if (k.pre > pre.cycle) pre = {k.pre, k.pre_cmd, int32_t(b), p};
      if (k.refpb > refpb.cycle) refpb = {k.refpb, Cmd::REFPB, int32_t(b), p};
    }
  }
  if (open_bank >= 0)
    state_violation(Rule::kRefOpenBank, c,
                    describe_bank(open_pc, open_bank) + " has row " +
                        std::to_string(bank(ch, open_pc, uint32_t(open_bank)).row) + " open");
  gap(Rule::kRP, c, pre, t_.RP);            // every bank precharged for tRP
  gap(Rule::kRC, c, act, t_.RC);            // and tRC after its last activate
  gap(Rule::kRFC, c, ref, t_.RFC);          // REF -> REF
  gap(Rule::kRFC_PB, c, refpb, t_.RFC_PB);  // a per-bank refresh still running
  for (uint32_t p = pc_lo; p < pc_hi; ++p) ch.pcs[p].ref = int64_t(c.cycle);
}

// ---------------------------------------------------------------------------------------------

void TimingChecker::on_command(const Command& c) {
  ++checked_;
  if (!valid_address(c)) return;
  ChannelHist& ch = channels_[c.channel];
  const int64_t t = int64_t(c.cycle);
  if (t < ch.last_cycle)
    state_violation(
        Rule::kOrder, c,
        "an earlier command of this channel issued at cycle " + std::to_string(ch.last_cycle));
  ch.last_cycle = std::max(ch.last_cycle, t);

  uint32_t pc_lo = c.pc, pc_hi = c.pc + 1u;
  if (is_all_bank(c.cmd) && c.scope_channel) {
    pc_lo = 0;
    pc_hi = org_.pseudo_channels;
  }
  const uint32_t b = (uint32_t(c.sid) * org_.bank_groups + c.bg) * org_.banks_per_group + c.bank;

  if (is_row_command(c.cmd))
    check_row_bus(ch, c);
  else
    check_col_bus(ch, c, pc_lo, pc_hi);

  switch (c.cmd) {
    case Cmd::ACT:
      on_act(ch, c, b);
      break;
    case Cmd::PRE:
      on_pre(ch, c, b);
      break;
    case Cmd::PREA:
      on_prea(ch, c, pc_lo, pc_hi);
      break;
    case Cmd::RD:
    case Cmd::WR:
      on_rd_wr(ch, c, b);
      break;
    case Cmd::REF:
      on_ref(ch, c, pc_lo, pc_hi);
      break;
    case Cmd::REFPB:
      on_refpb(ch, c, b);
      break;
    case Cmd::ACTAB:
      on_actab(ch, c, pc_lo, pc_hi);
      break;
    case Cmd::MACAB:
      on_macab(ch, c, pc_lo, pc_hi);
      break;
    case Cmd::WRGB:
    case Cmd::MVSB:
    case Cmd::MVGB:
      on_buffer_burst(ch, c);
      break;
    case Cmd::kCount:
      break;
  }
}

}  // namespace sparsepim::hbm
