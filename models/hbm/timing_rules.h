#pragma once
// The DRAM timing rules of the HBM family, as one declarative table (timing_rules.cpp). The
// engine compiles it into per-command update lists; nothing else in the engine knows a rule.
// The independent timing checker (timing_checker.cpp) deliberately does NOT use this table.
#include <string>
#include <vector>

#include "hbm/dram_command.h"
#include "hbm/memory_config.h"

namespace sparsepim::hbm {

// The hierarchy a rule is counted in. kChannel is the row-command bus shared by the
// pseudo-channels; kPseudoChannel owns a column-command bus and a data bus.
enum class Level : uint8_t { kChannel, kPseudoChannel, kSid, kBankGroup, kBank };
inline constexpr int kNumLevels = 5;

struct TimingRule {
  const char* name;  // JEDEC-style parameter the rule enforces, e.g. "tRCD_RD"
  Level level;
  std::vector<Cmd> from;
  std::vector<Cmd> to;
  uint32_t latency;             // `to` may issue `latency` cycles after `from`, not earlier
  bool other_siblings = false;  // applies between *different* nodes of `level` under one parent
  uint32_t window = 0;          // > 0: at most `window` `from` commands within `latency` cycles
};

// The rules for `t`. Latencies are derived from the preset's values only.
std::vector<TimingRule> hbm_timing_rules(const Timing& t);

// Read-to-write turnaround actually applied: the preset's RTW, but never less than the data-bus
// turnaround CL + BL + 2 - CWL (one cycle of write preamble, one of bus turnaround).
uint32_t effective_read_to_write(const Timing& t);

}  // namespace sparsepim::hbm
