#include "pim/aquabolt_units.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sparsepim::pim {

using hbm::Cmd;
using isa::Instruction;
using isa::Opcode;
using isa::Operand;
using isa::OperandType;

namespace {
std::string where(uint32_t pc, uint32_t unit) {
  return "pseudo-channel " + std::to_string(pc) + " unit " + std::to_string(unit);
}
}  // namespace

const char* AquaboltUnits::mode_name(Mode m) {
  switch (m) {
    case Mode::kSingleBank:
      return "SB";
    case Mode::kAllBank:
      return "AB";
    case Mode::kAllBankPim:
      return "AB-PIM";
  }
  return "?";
}

void AquaboltUnits::Unit::reset_control() {
  pc = 0;
  exited = false;
  nop_active = false;
  nop_left = 0;
  std::fill(std::begin(jump_left), std::end(jump_left), -1);
}

AquaboltUnits::AquaboltUnits(const hbm::MemoryConfig& cfg, uint32_t channel, hbm::BankStore& store,
                             AluBackend& alu)
    : cfg_(cfg), channel_(channel), store_(store), alu_(alu) {
  const auto& o = cfg.org;
  if (cfg.pim.scope != hbm::PimScope::kPseudoChannel || cfg.pim.banks_per_unit != 2)
    throw std::invalid_argument(
        "aquabolt units: need one PIM unit per bank pair with pseudo-channel scope");
  if (o.sids != 1 || o.banks_per_pc() != 2 * kUnitsPerPc)
    throw std::invalid_argument("aquabolt units: need 16 banks per pseudo-channel and one SID");
  if (o.bytes_per_column != 32 || cfg.pim.lanes != uint32_t(kLanes))
    throw std::invalid_argument("aquabolt units: need 32 B columns and 16 FP16 lanes");
  if (o.rows <= kRowRegisters)
    throw std::invalid_argument("aquabolt units: the reserved row 0x3fff must exist");
  if (o.columns < kColGrfB + isa::kRegisters || o.columns > 32)
    throw std::invalid_argument("aquabolt units: need rows of 24 to 32 columns");
  if (alu.acc_fp32())
    throw std::invalid_argument("aquabolt units: FP16 only (the ALU's 16-bit accumulators)");
  tck_ps_ = uint64_t(cfg.timing.tCK_ns * 1000.0 + 0.5);
  pcs_.resize(o.pseudo_channels);
  for (auto& p : pcs_) p.open_row.assign(o.banks_per_pc(), -1);
  units_.resize(size_t(o.pseudo_channels) * kUnitsPerPc);
  beats_.resize(kUnitsPerPc);
  pending_.resize(kUnitsPerPc);
}

uint32_t AquaboltUnits::flat_bank(uint32_t pc, uint32_t bank) const {
  hbm::DramAddress a;
  a.channel = channel_;
  a.pc = pc;
  a.bg = bank / cfg_.org.banks_per_group;
  a.bank = bank % cfg_.org.banks_per_group;
  return store_.flat_bank(a);
}

void AquaboltUnits::set_mode(uint32_t pc, Mode m) {
  PcState& p = pcs_[pc];
  if (p.mode != m) ++mode_changes_;
  p.mode = m;
  p.enter_seq = 0;
}

// ---------------------------------------------------------------------------------------------
// Mode machine

void AquaboltUnits::closed_row(uint32_t pc, uint32_t bank, int64_t row, uint64_t cycle) {
  PcState& p = pcs_[pc];
  p.open_row[bank] = -1;
  if (row != int64_t(kRowLeaveAb)) return;
  if (p.mode == Mode::kAllBank) {
    set_mode(pc, Mode::kSingleBank);
  } else if (p.mode == Mode::kAllBankPim) {
    throw std::logic_error("aquabolt: pseudo-channel " + std::to_string(pc) +
                           " closed row 0x1fff in AB-PIM mode at cycle " + std::to_string(cycle) +
                           ": leave PIM mode (row 0x3fff column 0 = 0) first");
  }
}

void AquaboltUnits::on_command(const hbm::Command& c) {
  if (c.channel != channel_) return;
  const auto& o = cfg_.org;
  const uint32_t lo = c.scope_channel ? 0 : c.pc;
  const uint32_t hi = c.scope_channel ? o.pseudo_channels : c.pc + 1u;
  const uint32_t bank = (uint32_t(c.sid) * o.bank_groups + c.bg) * o.banks_per_group + c.bank;
  auto data_row_in_ab = [&](const char* what) {
    const PcState& p = pcs_[c.pc];
    if (p.mode != Mode::kSingleBank && !reserved_row(c.row))
      throw std::logic_error(std::string("aquabolt: ") + what + " to row " + std::to_string(c.row) +
                             " of pseudo-channel " + std::to_string(c.pc) + " in " +
                             mode_name(p.mode) + " mode at cycle " + std::to_string(c.cycle) +
                             ": only the reserved rows may be accessed outside SB mode");
  };
  switch (c.cmd) {
    case Cmd::ACT: {
      PcState& p = pcs_[c.pc];
      data_row_in_ab("ACT");
      p.open_row[bank] = c.row;
      if (p.mode != Mode::kSingleBank) return;
      uint32_t k = 0;
      while (k < kEnterAbBanks.size() && kEnterAbBanks[k] != bank) ++k;
      if (c.row == kRowEnterAb && c.sid == 0 && k < kEnterAbBanks.size()) {
        p.enter_seq |= 1u << k;
        if (p.enter_seq == (1u << kEnterAbBanks.size()) - 1) set_mode(c.pc, Mode::kAllBank);
      } else {
        p.enter_seq = 0;  // the four ACTs must be consecutive
      }
      return;
    }
    case Cmd::PRE:
      closed_row(c.pc, bank, int64_t(c.row), c.cycle);
      return;
    case Cmd::PREA:
      for (uint32_t p = lo; p < hi; ++p) {
        bool closes_leave_row = false;
        for (auto& r : pcs_[p].open_row) {
          closes_leave_row |= r == int64_t(kRowLeaveAb);
          r = -1;
        }
        if (closes_leave_row) closed_row(p, 0, kRowLeaveAb, c.cycle);
      }
      return;
    case Cmd::ACTAB:
      for (uint32_t p = lo; p < hi; ++p)
        std::fill(pcs_[p].open_row.begin(), pcs_[p].open_row.end(), int64_t(c.row));
      return;
    case Cmd::RD:
      data_row_in_ab("RD");
      return;
    case Cmd::WR:
      data_row_in_ab("WR");
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Reserved-row registers

bool AquaboltUnits::on_functional_write(const hbm::DramAddress& a, uint32_t offset,
                                        const uint8_t* data, uint32_t len) {
  ++hook_calls_;
  if (a.channel != channel_ || a.row != kRowRegisters) return false;
  if (a.pc >= pcs_.size()) throw std::out_of_range("aquabolt: pseudo-channel out of range");
  if (offset + len > 32) throw std::invalid_argument("aquabolt: register write beyond a burst");
  const auto& o = cfg_.org;
  const uint32_t bank = (a.sid * o.bank_groups + a.bg) * o.banks_per_group + a.bank;
  const Mode m = pcs_[a.pc].mode;
  const uint32_t u_lo = m == Mode::kSingleBank ? bank / 2 : 0;
  const uint32_t u_hi = m == Mode::kSingleBank ? u_lo + 1 : kUnitsPerPc;
  const uint32_t col = a.column;
  ++register_writes_;
  if (col == kColControl) {
    if (offset != 0)
      throw std::invalid_argument("aquabolt: a control write must include byte 0 of column 0");
    if (m == Mode::kSingleBank)
      throw std::logic_error("aquabolt: PIM mode change on pseudo-channel " + std::to_string(a.pc) +
                             " in SB mode: enter AB mode first");
    if (data[0] & 1) {
      set_mode(a.pc, Mode::kAllBankPim);
      for (uint32_t u = 0; u < kUnitsPerPc; ++u) units_[a.pc * kUnitsPerPc + u].reset_control();
    } else {
      set_mode(a.pc, Mode::kAllBank);
    }
    return true;
  }
  for (uint32_t u = u_lo; u < u_hi; ++u) {
    Unit& U = units_[a.pc * kUnitsPerPc + u];
    uint8_t* dst = nullptr;
    if (col == kColSrf) {
      // SRF_M then SRF_A: one 32-byte image.
      uint8_t img[32];
      std::memcpy(img, U.srf_m, 16);
      std::memcpy(img + 16, U.srf_a, 16);
      std::memcpy(img + offset, data, len);
      std::memcpy(U.srf_m, img, 16);
      std::memcpy(U.srf_a, img + 16, 16);
      continue;
    }
    if (col >= kColCrf && col < kColCrf + 4)
      dst = reinterpret_cast<uint8_t*>(U.crf) + 32 * (col - kColCrf);
    else if (col >= kColGrfA && col < kColGrfA + isa::kRegisters)
      dst = reinterpret_cast<uint8_t*>(U.grf_a[col - kColGrfA]);
    else if (col >= kColGrfB && col < kColGrfB + isa::kRegisters)
      dst = reinterpret_cast<uint8_t*>(U.grf_b[col - kColGrfB]);
    else
      throw std::invalid_argument("aquabolt: row 0x3fff column " + std::to_string(col) +
                                  " is not a register (0 control, 1 SRF, 4-7 CRF, 8-15 GRF_A, "
                                  "16-23 GRF_B)");
    std::memcpy(dst + offset, data, len);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Execution

const Instruction* AquaboltUnits::fetch(Unit& u, uint32_t pc, uint32_t unit_index) {
  for (uint32_t guard = 0;; ++guard) {
    if (guard > (1u << 24))
      throw std::logic_error("aquabolt: " + where(pc, unit_index) +
                             ": JUMPs without an instruction in between never end");
    if (u.pc >= uint32_t(isa::kCrfSlots))
      throw std::logic_error("aquabolt: " + where(pc, unit_index) +
                             ": program counter ran past the CRF (missing EXIT)");
    try {
      fetched_ = isa::decode(u.crf[u.pc]);
    } catch (const isa::IsaError& e) {
      throw isa::IsaError(std::string(e.what()) + " at CRF slot " + std::to_string(u.pc) + " of " +
                          where(pc, unit_index));
    }
    if (fetched_.op == Opcode::kExit) {
      u.exited = true;
      return nullptr;
    }
    if (fetched_.op != Opcode::kJump) return &fetched_;
    if (fetched_.target > u.pc)
      throw std::logic_error("aquabolt: " + where(pc, unit_index) + ": JUMP at slot " +
                             std::to_string(u.pc) + " jumps forward");
    int32_t& left = u.jump_left[u.pc];
    if (left < 0) left = int32_t(fetched_.count);
    if (left > 0) {
      --left;
      u.pc = fetched_.target;
    } else {
      left = -1;
      ++u.pc;
    }
  }
}

void AquaboltUnits::read_operand(const Unit& u, uint32_t pc, uint32_t unit_index, const Operand& o,
                                 uint32_t idx, const hbm::Command& c, uint16_t out[kLanes]) const {
  switch (o.type) {
    case OperandType::kGrfA:
      std::memcpy(out, u.grf_a[idx], 32);
      return;
    case OperandType::kGrfB:
      std::memcpy(out, u.grf_b[idx], 32);
      return;
    case OperandType::kSrfM:
      std::fill(out, out + kLanes, u.srf_m[idx]);
      return;
    case OperandType::kSrfA:
      std::fill(out, out + kLanes, u.srf_a[idx]);
      return;
    case OperandType::kEvenBank:
    case OperandType::kOddBank: {
      const uint32_t bank = 2 * unit_index + (o.type == OperandType::kOddBank ? 1 : 0);
      const uint8_t* row = store_.row(flat_bank(pc, bank), c.row);
      if (row)
        std::memcpy(out, row + size_t(c.column) * cfg_.org.bytes_per_column, 32);
      else
        std::memset(out, 0, 32);
      return;
    }
    case OperandType::kNone:
      std::memset(out, 0, 32);
      return;
  }
}

void AquaboltUnits::on_pim_command(const hbm::Command& c, const hbm::PimOp& op, uint32_t) {
  if (op.kind == hbm::PimOp::Kind::kMacRowGroups)
    throw std::logic_error(
        "aquabolt: per-slice MAC rounds (kMacRowGroups) are not supported: the units compute "
        "in AB-PIM mode, on the row an all-bank activation opened");
  if (op.mac_mask != ~uint64_t(0))
    throw std::logic_error(
        "aquabolt: a MACAB bank mask is not supported: every unit of the "
        "pseudo-channel executes its CRF instruction");
  if (c.cmd != Cmd::MACAB) return;  // ACTAB / PREA: open rows are tracked by on_command
  if (c.scope_channel)
    throw std::logic_error("aquabolt: all-bank commands reach one pseudo-channel, not a channel");
  const uint32_t pc = c.pc;
  if (pc >= pcs_.size()) throw std::out_of_range("aquabolt: MACAB pseudo-channel out of range");
  if (pcs_[pc].mode != Mode::kAllBankPim)
    throw std::logic_error("aquabolt: MACAB (row " + std::to_string(c.row) + ", column " +
                           std::to_string(c.column) + ") on pseudo-channel " + std::to_string(pc) +
                           " in " + mode_name(pcs_[pc].mode) + " mode at cycle " +
                           std::to_string(c.cycle) + ": the units execute only in AB-PIM mode");
  ++column_commands_;
  size_t n = 0;
  for (uint32_t ui = 0; ui < kUnitsPerPc; ++ui) {
    Unit& U = units_[pc * kUnitsPerPc + ui];
    if (U.exited) {
      ++idle_;
      continue;
    }
    const Instruction* ins = fetch(U, pc, ui);
    if (!ins) {
      ++idle_;
      continue;
    }
    ++instructions_;
    if (ins->op == Opcode::kNop) {
      if (!U.nop_active) {
        U.nop_active = true;
        U.nop_left = ins->count;
      }
      if (U.nop_left == 0) {
        U.nop_active = false;
        ++U.pc;
      } else {
        --U.nop_left;
      }
      continue;
    }
    const uint32_t col = c.column;
    auto idx = [&](const Operand& o) {
      return isa::effective_index(o.type, o.index, ins->aam, col);
    };
    AluBeat& bt = beats_[n];
    Pending& pd = pending_[n];
    ++n;
    bt.op = AluOp(uint8_t(ins->op));
    read_operand(U, pc, ui, ins->src0, idx(ins->src0), c, bt.a);
    uint16_t tmp[kLanes];
    read_operand(U, pc, ui, ins->src1, idx(ins->src1), c, bt.b);
    const Operand& acc = ins->op == Opcode::kMac ? ins->dst : ins->src2;
    read_operand(U, pc, ui, acc, idx(acc), c, tmp);
    for (int l = 0; l < kLanes; ++l) bt.c[l] = tmp[l];
    bt.d = pd.d;
    pd.unit = &U;
    pd.unit_index = ui;
    pd.dst = ins->dst;
    pd.dst_index = idx(ins->dst);
    if (ins->op == Opcode::kMul || ins->op == Opcode::kMac || ins->op == Opcode::kMad)
      macs_ += kLanes;
    ++U.pc;
    // EXIT right behind an instruction stops the unit now (as Samsung's PIMSimulator does).
    if (U.pc < uint32_t(isa::kCrfSlots) && U.crf[U.pc] == uint32_t(Opcode::kExit) << 28)
      U.exited = true;
  }
  if (n == 0) return;
  alu_.run(beats_.data(), n, c.cycle * tck_ps_);
  for (size_t k = 0; k < n; ++k) {
    const Pending& pd = pending_[k];
    uint16_t v[kLanes];
    for (int l = 0; l < kLanes; ++l) v[l] = uint16_t(pd.d[l]);
    switch (pd.dst.type) {
      case OperandType::kGrfA:
        std::memcpy(pd.unit->grf_a[pd.dst_index], v, 32);
        break;
      case OperandType::kGrfB:
        std::memcpy(pd.unit->grf_b[pd.dst_index], v, 32);
        break;
      case OperandType::kEvenBank:
      case OperandType::kOddBank: {
        const uint32_t bank = 2 * pd.unit_index + (pd.dst.type == OperandType::kOddBank ? 1 : 0);
        uint8_t* row = store_.row_for_write(flat_bank(pc, bank), c.row);
        std::memcpy(row + size_t(c.column) * cfg_.org.bytes_per_column, v, 32);
        break;
      }
      default:
        throw std::logic_error("aquabolt: instruction without a writable destination");
    }
  }
}

}  // namespace sparsepim::pim
