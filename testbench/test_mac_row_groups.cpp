// Per-slice PIM MAC rounds (PimOp::kMacRowGroups) on attacc-hbm3-pim: command timing written out
// by hand from the preset's timing values, throughput against the ACTAB pass (dense) and against
// the analytic per-round cost (sparse, balanced and imbalanced), the observers (energy and
// statistics per participating bank, VCD open rows), the AttAcc GEMV units computing only in the
// participating banks, the op's validation and its TLM transport.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "fork_sim.h"
#include "hbm/channel_engine.h"
#include "hbm/energy.h"
#include "hbm/hbm_channel.h"
#include "hbm/memory_config.h"
#include "hbm/pim_extension.h"
#include "hbm/stats.h"
#include "hbm/timing_checker.h"
#include "hbm/vcd_writer.h"
#include "pim/alu_backend.h"
#include "pim/fp16_alu.h"
#include "pim/gemv_units.h"
#include "pim/pim_data.h"

using namespace sparsepim::hbm;
using sparsepim::testing::run_in_child;

namespace {

class Recorder : public CompletionSink {
 public:
  void on_request_done(const Request& r, uint64_t, uint64_t done) override {
    done_at[r.tag] = done;
  }
  void on_pim_done(const PimOp& op, uint64_t done) override { pim_done[op.tag] = done; }
  std::map<uint64_t, uint64_t> done_at, pim_done;
};

class CommandLog : public CommandObserver {
 public:
  void on_command(const Command& c) override { cmds.push_back(c); }
  std::vector<Command> cmds;
  std::vector<Command> of(Cmd k) const {
    std::vector<Command> v;
    for (const auto& c : cmds)
      if (c.cmd == k) v.push_back(c);
    return v;
  }
};

MemoryConfig attacc(std::vector<std::string> sets = {}) {
  sets.push_back("controller.refresh=off");
  return load_memory_config("attacc-hbm3-pim", sets);
}

// Slice s of the AttAcc layout: (pc, sid, bg) = (s / 8, (s / 4) % 2, s % 4) on attacc.
SliceRow slice(uint32_t s, uint32_t row) {
  return {s / 8, (s / 4) % 2, s % 4, row};
}
// Bits of slice (pc, sid, bg) in a channel-scope MACAB bank mask (32 banks per pseudo-channel).
uint64_t slice_mask(uint32_t pc, uint32_t sid, uint32_t bg) {
  return uint64_t(0xF) << (pc * 32 + (sid * 4 + bg) * 4);
}

struct OpRun {
  uint64_t done = 0;
  std::vector<Command> cmds;
  uint64_t violations = 0;
  std::string first_violation;
};

// Runs the ops back to back on an idle channel with the independent checker attached.
OpRun run_ops(const MemoryConfig& cfg, const std::vector<PimOp>& ops) {
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  TimingChecker chk(cfg);
  e.set_sink(&rec);
  e.add_observer(&log);
  e.add_observer(&chk);
  for (size_t i = 0; i < ops.size(); ++i) {
    PimOp op = ops[i];
    op.tag = i;
    e.enqueue_pim(op);
  }
  e.drain();
  OpRun r;
  for (const auto& [tag, d] : rec.pim_done) r.done = std::max(r.done, d);
  r.cmds = log.cmds;
  r.violations = chk.violations();
  if (!chk.messages().empty()) r.first_violation = chk.messages()[0];
  return r;
}

PimOp row_groups(std::shared_ptr<const MacRounds> rounds, uint32_t columns,
                 uint32_t column_first = 0) {
  PimOp op;
  op.kind = PimOp::Kind::kMacRowGroups;
  op.rounds = std::move(rounds);
  op.columns = columns;
  op.column_first = column_first;
  return op;
}
PimOp mac_rows(uint32_t first, uint32_t count, uint32_t columns) {
  PimOp op;
  op.kind = PimOp::Kind::kMacRows;
  op.row_first = first;
  op.row_count = count;
  op.columns = columns;
  return op;
}

// The three-slice example of the hand-computed timing: round 0 activates A = (pc0, sid0, bg0)
// row 5, C = (pc0, sid0, bg1) row 7 (same SID as A: eight ACTs in one tFAW domain) and
// B = (pc1, sid1, bg2) row 9; round 1 activates A at row 90.
std::shared_ptr<const MacRounds> example_rounds() {
  return make_mac_rounds({{{0, 0, 0, 5}, {0, 0, 1, 7}, {1, 1, 2, 9}}, {{0, 0, 0, 90}}});
}

}  // namespace

// ---- timing by hand -------------------------------------------------------------------------

// attacc-hbm3-pim: ACT_BUS 2, RRD_S 2, RRD_L 4, FAW 39, RCD_RD 19, RAS 45, RP 19, RC 63,
// RTP_L 8, CCDAB 6. The engine issues each ACT of a round at the earliest legal cycle over the
// slices' next banks (ties: round robin pc, then SID, then bank group; a slice's banks in order
// 0..3). Round 0:
//   A0 @0, C0 @2 (row bus), B0 @4 (row bus; wins the tie with A1 @4), A1 @6 (row bus), C1 @8,
//   then SID (pc0, sid0) has four ACTs (0, 2, 6, 8): its fifth waits tFAW after the first.
//   B1 @10, B2 @14, B3 @18 (tRRD_L), A2 @0 + FAW = 39, C2 @2 + FAW = 41,
//   A3 @6 + FAW = 45, C3 @8 + FAW = 47.
//   MACAB k at 47 + tRCD_RD = 66, + 6k (tCCDAB): 66 .. 108 for 8 columns;
//   PREA at max(108 + tRTP_L, 47 + tRAS) = 116.
// Round 1: A'0 at 116 + tRP = 135 (tRC 63 and tFAW long met), A'1..3 +4 each (tRRD_L): 147;
//   MACABs 166 .. 208; PREA at 216; done at 217.
TEST(MacRowGroups, HandComputedTiming) {
  const MemoryConfig cfg = attacc();
  const Timing& t = cfg.timing;
  // The relations the schedule above relies on (this preset's values).
  ASSERT_EQ(t.ACT_BUS, t.RRD_S);
  ASSERT_EQ(t.RRD_L, 2 * t.ACT_BUS);
  ASSERT_GT(t.FAW, 5 * t.ACT_BUS + 3 * t.RRD_L);

  const OpRun r = run_ops(cfg, {row_groups(example_rounds(), 8, 3)});
  EXPECT_EQ(r.violations, 0u) << r.first_violation;
  const uint64_t bus = t.ACT_BUS;
  struct Act {
    uint64_t cycle;
    uint32_t pc, sid, bg, bank, row;
  };
  const uint64_t A0 = 0, C0 = bus, B0 = 2 * bus, A1 = 3 * bus, C1 = 4 * bus, B1 = 5 * bus;
  const uint64_t B2 = B1 + t.RRD_L, B3 = B2 + t.RRD_L;
  const uint64_t A2 = A0 + t.FAW, C2 = C0 + t.FAW, A3 = A1 + t.FAW, C3 = C1 + t.FAW;
  const uint64_t mac0 = C3 + t.RCD_RD;
  const uint64_t pre0 = std::max<uint64_t>(mac0 + 7 * t.CCDAB + t.RTP_L, C3 + t.RAS);
  const uint64_t a1 = pre0 + t.RP;
  const uint64_t mac1 = a1 + 3 * t.RRD_L + t.RCD_RD;
  const uint64_t pre1 = mac1 + 7 * t.CCDAB + t.RTP_L;
  const std::vector<Act> expect_acts = {
      {A0, 0, 0, 0, 0, 5},      {C0, 0, 0, 1, 0, 7},      {B0, 1, 1, 2, 0, 9},
      {A1, 0, 0, 0, 1, 5},      {C1, 0, 0, 1, 1, 7},      {B1, 1, 1, 2, 1, 9},
      {B2, 1, 1, 2, 2, 9},      {B3, 1, 1, 2, 3, 9},      {A2, 0, 0, 0, 2, 5},
      {C2, 0, 0, 1, 2, 7},      {A3, 0, 0, 0, 3, 5},      {C3, 0, 0, 1, 3, 7},
      {a1, 0, 0, 0, 0, 90},     {a1 + 4, 0, 0, 0, 1, 90}, {a1 + 8, 0, 0, 0, 2, 90},
      {a1 + 12, 0, 0, 0, 3, 90}};
  EXPECT_EQ(std::vector<uint64_t>({A0, C0, B0, A1, C1, B1, B2, B3, A2, C2, A3, C3}),
            std::vector<uint64_t>({0, 2, 4, 6, 8, 10, 14, 18, 39, 41, 45, 47}));
  EXPECT_EQ(mac0, 66u);
  EXPECT_EQ(pre0, 116u);
  EXPECT_EQ(a1, 135u);
  EXPECT_EQ(pre1, 216u);

  CommandLog log;
  log.cmds = r.cmds;
  const auto acts = log.of(Cmd::ACT), macs = log.of(Cmd::MACAB), preas = log.of(Cmd::PREA);
  ASSERT_EQ(acts.size(), expect_acts.size());
  for (size_t i = 0; i < acts.size(); ++i) {
    const Act& x = expect_acts[i];
    EXPECT_EQ(acts[i].cycle, x.cycle) << "ACT " << i;
    EXPECT_EQ(acts[i].pc, x.pc) << "ACT " << i;
    EXPECT_EQ(acts[i].sid, x.sid) << "ACT " << i;
    EXPECT_EQ(acts[i].bg, x.bg) << "ACT " << i;
    EXPECT_EQ(acts[i].bank, x.bank) << "ACT " << i;
    EXPECT_EQ(acts[i].row, x.row) << "ACT " << i;
    EXPECT_TRUE(acts[i].pim);
  }
  ASSERT_EQ(macs.size(), 16u);
  const uint64_t mask0 = slice_mask(0, 0, 0) | slice_mask(0, 0, 1) | slice_mask(1, 1, 2);
  for (uint32_t k = 0; k < 8; ++k) {
    EXPECT_EQ(macs[k].cycle, mac0 + k * t.CCDAB);
    EXPECT_EQ(macs[k].column, 3 + k);
    EXPECT_EQ(macs[k].bank_mask, mask0);
    EXPECT_EQ(macs[k].row, 5u);  // the row of the lowest participating bank (A's bank 0)
    EXPECT_TRUE(macs[k].scope_channel);
    EXPECT_EQ(macs[8 + k].cycle, mac1 + k * t.CCDAB);
    EXPECT_EQ(macs[8 + k].bank_mask, slice_mask(0, 0, 0));
    EXPECT_EQ(macs[8 + k].row, 90u);
  }
  ASSERT_EQ(preas.size(), 2u);
  EXPECT_EQ(preas[0].cycle, pre0);
  EXPECT_EQ(preas[1].cycle, pre1);
  EXPECT_EQ(r.done, pre1 + 1);
  EXPECT_EQ(r.cmds.size(), 16u + 16 + 2);
}

// With two columns the first PREA waits for tRAS after the last ACT (C3 at 47) instead of tRTP.
TEST(MacRowGroups, PrechargeWaitsForRas) {
  const MemoryConfig cfg = attacc();
  const Timing& t = cfg.timing;
  const OpRun r = run_ops(cfg, {row_groups(example_rounds(), 2)});
  EXPECT_EQ(r.violations, 0u) << r.first_violation;
  CommandLog log;
  log.cmds = r.cmds;
  const auto macs = log.of(Cmd::MACAB), preas = log.of(Cmd::PREA), acts = log.of(Cmd::ACT);
  const uint64_t C3 = 4 * t.ACT_BUS + t.FAW;  // 47
  ASSERT_EQ(macs.size(), 4u);
  EXPECT_EQ(macs[1].cycle, C3 + t.RCD_RD + t.CCDAB);  // 72
  ASSERT_EQ(preas.size(), 2u);
  EXPECT_EQ(preas[0].cycle, C3 + t.RAS);  // 92 > 72 + tRTP_L
  EXPECT_GT(preas[0].cycle, macs[1].cycle + t.RTP_L);
  ASSERT_EQ(acts.size(), 16u);
  EXPECT_EQ(acts[12].cycle, C3 + t.RAS + t.RP);  // 111
}

// ---- throughput -----------------------------------------------------------------------------

namespace {
// One round of a single slice, C columns: ACTs at t0 + 0, RRD_L, 2 RRD_L, 3 RRD_L; MACABs from
// the last ACT + tRCD_RD, every tCCDAB; PREA tRTP_L after the last; the next round tRP later.
uint64_t one_slice_round(const Timing& t, uint32_t columns) {
  return 3 * t.RRD_L + t.RCD_RD + (columns - 1) * t.CCDAB + t.RTP_L + t.RP;
}
// One ACTAB row: ACTAB, MACABs from tRCD_RD on, PREA, tRP.
uint64_t actab_round(const Timing& t, uint32_t columns) {
  return t.RCD_RD + (columns - 1) * t.CCDAB + t.RTP_L + t.RP;
}
// Lower bound of a round activating every slice (64 single-bank ACTs, 16 per SID, 4 SIDs):
// the row bus carries one ACT per ACT_BUS, and each SID's 13th..16th ACTs come >= 3 tFAW after
// its first, so the 16 ACTs of the last windows occupy the bus from 3 tFAW on.
uint64_t dense_round_bound(const Timing& t, uint32_t columns) {
  const uint64_t acts = std::max<uint64_t>(63 * t.ACT_BUS, 3 * t.FAW + 15 * t.ACT_BUS);
  return acts + actab_round(t, columns);
}
std::shared_ptr<const MacRounds> dense_rounds(uint32_t rounds, uint32_t row0) {
  std::vector<std::vector<SliceRow>> rr(rounds);
  for (uint32_t r = 0; r < rounds; ++r)
    for (uint32_t s = 0; s < 16; ++s) rr[r].push_back(slice(s, row0 + r));
  return make_mac_rounds(rr);
}
}  // namespace

// A dense pass: every slice at the same rows. The ACTAB pass opens a row in 64 banks with one
// command; per-slice activation needs 64 ACTs, paced by tFAW and the row bus.
TEST(MacRowGroups, DenseAgainstMacRows) {
  const MemoryConfig cfg = attacc();
  const Timing& t = cfg.timing;
  const uint32_t R = 8, C = 32;
  const OpRun rows = run_ops(cfg, {mac_rows(100, R, C)});
  const OpRun groups = run_ops(cfg, {row_groups(dense_rounds(R, 100), C)});
  EXPECT_EQ(rows.violations + groups.violations, 0u)
      << rows.first_violation << groups.first_violation;
  EXPECT_EQ(rows.done, R * actab_round(t, C) - t.RP + 1);  // 232 per row
  // Every round is the same (the previous round's ACTs are > tFAW and tRC back).
  const uint64_t per_round = (groups.done + t.RP - 1) / R;
  EXPECT_EQ(groups.done, R * per_round - t.RP + 1);
  // The greedy ACT order reaches the bound: 3 x 39 + 15 x 2 = 147 cycles of ACTs, then 232.
  EXPECT_EQ(per_round, dense_round_bound(t, C));
  // Relaxing tFAW (4 ACTs per 4 x ACT_BUS) leaves the row bus as the only pacer.
  const MemoryConfig nofaw = attacc({"timing.FAW=8"});
  const OpRun free = run_ops(nofaw, {row_groups(dense_rounds(R, 100), C)});
  EXPECT_EQ(free.violations, 0u) << free.first_violation;
  const uint64_t per_round_nofaw = (free.done + t.RP - 1) / R;
  EXPECT_EQ(per_round_nofaw, 63 * t.ACT_BUS + actab_round(t, C));
  std::printf(
      "[ rowgroup ] dense, %u rows x %u columns: kMacRows %llu cycles (%llu per row), "
      "kMacRowGroups %llu cycles (%llu per round; %llu with tFAW relaxed to 8)\n",
      R, C, (unsigned long long)rows.done, (unsigned long long)actab_round(t, C),
      (unsigned long long)groups.done, (unsigned long long)per_round,
      (unsigned long long)per_round_nofaw);
}

// Sparse selections of K row groups: rounds = the largest per-slice count.
TEST(MacRowGroups, SparseBalancedAndImbalanced) {
  const MemoryConfig cfg = attacc();
  const Timing& t = cfg.timing;
  const uint32_t K = 32, C = 32;
  // Imbalanced: all K row groups in slice 0 -> K rounds of one slice each.
  std::vector<std::vector<uint32_t>> one(1);
  for (uint32_t k = 0; k < K; ++k) one[0].push_back(200 + 7 * k);
  const auto imb_rounds = balanced_mac_rounds(cfg.org, one);
  ASSERT_EQ(imb_rounds->rounds(), K);
  const OpRun imb = run_ops(cfg, {row_groups(imb_rounds, C)});
  EXPECT_EQ(imb.violations, 0u) << imb.first_violation;
  EXPECT_EQ(imb.done, K * one_slice_round(t, C) - t.RP + 1);  // 244 per round
  // The same selection as ACTAB rows: one ACTAB pass per distinct row.
  const OpRun imb_rows = run_ops(cfg, [&] {
    std::vector<PimOp> v;
    for (uint32_t k = 0; k < K; ++k) v.push_back(mac_rows(200 + 7 * k, 1, C));
    return v;
  }());
  EXPECT_EQ(imb_rows.done, K * actab_round(t, C) - t.RP + 1);

  // Balanced: two row groups in every slice, at rows that differ between slices.
  std::vector<std::vector<uint32_t>> two(16);
  std::set<uint32_t> distinct;
  for (uint32_t s = 0; s < 16; ++s)
    for (uint32_t k = 0; k < 2; ++k) {
      two[s].push_back(1000 + 37 * s + 5 * k);
      distinct.insert(two[s].back());
    }
  const auto bal_rounds = balanced_mac_rounds(cfg.org, two);
  ASSERT_EQ(bal_rounds->rounds(), 2u);
  const OpRun bal = run_ops(cfg, {row_groups(bal_rounds, C)});
  EXPECT_EQ(bal.violations, 0u) << bal.first_violation;
  const OpRun dense2 = run_ops(cfg, {row_groups(dense_rounds(2, 100), C)});
  EXPECT_EQ(bal.done, dense2.done);  // rows do not matter, only which slices a round opens
  EXPECT_LT(bal.done * 8, imb.done);
  // ACTAB passes would need one row per distinct row index: 32 here.
  EXPECT_EQ(distinct.size(), 32u);

  // Random: 64 row groups over the 16 slices; each round costs between a one-slice round and a
  // dense round.
  std::mt19937 rng(3);
  std::vector<std::vector<uint32_t>> rnd(16);
  for (uint32_t k = 0; k < 64; ++k) rnd[rng() % 16].push_back(uint32_t(rng() % 16384));
  size_t most = 0;
  for (const auto& v : rnd) most = std::max(most, v.size());
  const auto rnd_rounds = balanced_mac_rounds(cfg.org, rnd);
  ASSERT_EQ(rnd_rounds->rounds(), most);
  const OpRun rr = run_ops(cfg, {row_groups(rnd_rounds, C)});
  EXPECT_EQ(rr.violations, 0u) << rr.first_violation;
  EXPECT_GE(rr.done, most * one_slice_round(t, C) - t.RP + 1);
  EXPECT_LE(rr.done, most * dense_round_bound(t, C) + 8 * most);
  std::printf(
      "[ rowgroup ] %u row groups, %u columns: all in one slice %llu cycles (%u rounds x "
      "%llu; as %u ACTAB rows %llu); balanced 2 per slice %llu cycles (2 rounds; as ACTAB "
      "rows over %zu distinct rows %llu); 64 at random: %zu rounds, %llu cycles\n",
      K, C, (unsigned long long)imb.done, K, (unsigned long long)one_slice_round(t, C), K,
      (unsigned long long)imb_rows.done, (unsigned long long)bal.done, distinct.size(),
      (unsigned long long)(distinct.size() * actab_round(t, C) - t.RP + 1), most,
      (unsigned long long)rr.done);
}

// Engine speed on per-slice rounds: 512 rounds of 8 random slices, 32 columns.
TEST(MacRowGroups, Speed) {
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim");
  std::mt19937 rng(9);
  std::vector<std::vector<SliceRow>> rr(512);
  for (auto& r : rr)
    for (uint32_t s = 0; s < 16; ++s)
      if (rng() % 2) r.push_back(slice(s, uint32_t(rng() % 16384)));
  for (auto& r : rr)
    if (r.empty()) r.push_back(slice(0, 1));
  ChannelEngine e(cfg, 0);
  StatsObserver stats(cfg);
  e.add_observer(&stats);
  e.enqueue_pim(row_groups(make_mac_rounds(rr), 32));
  const auto t0 = std::chrono::steady_clock::now();
  e.drain();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rate = double(stats.total_commands()) / s;
  std::printf(
      "[ rowgroup ] %llu commands (%llu ACT) in %.4f s = %.1f M commands/s; per-bank MAC "
      "imbalance %.2f\n",
      (unsigned long long)stats.total_commands(), (unsigned long long)stats.pim_acts, s, rate / 1e6,
      stats.bank_mac_imbalance());
  EXPECT_GT(rate, 1e6);
}

// ---- observers ------------------------------------------------------------------------------

// A round with one active slice costs MAC, cell and activation energy for its 4 banks, not 64.
TEST(MacRowGroups, EnergyAndStatsPerParticipatingBank) {
  const MemoryConfig cfg = attacc();
  const auto& en = cfg.energy;
  const uint32_t C = 8;
  auto measure = [&](const PimOp& op, EnergyBreakdown& e, StatsObserver& s) {
    ChannelEngine eng(cfg, 0);
    EnergyObserver energy(cfg);
    eng.add_observer(&energy);
    eng.add_observer(&s);
    eng.enqueue_pim(op);
    eng.drain();
    e = energy.pJ();
  };
  const double bits = 8.0 * cfg.org.bytes_per_column;
  const double row_bits = 8.0 * cfg.org.row_bytes();
  auto expect_banks = [&](const EnergyBreakdown& e, double banks) {
    EXPECT_DOUBLE_EQ(e.pim_mac, banks * C * cfg.pim.lanes * en.pim_mac_pJ_per_op);
    EXPECT_DOUBLE_EQ(e.cell_rw, banks * C * bits * en.cell_rw_pJ_per_bit);
    EXPECT_DOUBLE_EQ(e.on_die, banks * C * bits * en.coldec_to_bgmux_pJ_per_bit);
    EXPECT_DOUBLE_EQ(e.act_pre, banks * row_bits * en.act_pre_pJ_per_bit);
  };
  EnergyBreakdown one, all;
  StatsObserver s_one(cfg), s_all(cfg);
  measure(row_groups(make_mac_rounds({{{0, 1, 3, 11}}}), C), one, s_one);
  measure(mac_rows(11, 1, C), all, s_all);
  expect_banks(one, 4);
  expect_banks(all, 64);
  std::printf(
      "[ rowgroup ] one-slice round: MAC %.1f pJ, ACT/PRE %.1f pJ; ACTAB row: MAC %.1f "
      "pJ, ACT/PRE %.1f pJ (%u columns)\n",
      one.pim_mac, one.act_pre, all.pim_mac, all.act_pre, C);

  EXPECT_EQ(s_one.pim_acts, 4u);
  EXPECT_EQ(s_one.pim_bank_activations, 4u);
  EXPECT_EQ(s_one.pim_bank_bytes, 4u * C * cfg.org.bytes_per_column);
  EXPECT_EQ(s_all.pim_acts, 0u);
  EXPECT_EQ(s_all.pim_bank_activations, 64u);
  // Slice (pc0, sid1, bg3) = banks 28..31 of the channel.
  for (uint32_t b = 0; b < 64; ++b) {
    EXPECT_EQ(s_one.bank_macs[b], b >= 28 && b < 32 ? C : 0u) << b;
    EXPECT_EQ(s_one.bank_column_cycles[b], b >= 28 && b < 32 ? C * cfg.timing.BL : 0u) << b;
    EXPECT_EQ(s_all.bank_macs[b], C) << b;
  }
  EXPECT_DOUBLE_EQ(s_one.bank_mac_imbalance(), 16.0);  // max C / mean (4 C / 64)
  EXPECT_DOUBLE_EQ(s_all.bank_mac_imbalance(), 1.0);
}

// The VCD's open-row mask follows the single-bank ACTs of a round.
TEST(MacRowGroups, VcdShowsTheSlicesOpenRows) {
  const MemoryConfig cfg = attacc();
  const std::string path = ::testing::TempDir() + "rowgroups.vcd";
  {
    ChannelEngine e(cfg, 0);
    VcdWriter vcd(path, cfg);
    e.add_observer(&vcd);
    e.enqueue_pim(row_groups(make_mac_rounds({{{0, 0, 0, 5}, {1, 1, 2, 9}}}), 2));
    e.drain();
    e.finish(e.last_command_cycle() + 1);
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Identifiers of ch0.pc0.open_rows and ch0.pc1.open_rows (declared in that order).
  std::vector<std::string> ids;
  for (size_t p = text.find(" open_rows $end"); p != std::string::npos;
       p = text.find(" open_rows $end", p + 1)) {
    const size_t end = p, start = text.rfind(' ', end - 1) + 1;
    ids.push_back(text.substr(start, end - start));
  }
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(text.find("\nb1111 " + ids[0] + "\n"), std::string::npos);  // pc0 banks 0..3
  EXPECT_NE(text.find("\nb1111" + std::string(24, '0') + " " + ids[1] + "\n"),
            std::string::npos);  // pc1 banks 24..27
}

// ---- the AttAcc units compute only in the participating banks --------------------------------

TEST(MacRowGroups, GemvUnitsComputeOnlyInParticipatingBanks) {
  namespace pim = sparsepim::pim;
  const MemoryConfig cfg = attacc();
  ChannelEngine e(cfg, 0);
  BankStore store(cfg.org);
  pim::ModelAlu alu(false);
  pim::GemvUnits units(cfg, 0, store, alu);
  e.set_pim_executor(&units);
  const uint32_t banks = cfg.org.banks_per_channel(), C = 4;
  // Row 5 of bank b holds (b % 7 + 1) everywhere, row 9 holds (b % 5 + 2): every bank has both
  // rows, so a unit computing in the wrong bank or on the wrong row shows.
  auto value = [](uint32_t b, uint32_t row) { return double(row == 5 ? b % 7 + 1 : b % 5 + 2); };
  for (uint32_t b = 0; b < banks; ++b)
    for (uint32_t row : {5u, 9u}) {
      uint8_t* p = store.row_for_write(b, row);
      const uint16_t h = pim::fp16_from_double(value(b, row));
      for (uint32_t i = 0; i < cfg.org.row_bytes() / 2; ++i) std::memcpy(p + 2 * i, &h, 2);
    }
  // The GEMV buffers: 1.0 in every entry of every bank.
  sparsepim::pim::PimData q;
  PimOp w;
  w.kind = PimOp::Kind::kWriteBuffer;
  for (uint8_t h = 0; h < 2; ++h) {
    const uint16_t one = pim::fp16_from_double(1.0);
    for (int l = 0; l < 16; ++l) {
      q.in.push_back(uint8_t(one & 0xFF));
      q.in.push_back(uint8_t(one >> 8));
    }
    q.dest_mask.push_back(~uint64_t(0));
    q.half.push_back(h);
    ++w.columns;
  }
  w.data = &q;
  e.enqueue_pim(w);
  // Round 0: slice A = (pc0, sid0, bg0) row 5 (banks 0..3), slice B = (pc1, sid1, bg2) row 9
  // (banks 56..59); round 1: slice A row 9.
  e.enqueue_pim(row_groups(make_mac_rounds({{{0, 0, 0, 5}, {1, 1, 2, 9}}, {{0, 0, 0, 9}}}), C));
  e.drain();
  EXPECT_EQ(units.macs(), uint64_t(8 + 4) * C * 16);
  for (uint32_t b = 0; b < banks; ++b) {
    double expect = 0;
    if (b < 4) expect = C * (value(b, 5) + value(b, 9));
    if (b >= 56 && b < 60) expect = C * value(b, 9);
    for (int l = 0; l < 16; ++l) {
      const double got = pim::fp16_to_double(uint16_t(units.accumulator(b, 0)[l]));
      EXPECT_EQ(got, expect) << "bank " << b << " lane " << l;
    }
  }
}

// ---- validation -----------------------------------------------------------------------------

TEST(MacRowGroups, BadOpsRejected) {
  const MemoryConfig cfg = attacc();
  ChannelEngine e(cfg, 0);
  PimOp op = row_groups(nullptr, 4);
  EXPECT_THROW(e.check_pim(op), std::invalid_argument);  // no rounds
  op.rounds = make_mac_rounds({});
  EXPECT_THROW(e.check_pim(op), std::invalid_argument);  // zero rounds
  op.rounds = make_mac_rounds({{{0, 0, 0, 1}}, {}});
  EXPECT_THROW(e.check_pim(op), std::invalid_argument);  // an empty round
  op.rounds = make_mac_rounds({{{2, 0, 0, 1}}});
  EXPECT_THROW(e.check_pim(op), std::out_of_range);  // pseudo-channel 2
  op.rounds = make_mac_rounds({{{0, 2, 0, 1}}});
  EXPECT_THROW(e.check_pim(op), std::out_of_range);  // SID 2
  op.rounds = make_mac_rounds({{{0, 0, 4, 1}}});
  EXPECT_THROW(e.check_pim(op), std::out_of_range);  // bank group 4
  op.rounds = make_mac_rounds({{{0, 0, 0, 16384}}});
  EXPECT_THROW(e.check_pim(op), std::out_of_range);  // row beyond the bank
  op.rounds = make_mac_rounds({{{0, 1, 2, 1}, {0, 1, 2, 8}}});
  EXPECT_THROW(e.check_pim(op), std::invalid_argument);  // one slice twice in a round
  op.rounds = make_mac_rounds({{{0, 1, 2, 1}}, {{0, 1, 2, 8}}});
  EXPECT_NO_THROW(e.check_pim(op));  // ... in two rounds is fine
  op.columns = 30;
  op.column_first = 3;
  EXPECT_THROW(e.check_pim(op), std::out_of_range);  // columns beyond the row
  op.columns = 0;
  op.column_first = 0;
  EXPECT_THROW(e.check_pim(op), std::invalid_argument);
  auto bad = std::make_shared<MacRounds>();
  bad->acts = {{0, 0, 0, 1}};
  bad->begin = {0, 2};
  op.columns = 1;
  op.rounds = bad;
  EXPECT_THROW(e.check_pim(op), std::invalid_argument);  // offsets beyond the list
  EXPECT_THROW(balanced_mac_rounds(cfg.org, std::vector<std::vector<uint32_t>>(17)),
               std::out_of_range);
  // Pseudo-channel scope (aquabolt): every slice in the op's pseudo-channel.
  ChannelEngine a(load_memory_config("aquabolt-hbm2-pim"), 0);
  op.pc = 0;
  op.rounds = make_mac_rounds({{{1, 0, 0, 1}}});
  EXPECT_THROW(a.check_pim(op), std::invalid_argument);
  op.pc = 1;
  EXPECT_NO_THROW(a.check_pim(op));
}

// ---- interplay with normal traffic and refresh -----------------------------------------------

// Rows left open by normal traffic are closed first (PREA); younger requests wait for the op.
TEST(MacRowGroups, ClosesRowsOfNormalTrafficFirst) {
  const MemoryConfig cfg = attacc();
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  TimingChecker chk(cfg);
  e.set_sink(&rec);
  e.add_observer(&log);
  e.add_observer(&chk);
  DramAddress a;
  a.pc = 1;
  a.bg = 2;
  a.bank = 3;
  a.row = 77;
  e.enqueue({0, e.mapper().encode(a), false, nullptr});
  PimOp op = row_groups(make_mac_rounds({{{0, 0, 0, 5}}}), 4);
  op.tag = 9;
  e.enqueue_pim(op);
  a.pc = 0;
  a.bg = 0;
  a.bank = 0;
  e.enqueue({1, e.mapper().encode(a), false, nullptr});
  e.drain();
  EXPECT_EQ(chk.violations(), 0u);
  ASSERT_GE(log.cmds.size(), 4u);
  EXPECT_EQ(log.cmds[0].cmd, Cmd::ACT);
  EXPECT_EQ(log.cmds[1].cmd, Cmd::RD);
  EXPECT_EQ(log.cmds[2].cmd, Cmd::PREA);
  EXPECT_TRUE(log.cmds[2].pim);
  EXPECT_EQ(log.cmds[3].cmd, Cmd::ACT);
  EXPECT_GE(log.cmds[3].cycle, log.cmds[2].cycle + cfg.timing.RP);
  EXPECT_LT(rec.done_at[0], rec.pim_done[9]);
  EXPECT_GT(rec.done_at[1], rec.pim_done[9]);
}

// Refresh falls due during a long sequence of rounds: it goes between rounds, never while a
// round's banks are open (not even between two of its ACTs).
TEST(MacRowGroups, RefreshOnlyBetweenRounds) {
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim");
  ChannelEngine e(cfg, 0);
  CommandLog log;
  TimingChecker chk(cfg);
  e.add_observer(&log);
  e.add_observer(&chk);
  std::vector<std::vector<SliceRow>> rr;
  for (uint32_t r = 0; r < 60; ++r) rr.push_back({slice(r % 16, r), slice((r + 5) % 16, r + 1)});
  e.enqueue_pim(row_groups(make_mac_rounds(rr), 32));
  e.drain();
  EXPECT_EQ(chk.violations(), 0u) << (chk.messages().empty() ? "" : chk.messages()[0]);
  EXPECT_GE(log.of(Cmd::REF).size(), 2u);
  bool open = false;
  for (const auto& c : log.cmds) {
    if (c.cmd == Cmd::ACT) open = true;
    if (c.cmd == Cmd::PREA) open = false;
    if (c.cmd == Cmd::REF) {
      EXPECT_FALSE(open) << "REF at " << c.cycle << " inside a round";
    }
  }
}

// ---- TLM ------------------------------------------------------------------------------------

// A PimExtension carries the op; its clone shares the (immutable) rounds; b_transport answers at
// the hand-computed completion (217 cycles).
TEST(MacRowGroups, TlmExtensionCarriesTheRounds) {
  EXPECT_TRUE(run_in_child([] {
    using namespace sc_core;
    using namespace tlm;
    const MemoryConfig cfg = attacc();
    HbmChannel ch("channel", cfg);
    struct Init : sc_module {
      tlm_utils::simple_initiator_socket<Init> socket{"socket"};
      sc_time delay;
      uint64_t done_cycle = 0;
      bool shared = false;
      explicit Init(sc_module_name n) : sc_module(n) {
        SC_HAS_PROCESS(Init);
        SC_THREAD(run);
      }
      void run() {
        PimOp op = row_groups(example_rounds(), 8, 3);
        PimExtension original(op);
        auto* ext = static_cast<PimExtension*>(original.clone());
        shared = ext->ops.size() == 1 && ext->ops[0].rounds == original.ops[0].rounds &&
                 ext->ops[0].kind == PimOp::Kind::kMacRowGroups;
        tlm_generic_payload p;
        p.set_extension(ext);
        p.set_command(TLM_READ_COMMAND);
        p.set_data_length(0);
        sc_time d = SC_ZERO_TIME;
        socket->b_transport(p, d);
        delay = d;
        done_cycle = ext->done_cycle;
        p.clear_extension(ext);
        delete ext;
      }
    } init("init");
    init.socket.bind(ch.socket);
    sc_start();
    if (!init.shared) return std::string("the clone does not share the rounds");
    if (init.done_cycle != 217) return "done cycle " + std::to_string(init.done_cycle);
    if (init.delay != sc_time(217 * 769, SC_PS)) return "delay " + init.delay.to_string();
    return std::string();
  }));
}
