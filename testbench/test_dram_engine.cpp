// The DRAM engine: earliest-ready probes of every timing rule on an idle device (expected
// values written out by hand from DESIGN.md 2.1, not computed from the rule table), and the
// controller's behaviour: latency, FR-FCFS order, age cap, write drain, refresh, page policy,
// PIM operations with hand-computed timing, determinism.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "hbm/channel_engine.h"
#include "hbm/memory_config.h"
#include "hbm/stats.h"
#include "hbm/timing_state.h"

using namespace sparsepim::hbm;

namespace {

constexpr uint64_t T0 = 1000;  // the probing command issues here

struct Probe {
  const char* what;
  Cmd first;
  BankCoord a;
  Cmd second;
  BankCoord b;
  uint64_t expected_gap;  // earliest(second) - T0
};

void run_probes(const std::string& preset, const std::vector<std::string>& sets,
                const std::vector<Probe>& probes) {
  const MemoryConfig cfg = load_memory_config(preset, sets);
  for (const Probe& p : probes) {
    TimingState ts(cfg);
    if (is_all_bank(p.first))
      ts.issue_all(p.first, T0, cfg.pim.scope == PimScope::kChannel, p.a.pc);
    else
      ts.issue(p.first, T0, p.a);
    const uint64_t e = is_all_bank(p.second)
                           ? ts.earliest_all(p.second, cfg.pim.scope == PimScope::kChannel, p.b.pc)
                           : ts.earliest(p.second, p.b);
    const uint64_t gap = e > T0 ? e - T0 : 0;
    EXPECT_EQ(gap, p.expected_gap) << preset << ": " << p.what;
  }
}

class Recorder : public CompletionSink {
 public:
  void on_request_done(const Request& r, uint64_t, uint64_t done) override {
    order.push_back(r.tag);
    done_at[r.tag] = done;
  }
  void on_pim_done(const PimOp& op, uint64_t done) override { pim_done[op.tag] = done; }
  std::vector<uint64_t> order;
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

uint64_t addr_of(const ChannelEngine& e, uint32_t pc, uint32_t bg, uint32_t bank, uint32_t row,
                 uint32_t col, uint32_t sid = 0) {
  DramAddress a;
  a.pc = pc;
  a.bg = bg;
  a.bank = bank;
  a.row = row;
  a.column = col;
  a.sid = sid;
  return e.mapper().encode(a);
}

}  // namespace

// ---- earliest-ready probes: one per rule, hbm2 (DRAMSys HBM2 values) ----
TEST(EarliestReady, Hbm2) {
  const BankCoord b0{0, 0, 0, 0}, b1{0, 0, 0, 1}, g1{0, 0, 1, 0}, pc1{1, 0, 0, 0};
  run_probes("hbm2", {},
             {{"tRCD_RD", Cmd::ACT, b0, Cmd::RD, b0, 12},
              {"tRCD_WR", Cmd::ACT, b0, Cmd::WR, b0, 6},
              {"tRAS", Cmd::ACT, b0, Cmd::PRE, b0, 28},
              {"tRC", Cmd::ACT, b0, Cmd::ACT, b0, 42},
              {"tRP", Cmd::PRE, b0, Cmd::ACT, b0, 14},
              {"tRTP", Cmd::RD, b0, Cmd::PRE, b0, 5},
              {"tWR (CWL+BL+WR)", Cmd::WR, b0, Cmd::PRE, b0, 7 + 2 + 14},
              {"tRRD_L", Cmd::ACT, b0, Cmd::ACT, b1, 6},
              {"tRRD_S", Cmd::ACT, b0, Cmd::ACT, g1, 4},
              {"row bus: ACT holds it 2 cycles", Cmd::ACT, b0, Cmd::ACT, pc1, 2},
              {"row bus: ACT then PRE", Cmd::ACT, b0, Cmd::PRE, pc1, 2},
              {"row bus: PRE holds it 1 cycle", Cmd::PRE, b0, Cmd::ACT, pc1, 1},
              {"tCCD_L (RD)", Cmd::RD, b0, Cmd::RD, b1, 3},
              {"tCCD_S (RD)", Cmd::RD, b0, Cmd::RD, g1, 2},
              {"tCCD_L (WR)", Cmd::WR, b0, Cmd::WR, b1, 3},
              {"tCCD_S (WR)", Cmd::WR, b0, Cmd::WR, g1, 2},
              {"separate column/data buses per pseudo-channel", Cmd::RD, b0, Cmd::RD, pc1, 0},
              {"tWTR_L (CWL+BL+WTR_L)", Cmd::WR, b0, Cmd::RD, b1, 7 + 2 + 9},
              {"tWTR_S (CWL+BL+WTR_S)", Cmd::WR, b0, Cmd::RD, g1, 7 + 2 + 4},
              {"tRTW", Cmd::RD, b0, Cmd::WR, g1, 18},
              {"tRP before REF", Cmd::PREA, b0, Cmd::REF, b0, 14},
              {"tRC before REF", Cmd::ACT, b1, Cmd::REF, b0, 42},
              {"tRFC", Cmd::REF, b0, Cmd::ACT, b1, 220},
              {"tRFC_PB", Cmd::REFPB, b0, Cmd::ACT, b0, 96},
              {"tRREFD", Cmd::REFPB, b0, Cmd::ACT, g1, 8},
              {"tRREFD (REFPB to REFPB)", Cmd::REFPB, b0, Cmd::REFPB, g1, 8}});
}

TEST(EarliestReady, Hbm3) {
  const BankCoord b0{0, 0, 0, 0}, b1{0, 0, 0, 1}, g1{0, 0, 1, 0}, s1{0, 1, 0, 0};
  run_probes("hbm3", {"organization.sids=2"},
             {{"tRCD_RD", Cmd::ACT, b0, Cmd::RD, b0, 31},
              {"tRCD_WR", Cmd::ACT, b0, Cmd::WR, b0, 15},
              {"tRC", Cmd::ACT, b0, Cmd::ACT, b0, 72},
              {"tRP", Cmd::PRE, b0, Cmd::ACT, b0, 26},
              {"tRRD_L", Cmd::ACT, b0, Cmd::ACT, b1, 5},
              {"tRRD_S", Cmd::ACT, b0, Cmd::ACT, g1, 4},
              {"tCCD_L", Cmd::RD, b0, Cmd::RD, b1, 4},
              {"tCCD_S", Cmd::RD, b0, Cmd::RD, g1, 2},
              {"tCCD_R (other SID)", Cmd::RD, b0, Cmd::RD, s1, 3},
              {"tRTW", Cmd::RD, b0, Cmd::WR, g1, 20},
              {"tWTR_L", Cmd::WR, b0, Cmd::RD, b1, 10 + 2 + 10},
              {"tWR", Cmd::WR, b0, Cmd::PRE, b0, 10 + 2 + 33},
              {"tRTP", Cmd::RD, b0, Cmd::PRE, b0, 9}});
}

TEST(EarliestReady, AttaccAllBankPim) {
  const BankCoord b0{0, 0, 0, 0}, g1{0, 0, 1, 0}, other{1, 1, 3, 3};
  run_probes("attacc-hbm3-pim", {},
             {{"ACTAB -> MACAB (tRCD_RD)", Cmd::ACTAB, b0, Cmd::MACAB, b0, 19},
              {"MACAB -> MACAB (nCCDAB)", Cmd::MACAB, b0, Cmd::MACAB, b0, 6},
              {"MACAB -> PREA (tRTP_L)", Cmd::MACAB, b0, Cmd::PREA, b0, 8},
              {"ACTAB -> PREA (tRAS)", Cmd::ACTAB, b0, Cmd::PREA, b0, 45},
              {"PREA -> ACTAB (tRP)", Cmd::PREA, b0, Cmd::ACTAB, b0, 19},
              {"ACTAB -> ACTAB (tRC)", Cmd::ACTAB, b0, Cmd::ACTAB, b0, 63},
              {"ACTAB reaches every bank of the channel", Cmd::ACTAB, b0, Cmd::RD, other, 19},
              {"RD -> WR turnaround CL+BL+2-CWL beats RTW=3", Cmd::RD, b0, Cmd::WR, g1, 17},
              {"WRGB data burst", Cmd::WRGB, b0, Cmd::WRGB, g1, 2},
              {"WRGB same bank group", Cmd::WRGB, b0, Cmd::WRGB, b0, 4}});
}

TEST(EarliestReady, FourActivateWindow) {
  // attacc: RRD_S = 2 but FAW = 39, so the fifth ACT waits for the window.
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim");
  TimingState ts(cfg);
  for (uint32_t g = 0; g < 4; ++g) {
    const BankCoord b{0, 0, g, 0};
    const uint64_t e = ts.earliest(Cmd::ACT, b);
    EXPECT_EQ(e, g == 0 ? 0u : 2 * g);
    ts.issue(Cmd::ACT, e, b);
  }
  EXPECT_EQ(ts.earliest(Cmd::ACT, {0, 0, 0, 1}), 39u);
  // Another SID has its own window.
  EXPECT_EQ(ts.earliest(Cmd::ACT, {0, 1, 0, 0}), 8u);  // only the row bus (ACT at 6 + 2)
}

// ---- controller behaviour ----
TEST(Engine, IdleReadLatency) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  e.set_sink(&rec);
  e.add_observer(&log);
  e.enqueue({1, addr_of(e, 0, 0, 0, 5, 3), false, nullptr});
  e.drain();
  ASSERT_EQ(log.cmds.size(), 2u);
  EXPECT_EQ(log.cmds[0].cmd, Cmd::ACT);
  EXPECT_EQ(log.cmds[0].cycle, 0u);
  EXPECT_EQ(log.cmds[1].cmd, Cmd::RD);
  EXPECT_EQ(log.cmds[1].cycle, 12u);
  EXPECT_EQ(log.cmds[1].row, 5u);
  EXPECT_EQ(log.cmds[1].column, 3u);
  EXPECT_EQ(rec.done_at[1], 12u + 17 + 2);  // tRCD + CL + burst
}

TEST(Engine, FrFcfsServesRowHitsFirst) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  ChannelEngine e(cfg, 0);
  Recorder rec;
  e.set_sink(&rec);
  e.enqueue({0, addr_of(e, 0, 0, 0, 1, 0), false, nullptr});
  e.enqueue({1, addr_of(e, 0, 0, 0, 2, 0), false, nullptr});
  e.enqueue({2, addr_of(e, 0, 0, 0, 1, 1), false, nullptr});
  e.drain();
  EXPECT_EQ(rec.order, (std::vector<uint64_t>{0, 2, 1}));
}

TEST(Engine, AgeCapStopsRowHitsFromStarvingOlderRequests) {
  const MemoryConfig cfg = load_memory_config("hbm2", {"controller.age_cap_cycles=1"});
  ChannelEngine e(cfg, 0);
  Recorder rec;
  e.set_sink(&rec);
  e.enqueue({0, addr_of(e, 0, 0, 0, 1, 0), false, nullptr});
  e.enqueue({1, addr_of(e, 0, 0, 0, 2, 0), false, nullptr});
  e.enqueue({2, addr_of(e, 0, 0, 0, 1, 1), false, nullptr});
  e.drain();
  EXPECT_EQ(rec.order, (std::vector<uint64_t>{0, 1, 2}));
}

TEST(Engine, WriteDrainWatermarks) {
  const MemoryConfig cfg = load_memory_config("hbm2");  // high 24, low 8
  ChannelEngine e(cfg, 0);
  Recorder rec;
  e.set_sink(&rec);
  e.enqueue({1000, addr_of(e, 0, 1, 0, 9, 0), false, nullptr});  // one read
  for (uint32_t i = 0; i < 24; ++i) e.enqueue({i, addr_of(e, 0, 0, 0, 3, i), true, nullptr});
  e.drain();
  ASSERT_EQ(rec.order.size(), 25u);
  // 24 writes reach the high watermark: 16 drain down to the low watermark, then the read.
  const auto it = std::find(rec.order.begin(), rec.order.end(), 1000u);
  EXPECT_EQ(it - rec.order.begin(), 16);
}

namespace {
struct RunResult {
  std::array<uint64_t, kNumCmds> commands{};
  uint64_t end = 0, hits = 0, misses = 0, conflicts = 0;
  std::vector<Command> refs;
};

RunResult run_random(const MemoryConfig& cfg, uint64_t n, uint64_t seed, double write_share,
                     bool sequential = false) {
  ChannelEngine e(cfg, 0);
  StatsObserver stats(cfg);
  CommandLog refs;
  struct RefOnly : CommandObserver {
    std::vector<Command>* out;
    void on_command(const Command& c) override {
      if (c.cmd == Cmd::REF || c.cmd == Cmd::REFPB) out->push_back(c);
    }
  } ref_only;
  RunResult r;
  ref_only.out = &r.refs;
  e.add_observer(&stats);
  e.add_observer(&ref_only);
  std::mt19937_64 rng(seed);
  const uint64_t cap = e.mapper().capacity();
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t addr = sequential ? (i * 32) % cap : (rng() % cap) & ~uint64_t(31);
    const bool w = std::uniform_real_distribution<double>(0, 1)(rng) < write_share;
    while (!e.can_accept(addr, w)) e.step();
    e.enqueue({i, addr, w, nullptr});
  }
  e.drain();
  e.finish(e.last_command_cycle());
  r.commands = stats.commands;
  r.end = e.last_command_cycle();
  r.hits = stats.row_hits;
  r.misses = stats.row_misses;
  r.conflicts = stats.row_conflicts;
  return r;
}
}  // namespace

TEST(Engine, AllBankRefreshEveryRefi) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  const RunResult r = run_random(cfg, 200000, 3, 0.0, /*sequential=*/true);
  for (uint32_t pc = 0; pc < 2; ++pc) {
    uint64_t count = 0, prev = 0;
    for (const auto& c : r.refs) {
      if (c.pc != pc) continue;
      if (count) {
        // Never early; postponed by at most the time to close the banks and satisfy tRP/tRC.
        EXPECT_GE(c.cycle - prev, 3900u - 100);
      }
      prev = c.cycle;
      ++count;
    }
    const uint64_t first_due = 3900 + pc * 3900 / 2;
    const uint64_t expected = r.end >= first_due ? (r.end - first_due) / 3900 + 1 : 0;
    EXPECT_NEAR(double(count), double(expected), 1.0) << "pc " << pc;
  }
  EXPECT_EQ(r.commands[idx(Cmd::REFPB)], 0u);
}

TEST(Engine, PerBankRefreshRoundRobin) {
  const MemoryConfig cfg = load_memory_config("hbm2", {"controller.refresh=per_bank"});
  const RunResult r = run_random(cfg, 100000, 4, 0.0, true);
  EXPECT_EQ(r.commands[idx(Cmd::REF)], 0u);
  const double expected = 2.0 * double(r.end) / 244.0;  // two pseudo-channels
  EXPECT_NEAR(double(r.commands[idx(Cmd::REFPB)]), expected, 0.02 * expected + 4);
}

TEST(Engine, RefreshOffIssuesNone) {
  const MemoryConfig cfg = load_memory_config("hbm2", {"controller.refresh=off"});
  const RunResult r = run_random(cfg, 50000, 5, 0.0, true);
  EXPECT_EQ(r.commands[idx(Cmd::REF)] + r.commands[idx(Cmd::REFPB)], 0u);
}

TEST(Engine, ClosedPagePolicyAvoidsConflicts) {
  const RunResult open = run_random(load_memory_config("hbm2"), 100000, 6, 0.3);
  const RunResult closed =
      run_random(load_memory_config("hbm2", {"controller.page_policy=closed"}), 100000, 6, 0.3);
  EXPECT_GT(open.conflicts, 10000u);
  EXPECT_EQ(closed.conflicts, 0u);
  EXPECT_EQ(closed.hits + closed.misses, 100000u);
  EXPECT_EQ(open.hits + open.misses + open.conflicts, 100000u);
}

TEST(Engine, SameSeedSameCommands) {
  const MemoryConfig cfg = load_memory_config("hbm3");
  const RunResult a = run_random(cfg, 50000, 11, 0.4);
  const RunResult b = run_random(cfg, 50000, 11, 0.4);
  EXPECT_EQ(a.commands, b.commands);
  EXPECT_EQ(a.end, b.end);
  const RunResult c = run_random(cfg, 50000, 12, 0.4);
  EXPECT_NE(a.end, c.end);
}

TEST(Engine, EveryRequestCompletesOnce) {
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim");
  ChannelEngine e(cfg, 0);
  Recorder rec;
  e.set_sink(&rec);
  std::mt19937_64 rng(2);
  for (uint64_t i = 0; i < 20000; ++i) {
    const uint64_t addr = (rng() % e.mapper().capacity()) & ~uint64_t(31);
    while (!e.can_accept(addr, i % 3 == 0)) e.step();
    e.enqueue({i, addr, i % 3 == 0, nullptr});
  }
  e.drain();
  EXPECT_EQ(rec.done_at.size(), 20000u);
  EXPECT_EQ(rec.order.size(), 20000u);
  EXPECT_TRUE(e.idle());
}

TEST(Engine, OutOfRangeAddressRejected) {
  const MemoryConfig cfg = load_memory_config("hbm2");
  ChannelEngine e(cfg, 0);
  EXPECT_THROW(e.enqueue({0, e.mapper().capacity(), false, nullptr}), std::out_of_range);
  ChannelEngine e1(load_memory_config("hbm2", {"organization.channels=2"}), 1);
  EXPECT_THROW(e1.enqueue({0, 0, false, nullptr}), std::out_of_range);  // channel 0's address
}

TEST(Engine, NeverTicksIdleCycles) {
  // Two requests 10 million cycles apart: the engine jumps, issuing only the refreshes due.
  const MemoryConfig cfg = load_memory_config("hbm2");
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  e.set_sink(&rec);
  e.add_observer(&log);
  e.enqueue({0, 0, false, nullptr});
  e.run_until(10'000'000 - 1);
  e.enqueue({1, 64, false, nullptr});
  e.drain();
  EXPECT_EQ(rec.done_at[1], 10'000'000u + 12 + 17 + 2);
  const uint64_t refs = log.of(Cmd::REF).size();
  EXPECT_NEAR(double(refs), 2.0 * 10'000'000 / 3900, 3);
  EXPECT_LT(log.cmds.size(), refs + 10);
}

// ---- PIM operations: timing computed by hand from the attacc-hbm3-pim preset ----
TEST(EnginePim, MacRowsTiming) {
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim", {"controller.refresh=off"});
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  e.set_sink(&rec);
  e.add_observer(&log);
  PimOp op;
  op.kind = PimOp::Kind::kMacRows;
  op.row_first = 100;
  op.row_count = 2;
  op.columns = 32;
  op.tag = 7;
  e.enqueue_pim(op);
  e.drain();
  // Row 1: ACTAB 0; MACAB at 19 + 6k (k = 0..31), last 205; PREA at max(205 + tRTP_L 8, tRAS 45).
  // Row 2: ACTAB at PREA + tRP = 232 (tRC 63 is long past); the same pattern follows.
  const auto actab = log.of(Cmd::ACTAB), macab = log.of(Cmd::MACAB), prea = log.of(Cmd::PREA);
  ASSERT_EQ(actab.size(), 2u);
  ASSERT_EQ(macab.size(), 64u);
  ASSERT_EQ(prea.size(), 2u);
  EXPECT_EQ(actab[0].cycle, 0u);
  EXPECT_EQ(actab[0].row, 100u);
  EXPECT_TRUE(actab[0].scope_channel);
  for (uint32_t k = 0; k < 32; ++k) EXPECT_EQ(macab[k].cycle, 19u + 6 * k);
  EXPECT_EQ(prea[0].cycle, 213u);
  EXPECT_EQ(actab[1].cycle, 232u);
  EXPECT_EQ(actab[1].row, 101u);
  EXPECT_EQ(macab[32].cycle, 232u + 19);
  EXPECT_EQ(prea[1].cycle, 232u + 213);
  EXPECT_EQ(rec.pim_done[7], 232u + 213 + 1);
}

TEST(EnginePim, BufferBurstsSpreadOverPseudoChannelsAndBankGroups) {
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim", {"controller.refresh=off"});
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  e.set_sink(&rec);
  e.add_observer(&log);
  PimOp op;
  op.kind = PimOp::Kind::kWriteBuffer;
  op.columns = 8;
  op.tag = 1;
  e.enqueue_pim(op);
  e.drain();
  // (pc0,bg0)@0 (pc1,bg0)@0 (pc0,bg1)@2 (pc1,bg1)@2 ... last @6; done = 6 + CWL 6 + BL 2.
  const auto w = log.of(Cmd::WRGB);
  ASSERT_EQ(w.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(w[i].pc, i % 2);
    EXPECT_EQ(w[i].bg, (i / 2) % 4);
    EXPECT_EQ(w[i].cycle, 2u * (i / 2));
  }
  EXPECT_EQ(rec.pim_done[1], 14u);
}

TEST(EnginePim, WaitsForOlderRequestsAndClosesTheirRows) {
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim", {"controller.refresh=off"});
  ChannelEngine e(cfg, 0);
  Recorder rec;
  CommandLog log;
  e.set_sink(&rec);
  e.add_observer(&log);
  e.enqueue({0, addr_of(e, 1, 2, 3, 77, 0), false, nullptr});
  PimOp op;
  op.row_first = 5;
  op.row_count = 1;
  op.columns = 4;
  op.tag = 9;
  e.enqueue_pim(op);
  e.enqueue({1, addr_of(e, 0, 0, 0, 78, 0), false, nullptr});  // younger: waits for the op
  e.drain();
  ASSERT_EQ(rec.order.size(), 2u);
  EXPECT_LT(rec.done_at[0], rec.pim_done[9]);
  EXPECT_GT(rec.done_at[1], rec.pim_done[9]);
  // The read left row 77 open: a PREA closes it before the ACTAB.
  ASSERT_GE(log.cmds.size(), 4u);
  EXPECT_EQ(log.cmds[2].cmd, Cmd::PREA);
  EXPECT_EQ(log.cmds[3].cmd, Cmd::ACTAB);
  EXPECT_GE(log.cmds[3].cycle, log.cmds[2].cycle + 19);
}

TEST(EnginePim, RefreshWaitsForTheRowToClose) {
  // Refresh falls due in the middle of a long MAC stream: it is issued between two rows.
  const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim");
  ChannelEngine e(cfg, 0);
  CommandLog log;
  e.add_observer(&log);
  PimOp op;
  op.row_first = 0;
  op.row_count = 60;
  op.columns = 32;
  e.enqueue_pim(op);
  e.drain();
  const auto refs = log.of(Cmd::REF);
  EXPECT_GE(refs.size(), 2u);
  bool row_open = false;
  for (const auto& c : log.cmds) {
    if (c.cmd == Cmd::ACTAB) row_open = true;
    if (c.cmd == Cmd::PREA) row_open = false;
    if (c.cmd == Cmd::REF) {
      EXPECT_FALSE(row_open) << "REF at " << c.cycle << " with a PIM row open";
    }
  }
}

TEST(EnginePim, BadOpsRejected) {
  ChannelEngine plain(load_memory_config("hbm2"), 0);
  PimOp op;
  op.row_count = 1;
  op.columns = 1;
  EXPECT_THROW(plain.enqueue_pim(op), std::invalid_argument);
  ChannelEngine e(load_memory_config("attacc-hbm3-pim"), 0);
  op.row_first = 16383;
  op.row_count = 2;
  EXPECT_THROW(e.enqueue_pim(op), std::out_of_range);
  op.row_first = 0;
  op.columns = 33;
  EXPECT_THROW(e.enqueue_pim(op), std::out_of_range);
  op.columns = 0;
  EXPECT_THROW(e.enqueue_pim(op), std::invalid_argument);
}

// With a pseudo-channel PIM scope (aquabolt) the two pseudo-channels' units work in parallel:
// two MAC streams, one per pseudo-channel, take about as long as one, not twice as long.
TEST(EnginePim, PseudoChannelScopesRunInParallel) {
  const MemoryConfig cfg = load_memory_config("aquabolt-hbm2-pim", {"controller.refresh=off"});
  auto run = [&](uint32_t ops) {
    ChannelEngine e(cfg, 0);
    Recorder rec;
    e.set_sink(&rec);
    for (uint32_t p = 0; p < ops; ++p) {
      PimOp op;
      op.pc = p;
      op.row_first = 10;
      op.row_count = 4;
      op.columns = 32;
      op.tag = p;
      e.enqueue_pim(op);
    }
    e.drain();
    uint64_t end = 0;
    for (const auto& [tag, done] : rec.pim_done) end = std::max(end, done);
    return end;
  };
  const uint64_t one = run(1), two = run(2);
  EXPECT_LT(two, one + one / 10) << "one " << one << " two " << two;
}
