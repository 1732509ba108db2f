#pragma once
// The cluster-mapping unit's configuration, results, cycle model and fast mode (plain C++, no
// SystemC). Fast mode = the policy library's hardware-arithmetic k-means (kmeans_hw.h) + the
// layout of cluster_layout.h + the cycle formula below; tests check it against the clocked unit
// (cmu_unit.h) result for result and cycle for cycle.
#include <cstdint>
#include <string>
#include <vector>

#include "models/cmu/cluster_layout.h"
#include "models/cmu/cmu_params.h"
#include "models/policy/policy_params.h"

namespace sparsepim::cmu {

// Datapath widths the unit is built for (template instances in cmu_sim.cpp).
const std::vector<int>& supported_lanes();

struct CmuConfig {
  int head_dim = 128;
  int max_iterations = kMaxIterations;
  uint64_t tolerance_threshold = 43;  // ceil(1e-4^2 * 2^32)
  bool aligned = true;
  LayoutGeometry geometry;
};

// The STARC parameters of a policy config on a memory preset; ConfigError when the unit cannot
// run them (it is built for 64-token blocks of 4 clusters, at most 16 iterations, row groups of
// 16 tokens, head dimensions up to 128).
CmuConfig make_cmu_config(const policy::PolicyParams& p, const hbm::MemoryConfig& mem,
                          int head_dim);

struct CmuBlockResult {
  std::vector<uint8_t> labels;          // kBlockTokens
  std::vector<int32_t> centroids;       // kClusters x head_dim, Q1.16
  std::vector<int> sizes;               // kClusters
  std::vector<uint64_t> cluster_start;  // first slot of each cluster
  std::vector<uint64_t> slots;          // per token
  std::vector<SlotAddress> addresses;   // per token
  uint64_t end_slot = 0;                // next free slot after the block
  int iterations = 0;
  uint64_t cycles = 0;  // from the command's acceptance to the DONE record, inclusive
};
// Empty when equal, else the first difference in words (cycles compared only if with_cycles).
std::string compare_results(const CmuBlockResult& a, const CmuBlockResult& b, bool with_cycles);

// Cycles of one block (input always valid, output always ready), C = ceil(d / lanes):
//   1 (command) + 64 C (keys) + 64 (2 C + 25) (normalise) + C (initial centroids)
//   + iterations x (65 C assign + C update + 1 check) + 1 (layout) + 64 + 4 + 4 C + 1 (records)
struct CmuCycles {
  uint64_t command, load, normalise, init, per_iteration, iterations, layout, output;
  uint64_t total() const {
    return command + load + normalise + init + per_iteration * iterations + layout + output;
  }
};
CmuCycles cmu_cycles(int head_dim, int lanes, int iterations);

// Fast mode: one block of kBlockTokens keys (FP16 bits, token-major, head_dim each) whose first
// cluster may start at base_slot.
CmuBlockResult cmu_fast(const CmuConfig& cfg, int lanes, const uint16_t* keys, uint64_t base_slot);

// Arithmetic work of one block (for area and energy estimates): multiply-accumulates and adds.
struct CmuOps {
  uint64_t multiplies, additions;
};
CmuOps cmu_ops(int head_dim, int iterations);

}  // namespace sparsepim::cmu
