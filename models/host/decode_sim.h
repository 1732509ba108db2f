#pragma once
// The decode simulation behind `sparsepim run` (DESIGN.md 2.3, 4, 5): decode steps of an LLM's
// attention on HBM-PIM stacks under sparse-attention policies.
//
// Two phases. (1) Selection and accuracy, plain C++: the policy library runs over the workload
// layer by layer (models/policy/accuracy.h) and every selection becomes a job — the row groups
// its passes touch in the policy's storage layout (token order, or STARC's cluster order), the
// buffer-die work, STARC's clustering of new blocks. (2) Timing, SystemC/TLM: per policy, one
// simulation replays the jobs step by step, layer by layer, as coarse PIM transactions on the
// channels (one KV head per channel, heads of a layer concurrently), through the DRAM engine with
// its timing, statistics and energy observers.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sparsepim::host {

struct DecodeOptions {
  std::string model = "llama-3.1-8b";
  int64_t context = 32768;
  int64_t steps = 4;
  int64_t budget = 1024;
  std::vector<std::string> policies;
  std::string memory = "attacc-hbm3-pim";
  std::vector<std::string> memory_sets;
  int stacks = 1;
  uint64_t seed = 1;
  std::string trace;  // real Q/K/V instead of the generator
  // STARC's artifact tables (one token count per decode step): step s uses entry
  // len - steps + s (the table's last, longest-context entries) as every policy's budget.
  std::string replay;
  std::string host_config = "attacc-host";
  std::string params = "default";  // policy parameters
  std::vector<std::string> policy_sets;
  std::string numerics = "fp32";
  std::string pim_alu = "model";
  std::string units = "fast";
  std::string row_activation;  // overrides the host config: auto | lockstep | slices
  std::string selection;       // overrides the host config: buffer_die | ipu
  std::string clustering;      // overrides the host config: in_memory | cmu
  bool check_timing = false;
  // Waveforms of channel 0 (commands, banks, open rows, PIM activity), one file per policy:
  // FILE with the policy's name before the extension; window "START:END" in ns.
  std::string vcd, vcd_window;  // the independent timing checker on every channel
  std::function<void(const std::string& what, double fraction)> progress;
};

// Runs every policy; returns {"config": ..., "policies": [...]} (docs/user-guide.md). Throws
// ConfigError / InputError for bad input before any simulation starts.
nlohmann::json run_decode(const DecodeOptions& opt);

}  // namespace sparsepim::host
