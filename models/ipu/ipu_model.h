#pragma once
// The index-prediction unit's commands, results, cycle model and fast mode (plain C++, no
// SystemC). Fast mode = the policy library's algorithms (LfpsPolicy::candidates, top_k_of, the
// TidalDecode selection) + the cycle formulas below; tests check it against the clocked unit
// (ipu_unit.h) result for result and cycle for cycle.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/ipu/ipu_params.h"
#include "models/policy/policy.h"
#include "models/policy/policy_params.h"

namespace sparsepim::ipu {

// Template instances of the unit (cmd_k <= capacity); 8 position slots each.
constexpr int kSimSlots = 8;
const std::vector<int>& supported_capacities();

struct IpuConfig {
  int expansion = 1, sinks = 4, recent_window = 64;  // LFPS w, sinks, window (tokens)
  int slots = kSimSlots;
  int capacity = 64;  // cells of each selection queue = the largest k
};
// The LFPS parameters of a policy config; ConfigError when they exceed the unit's registers.
IpuConfig make_ipu_config(const policy::PolicyParams& p, int capacity);

struct IpuCommand {
  IpuOp op = kOpPredict;
  uint32_t slot = 0;
  uint32_t n = 0;       // cache length (predict; select with append)
  uint32_t k = 0;       // select
  bool store = false;   // select: keep the result in `slot`
  bool append = false;  // select: add n - 1 after the top-k (TidalDecode's current token)
  // select: (position, FP16 score) pairs, distinct positions, no NaN.
  std::vector<std::pair<uint32_t, uint16_t>> pairs;
};

struct IpuAnswer {
  std::vector<uint32_t> positions;
  uint64_t cycles = 0;  // from the command's acceptance to the end beat, inclusive
};

// Cycles with inputs always valid and outputs always ready:
//   predict: h + E + 5   (h stored positions, E candidates: one fetch per interval h + 2,
//                         one cycle per candidate, command, final fetch and end beat)
//   select:  m + 2 min(k, m) + append + 2   (one cycle per pair in, per survivor moved to the
//                         position queue and per position out)
//   reuse:   count + 2
uint64_t predict_cycles(uint64_t history, uint64_t candidates);
uint64_t select_cycles(uint64_t pairs, uint64_t k, bool append);
uint64_t reuse_cycles(uint64_t count);
// The cycles of the commands a policy's selection recorded for one query head (PREDICT, SELECT,
// REUSE as the call says): what a decode run charges the unit in fast mode.
uint64_t call_cycles(const policy::SelectionWork::IpuCall& call);

// Fast mode: the unit's position store and the reference algorithms.
class IpuFast {
 public:
  explicit IpuFast(const IpuConfig& cfg);
  // Throws std::invalid_argument for a command outside the unit's contract.
  IpuAnswer run(const IpuCommand& c);
  const std::vector<uint32_t>& stored(uint32_t slot) const { return store_[slot]; }

 private:
  IpuConfig cfg_;
  policy::LfpsParams lfps_;
  std::vector<std::vector<uint32_t>> store_;
  std::vector<float> scores_;
};

// Checks a command against the unit's contract (slot, k, sizes, distinct positions, no NaN).
void check_command(const IpuConfig& cfg, const IpuCommand& c);

}  // namespace sparsepim::ipu
