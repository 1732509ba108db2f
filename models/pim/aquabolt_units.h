#pragma once
// The programmable bank-pair PIM units of one aquabolt-hbm2-pim channel (Samsung HBM-PIM /
// FIMDRAM style): per pseudo-channel 8 units, unit u between banks 2u (even) and 2u + 1 (odd)
// (bank index = bank group x 4 + bank, SID 0). Each unit has GRF_A[8], GRF_B[8] (16 FP16 lanes),
// SRF_M[8], SRF_A[8] (FP16 scalars) and a 32-entry CRF (pim_isa.h).
//
// Three roles on one channel:
//  - CommandObserver: the mode machine of each pseudo-channel, driven by the command stream.
//      SB -> AB      four consecutive ACTs of the pseudo-channel to row 0x17ff of banks 0, 1, 8, 9
//                    (any order; any other ACT restarts the sequence)
//      AB -> SB      a precharge (PRE, or PREA / refresh PREA) that closes row 0x1fff
//    In AB and AB-PIM the host may only touch the reserved rows (0x17ff, 0x1fff, 0x3fff) of that
//    pseudo-channel: an ACT/RD/WR to any other row is an error (all-bank data writes are not
//    modelled).
//  - FunctionalWriteHook: the memory-mapped registers in row 0x3fff (consumed, never stored):
//      col 0      control: byte 0 bit 0 = 1 enter AB-PIM (from AB; PCs, loop counters and EXIT
//                 reset; again in AB-PIM: restart), 0 leave AB-PIM (to AB). In SB: error.
//      col 1      SRF: bytes 0-15 SRF_M[0..7], bytes 16-31 SRF_A[0..7] (FP16, little endian)
//      cols 4-7   CRF: col 4 + k holds instructions 8k .. 8k + 7 (32-bit little endian)
//      cols 8-15  GRF_A[0..7]        cols 16-23  GRF_B[0..7]
//      other      error
//    In AB and AB-PIM a register write goes to all 8 units of the pseudo-channel, in SB to the
//    unit of the addressed bank. Partial bursts patch the addressed bytes.
//  - PimExecutor: in AB-PIM every MACAB of the pseudo-channel executes the next instruction on
//    every unit (JUMPs and EXIT resolved in zero cycles first; an exited unit ignores further
//    MACABs until the next PIM-mode entry). Bank operands read (command row, command column) of
//    the unit's even/odd bank; a bank destination writes it. A MACAB in SB or AB mode is an
//    error (std::logic_error): the units execute only in AB-PIM.
// Arithmetic and moves go through the AluBackend, the 8 units' beats of a command in one batch;
// FP16 only (the ALU's 16-bit accumulator configuration).
#include <array>
#include <cstdint>
#include <vector>

#include "hbm/bank_store.h"
#include "hbm/channel_engine.h"
#include "hbm/hbm_channel.h"
#include "pim/alu_backend.h"
#include "pim/pim_isa.h"

namespace sparsepim::pim {

class AquaboltUnits : public hbm::PimExecutor,
                      public hbm::CommandObserver,
                      public hbm::FunctionalWriteHook {
 public:
  static constexpr uint32_t kUnitsPerPc = 8;
  static constexpr uint32_t kRowEnterAb = 0x17ff;
  static constexpr uint32_t kRowLeaveAb = 0x1fff;
  static constexpr uint32_t kRowRegisters = 0x3fff;
  static constexpr uint32_t kColControl = 0, kColSrf = 1, kColCrf = 4, kColGrfA = 8, kColGrfB = 16;
  static constexpr std::array<uint32_t, 4> kEnterAbBanks = {0, 1, 8, 9};

  enum class Mode : uint8_t { kSingleBank = 0, kAllBank = 1, kAllBankPim = 2 };
  static const char* mode_name(Mode m);

  struct Unit {
    uint16_t grf_a[isa::kRegisters][kLanes] = {};
    uint16_t grf_b[isa::kRegisters][kLanes] = {};
    uint16_t srf_m[isa::kRegisters] = {};
    uint16_t srf_a[isa::kRegisters] = {};
    uint32_t crf[isa::kCrfSlots] = {};
    uint32_t pc = 0;
    bool exited = false;
    bool nop_active = false;
    uint32_t nop_left = 0;
    int32_t jump_left[isa::kCrfSlots];  // per JUMP slot: jumps still to take, -1 = not entered
    Unit() { reset_control(); }
    void reset_control();
  };

  AquaboltUnits(const hbm::MemoryConfig& cfg, uint32_t channel, hbm::BankStore& store,
                AluBackend& alu);

  // CommandObserver: mode machine, open rows.
  void on_command(const hbm::Command& c) override;
  // FunctionalWriteHook: row 0x3fff writes (true = consumed).
  bool on_functional_write(const hbm::DramAddress& a, uint32_t offset, const uint8_t* data,
                           uint32_t len) override;
  // PimExecutor: MACABs.
  void on_pim_command(const hbm::Command& c, const hbm::PimOp& op, uint32_t index) override;

  Mode mode(uint32_t pc) const { return pcs_.at(pc).mode; }
  const Unit& unit(uint32_t pc, uint32_t u) const { return units_.at(pc * kUnitsPerPc + u); }
  uint32_t pseudo_channels() const { return uint32_t(pcs_.size()); }

  // Statistics.
  uint64_t macs() const { return macs_; }                        // lanes x (MUL, MAC, MAD)
  uint64_t instructions() const { return instructions_; }        // per unit, NOP included
  uint64_t column_commands() const { return column_commands_; }  // MACABs executed in AB-PIM
  uint64_t idle_unit_commands() const { return idle_; }          // MACABs met by an exited unit
  uint64_t register_writes() const { return register_writes_; }  // row 0x3fff bursts
  uint64_t mode_changes() const { return mode_changes_; }
  uint64_t hook_calls() const { return hook_calls_; }

 private:
  struct PcState {
    Mode mode = Mode::kSingleBank;
    uint32_t enter_seq = 0;         // bit k: ACT to 0x17ff seen on kEnterAbBanks[k]
    std::vector<int64_t> open_row;  // per bank of the pseudo-channel, -1 = closed
  };
  struct Pending {  // one unit's result of the current command
    Unit* unit;
    uint32_t unit_index;
    isa::Operand dst;
    uint32_t dst_index;
    uint32_t d[kLanes];
  };

  static bool reserved_row(uint32_t row) {
    return row == kRowEnterAb || row == kRowLeaveAb || row == kRowRegisters;
  }
  void set_mode(uint32_t pc, Mode m);
  void closed_row(uint32_t pc, uint32_t bank, int64_t row, uint64_t cycle);
  // Next instruction of a unit, JUMPs resolved; nullptr when it reaches EXIT.
  const isa::Instruction* fetch(Unit& u, uint32_t pc, uint32_t unit_index);
  void read_operand(const Unit& u, uint32_t pc, uint32_t unit_index, const isa::Operand& o,
                    uint32_t idx, const hbm::Command& c, uint16_t out[kLanes]) const;
  uint32_t flat_bank(uint32_t pc, uint32_t bank) const;

  hbm::MemoryConfig cfg_;
  uint32_t channel_;
  hbm::BankStore& store_;
  AluBackend& alu_;
  uint64_t tck_ps_;
  std::vector<PcState> pcs_;
  std::vector<Unit> units_;  // pc-major
  std::vector<AluBeat> beats_;
  std::vector<Pending> pending_;
  isa::Instruction fetched_;
  uint64_t macs_ = 0, instructions_ = 0, column_commands_ = 0, idle_ = 0, register_writes_ = 0,
           mode_changes_ = 0, hook_calls_ = 0;
};

}  // namespace sparsepim::pim
