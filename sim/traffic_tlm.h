#pragma once
// The same request stream as `sparsepim traffic`, but through the channel's TLM-2.0 AT socket:
// a SystemC initiator keeps many requests outstanding and honours END_REQ back-pressure.
// Elaborates a SystemC simulation, so it can run once per process.
#include <cstdint>
#include <vector>

#include "hbm/command_observer.h"
#include "hbm/memory_config.h"
#include "traffic.h"

namespace sparsepim {

struct TlmTrafficResult {
  uint64_t completed = 0;
  uint64_t end_cycle = 0;
  double latency_sum_cycles = 0;
  uint64_t errors = 0;
};

TlmTrafficResult run_traffic_tlm(const hbm::MemoryConfig& cfg,
                                 const std::vector<TraceRequest>& reqs,
                                 const std::vector<hbm::CommandObserver*>& observers,
                                 uint32_t max_outstanding = 256);

}  // namespace sparsepim
