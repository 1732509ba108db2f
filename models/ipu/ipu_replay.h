#pragma once
// The index-prediction unit's clocked mode inside a decode run (`sparsepim run --units clocked`):
// every command of the run's LFPS / TidalDecode / composition selections, with the positions and
// FP16 scores the policy used (SelectionWork::IpuCall, recorded with StepInput::record_ipu), goes
// through the SystemC unit, and each answer is checked against what the policy library chose and
// its cycle count against the cycle model the run charges (call_cycles).
//
// Streams and benches. The unit keeps a history per (history layer, query head) in a position
// slot: LFPS's per (layer, head), TidalDecode's per (selection layer, head), which the later
// layers REUSE. A stream's commands run in decode order (step, then layer), whatever order the
// library evaluated them in. Streams are packed kSimSlots (8) to a bench, one stream per slot,
// longest first onto the least loaded bench, and the commands of a bench's streams interleave
// in decode order; every bench (queue capacity: the smallest template that holds its largest
// k) runs in one SystemC simulation (units::run_units).
//
// FP16. The unit ranks FP16 scores. With index_prediction.scores = fp16 the library ranks the
// same numbers and every answer must be equal. With float (the default) the library ranks FP32
// scores, and a SELECT may keep another of the positions whose FP16 scores tie at the k-th
// place: such an answer counts as an FP16 tie when the library's set is a top-k of the FP16
// scores too and both sets differ only in positions of that tied score; from then on that
// stream's store differs from the library's history, so its PREDICT / REUSE answers (and their
// cycles) are checked against the fast mode only, until a SELECT stores the library's answer
// again. Any other difference is a mismatch.
#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/ipu/ipu_model.h"
#include "models/policy/policy.h"
#include "models/policy/policy_params.h"

namespace sparsepim::ipu {

// One command of a run and what the library expects of it.
struct ReplayCommand {
  int64_t position = 0;  // the decode step (its token)
  int layer = 0;
  uint64_t seq = 0;              // recording order (a call's PREDICT before its SELECT)
  std::pair<int, int> stream;    // (history layer, query head)
  IpuCommand command;            // its slot is assigned by the replay
  std::vector<uint32_t> expect;  // the library's answer
  uint64_t model_cycles = 0;     // the cycle model of the command (what the run charges)
};

class IpuReplay {
 public:
  // The commands of one selection (recorded with StepInput::record_ipu). ConfigError when a
  // SELECT's k exceeds every queue capacity (supported_capacities()): no template can run it.
  void add(const policy::StepInput& in, const policy::SelectionWork& work);
  size_t size() const { return commands_.size(); }
  const std::vector<ReplayCommand>& commands() const { return commands_; }
  // Mutable: tests corrupt an expectation to see the check fail.
  std::vector<ReplayCommand>& commands() { return commands_; }

 private:
  std::vector<ReplayCommand> commands_;
};

// Runs every command through the clocked unit (one SystemC simulation: once per process, e.g. in
// json_in_child) at the given clock period and returns the verdict:
//   commands, streams, benches, capacities (benches per queue capacity), clocked_cycles,
//   model_cycles, equal_to_library, fp16_ties, after_fp16_tie, mismatches, first_mismatch,
//   sim_wall_s.
// LFPS registers (w, sinks, window) from params.
nlohmann::json replay_clocked(const IpuReplay& replay, const policy::PolicyParams& params,
                              double period_ns);

// std::runtime_error naming the first mismatch when the verdict counts any.
void require_agreement(const nlohmann::json& verdict);

// The verdict as a decode run's `units` fields: ipu_clocked_commands_checked,
// ipu_clocked_cycles_per_step, ipu_clocked_equal_to_library, ipu_clocked_fp16_ties,
// ipu_clocked_after_fp16_tie.
nlohmann::json units_report(const nlohmann::json& verdict, int64_t steps);

}  // namespace sparsepim::ipu
