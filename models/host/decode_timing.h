#pragma once
// Phase 2 of the decode simulation: one SystemC/TLM simulation of one policy's jobs. A host
// attention controller with one thread per channel replays the jobs step by step, layer by layer
// (a barrier per layer), as coarse PIM transactions through the DRAM engine with its timing,
// statistics, energy and (optional) checker and VCD observers. With data (--numerics fp16) every
// pass also carries the numbers: the KV head's keys and values sit in the channel's bank store in
// the policy's layout, the PIM units (model or Verilated RTL ALU) compute on them, the
// controller reduces the partial results and runs the softmax on the buffer die, and each query
// head's output is compared bit for bit with the FP16 model of phase 1.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hbm/memory_config.h"
#include "host/decode_jobs.h"
#include "workloads/decode_source.h"

namespace sparsepim::host {

struct TimingOptions {
  bool check_timing = false;
  std::string vcd, vcd_window;  // channel 0's command waveforms
  // With data: the source phase 1 read (keys and values are read again per job), the ALU behind
  // the units (model | rtl), and the RTL ALU's own trace of channel 0 (rtl only).
  workloads::DecodeSource* data_source = nullptr;
  std::string pim_alu = "model";
  std::string vcd_rtl;
  int row_group_tokens = 16;
  int cluster_queries = 4;  // STARC: centroids per block, all applied by one MAC pass
};

// Runs the jobs ([step][layer][kv head]); returns the policy's timing, energy and command
// statistics (docs/user-guide.md), and with data a "pim_path" verdict. Throws on a mismatch
// between the PIM path and the FP16 model.
nlohmann::json simulate_jobs(const std::vector<Job>& jobs, const hbm::MemoryConfig& cfg,
                             const HostConfig& host, const workloads::TraceShape& shape,
                             int64_t steps, const RegionShape& region, int channels,
                             const TimingOptions& opt);

}  // namespace sparsepim::host
