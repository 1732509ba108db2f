#include "hbm/channel_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sparsepim::hbm {
namespace {
inline int ctz64(uint64_t x) {
  return __builtin_ctzll(x);
}
}  // namespace

ChannelEngine::ChannelEngine(const MemoryConfig& cfg, uint32_t channel_id)
    : cfg_(cfg), channel_id_(channel_id), mapper_(cfg), ts_(cfg) {
  const uint32_t P = cfg_.org.pseudo_channels;
  const uint32_t nb = cfg_.org.banks_per_pc();
  pcs_.resize(P);
  const uint64_t interval = refresh_interval();
  for (uint32_t p = 0; p < P; ++p) {
    auto& pc = pcs_[p];
    pc.reads.assign(nb, {});
    pc.writes.assign(nb, {});
    pc.banks.assign(nb, {});
    // Stagger the pseudo-channels' refreshes so they do not meet on the shared row bus.
    pc.refresh_due = interval == kNever ? kNever : interval + p * interval / P;
  }
  for (uint32_t p = 0; p < P; ++p)
    for (uint32_t b = 0; b < nb; ++b) {
      const uint32_t B = cfg_.org.banks_per_group, G = cfg_.org.bank_groups;
      coords_.push_back({p, b / (B * G), (b / B) % G, b % B});
      nodes_.push_back(ts_.nodes(coords_.back()));
    }
  lanes_.resize(cfg_.pim.scope == PimScope::kChannel         ? 1
                : cfg_.pim.scope == PimScope::kPseudoChannel ? P
                                                             : 0);
  const uint32_t scope_slices =
      (cfg_.pim.scope == PimScope::kChannel ? P : 1) * cfg_.org.sids * cfg_.org.bank_groups;
  for (auto& l : lanes_) l.activated.assign(scope_slices, 0);
  const size_t cap = size_t(P) * (cfg_.controller.read_queue + cfg_.controller.write_queue);
  entries_.resize(cap);
  free_.reserve(cap);
  for (size_t i = cap; i-- > 0;) free_.push_back(int32_t(i));
}

uint64_t ChannelEngine::refresh_interval() const {
  switch (cfg_.controller.refresh) {
    case RefreshMode::kAllBank:
      return cfg_.timing.REFI;
    case RefreshMode::kPerBank:
      return cfg_.timing.REFI_PB;
    case RefreshMode::kOff:
      return kNever;
  }
  return kNever;
}

BankCoord ChannelEngine::coord(uint32_t pc, uint32_t bank) const {
  return coords_[pc * cfg_.org.banks_per_pc() + bank];
}

uint64_t ChannelEngine::barrier_for(uint32_t pc) const {
  if (lanes_.empty()) return kNever;
  const PimLane& l = lanes_[lane_of(pc)];
  return l.queue.empty() ? kNever : l.queue.front().second;
}

bool ChannelEngine::can_accept(uint64_t addr, bool write) const {
  const DramAddress a = mapper_.decode(addr);
  const auto& p = pcs_[a.pc];
  return write ? p.nwrites < cfg_.controller.write_queue : p.nreads < cfg_.controller.read_queue;
}

void ChannelEngine::enqueue(const Request& r) {
  if (!mapper_.in_range(r.addr)) throw std::out_of_range("address beyond the memory");
  const DramAddress a = mapper_.decode(r.addr);
  if (a.channel != channel_id_) throw std::out_of_range("address belongs to another channel");
  if (!can_accept(r.addr, r.write) || free_.empty())
    throw std::logic_error("ChannelEngine::enqueue: queue full (check can_accept first)");
  const int32_t e = free_.back();
  free_.pop_back();
  Entry& en = entries_[e];
  en.req = r;
  en.a = a;
  en.seq = seq_++;
  en.arrival = now_;
  en.next = -1;
  auto& p = pcs_[a.pc];
  const uint32_t b = bank_index(a);
  BankList& l = r.write ? p.writes[b] : p.reads[b];
  if (l.tail >= 0)
    entries_[l.tail].next = e;
  else
    l.head = e;
  l.tail = e;
  p.banks[b].choice_valid = false;
  if (r.write) {
    p.write_mask |= uint64_t(1) << b;
    ++p.nwrites;
  } else {
    p.read_mask |= uint64_t(1) << b;
    ++p.nreads;
  }
  // The new request changes only its own bank's choice. If the cached best came from another
  // bank, comparing it with this bank's candidate gives the same answer as a full recompute.
  const auto& cc = cfg_.controller;
  const bool direction_kept =
      p.draining ? !(p.nwrites == 0 || (p.nwrites <= cc.write_low_watermark && p.nreads > 0))
                 : !(p.nwrites >= cc.write_high_watermark || (p.nreads == 0 && p.nwrites > 0));
  if (p.cand.valid && p.cand.incremental_ok && p.cand.bank != b && direction_kept &&
      r.write == p.draining) {
    Candidate best = p.cand;
    uint64_t best_seq = best.seq;
    bool best_cas = best.entry >= 0 && (best.cmd == Cmd::RD || best.cmd == Cmd::WR);
    const bool was_refresh = best.entry < 0;
    const Candidate before = best;
    consider_bank(a.pc, b, r.write, false, barrier_for(a.pc), best, best_seq, best_cas);
    if (was_refresh && best.cycle == before.cycle) best = before;  // refresh wins ties
    best.seq = best_seq;
    best.incremental_ok = true;
    p.cand = best;
    return;
  }
  p.cand.valid = false;
}

std::shared_ptr<const MacRounds> make_mac_rounds(const std::vector<std::vector<SliceRow>>& rounds) {
  auto r = std::make_shared<MacRounds>();
  for (const auto& round : rounds) {
    r->acts.insert(r->acts.end(), round.begin(), round.end());
    r->begin.push_back(uint32_t(r->acts.size()));
  }
  return r;
}

std::shared_ptr<const MacRounds> balanced_mac_rounds(
    const Organization& org, const std::vector<std::vector<uint32_t>>& rows) {
  const uint32_t G = org.bank_groups, S = org.sids;
  if (rows.size() > size_t(org.pseudo_channels) * S * G)
    throw std::out_of_range("balanced_mac_rounds: more slices than the organisation has");
  size_t n = 0;
  for (const auto& r : rows) n = std::max(n, r.size());
  auto out = std::make_shared<MacRounds>();
  for (size_t k = 0; k < n; ++k) {
    for (uint32_t s = 0; s < rows.size(); ++s)
      if (rows[s].size() > k) out->acts.push_back({s / (S * G), (s / G) % S, s % G, rows[s][k]});
    out->begin.push_back(uint32_t(out->acts.size()));
  }
  return out;
}

void ChannelEngine::check_pim(const PimOp& op) const {
  if (cfg_.pim.scope == PimScope::kNone)
    throw std::invalid_argument("memory '" + cfg_.name + "' has no PIM units");
  if (op.columns == 0) throw std::invalid_argument("PIM op with zero columns");
  if (op.queries < 1 || op.queries > cfg_.pim.query_slots)
    throw std::invalid_argument("PIM op with " + std::to_string(op.queries) +
                                " queries per MACAB; the units hold " +
                                std::to_string(cfg_.pim.query_slots) + " (pim.query_slots)");
  if (op.kind == PimOp::Kind::kMacRows) {
    if (op.mac_mask == 0) throw std::invalid_argument("PIM MAC rows with an empty bank mask");
    const uint32_t scope = cfg_.pim.scope == PimScope::kChannel ? cfg_.org.banks_per_channel()
                                                                : cfg_.org.banks_per_pc();
    if (op.mac_mask != ~uint64_t(0) && (scope > 64 || (scope < 64 && op.mac_mask >> scope)))
      throw std::invalid_argument("PIM MAC rows: bank mask beyond the banks of the scope");
    if (op.row_count == 0 || uint64_t(op.row_first) + op.row_count > cfg_.org.rows)
      throw std::out_of_range("PIM MAC rows outside the bank");
    if (uint64_t(op.column_first) + op.columns > cfg_.org.columns)
      throw std::out_of_range("PIM MAC columns exceed a row");
  }
  if (cfg_.pim.scope == PimScope::kPseudoChannel && op.pc >= cfg_.org.pseudo_channels)
    throw std::out_of_range("PIM op pseudo-channel out of range");
  if (op.kind == PimOp::Kind::kMacRowGroups) check_row_groups(op);
}

void ChannelEngine::check_row_groups(const PimOp& op) const {
  const auto& o = cfg_.org;
  const bool whole = cfg_.pim.scope == PimScope::kChannel;
  if ((whole ? o.banks_per_channel() : o.banks_per_pc()) > 64)
    throw std::invalid_argument(
        "PIM MAC row groups need at most 64 banks in the PIM scope (the MACAB bank mask)");
  if (uint64_t(op.column_first) + op.columns > o.columns)
    throw std::out_of_range("PIM MAC columns exceed a row");
  if (!op.rounds || op.rounds->rounds() == 0)
    throw std::invalid_argument("PIM MAC row groups without rounds");
  const MacRounds& R = *op.rounds;
  if (R.begin.front() != 0 || R.begin.back() != R.acts.size() ||
      !std::is_sorted(R.begin.begin(), R.begin.end()))
    throw std::invalid_argument("PIM MAC row groups: malformed round offsets");
  for (uint32_t r = 0; r < R.rounds(); ++r) {
    const std::string where = "PIM MAC row groups: round " + std::to_string(r);
    if (R.round_size(r) == 0) throw std::invalid_argument(where + " is empty");
    uint64_t seen = 0;  // slices of the scope (at most 64 banks, so at most 64 slices)
    for (uint32_t i = R.begin[r]; i < R.begin[r + 1]; ++i) {
      const SliceRow& a = R.acts[i];
      if (a.pc >= o.pseudo_channels || a.sid >= o.sids || a.bg >= o.bank_groups)
        throw std::out_of_range(where + ": slice (pc " + std::to_string(a.pc) + ", sid " +
                                std::to_string(a.sid) + ", bg " + std::to_string(a.bg) +
                                ") outside the organisation");
      if (!whole && a.pc != op.pc)
        throw std::invalid_argument(where + ": slice of pseudo-channel " + std::to_string(a.pc) +
                                    " in an op of pseudo-channel " + std::to_string(op.pc));
      if (a.row >= o.rows)
        throw std::out_of_range(where + ": row " + std::to_string(a.row) + " outside the bank");
      const uint32_t slice = ((whole ? a.pc : 0) * o.sids + a.sid) * o.bank_groups + a.bg;
      if (seen >> slice & 1)
        throw std::invalid_argument(where + " activates slice (pc " + std::to_string(a.pc) +
                                    ", sid " + std::to_string(a.sid) + ", bg " +
                                    std::to_string(a.bg) + ") twice");
      seen |= uint64_t(1) << slice;
    }
  }
}

void ChannelEngine::enqueue_pim(const PimOp& op) {
  check_pim(op);
  lanes_[cfg_.pim.scope == PimScope::kChannel ? 0 : op.pc].queue.emplace_back(op, seq_++);
  invalidate_choices();
  invalidate_all();
}

bool ChannelEngine::idle() const {
  if (pim_pending()) return false;
  for (const auto& p : pcs_)
    if (p.nreads || p.nwrites) return false;
  return true;
}

uint64_t ChannelEngine::pending_requests() const {
  uint64_t n = 0;
  for (const auto& p : pcs_) n += p.nreads + p.nwrites;
  return n;
}

// ---------------------------------------------------------------------------------------------
// PIM scope helpers

bool ChannelEngine::pim_blocks(uint32_t pc) const {
  if (lanes_.empty()) return false;
  const PimLane& l = lanes_[lane_of(pc)];
  return !l.queue.empty() && l.phase != PimPhase::kIdle;
}

// ---------------------------------------------------------------------------------------------
// Candidate selection

// FR-FCFS within one bank: a request that hits the open row first (oldest such), else the
// oldest request's next command. Which command it is does not depend on the cycle.
ChannelEngine::Choice ChannelEngine::choose(uint32_t pc, uint32_t bank, bool writes,
                                            bool force_head, uint64_t barrier) const {
  const PseudoChannel& p = pcs_[pc];
  const Bank& b = p.banks[bank];
  const BankList& l = writes ? p.writes[bank] : p.reads[bank];
  const Entry& head = entries_[l.head];
  const Cmd cas = writes ? Cmd::WR : Cmd::RD;
  if (head.seq > barrier) return {-1, Cmd::ACT, 0};  // arrived after a PIM op: waits for it
  if (b.open_row < 0) return {l.head, Cmd::ACT, head.seq};
  if (int64_t(head.a.row) == b.open_row) return {l.head, cas, head.seq};
  if (!force_head)
    for (int32_t e = head.next; e >= 0; e = entries_[e].next)
      if (int64_t(entries_[e].a.row) == b.open_row && entries_[e].seq < barrier)
        return {e, cas, entries_[e].seq};
  return {l.head, Cmd::PRE, head.seq};
}

inline void ChannelEngine::consider_bank(uint32_t pc, uint32_t bank, bool writes, bool force_head,
                                         uint64_t barrier, Candidate& best, uint64_t& best_seq,
                                         bool& best_cas) {
  PseudoChannel& p = pcs_[pc];
  Bank& b = p.banks[bank];
  Choice ch;
  if (force_head) {
    ch = choose(pc, bank, writes, true, barrier);
  } else {
    if (!b.choice_valid || b.choice_writes != writes) {
      const Choice c = choose(pc, bank, writes, false, barrier);
      b.choice_valid = true;
      b.choice_writes = writes;
      b.choice_entry = c.entry;
      b.choice_cmd = c.cmd;
      b.choice_seq = c.seq;
    }
    ch = {b.choice_entry, b.choice_cmd, b.choice_seq};
  }
  if (ch.entry < 0) return;
  const uint64_t cycle =
      std::max(now_, ts_.earliest_at(ch.cmd, nodes_[pc * cfg_.org.banks_per_pc() + bank]));
  if (cycle > best.cycle) return;
  // Refresh owns the banks from its due cycle on.
  if (cycle >= p.refresh_due &&
      (cfg_.controller.refresh == RefreshMode::kAllBank || bank == p.refresh_bank))
    return;
  const bool is_cas = ch.cmd == Cmd::RD || ch.cmd == Cmd::WR;
  if (cycle < best.cycle || is_cas > best_cas || (is_cas == best_cas && ch.seq < best_seq)) {
    best = {cycle, ch.cmd, ch.entry, bank, true};
    best_seq = ch.seq;
    best_cas = is_cas;
  }
}

ChannelEngine::Candidate ChannelEngine::refresh_candidate(uint32_t pc) {
  PseudoChannel& p = pcs_[pc];
  Candidate c;
  if (p.refresh_due == kNever) return c;
  // A PIM op holding rows open in this pseudo-channel finishes its row first.
  if (!lanes_.empty()) {
    const PimLane& l = lanes_[lane_of(pc)];
    if (!l.queue.empty() && (l.phase == PimPhase::kMac || l.phase == PimPhase::kPre ||
                             (l.phase == PimPhase::kActBanks && l.mac_mask != 0)))
      return c;
  }
  if (cfg_.controller.refresh == RefreshMode::kAllBank) {
    c.cmd = p.open_mask ? Cmd::PREA : Cmd::REF;
    c.cycle = std::max({now_, p.refresh_due, ts_.earliest_all(c.cmd, false, pc)});
  } else {
    c.bank = p.refresh_bank;
    c.cmd = p.banks[c.bank].open_row >= 0 ? Cmd::PRE : Cmd::REFPB;
    c.cycle = std::max({now_, p.refresh_due, ts_.earliest(c.cmd, coord(pc, c.bank))});
  }
  c.valid = true;
  return c;
}

ChannelEngine::Candidate ChannelEngine::compute_candidate(uint32_t pc) {
  PseudoChannel& p = pcs_[pc];
  Candidate best;
  best.valid = true;
  if (pim_blocks(pc)) {
    const Candidate ref = refresh_candidate(pc);
    return ref.valid ? ref : best;
  }
  const auto& cc = cfg_.controller;
  if (!p.draining && (p.nwrites >= cc.write_high_watermark || (p.nreads == 0 && p.nwrites > 0)))
    p.draining = true;
  else if (p.draining && (p.nwrites == 0 || (p.nwrites <= cc.write_low_watermark && p.nreads > 0)))
    p.draining = false;
  const bool writes = p.draining;
  const uint64_t mask = writes ? p.write_mask : p.read_mask;

  uint64_t best_seq = kNever;
  bool best_cas = false;
  uint64_t oldest_seq = kNever;
  uint32_t oldest_bank = 0;
  const uint64_t barrier = barrier_for(pc);
  bool forced_used = false;
  for (uint64_t m = mask; m; m &= m - 1) {
    const uint32_t b = uint32_t(ctz64(m));
    consider_bank(pc, b, writes, false, barrier, best, best_seq, best_cas);
    const Entry& h = entries_[(writes ? p.writes[b] : p.reads[b]).head];
    if (h.seq < oldest_seq) {
      oldest_seq = h.seq;
      oldest_bank = b;
    }
  }
  // Nothing in the active direction may go (e.g. every write arrived after a pending PIM op
  // while older reads wait): serve the other direction rather than deadlock.
  if (best.cycle == kNever) {
    const bool other = !writes;
    for (uint64_t m = other ? p.write_mask : p.read_mask; m; m &= m - 1)
      consider_bank(pc, uint32_t(ctz64(m)), other, false, barrier, best, best_seq, best_cas);
    forced_used = true;  // not the FR-FCFS choice of one direction: no incremental merging
  }
  // Age cap: a request waiting too long is served before any row hit.
  if (best.cycle != kNever && oldest_seq != kNever) {
    const Entry& h = entries_[(writes ? p.writes[oldest_bank] : p.reads[oldest_bank]).head];
    if (best.cycle - std::min(best.cycle, h.arrival) > cc.age_cap_cycles && best.entry >= 0 &&
        entries_[best.entry].seq != oldest_seq) {
      Candidate forced;
      uint64_t fs = kNever;
      bool fc = false;
      consider_bank(pc, oldest_bank, writes, true, barrier, forced, fs, fc);
      if (forced.cycle != kNever) {
        best = forced;
        forced_used = true;
      }
    }
  }
  // Closed page: precharge an open bank as soon as no queued request hits its row.
  if (cc.page_policy == PagePolicy::kClosed) {
    for (uint64_t m = p.open_mask; m; m &= m - 1) {
      const uint32_t b = uint32_t(ctz64(m));
      bool wanted = false;
      for (const BankList* l : {&p.reads[b], &p.writes[b]})
        for (int32_t e = l->head; e >= 0 && !wanted; e = entries_[e].next)
          wanted = int64_t(entries_[e].a.row) == p.banks[b].open_row;
      if (wanted) continue;
      const uint64_t cycle = std::max(now_, ts_.earliest(Cmd::PRE, coord(pc, b)));
      if (cycle < best.cycle) best = {cycle, Cmd::PRE, -1, b, true};
    }
  }
  best.seq = best_seq;
  // Merging a later arrival is exact unless the age cap forced this choice or the closed-page
  // policy may have to drop a precharge that the new request would want.
  best.incremental_ok = !forced_used && cc.page_policy == PagePolicy::kOpen;
  // Refresh issues no earlier than its due cycle: only then can it beat the best request.
  if (p.refresh_due <= best.cycle) {
    Candidate ref = refresh_candidate(pc);
    if (ref.valid && ref.cycle <= best.cycle) {
      ref.incremental_ok = best.incremental_ok;
      return ref;
    }
  }
  return best;
}

const ChannelEngine::Candidate& ChannelEngine::candidate(uint32_t pc) {
  auto& p = pcs_[pc];
  if (!p.cand.valid) p.cand = compute_candidate(pc);
  return p.cand;
}

void ChannelEngine::invalidate_row_candidates(uint32_t except_pc, uint64_t bus_free) {
  // A row command of one pseudo-channel delays the other pseudo-channels' row commands until the
  // shared row bus is free again. A cached candidate at or after that cycle stays the best one:
  // the delay only pushes its competitors later.
  for (uint32_t p = 0; p < pcs_.size(); ++p) {
    Candidate& c = pcs_[p].cand;
    if (p != except_pc && c.valid && is_row_command(c.cmd) && c.cycle < bus_free) c.valid = false;
  }
}

// ---------------------------------------------------------------------------------------------
// PIM operations

bool ChannelEngine::pim_candidate(uint32_t lane, uint64_t& cycle, Cmd& cmd) {
  PimLane& L = lanes_[lane];
  if (L.queue.empty()) return false;
  const auto& [op, seq] = L.queue.front();
  const bool whole = cfg_.pim.scope == PimScope::kChannel;
  const uint32_t pc_lo = whole ? 0 : op.pc, pc_hi = whole ? cfg_.org.pseudo_channels : op.pc + 1;
  if (L.phase == PimPhase::kIdle) {
    // Starts once every older request of its scope has been served.
    for (uint32_t p = pc_lo; p < pc_hi; ++p) {
      const auto& pc = pcs_[p];
      for (uint64_t m = pc.read_mask | pc.write_mask; m; m &= m - 1) {
        const uint32_t b = uint32_t(ctz64(m));
        for (const BankList* l : {&pc.reads[b], &pc.writes[b]})
          if (l->head >= 0 && entries_[l->head].seq < seq) return false;
      }
    }
    L.row = L.col = 0;
    if (op.kind == PimOp::Kind::kMacRows || op.kind == PimOp::Kind::kMacRowGroups) {
      bool any_open = false;
      for (uint32_t p = pc_lo; p < pc_hi; ++p) any_open |= pcs_[p].open_mask != 0;
      const bool groups = op.kind == PimOp::Kind::kMacRowGroups;
      if (any_open) {
        L.phase = PimPhase::kPre;  // this PREA only closes what normal traffic left open
        L.row = L.round = ~0u;
        L.mac_mask = 0;
      } else if (groups) {
        begin_round(L, op, 0);
      } else {
        L.phase = PimPhase::kAct;
      }
    } else {
      L.phase = PimPhase::kBurst;
    }
    invalidate_all();
  }
  switch (L.phase) {
    case PimPhase::kAct:
      cmd = Cmd::ACTAB;
      break;
    case PimPhase::kActBanks: {
      // The next single-bank ACT of the round: over the slices with banks left to open, the one
      // whose next bank may activate first; ties go round robin over pseudo-channels, then SIDs,
      // then bank groups, so the pseudo-channels and SIDs take turns on the row bus and in their
      // tFAW windows. Banks of a slice open in order 0, 1, ...
      cmd = Cmd::ACT;
      const MacRounds& R = *op.rounds;
      const uint32_t first = R.begin[L.round], n = R.round_size(L.round);
      const auto& o = cfg_.org;
      const uint32_t B = o.banks_per_group, G = o.bank_groups, S = o.sids, nb = o.banks_per_pc();
      uint64_t best = kNever;
      uint64_t best_key = ~uint64_t(0);
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t k = L.activated[i];
        if (k == B) continue;
        const SliceRow& a = R.acts[first + i];
        const uint32_t bank = (a.sid * G + a.bg) * B + k;
        const uint64_t t = std::max(now_, ts_.earliest_at(Cmd::ACT, nodes_[a.pc * nb + bank]));
        const uint64_t key =
            ((uint64_t(k) * G + a.bg) * S + a.sid) * cfg_.org.pseudo_channels + a.pc;
        if (t < best || (t == best && key < best_key)) {
          best = t;
          best_key = key;
          L.pick = i;
        }
      }
      cycle = best;
      return true;
    }
    case PimPhase::kMac:
      cmd = Cmd::MACAB;
      break;
    case PimPhase::kPre:
      cmd = Cmd::PREA;
      break;
    case PimPhase::kBurst:
      cmd = op.kind == PimOp::Kind::kWriteBuffer       ? Cmd::WRGB
            : op.kind == PimOp::Kind::kMoveToBufferDie ? Cmd::MVSB
                                                       : Cmd::MVGB;
      break;
    case PimPhase::kIdle:
      return false;
  }
  if (cmd == Cmd::WRGB || cmd == Cmd::MVSB || cmd == Cmd::MVGB) {
    const uint32_t npc = pc_hi - pc_lo;
    const uint32_t pc = pc_lo + L.rr % npc;
    const uint32_t bg = (L.rr / npc) % cfg_.org.bank_groups;
    cycle = std::max(now_, ts_.earliest(cmd, BankCoord{pc, 0, bg, 0}));
  } else {
    cycle = std::max(now_, ts_.earliest_all(cmd, whole, op.pc));
  }
  return true;
}

void ChannelEngine::begin_round(PimLane& L, const PimOp& op, uint32_t round) {
  L.phase = PimPhase::kActBanks;
  L.round = round;
  const uint32_t n = op.rounds->round_size(round);
  std::fill(L.activated.begin(), L.activated.begin() + n, uint8_t(0));
  L.acts_left = n * cfg_.org.banks_per_group;
  L.mac_mask = 0;
  L.col = 0;
}

void ChannelEngine::execute_pim(uint32_t lane, uint64_t cycle, Cmd cmd) {
  PimLane& L = lanes_[lane];
  const PimOp& op = L.queue.front().first;
  const bool whole = cfg_.pim.scope == PimScope::kChannel;
  const uint32_t pc_lo = whole ? 0 : op.pc, pc_hi = whole ? cfg_.org.pseudo_channels : op.pc + 1;
  const bool groups = op.kind == PimOp::Kind::kMacRowGroups;
  Command rec;
  rec.cycle = cycle;
  rec.cmd = cmd;
  rec.channel = uint16_t(channel_id_);
  rec.pc = uint8_t(whole ? 0 : op.pc);
  rec.scope_channel = whole;
  rec.pim = true;
  bool done = false;
  uint64_t done_cycle = cycle;
  const uint32_t nb = cfg_.org.banks_per_pc();
  // Column of a MACAB, burst number of a WRGB/MVSB/MVGB, round of a single-bank ACT.
  const uint32_t index = cmd == Cmd::ACT ? L.round : L.col;
  switch (cmd) {
    case Cmd::ACT: {  // kMacRowGroups: the next bank of the slice pim_candidate picked
      const auto& o = cfg_.org;
      const SliceRow& a = op.rounds->acts[op.rounds->begin[L.round] + L.pick];
      const uint32_t bank =
          (a.sid * o.bank_groups + a.bg) * o.banks_per_group + L.activated[L.pick];
      ts_.issue(Cmd::ACT, cycle, coords_[a.pc * nb + bank]);
      pcs_[a.pc].banks[bank] = Bank{int64_t(a.row), RowOutcome::kMiss, false};
      pcs_[a.pc].open_mask |= uint64_t(1) << bank;
      L.mac_mask |= uint64_t(1) << ((a.pc - pc_lo) * nb + bank);
      rec.pc = uint8_t(a.pc);
      rec.sid = uint8_t(a.sid);
      rec.bg = uint8_t(a.bg);
      rec.bank = uint8_t(L.activated[L.pick]);
      rec.row = a.row;
      rec.scope_channel = false;
      ++L.activated[L.pick];
      if (--L.acts_left == 0) {
        L.phase = PimPhase::kMac;
        L.col = 0;
      }
      break;
    }
    case Cmd::ACTAB:
      rec.row = op.row_first + L.row;
      ts_.issue_all(cmd, cycle, whole, op.pc);
      for (uint32_t p = pc_lo; p < pc_hi; ++p) {
        for (auto& b : pcs_[p].banks) b = Bank{int64_t(rec.row), RowOutcome::kMiss, false};
        pcs_[p].open_mask = nb == 64 ? ~uint64_t(0) : (uint64_t(1) << nb) - 1;
      }
      L.phase = PimPhase::kMac;
      L.col = 0;
      break;
    case Cmd::MACAB:
      if (groups) {  // computes in the banks opened this round; named by its lowest bank's row
        const uint32_t low = uint32_t(ctz64(L.mac_mask));
        rec.bank_mask = L.mac_mask;
        rec.row = uint32_t(pcs_[pc_lo + low / nb].banks[low % nb].open_row);
      } else {
        rec.row = op.row_first + L.row;
        rec.bank_mask = op.mac_mask;
      }
      rec.column = op.column_first + L.col;
      rec.queries = op.queries;
      ts_.issue_all(cmd, cycle, whole, op.pc);
      if (++L.col == op.columns) L.phase = PimPhase::kPre;
      break;
    case Cmd::PREA:
      ts_.issue_all(cmd, cycle, whole, op.pc);
      for (uint32_t p = pc_lo; p < pc_hi; ++p) {
        for (auto& b : pcs_[p].banks) b = Bank{-1, RowOutcome::kMiss, false};
        pcs_[p].open_mask = 0;
      }
      if (groups) {
        ++L.round;  // the closing PREA before the first round wraps ~0u to 0
        if (L.round == op.rounds->rounds()) {
          done = true;
          done_cycle = cycle + 1;
        } else {
          begin_round(L, op, L.round);
        }
        break;
      }
      ++L.row;  // the closing PREA before the first row wraps ~0u to 0
      if (L.row == op.row_count) {
        done = true;
        done_cycle = cycle + 1;
      } else {
        L.phase = PimPhase::kAct;
      }
      break;
    default: {  // WRGB / MVSB / MVGB bursts, round robin over pseudo-channels and bank groups
      const uint32_t npc = pc_hi - pc_lo;
      const uint32_t pc = pc_lo + L.rr % npc;
      const uint32_t bg = (L.rr / npc) % cfg_.org.bank_groups;
      ++L.rr;
      ts_.issue(cmd, cycle, {pc, 0, bg, 0});
      rec.pc = uint8_t(pc);
      rec.bg = uint8_t(bg);
      rec.scope_channel = false;
      rec.column = L.col;
      const uint32_t lat = cmd == Cmd::MVSB ? cfg_.timing.CL : cfg_.timing.CWL;
      if (++L.col == op.columns) {
        done = true;
        done_cycle = cycle + lat + cfg_.timing.BL;
      }
      break;
    }
  }
  emit(rec);
  if (pim_exec_) pim_exec_->on_pim_command(rec, op, index);
  if (done) {
    const PimOp finished = op;  // `op` refers into the queue
    L.queue.pop_front();
    L.phase = PimPhase::kIdle;
    invalidate_choices();
    if (sink_) sink_->on_pim_done(finished, done_cycle);
  }
  invalidate_all();
}

// ---------------------------------------------------------------------------------------------
// Issue

void ChannelEngine::emit(const Command& c) {
  last_cycle_ = c.cycle;
  for (CommandObserver* o : observers_) o->on_command(c);
}

void ChannelEngine::unlink(uint32_t pc, bool write, uint32_t bank, int32_t entry) {
  PseudoChannel& p = pcs_[pc];
  BankList& l = write ? p.writes[bank] : p.reads[bank];
  int32_t prev = -1;
  for (int32_t e = l.head; e >= 0; prev = e, e = entries_[e].next) {
    if (e != entry) continue;
    if (prev >= 0)
      entries_[prev].next = entries_[e].next;
    else
      l.head = entries_[e].next;
    if (l.tail == e) l.tail = prev;
    break;
  }
  p.banks[bank].choice_valid = false;
  if (l.head < 0) (write ? p.write_mask : p.read_mask) &= ~(uint64_t(1) << bank);
  if (write)
    --p.nwrites;
  else
    --p.nreads;
}

void ChannelEngine::execute(uint32_t pc, const Candidate& c) {
  PseudoChannel& p = pcs_[pc];
  const BankCoord bc = coord(pc, c.bank);
  Command rec;
  rec.cycle = c.cycle;
  rec.cmd = c.cmd;
  rec.channel = uint16_t(channel_id_);
  rec.pc = uint8_t(pc);
  rec.sid = uint8_t(bc.sid);
  rec.bg = uint8_t(bc.bg);
  rec.bank = uint8_t(bc.bank);
  Bank& bank = p.banks[c.bank];
  switch (c.cmd) {
    case Cmd::ACT: {
      const Entry& e = entries_[c.entry];
      rec.row = e.a.row;
      ts_.issue(Cmd::ACT, c.cycle, bc);
      bank.open_row = e.a.row;
      bank.choice_valid = false;
      bank.next_outcome = bank.closed_by_conflict ? RowOutcome::kConflict : RowOutcome::kMiss;
      bank.closed_by_conflict = false;
      p.open_mask |= uint64_t(1) << c.bank;
      break;
    }
    case Cmd::PRE:
      rec.row = uint32_t(bank.open_row);
      ts_.issue(Cmd::PRE, c.cycle, bc);
      bank.open_row = -1;
      bank.choice_valid = false;
      // Closed to make way for another row. Under the closed-page policy every precharge is the
      // policy's (as with auto-precharge), so the next access counts as a miss.
      bank.closed_by_conflict = c.entry >= 0 && cfg_.controller.page_policy == PagePolicy::kOpen;
      p.open_mask &= ~(uint64_t(1) << c.bank);
      break;
    case Cmd::RD:
    case Cmd::WR: {
      const int32_t ei = c.entry;
      Entry& e = entries_[ei];
      rec.row = e.a.row;
      rec.column = e.a.column;
      rec.outcome = bank.next_outcome;
      bank.next_outcome = RowOutcome::kHit;
      ts_.issue(c.cmd, c.cycle, bc);
      const bool w = c.cmd == Cmd::WR;
      const uint64_t done = c.cycle + (w ? cfg_.timing.CWL : cfg_.timing.CL) + cfg_.timing.BL;
      const Request req = e.req;
      const uint64_t arrival = e.arrival;
      unlink(pc, w, c.bank, ei);
      free_.push_back(ei);
      emit(rec);
      if (sink_) sink_->on_request_done(req, arrival, done);
      p.cand.valid = false;
      return;
    }
    case Cmd::PREA:
      rec.sid = rec.bg = rec.bank = 0;
      ts_.issue_all(Cmd::PREA, c.cycle, false, pc);
      for (auto& b : p.banks) {
        b.open_row = -1;
        b.closed_by_conflict = false;
        b.choice_valid = false;
      }
      p.open_mask = 0;
      break;
    case Cmd::REF:
      rec.sid = rec.bg = rec.bank = 0;
      ts_.issue_all(Cmd::REF, c.cycle, false, pc);
      p.refresh_due += cfg_.timing.REFI;
      break;
    case Cmd::REFPB:
      ts_.issue(Cmd::REFPB, c.cycle, bc);
      p.refresh_due += cfg_.timing.REFI_PB;
      p.refresh_bank = (p.refresh_bank + 1) % cfg_.org.banks_per_pc();
      break;
    default:
      throw std::logic_error("ChannelEngine: unexpected controller command");
  }
  emit(rec);
  p.cand.valid = false;
  invalidate_row_candidates(pc, c.cycle + (c.cmd == Cmd::ACT ? cfg_.timing.ACT_BUS : 1));
}

bool ChannelEngine::step() {
  return !idle() && issue_next();
}

bool ChannelEngine::issue_next() {
  uint64_t best = kNever;
  int which = -1;  // pseudo-channel, or -2 for the PIM op
  Cmd pim_cmd = Cmd::ACT;
  for (uint32_t p = 0; p < pcs_.size(); ++p) {
    const Candidate& c = candidate(p);
    if (c.valid && c.cycle < best) {
      best = c.cycle;
      which = int(p);
    }
  }
  uint32_t pim_lane = 0;
  for (uint32_t l = 0; l < lanes_.size(); ++l) {
    uint64_t pc_cycle = 0;
    Cmd lane_cmd = Cmd::ACT;
    if (!pim_candidate(l, pc_cycle, lane_cmd)) continue;
    // Refresh of the same cycle goes first; otherwise the earlier command.
    if (pc_cycle < best ||
        (pc_cycle == best && which >= 0 &&
         !(pcs_[which].cand.cmd == Cmd::REF || pcs_[which].cand.cmd == Cmd::REFPB ||
           pcs_[which].cand.cmd == Cmd::PREA))) {
      best = pc_cycle;
      which = -2;
      pim_lane = l;
      pim_cmd = lane_cmd;
    }
  }
  if (which == -1) return false;
  if (which == -2) {
    now_ = std::max(now_, best);
    execute_pim(pim_lane, best, pim_cmd);
  } else {
    now_ = std::max(now_, best);
    const Candidate c = pcs_[which].cand;
    execute(uint32_t(which), c);
  }
  return true;
}

uint64_t ChannelEngine::next_command_cycle() {
  uint64_t best = kNever;
  for (uint32_t p = 0; p < pcs_.size(); ++p) {
    const Candidate& c = candidate(p);
    if (c.valid) best = std::min(best, c.cycle);
  }
  for (uint32_t l = 0; l < lanes_.size(); ++l) {
    uint64_t pim_cycle = kNever;
    Cmd pim_cmd;
    if (pim_candidate(l, pim_cycle, pim_cmd)) best = std::min(best, pim_cycle);
  }
  return best;
}

void ChannelEngine::run_until(uint64_t limit) {
  for (;;) {
    if (limit == kNever && idle()) break;
    const uint64_t next = next_command_cycle();
    if (next == kNever || next > limit) break;
    issue_next();
  }
  if (limit != kNever) set_now(limit + 1);
}

void ChannelEngine::set_now(uint64_t t) {
  if (t <= now_) return;
  now_ = t;
  for (auto& p : pcs_)
    if (p.cand.valid && p.cand.cycle < t) p.cand.valid = false;
}

uint64_t ChannelEngine::next_work_cycle() {
  return idle() ? kNever : next_command_cycle();
}

void ChannelEngine::finish(uint64_t cycle) {
  for (CommandObserver* o : observers_) o->on_finish(std::max(cycle, last_cycle_));
}

}  // namespace sparsepim::hbm
