#include "pim/pim_isa.h"

#include <cstdio>

namespace sparsepim::pim::isa {
namespace {

constexpr uint32_t field(uint32_t w, int pos, int len) {
  return (w >> pos) & ((1u << len) - 1);
}
constexpr uint32_t put(uint32_t v, int pos) {
  return v << pos;
}

[[noreturn]] void fail(const std::string& what, const Instruction& i) {
  throw IsaError("PIM ISA: " + what + " (" + std::string(opcode_name(i.op)) + ")");
}

bool is_arith(Opcode op) {
  return op == Opcode::kAdd || op == Opcode::kMul || op == Opcode::kMac || op == Opcode::kMad;
}
bool is_move(Opcode op) {
  return op == Opcode::kMov || op == Opcode::kFill;
}

void check_operand(const Operand& o, const char* which, const Instruction& i) {
  if (uint8_t(o.type) > uint8_t(OperandType::kOddBank))
    fail(std::string(which) + ": operand type code " + std::to_string(int(o.type)) + " is invalid",
         i);
  if (o.index >= kRegisters)
    fail(std::string(which) + ": register index " + std::to_string(o.index) + " beyond 7", i);
  if (!is_register(o.type) && o.index != 0)
    fail(std::string(which) + ": " + operand_type_name(o.type) + " takes no register index", i);
}

void check_source(const Operand& o, const char* which, const Instruction& i) {
  if (o.type == OperandType::kNone) fail(std::string(which) + " is missing", i);
}

}  // namespace

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::kNop:
      return "NOP";
    case Opcode::kAdd:
      return "ADD";
    case Opcode::kMul:
      return "MUL";
    case Opcode::kMac:
      return "MAC";
    case Opcode::kMad:
      return "MAD";
    case Opcode::kMov:
      return "MOV";
    case Opcode::kFill:
      return "FILL";
    case Opcode::kJump:
      return "JUMP";
    case Opcode::kExit:
      return "EXIT";
  }
  return "?";
}

const char* operand_type_name(OperandType t) {
  switch (t) {
    case OperandType::kNone:
      return "NONE";
    case OperandType::kGrfA:
      return "GRF_A";
    case OperandType::kGrfB:
      return "GRF_B";
    case OperandType::kSrfM:
      return "SRF_M";
    case OperandType::kSrfA:
      return "SRF_A";
    case OperandType::kEvenBank:
      return "EVEN_BANK";
    case OperandType::kOddBank:
      return "ODD_BANK";
  }
  return "?";
}

void validate(const Instruction& i) {
  if (uint8_t(i.op) > uint8_t(Opcode::kExit))
    throw IsaError("PIM ISA: opcode " + std::to_string(int(i.op)) + " is not defined");
  const char* names[4] = {"dst", "src0", "src1", "src2"};
  const Operand* ops[4] = {&i.dst, &i.src0, &i.src1, &i.src2};
  for (int k = 0; k < 4; ++k) check_operand(*ops[k], names[k], i);
  const bool control = !is_arith(i.op) && !is_move(i.op);
  if (control) {
    for (int k = 0; k < 4; ++k)
      if (ops[k]->type != OperandType::kNone) fail(std::string(names[k]) + " must be empty", i);
    if (i.aam) fail("no AAM on control instructions", i);
    if (i.op == Opcode::kJump) {
      if (i.target >= kCrfSlots) fail("jump target beyond the CRF", i);
      if (i.count > kMaxJumpCount) fail("jump count beyond 17 bits", i);
    } else if (i.target != 0) {
      fail("only JUMP has a target", i);
    }
    if (i.op == Opcode::kNop && i.count > kMaxNopCount) fail("NOP count beyond 11 bits", i);
    if (i.op == Opcode::kExit && i.count != 0) fail("EXIT has no count", i);
    return;
  }
  if (i.target != 0 || i.count != 0) fail("only JUMP and NOP have a target or count", i);
  // Destination.
  const OperandType d = i.dst.type;
  if (is_arith(i.op)) {
    if (d != OperandType::kGrfA && d != OperandType::kGrfB)
      fail(std::string("destination ") + operand_type_name(d) +
               " not allowed: arithmetic writes GRF_A or GRF_B",
           i);
  } else {
    if (d != OperandType::kGrfA && d != OperandType::kGrfB && !is_bank(d))
      fail(std::string("destination ") + operand_type_name(d) +
               " not allowed: a move writes GRF_A, GRF_B or a bank",
           i);
  }
  // Sources.
  check_source(i.src0, "src0", i);
  const bool two = i.op != Opcode::kMov && i.op != Opcode::kFill;
  if (two)
    check_source(i.src1, "src1", i);
  else if (i.src1.type != OperandType::kNone)
    fail("src1 must be empty", i);
  if (i.op == Opcode::kMad)
    check_source(i.src2, "src2", i);
  else if (i.src2.type != OperandType::kNone)
    fail("src2 must be empty", i);
  int banks = 0;
  for (const Operand* o : ops) banks += is_bank(o->type);
  if (banks > 1) fail("an instruction touches at most one bank", i);
}

uint32_t encode(const Instruction& i) {
  validate(i);
  uint32_t w = put(uint32_t(i.op), 28);
  switch (i.op) {
    case Opcode::kExit:
      return w;
    case Opcode::kNop:
      return w | put(i.count, 0);
    case Opcode::kJump:
      return w | put(i.count, 11) | put(i.target, 0);
    default:
      break;
  }
  w |= put(uint32_t(i.dst.type), 25) | put(uint32_t(i.src0.type), 22) |
       put(uint32_t(i.src1.type), 19) | put(uint32_t(i.src2.type), 16);
  w |= put(i.aam ? 1 : 0, 15);
  w |= put(i.dst.index, 9) | put(i.src0.index, 6) | put(i.src1.index, 3) | put(i.src2.index, 0);
  return w;
}

Instruction decode(uint32_t w) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08x", w);
  const uint32_t op = field(w, 28, 4);
  if (op > uint32_t(Opcode::kExit))
    throw IsaError(std::string("PIM ISA: ") + hex + ": opcode " + std::to_string(op) +
                   " is not defined");
  Instruction i;
  i.op = Opcode(op);
  switch (i.op) {
    case Opcode::kExit:
      if (field(w, 0, 28)) throw IsaError(std::string("PIM ISA: ") + hex + ": EXIT with operands");
      break;
    case Opcode::kNop:
      if (field(w, 11, 17))
        throw IsaError(std::string("PIM ISA: ") + hex + ": NOP with bits set above its count");
      i.count = field(w, 0, 11);
      break;
    case Opcode::kJump:
      if (field(w, 5, 6))
        throw IsaError(std::string("PIM ISA: ") + hex + ": JUMP with reserved bits 10:5 set");
      i.count = field(w, 11, 17);
      i.target = uint8_t(field(w, 0, 5));
      break;
    default:
      if (field(w, 12, 3))
        throw IsaError(std::string("PIM ISA: ") + hex + ": reserved bits 14:12 set");
      i.dst = {OperandType(field(w, 25, 3)), uint8_t(field(w, 9, 3))};
      i.src0 = {OperandType(field(w, 22, 3)), uint8_t(field(w, 6, 3))};
      i.src1 = {OperandType(field(w, 19, 3)), uint8_t(field(w, 3, 3))};
      i.src2 = {OperandType(field(w, 16, 3)), uint8_t(field(w, 0, 3))};
      i.aam = field(w, 15, 1) != 0;
      break;
  }
  try {
    validate(i);
  } catch (const IsaError& e) {
    throw IsaError(std::string(e.what()) + " in word " + hex);
  }
  return i;
}

namespace {
std::string operand_text(const Operand& o, bool aam) {
  std::string s = operand_type_name(o.type);
  if (is_register(o.type)) s += "[" + std::to_string(o.index) + (aam ? "+c]" : "]");
  return s;
}
}  // namespace

std::string to_string(const Instruction& i) {
  std::string s = opcode_name(i.op);
  switch (i.op) {
    case Opcode::kExit:
      return s;
    case Opcode::kNop:
      return i.count ? s + " " + std::to_string(i.count + 1) + "x" : s;
    case Opcode::kJump:
      return s + " " + std::to_string(i.target) + ", " + std::to_string(i.count) + "x";
    default:
      break;
  }
  s += " " + operand_text(i.dst, i.aam);
  for (const Operand* o : {&i.src0, &i.src1, &i.src2})
    if (o->type != OperandType::kNone) s += ", " + operand_text(*o, i.aam);
  if (i.aam) s += "  (AAM)";
  return s;
}

std::string disassemble(uint32_t word) {
  return to_string(decode(word));
}

std::string listing(const std::vector<uint32_t>& words) {
  std::string out;
  char head[48];
  for (size_t k = 0; k < words.size(); ++k) {
    std::snprintf(head, sizeof head, "%3zu: 0x%08x  ", k, words[k]);
    out += head + disassemble(words[k]) + "\n";
  }
  return out;
}

Program& Program::emit(const Instruction& i) {
  validate(i);
  if (i.op == Opcode::kJump && i.target > here())
    throw IsaError("PIM ISA: JUMP at slot " + std::to_string(here()) + " to slot " +
                   std::to_string(i.target) + ": loops jump back (target at or before the JUMP)");
  ins_.push_back(i);
  return *this;
}

Program& Program::nop(uint32_t extra) {
  Instruction i;
  i.op = Opcode::kNop;
  i.count = extra;
  return emit(i);
}

namespace {
Instruction make(Opcode op, Operand d, Operand a, Operand b, Operand c, bool aam) {
  Instruction i;
  i.op = op;
  i.dst = d;
  i.src0 = a;
  i.src1 = b;
  i.src2 = c;
  i.aam = aam;
  return i;
}
}  // namespace

Program& Program::add(Operand dst, Operand a, Operand b, bool aam) {
  return emit(make(Opcode::kAdd, dst, a, b, none(), aam));
}
Program& Program::mul(Operand dst, Operand a, Operand b, bool aam) {
  return emit(make(Opcode::kMul, dst, a, b, none(), aam));
}
Program& Program::mac(Operand dst, Operand a, Operand b, bool aam) {
  return emit(make(Opcode::kMac, dst, a, b, none(), aam));
}
Program& Program::mad(Operand dst, Operand a, Operand b, Operand c, bool aam) {
  return emit(make(Opcode::kMad, dst, a, b, c, aam));
}
Program& Program::mov(Operand dst, Operand src, bool aam) {
  return emit(make(Opcode::kMov, dst, src, none(), none(), aam));
}
Program& Program::fill(Operand dst, Operand src, bool aam) {
  return emit(make(Opcode::kFill, dst, src, none(), none(), aam));
}
Program& Program::jump(uint32_t target, uint32_t count) {
  Instruction i;
  i.op = Opcode::kJump;
  if (target >= uint32_t(kCrfSlots)) throw IsaError("PIM ISA: jump target beyond the CRF");
  i.target = uint8_t(target);
  i.count = count;
  return emit(i);
}
Program& Program::exit() {
  Instruction i;
  i.op = Opcode::kExit;
  return emit(i);
}

std::vector<uint32_t> Program::words() const {
  if (ins_.size() > size_t(kCrfSlots))
    throw IsaError("PIM ISA: program of " + std::to_string(ins_.size()) +
                   " instructions does not fit the 32-entry CRF");
  std::vector<uint32_t> w;
  w.reserve(ins_.size());
  for (const Instruction& i : ins_) w.push_back(encode(i));
  return w;
}

}  // namespace sparsepim::pim::isa
