#pragma once
// The earliest legal cycle of every command at every node of one channel, kept up to date from
// the compiled rule table. Asking costs a handful of loads; issuing applies a short update list.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "hbm/dram_command.h"
#include "hbm/memory_config.h"
#include "hbm/timing_rules.h"

namespace sparsepim::hbm {

struct BankCoord {
  uint32_t pc = 0, sid = 0, bg = 0, bank = 0;
};

// Where one bank's rows of earliest cycles sit (one per level), precomputed so that a query
// costs five loads from one array.
struct BankNodes {
  uint32_t pc = 0, sid = 0, bg = 0, bank = 0;
};

class TimingState {
 public:
  explicit TimingState(const MemoryConfig& cfg);

  BankNodes nodes(const BankCoord& b) const {
    const uint32_t s = sid_node(b), g = bg_node(b);
    return {base_[1] + b.pc, base_[2] + s, base_[3] + g, base_[4] + bank_node(b, g)};
  }
  uint64_t earliest_at(Cmd c, const BankNodes& n) const {
    const int i = idx(c);
    const Row* r = rows_.data();
    uint64_t e = r[0][i];
    e = std::max(e, r[n.pc][i]);
    e = std::max(e, r[n.sid][i]);
    e = std::max(e, r[n.bg][i]);
    return std::max(e, r[n.bank][i]);
  }

  // Earliest cycle at which single-bank command `c` may issue to bank `b` (ACT, PRE, RD, WR,
  // REFPB, WRGB, MVSB, MVGB).
  uint64_t earliest(Cmd c, const BankCoord& b) const { return earliest_at(c, nodes(b)); }
  // Earliest cycle for an all-bank command (PREA, REF, ACTAB, MACAB) over the whole channel or
  // over one pseudo-channel.
  uint64_t earliest_all(Cmd c, bool whole_channel, uint32_t pc) const;

  void issue(Cmd c, uint64_t cycle, const BankCoord& b);
  void issue_all(Cmd c, uint64_t cycle, bool whole_channel, uint32_t pc);

 private:
  struct Update {
    uint8_t to;
    bool other_siblings;
    uint32_t latency;
  };
  using Row = std::array<uint64_t, kNumCmds>;

  uint32_t sid_node(const BankCoord& b) const { return b.pc * sids_ + b.sid; }
  uint32_t bg_node(const BankCoord& b) const { return sid_node(b) * bgs_ + b.bg; }
  uint32_t bank_node(const BankCoord& b, uint32_t bg_node) const {
    return bg_node * banks_ + b.bank;
  }
  void apply(int level, uint32_t node, Cmd c, uint64_t cycle, bool all_bank);
  void apply_faw(uint32_t sid_node, uint64_t cycle);
  // Range of node indices of `level` inside the scope.
  std::pair<uint32_t, uint32_t> range(int level, bool whole_channel, uint32_t pc) const;

  uint32_t pcs_, sids_, bgs_, banks_;
  uint32_t nodes_per_pc_[kNumLevels];
  Row& at(int level, uint32_t node) { return rows_[base_[level] + node]; }
  const Row& at(int level, uint32_t node) const { return rows_[base_[level] + node]; }
  std::vector<Row> rows_;        // every node of every level, level by level
  uint32_t base_[kNumLevels]{};  // first row of each level
  std::vector<Update> updates_[kNumCmds][kNumLevels];
  uint32_t faw_ = 0;
  bool has_faw_ = false;
  std::vector<std::array<uint64_t, 4>> act_history_;  // last four ACT cycles per SID (ring)
  std::vector<uint32_t> act_count_;
};

}  // namespace sparsepim::hbm
