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
  uint64_t end_cycle = 0;
  // Per bank (flattened channel, pc, sid, bg, bank): cycles with a row open, and cycles of
  // column work (bursts and MACs).
  std::vector<uint64_t> bank_open_cycles;
  std::vector<uint64_t> bank_column_cycles;

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
