#pragma once
// Statistics observer: commands by type, row hits / misses / conflicts, bytes moved and
// per-bank busy cycles, all derived from the command stream.
#include <array>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "hbm/command_observer.h"
#include "hbm/memory_config.h"

namespace sparsepim::hbm {

class StatsObserver : public CommandObserver {
 public:
  explicit StatsObserver(const MemoryConfig& cfg);
  void on_command(const Command& c) override;
  void on_finish(uint64_t cycle) override;

  std::array<uint64_t, kNumCmds> commands{};
  uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;
  uint64_t bytes_read = 0, bytes_written = 0;  // over the external data bus
  uint64_t pim_bank_bytes = 0;                 // read by MACAB inside the banks
  // Activations of PIM passes: single-bank ACTs issued by a PIM op (per-slice rounds), and bank
  // rows opened by PIM ops (an ACTAB counts every bank of its scope, such an ACT one).
  uint64_t pim_acts = 0;
  uint64_t pim_bank_activations = 0;
  uint64_t end_cycle = 0;
  // Per bank (flattened channel, pc, sid, bg, bank): cycles with a row open, cycles of column
  // work (bursts, and BL per MACAB the bank computes in), and MACABs the bank computed in.
  std::vector<uint64_t> bank_open_cycles;
  std::vector<uint64_t> bank_column_cycles;
  std::vector<uint64_t> bank_macs;

  // max / mean of `v` (1 = perfectly balanced; 0 for an empty or all-zero `v`).
  static double imbalance(const std::vector<uint64_t>& v);
  // Per-bank PIM work imbalance: max / mean of bank_macs over every bank of the memory.
  double bank_mac_imbalance() const { return imbalance(bank_macs); }

  uint64_t total_commands() const;
  // {"ACT": n, ...}: the command types that occurred.
  nlohmann::json commands_json() const;

 private:
  uint32_t flat(uint32_t ch, uint32_t pc, uint32_t sid, uint32_t bg, uint32_t bank) const;
  void open(uint32_t b, uint64_t cycle);
  void close(uint32_t b, uint64_t cycle);
  MemoryConfig cfg_;
  std::vector<uint64_t> open_since_;  // kNever when closed
};

}  // namespace sparsepim::hbm
