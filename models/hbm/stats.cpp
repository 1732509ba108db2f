#include "hbm/stats.h"

#include <algorithm>
#include <numeric>

namespace sparsepim::hbm {
namespace {
constexpr uint64_t kClosed = ~uint64_t(0);
}

StatsObserver::StatsObserver(const MemoryConfig& cfg) : cfg_(cfg) {
  const size_t n = size_t(cfg.org.channels) * cfg.org.banks_per_channel();
  bank_open_cycles.assign(n, 0);
  bank_column_cycles.assign(n, 0);
  bank_macs.assign(n, 0);
  open_since_.assign(n, kClosed);
}

uint32_t StatsObserver::flat(uint32_t ch, uint32_t pc, uint32_t sid, uint32_t bg,
                             uint32_t bank) const {
  const auto& o = cfg_.org;
  return (((ch * o.pseudo_channels + pc) * o.sids + sid) * o.bank_groups + bg) * o.banks_per_group +
         bank;
}

void StatsObserver::open(uint32_t b, uint64_t cycle) {
  if (open_since_[b] == kClosed) open_since_[b] = cycle;
}
void StatsObserver::close(uint32_t b, uint64_t cycle) {
  if (open_since_[b] != kClosed) {
    bank_open_cycles[b] += cycle - open_since_[b];
    open_since_[b] = kClosed;
  }
}

void StatsObserver::on_command(const Command& c) {
  ++commands[idx(c.cmd)];
  const auto& o = cfg_.org;
  const uint32_t bpc = o.banks_per_pc();
  // Banks an all-bank command reaches: the pseudo-channel, or the whole channel.
  auto for_scope = [&](auto&& f) {
    const uint32_t first = flat(c.channel, c.scope_channel ? 0 : c.pc, 0, 0, 0);
    const uint32_t count = c.scope_channel ? o.banks_per_channel() : bpc;
    for (uint32_t b = first; b < first + count; ++b) f(b);
  };
  switch (c.cmd) {
    case Cmd::ACT:
      open(flat(c.channel, c.pc, c.sid, c.bg, c.bank), c.cycle);
      if (c.pim) {
        ++pim_acts;
        ++pim_bank_activations;
      }
      break;
    case Cmd::PRE:
      close(flat(c.channel, c.pc, c.sid, c.bg, c.bank), c.cycle);
      break;
    case Cmd::PREA:
      for_scope([&](uint32_t b) { close(b, c.cycle); });
      break;
    case Cmd::ACTAB:
      for_scope([&](uint32_t b) { open(b, c.cycle); });
      pim_bank_activations += c.scope_channel ? o.banks_per_channel() : bpc;
      break;
    case Cmd::MACAB: {  // only the participating banks (bank_mask) compute
      const uint32_t first = flat(c.channel, c.scope_channel ? 0 : c.pc, 0, 0, 0);
      uint32_t n = 0;
      if (c.bank_mask == kAllBanks) {
        for_scope([&](uint32_t b) {
          bank_column_cycles[b] += cfg_.timing.BL;
          ++bank_macs[b];
          ++n;
        });
      } else {
        for (uint64_t m = c.bank_mask; m; m &= m - 1) {
          const uint32_t b = first + uint32_t(__builtin_ctzll(m));
          bank_column_cycles[b] += cfg_.timing.BL;
          ++bank_macs[b];
          ++n;
        }
      }
      pim_bank_bytes += uint64_t(n) * o.bytes_per_column;
      break;
    }
    case Cmd::RD:
    case Cmd::WR:
      bank_column_cycles[flat(c.channel, c.pc, c.sid, c.bg, c.bank)] += cfg_.timing.BL;
      (c.cmd == Cmd::RD ? bytes_read : bytes_written) += o.bytes_per_column;
      if (c.outcome == RowOutcome::kHit)
        ++row_hits;
      else if (c.outcome == RowOutcome::kMiss)
        ++row_misses;
      else if (c.outcome == RowOutcome::kConflict)
        ++row_conflicts;
      break;
    case Cmd::WRGB:
      bytes_written += o.bytes_per_column;
      break;
    default:
      break;
  }
  if (c.cycle > end_cycle) end_cycle = c.cycle;
}

void StatsObserver::on_finish(uint64_t cycle) {
  end_cycle = std::max(end_cycle, cycle);
  for (uint32_t b = 0; b < open_since_.size(); ++b) close(b, end_cycle);
}

double StatsObserver::imbalance(const std::vector<uint64_t>& v) {
  uint64_t sum = 0, mx = 0;
  for (uint64_t x : v) {
    sum += x;
    mx = std::max(mx, x);
  }
  return sum == 0 ? 0.0 : double(mx) * double(v.size()) / double(sum);
}

uint64_t StatsObserver::total_commands() const {
  return std::accumulate(commands.begin(), commands.end(), uint64_t(0));
}

nlohmann::json StatsObserver::commands_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kNumCmds; ++i)
    if (commands[i]) j[std::string(kCmdNames[i])] = commands[i];
  return j;
}

}  // namespace sparsepim::hbm
