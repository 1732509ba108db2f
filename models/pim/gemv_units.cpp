#include "pim/gemv_units.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sparsepim::pim {

using hbm::Cmd;

GemvUnits::GemvUnits(const hbm::MemoryConfig& cfg, uint32_t channel, hbm::BankStore& store,
                     AluBackend& alu)
    : cfg_(cfg),
      channel_(channel),
      store_(store),
      alu_(alu),
      banks_(cfg.org.banks_per_channel()),
      entries_(kEntriesPerQuery * std::max(1u, cfg.pim.query_slots)),
      registers_(kRegistersPerQuery * std::max(1u, cfg.pim.query_slots)) {
  if (cfg.pim.scope == hbm::PimScope::kNone) throw std::invalid_argument("memory has no PIM units");
  if (cfg.org.columns > kEntriesPerQuery)
    throw std::invalid_argument(
        "GEMV buffer holds 32 scalars per query: rows of more than 32 "
        "columns");
  first_flat_ = channel * banks_;
  tck_ps_ = uint64_t(cfg.timing.tCK_ns * 1000.0 + 0.5);
  buf_.assign(size_t(banks_) * entries_, 0);
  acc_.assign(size_t(banks_) * registers_ * kLanes, 0);
  open_row_.assign(banks_, -1);
  beats_.resize(size_t(banks_) * std::max(1u, cfg.pim.query_slots));
}

void GemvUnits::on_pim_command(const hbm::Command& c, const hbm::PimOp& op, uint32_t index) {
  const PimData* d = op.data;
  const uint32_t per_pc = cfg_.org.banks_per_pc();
  switch (c.cmd) {
    case Cmd::WRGB:
    case Cmd::MVGB: {
      if (!d) return;
      if (d->in.size() < 32 * size_t(index + 1) || d->dest_mask.size() <= index ||
          d->half.size() <= index)
        throw std::invalid_argument("PIM op: buffer burst without data");
      uint16_t v[kLanes];
      std::memcpy(v, d->in.data() + 32 * index, 32);
      const uint32_t base = 16u * d->half[index];
      if (base + 16 > entries_)
        throw std::invalid_argument("PIM op: buffer burst beyond the GEMV buffer's " +
                                    std::to_string(entries_) + " entries");
      for (uint64_t m = d->dest_mask[index]; m; m &= m - 1) {
        const uint32_t b = uint32_t(__builtin_ctzll(m));
        if (b >= banks_) throw std::invalid_argument("PIM op: bank mask beyond the channel");
        std::memcpy(&buf_[b * entries_ + base], v, 32);
      }
      return;
    }
    case Cmd::ACTAB:
    case Cmd::PREA: {  // the rows the PIM op opens and closes (all banks of the scope)
      const uint32_t lo = c.scope_channel ? 0 : c.pc * per_pc;
      const uint32_t hi = c.scope_channel ? banks_ : lo + per_pc;
      for (uint32_t b = lo; b < hi; ++b) open_row_[b] = c.cmd == Cmd::ACTAB ? int64_t(c.row) : -1;
      return;
    }
    case Cmd::ACT: {  // one bank of a per-slice round
      const auto& o = cfg_.org;
      const uint32_t b =
          c.pc * per_pc + (c.sid * o.bank_groups + c.bg) * o.banks_per_group + c.bank;
      open_row_[b] = int64_t(c.row);
      return;
    }
    case Cmd::MACAB: {
      const uint32_t regs = d ? d->accumulators : 1;
      if (regs < 1 || regs > kRegistersPerQuery)
        throw std::invalid_argument("PIM op: 1 or 2 accumulators per query");
      const uint32_t queries = op.queries;
      if (queries < 1 || kEntriesPerQuery * queries > entries_)
        throw std::invalid_argument("PIM op: more queries than the GEMV buffer holds");
      const uint32_t reg = c.column % regs;
      const uint32_t lo = c.scope_channel ? 0 : c.pc * per_pc;
      const uint32_t hi = c.scope_channel ? banks_ : lo + per_pc;
      const uint32_t bytes = cfg_.org.bytes_per_column;
      size_t n = 0;
      for (uint32_t b = lo; b < hi; ++b) {
        // Only the banks of the MACAB's mask compute, each on its own open row.
        if (c.bank_mask != hbm::kAllBanks && (b - lo >= 64 || !(c.bank_mask >> (b - lo) & 1)))
          continue;
        if (open_row_[b] < 0)
          throw std::logic_error("PIM MACAB at cycle " + std::to_string(c.cycle) + " in bank " +
                                 std::to_string(b) + ", which has no row opened by a PIM op");
        // One column read, applied to each buffered query in turn (one ALU beat each).
        const uint8_t* row = store_.row(first_flat_ + b, uint32_t(open_row_[b]));
        for (uint32_t g = 0; g < queries; ++g) {
          AluBeat& bt = beats_[n++];
          bt.op = AluOp::kMac;
          if (row)
            std::memcpy(bt.a, row + c.column * bytes, 32);
          else
            std::memset(bt.a, 0, sizeof bt.a);
          const uint16_t scalar = buf_[b * entries_ + kEntriesPerQuery * g + c.column];
          for (int l = 0; l < kLanes; ++l) bt.b[l] = scalar;
          uint32_t* acc = &acc_[(b * registers_ + g * regs + reg) * kLanes];
          std::memcpy(bt.c, acc, sizeof bt.c);
          bt.d = acc;
        }
      }
      alu_.run(beats_.data(), n, c.cycle * tck_ps_);
      macs_ += n * kLanes;
      return;
    }
    case Cmd::MVSB: {
      if (!d) return;
      if (d->source.size() <= index)
        throw std::invalid_argument("PIM op: MVSB burst without a source");
      auto* dd = const_cast<PimData*>(d);  // the op's result buffer
      if (dd->out.size() < 32 * size_t(index + 1)) dd->out.resize(32 * size_t(index + 1));
      const uint32_t src = d->source[index];
      const uint32_t bank = src >> 8, reg = (src >> 1) & 0x7F, part = src & 1;
      if (bank >= banks_ || reg >= registers_)
        throw std::invalid_argument("PIM op: MVSB source out of range");
      uint32_t* acc = &acc_[(bank * registers_ + reg) * kLanes];
      uint8_t* out = dd->out.data() + 32 * index;
      if (alu_.acc_fp32()) {
        std::memcpy(out, acc + 8 * part, 32);  // 8 FP32 lanes per burst
        if (d->clear_after_move && part == 1) std::memset(acc, 0, kLanes * 4);
      } else {
        for (int l = 0; l < kLanes; ++l) {
          const uint16_t h = uint16_t(acc[l]);
          std::memcpy(out + 2 * l, &h, 2);
        }
        if (d->clear_after_move) std::memset(acc, 0, kLanes * 4);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace sparsepim::pim
