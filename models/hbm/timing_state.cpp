#include "hbm/timing_state.h"

#include <algorithm>

namespace sparsepim::hbm {

TimingState::TimingState(const MemoryConfig& cfg)
    : pcs_(cfg.org.pseudo_channels),
      sids_(cfg.org.sids),
      bgs_(cfg.org.bank_groups),
      banks_(cfg.org.banks_per_group) {
  const uint32_t per_pc[kNumLevels] = {0, 1, sids_, sids_ * bgs_, sids_ * bgs_ * banks_};
  std::copy(per_pc, per_pc + kNumLevels, nodes_per_pc_);
  uint32_t total = 1;
  for (int l = 1; l < kNumLevels; ++l) {
    base_[l] = total;
    total += pcs_ * per_pc[l];
  }
  rows_.assign(total, Row{});
  act_history_.assign(size_t(pcs_) * sids_, {});
  act_count_.assign(size_t(pcs_) * sids_, 0);

  for (const TimingRule& r : hbm_timing_rules(cfg.timing)) {
    if (r.window) {  // the only windowed rule of the HBM family is tFAW on ACT within a SID
      faw_ = r.latency;
      has_faw_ = true;
      continue;
    }
    for (Cmd from : r.from)
      for (Cmd to : r.to) {
        auto& list = updates_[idx(from)][int(r.level)];
        // Keep one entry per (to, siblings): the largest latency wins.
        auto it = std::find_if(list.begin(), list.end(), [&](const Update& u) {
          return u.to == idx(to) && u.other_siblings == r.other_siblings;
        });
        if (it == list.end())
          list.push_back({uint8_t(idx(to)), r.other_siblings, r.latency});
        else
          it->latency = std::max(it->latency, r.latency);
      }
  }
}

std::pair<uint32_t, uint32_t> TimingState::range(int level, bool whole_channel, uint32_t pc) const {
  if (level == 0) return {0, 1};
  const uint32_t n = nodes_per_pc_[level];
  return whole_channel ? std::pair<uint32_t, uint32_t>{0, n * pcs_}
                       : std::pair<uint32_t, uint32_t>{pc * n, (pc + 1) * n};
}

uint64_t TimingState::earliest_all(Cmd c, bool whole_channel, uint32_t pc) const {
  uint64_t e = 0;
  for (int l = 0; l < kNumLevels; ++l) {
    const auto [lo, hi] = range(l, whole_channel, pc);
    for (uint32_t n = lo; n < hi; ++n) e = std::max(e, at(l, n)[idx(c)]);
  }
  return e;
}

void TimingState::apply(int level, uint32_t node, Cmd c, uint64_t cycle, bool all_bank) {
  for (const Update& u : updates_[idx(c)][level]) {
    const uint64_t t = cycle + u.latency;
    if (!u.other_siblings || all_bank) {
      if (u.other_siblings) continue;  // an all-bank command has no siblings outside its scope
      uint64_t& e = at(level, node)[u.to];
      if (e < t) e = t;
      continue;
    }
    // Siblings: the other nodes of this level under the same parent.
    const uint32_t fan = level == 2 ? sids_ : level == 3 ? bgs_ : level == 4 ? banks_ : pcs_;
    const uint32_t first = node - node % fan;
    for (uint32_t n = first; n < first + fan; ++n) {
      if (n == node) continue;
      uint64_t& e = at(level, n)[u.to];
      if (e < t) e = t;
    }
  }
}

void TimingState::apply_faw(uint32_t sid, uint64_t cycle) {
  auto& ring = act_history_[sid];
  uint32_t& count = act_count_[sid];
  ring[count % 4] = cycle;
  ++count;
  if (count >= 4) {
    // The fifth ACT must wait tFAW after the oldest of the last four.
    const uint64_t oldest = ring[count % 4];
    uint64_t& e = at(2, sid)[idx(Cmd::ACT)];
    e = std::max(e, oldest + faw_);
  }
}

void TimingState::issue(Cmd c, uint64_t cycle, const BankCoord& b) {
  const uint32_t s = sid_node(b), g = bg_node(b), k = bank_node(b, g);
  apply(0, 0, c, cycle, false);
  apply(1, b.pc, c, cycle, false);
  apply(2, s, c, cycle, false);
  apply(3, g, c, cycle, false);
  apply(4, k, c, cycle, false);
  if (c == Cmd::ACT && has_faw_) apply_faw(s, cycle);
}

void TimingState::issue_all(Cmd c, uint64_t cycle, bool whole_channel, uint32_t pc) {
  for (int l = 0; l < kNumLevels; ++l) {
    const auto [lo, hi] = range(l, whole_channel, pc);
    for (uint32_t n = lo; n < hi; ++n) apply(l, n, c, cycle, true);
  }
}

}  // namespace sparsepim::hbm
