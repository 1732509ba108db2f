#pragma once
// The instruction set of the aquabolt-hbm2-pim bank-pair units (Samsung HBM-PIM / FIMDRAM style):
// encoding, decoding, validation, an assembler-like builder and a disassembler. The one place
// for the ISA; docs/pim-isa.md has the tables.
//
// DESIGN.md fixes only the opcode position (bits 31:28) and the opcode/operand names. The field
// positions below bit 28 are this project's choice; they follow Samsung's public PIMSimulator
// where it has a field (operand types at 27:25 / 24:22 / 21:19 / 18:16, the address-aligned
// bit at 15, JUMP count at 27:11), but the opcode numbers, register-index widths and the
// absolute JUMP target are ours.
//
//   arithmetic / MOV / FILL   [31:28] op  [27:25] dst  [24:22] src0  [21:19] src1  [18:16] src2
//                             [15] AAM    [14:12] 0    [11:9] dst#   [8:6] src0#   [5:3] src1#
//                             [2:0] src2#
//   JUMP                      [31:28] 7   [27:11] count (jumps taken)  [10:5] 0  [4:0] target
//   NOP                       [31:28] 0   [27:11] 0    [10:0] extra column commands to idle
//   EXIT                      [31:28] 8   [27:0] 0
//
// Every word has exactly one encoding: unused fields must be zero, so decode(encode(i)) == i and
// encode(decode(w)) == w for every valid w.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "pim/fp16_alu.h"

namespace sparsepim::pim::isa {

// A malformed instruction word or an instruction that breaks the operand rules.
class IsaError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class Opcode : uint8_t {
  kNop = 0,
  kAdd = 1,
  kMul = 2,
  kMac = 3,
  kMad = 4,
  kMov = 5,
  kFill = 6,
  kJump = 7,
  kExit = 8,
};
// The arithmetic and move opcodes are the ALU's operation codes.
static_assert(uint8_t(Opcode::kAdd) == uint8_t(AluOp::kAdd));
static_assert(uint8_t(Opcode::kMul) == uint8_t(AluOp::kMul));
static_assert(uint8_t(Opcode::kMac) == uint8_t(AluOp::kMac));
static_assert(uint8_t(Opcode::kMad) == uint8_t(AluOp::kMad));
static_assert(uint8_t(Opcode::kMov) == uint8_t(AluOp::kMov));
static_assert(uint8_t(Opcode::kFill) == uint8_t(AluOp::kFill));

// Operand types (3 bits). 7 is not a valid code.
enum class OperandType : uint8_t {
  kNone = 0,
  kGrfA = 1,      // 8 x 256-bit vector registers (16 FP16 lanes)
  kGrfB = 2,      // 8 x 256-bit vector registers
  kSrfM = 3,      // 8 FP16 scalars, broadcast to the 16 lanes when read
  kSrfA = 4,      // 8 FP16 scalars, broadcast
  kEvenBank = 5,  // the 32 B column (command row, command column) of the unit's even bank
  kOddBank = 6,   // ... of its odd bank
};

inline constexpr int kRegisters = 8;  // per register file
inline constexpr int kCrfSlots = 32;  // CRF entries
inline constexpr uint32_t kMaxJumpCount = (1u << 17) - 1;
inline constexpr uint32_t kMaxNopCount = (1u << 11) - 1;

struct Operand {
  OperandType type = OperandType::kNone;
  uint8_t index = 0;  // register index 0..7 (0 for banks and kNone)
  bool operator==(const Operand& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Operand& o) const { return !(*this == o); }
};

inline constexpr Operand none() {
  return {};
}
inline constexpr Operand grf_a(uint8_t i) {
  return {OperandType::kGrfA, i};
}
inline constexpr Operand grf_b(uint8_t i) {
  return {OperandType::kGrfB, i};
}
inline constexpr Operand srf_m(uint8_t i) {
  return {OperandType::kSrfM, i};
}
inline constexpr Operand srf_a(uint8_t i) {
  return {OperandType::kSrfA, i};
}
inline constexpr Operand even_bank() {
  return {OperandType::kEvenBank, 0};
}
inline constexpr Operand odd_bank() {
  return {OperandType::kOddBank, 0};
}

inline constexpr bool is_bank(OperandType t) {
  return t == OperandType::kEvenBank || t == OperandType::kOddBank;
}
inline constexpr bool is_register(OperandType t) {
  return t == OperandType::kGrfA || t == OperandType::kGrfB || t == OperandType::kSrfM ||
         t == OperandType::kSrfA;
}
inline constexpr bool is_scalar(OperandType t) {
  return t == OperandType::kSrfM || t == OperandType::kSrfA;
}

// Address-aligned mode: with the AAM bit set, every register operand's index is the field plus
// a part of the MACAB's column address, modulo 8:
//   GRF_A, GRF_B (vectors):  index = (field + (column & 7))  & 7
//   SRF_M, SRF_A (scalars):  index = (field + (column >> 3)) & 7
// so one instruction repeated over the 32 columns of a row walks the 8 vector registers with
// the low column bits and 4 scalars with the high ones.
inline constexpr uint32_t effective_index(OperandType t, uint32_t field, bool aam,
                                          uint32_t column) {
  if (!aam) return field;
  return (field + (is_scalar(t) ? column >> 3 : column & 7)) & 7;
}

struct Instruction {
  Opcode op = Opcode::kNop;
  Operand dst, src0, src1, src2;
  bool aam = false;
  uint8_t target = 0;  // JUMP: CRF slot to jump back to (at or before the JUMP)
  uint32_t count = 0;  // JUMP: how many times the jump is taken; NOP: extra idle commands
  bool operator==(const Instruction& o) const {
    return op == o.op && dst == o.dst && src0 == o.src0 && src1 == o.src1 && src2 == o.src2 &&
           aam == o.aam && target == o.target && count == o.count;
  }
  bool operator!=(const Instruction& o) const { return !(*this == o); }
};

// Operand rules (IsaError otherwise):
//   ADD, MUL   dst = GRF_A|GRF_B; src0, src1 = any register or bank; src2 none
//   MAC        as MUL; the destination is also the accumulator (dst = dst + src0 x src1)
//   MAD        dst = GRF; src0, src1, src2 any register or bank (dst = src0 x src1 + src2)
//   MOV, FILL  dst = GRF_A|GRF_B|EVEN_BANK|ODD_BANK; src0 any register or bank; src1, src2 none
//   NOP, JUMP, EXIT  no operands, no AAM
// An instruction touches at most one bank (one 32 B column per unit per column command), SRFs
// are written by the host only, and an unused operand is kNone with index 0.
void validate(const Instruction& i);
uint32_t encode(const Instruction& i);  // validates
Instruction decode(uint32_t word);      // validates; IsaError on any malformed word

const char* opcode_name(Opcode op);
const char* operand_type_name(OperandType t);
// "MAC GRF_B[0+c], EVEN_BANK, SRF_M[0+c]" (AAM operands show "+c"), "JUMP 2, 23x", "NOP 3x",
// "EXIT".
std::string to_string(const Instruction& i);
std::string disassemble(uint32_t word);
// One line per slot: "  3: 0x3a8... MAC ...".
std::string listing(const std::vector<uint32_t>& words);

// Builds a CRF program. Slots are numbered from 0; here() is the slot of the next instruction
// (a jump target). words() encodes everything and rejects programs longer than the CRF.
class Program {
 public:
  Program& emit(const Instruction& i);
  Program& nop(uint32_t extra = 0);
  Program& add(Operand dst, Operand a, Operand b, bool aam = false);
  Program& mul(Operand dst, Operand a, Operand b, bool aam = false);
  Program& mac(Operand dst, Operand a, Operand b, bool aam = false);
  Program& mad(Operand dst, Operand a, Operand b, Operand c, bool aam = false);
  Program& mov(Operand dst, Operand src, bool aam = false);
  Program& fill(Operand dst, Operand src, bool aam = false);
  Program& jump(uint32_t target, uint32_t count);
  Program& exit();

  uint32_t here() const { return uint32_t(ins_.size()); }
  const std::vector<Instruction>& instructions() const { return ins_; }
  std::vector<uint32_t> words() const;
  std::string listing() const { return isa::listing(words()); }

 private:
  std::vector<Instruction> ins_;
};

}  // namespace sparsepim::pim::isa
