#pragma once
// The DRAM command vocabulary and the record every observer receives. One place for both, so
// the engine, the timing checker, the energy model and the trace writer speak the same words.
#include <array>
#include <cstdint>
#include <string_view>

namespace sparsepim::hbm {

enum class Cmd : uint8_t {
  ACT,    // activate one row of one bank
  PRE,    // precharge one bank
  PREA,   // precharge all banks of the command's scope
  RD,     // column read (one burst)
  WR,     // column write (one burst)
  REF,    // all-bank refresh of a pseudo-channel
  REFPB,  // per-bank refresh
  // All-bank PIM commands (AttAcc HBM3-PIM / Samsung HBM-PIM style). Scope = memory's pim scope.
  ACTAB,  // activate the same row in every bank of the scope
  MACAB,  // every bank multiplies one column of its open row with its GEMV buffer
  WRGB,   // write one burst into the GEMV buffers
  MVSB,   // move partial results from the banks' PIM units to the buffer die
  MVGB,   // move one burst from the buffer die into the GEMV buffers
  kCount
};
inline constexpr int kNumCmds = static_cast<int>(Cmd::kCount);

inline constexpr std::array<std::string_view, kNumCmds> kCmdNames = {
    "ACT", "PRE", "PREA", "RD", "WR", "REF", "REFPB", "ACTAB", "MACAB", "WRGB", "MVSB", "MVGB"};

constexpr std::string_view cmd_name(Cmd c) {
  return kCmdNames[static_cast<int>(c)];
}
constexpr int idx(Cmd c) {
  return static_cast<int>(c);
}

// Row commands travel on the row-command bus that the pseudo-channels of a channel share.
constexpr bool is_row_command(Cmd c) {
  return c == Cmd::ACT || c == Cmd::PRE || c == Cmd::PREA || c == Cmd::REF || c == Cmd::REFPB ||
         c == Cmd::ACTAB;
}
constexpr bool is_column_command(Cmd c) {
  return !is_row_command(c);
}
// Commands that move a data burst over the pseudo-channel's data bus.
constexpr bool uses_data_bus(Cmd c) {
  return c == Cmd::RD || c == Cmd::WR || c == Cmd::WRGB || c == Cmd::MVSB || c == Cmd::MVGB;
}
// Commands that act on every bank of a scope rather than on one bank.
constexpr bool is_all_bank(Cmd c) {
  return c == Cmd::PREA || c == Cmd::REF || c == Cmd::ACTAB || c == Cmd::MACAB;
}

// How the request that a column command serves found its bank (set by the controller).
enum class RowOutcome : uint8_t { kNone, kHit, kMiss, kConflict };

// MACAB bank mask meaning "every bank of the command's scope" (the only form an ACTAB pass uses,
// and the only one a scope of more than 64 banks can express).
inline constexpr uint64_t kAllBanks = ~uint64_t(0);

// One issued command. For all-bank commands bank group and bank are 0 and the scope is given by
// `scope_channel` (true: every bank of the channel; false: every bank of the pseudo-channel).
struct Command {
  uint64_t cycle = 0;
  Cmd cmd = Cmd::ACT;
  uint16_t channel = 0;
  uint8_t pc = 0;
  uint8_t sid = 0;
  uint8_t bg = 0;
  uint8_t bank = 0;
  bool scope_channel = false;
  RowOutcome outcome = RowOutcome::kNone;
  uint32_t row = 0;
  uint32_t column = 0;
  // MACAB only: the banks of its scope that compute — after an ACTAB all of them or the subset
  // the op enables (PimOp::mac_mask), in a per-slice round the banks it opened. Bit i is
  // bank i of the scope, counted over the scope's pseudo-channels in order: i = (pc - first pc
  // of the scope) * banks_per_pc + ((sid * bank_groups + bg) * banks_per_group + bank).
  // kAllBanks = every bank of the scope (ACTAB passes). A MACAB of a per-slice round
  // (PimOp::kMacRowGroups) carries the exact mask, and `row` is then the row open in its lowest
  // participating bank (the other banks' rows are in their ACT records).
  uint64_t bank_mask = kAllBanks;
  bool pim = false;     // issued by a PIM operation (its ACT/ACTAB/MACAB/PREA and buffer bursts)
  uint8_t queries = 1;  // MACAB: buffered queries its column is applied to (MACs = lanes x this)
};

// Number of banks a MACAB computes in, for a scope of `scope_banks` banks.
inline uint32_t mac_bank_count(const Command& c, uint32_t scope_banks) {
  return c.bank_mask == kAllBanks ? scope_banks : uint32_t(__builtin_popcountll(c.bank_mask));
}

}  // namespace sparsepim::hbm
