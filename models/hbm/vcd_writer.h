#pragma once
// VCD waveforms straight from the command stream: per pseudo-channel, the row- and column-bus
// command (as a code; scripts/gtkwave/commands.filter shows names), its bank, row and column,
// the open-row mask, and the PIM state (busy, mode). Written by the observer itself, so the
// timing is the engine's exact cycle timing and tracing costs nothing when off. A time window
// keeps the file small.
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "hbm/command_observer.h"
#include "hbm/memory_config.h"

namespace sparsepim::hbm {

// "START:END" in ns (either side may be empty) -> picoseconds; END = ~0 when open. Throws
// ConfigError on a malformed window.
std::pair<uint64_t, uint64_t> parse_window_ns(const std::string& window);

// Writes `vcd_path`.gtkw: a GTKWave save file showing pseudo-channel 0's signals with the
// translate filters of scripts/gtkwave/ attached.
void write_gtkwave_save(const std::string& vcd_path, const MemoryConfig& cfg);

class VcdWriter : public CommandObserver {
 public:
  // window_ns "START:END" (either side may be empty); throws ConfigError if unwritable or bad.
  VcdWriter(const std::string& path, const MemoryConfig& cfg, const std::string& window_ns = "");
  ~VcdWriter() override;
  VcdWriter(const VcdWriter&) = delete;
  VcdWriter& operator=(const VcdWriter&) = delete;
  void on_command(const Command& c) override;
  void on_finish(uint64_t cycle) override;
  // The window counts from this cycle (e.g. the start of the part of a run worth looking at);
  // time stamps in the file stay absolute, so they line up with other traces of the run.
  void set_origin(uint64_t cycle) {
    const uint64_t shift = cycle * tck_ps_;
    win_lo_ += shift;
    if (win_hi_ != ~uint64_t(0)) win_hi_ += shift;
  }

  // PIM mode codes of the pim_mode signal.
  enum Mode : uint8_t { kSingleBank = 0, kAllBank = 1, kAllBankPim = 2 };

 private:
  struct Signal {
    std::string id;
    uint32_t width;
    uint64_t value = ~uint64_t(0);  // unknown until first written
  };
  struct PcSignals {
    uint32_t row_cmd, col_cmd, bank, row, column, open_mask, pim_busy, pim_mode;
  };
  uint32_t add_signal(uint32_t width);
  void set(uint32_t sig, uint64_t value, uint64_t time_ps);
  void advance_to(uint64_t time_ps);  // writes pending returns-to-idle before time_ps
  void emit_time(uint64_t time_ps);
  bool in_window(uint64_t time_ps) const { return time_ps >= win_lo_ && time_ps <= win_hi_; }

  MemoryConfig cfg_;
  std::FILE* f_ = nullptr;
  std::string buf_;
  uint64_t tck_ps_;
  uint64_t win_lo_ = 0, win_hi_ = ~uint64_t(0);
  uint64_t last_time_ = ~uint64_t(0);
  bool window_dumped_ = false;
  std::vector<Signal> sig_;
  std::vector<PcSignals> pcs_;  // per (channel, pc)
  std::vector<uint64_t> open_;  // open-row mask per (channel, pc)
  struct Pending {
    uint64_t time_ps;
    uint32_t sig;
    uint64_t value;
  };
  std::vector<Pending> pending_;
};

}  // namespace sparsepim::hbm
