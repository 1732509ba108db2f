#include "models/ipu/ipu_model.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "models/common/errors.h"
#include "models/policy/lfps.h"
#include "models/policy/selection_util.h"
#include "workloads/npy.h"

namespace sparsepim::ipu {

const std::vector<int>& supported_capacities() {
  static const std::vector<int> caps = {64, 1024};
  return caps;
}

IpuConfig make_ipu_config(const policy::PolicyParams& p, int capacity) {
  const auto& l = p.lfps;
  const int64_t limit = (int64_t(1) << kParamBits) - 1;
  if (l.expansion > limit || l.sinks > limit || l.recent_window > limit)
    throw ConfigError("index-prediction unit: LFPS expansion, sinks and window must be below 2^" +
                      std::to_string(kParamBits));
  const auto& caps = supported_capacities();
  if (std::find(caps.begin(), caps.end(), capacity) == caps.end())
    throw ConfigError("index-prediction unit: queue capacity must be 64 or 1024, got " +
                      std::to_string(capacity));
  IpuConfig c;
  c.expansion = l.expansion;
  c.sinks = l.sinks;
  c.recent_window = l.recent_window;
  c.capacity = capacity;
  return c;
}

uint64_t predict_cycles(uint64_t history, uint64_t candidates) {
  return history + candidates + 5;
}
uint64_t select_cycles(uint64_t pairs, uint64_t k, bool append) {
  return pairs + 2 * std::min(k, pairs) + (append ? 1 : 0) + 2;
}
uint64_t reuse_cycles(uint64_t count) {
  return count + 2;
}
uint64_t call_cycles(const policy::SelectionWork::IpuCall& call) {
  return (call.predict ? predict_cycles(call.history, call.candidates) : 0) +
         (call.select ? select_cycles(call.pairs, call.k, call.append) : 0) +
         (call.reuse ? reuse_cycles(call.reused) : 0);
}

void check_command(const IpuConfig& cfg, const IpuCommand& c) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("ipu command: " + m); };
  if (c.slot >= uint32_t(cfg.slots)) bad("slot " + std::to_string(c.slot) + " out of range");
  if (c.op == kOpSelect) {
    if (c.k > uint32_t(cfg.capacity))
      bad("k = " + std::to_string(c.k) + " exceeds the queue capacity " +
          std::to_string(cfg.capacity));
    if (c.append && c.n == 0) bad("append needs n >= 1");
    if (c.pairs.size() >= (uint64_t(1) << kPosBits)) bad("too many pairs");
    std::vector<uint32_t> pos;
    pos.reserve(c.pairs.size());
    for (const auto& pr : c.pairs) {
      if ((pr.second & 0x7c00) == 0x7c00 && (pr.second & 0x3ff)) bad("NaN score");
      pos.push_back(pr.first);
    }
    std::sort(pos.begin(), pos.end());
    if (std::adjacent_find(pos.begin(), pos.end()) != pos.end()) bad("duplicate positions");
  } else if (c.op != kOpPredict && c.op != kOpReuse) {
    bad("unknown op");
  }
}

IpuFast::IpuFast(const IpuConfig& cfg) : cfg_(cfg), store_(size_t(cfg.slots)) {
  lfps_.expansion = cfg.expansion;
  lfps_.sinks = cfg.sinks;
  lfps_.recent_window = cfg.recent_window;
}

IpuAnswer IpuFast::run(const IpuCommand& c) {
  check_command(cfg_, c);
  IpuAnswer a;
  std::vector<uint32_t>& slot = store_[c.slot];
  if (c.op == kOpPredict) {
    policy::LfpsPolicy::candidates(slot, int64_t(c.n), lfps_, &a.positions);
    a.cycles = predict_cycles(slot.size(), a.positions.size());
  } else if (c.op == kOpSelect) {
    std::vector<uint32_t> cand;
    cand.reserve(c.pairs.size());
    uint32_t top = 0;
    for (const auto& pr : c.pairs) top = std::max(top, pr.first);
    scores_.assign(c.pairs.empty() ? 0 : size_t(top) + 1, 0.0f);
    for (const auto& pr : c.pairs) {
      cand.push_back(pr.first);
      scores_[pr.first] = workloads::half_to_float(pr.second);
    }
    std::sort(cand.begin(), cand.end());
    policy::top_k_of(scores_.data(), cand, int64_t(c.k), &a.positions);
    if (c.append) a.positions.push_back(c.n - 1);
    if (c.store) slot = a.positions;
    a.cycles = select_cycles(c.pairs.size(), c.k, c.append);
  } else {
    a.positions = slot;
    a.cycles = reuse_cycles(slot.size());
  }
  return a;
}

}  // namespace sparsepim::ipu
