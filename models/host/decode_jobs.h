#pragma once
// What the two phases of the decode simulation (decode_sim.h) hand each other: the system around
// the stacks (configs/host/*.json), the rows a KV head's region needs, and the jobs — one per
// (step, layer, KV head) — that phase 1 derives from the policies' selections and phase 2 runs
// on the channels.
#include <cstdint>
#include <string>
#include <vector>

#include "models/policy/policy_params.h"

namespace sparsepim::host {

// configs/host/*.json: buffer-die and host costs, the controller's row-activation choice.
struct HostConfig {
  std::string source_file;
  int channels_per_stack = 16;
  double softmax_per_ns = 16, topk_per_ns = 16, reduce_per_ns = 16;
  double softmax_pJ = 0, topk_pJ = 0, reduce_pJ = 0;
  double readout_ns = 0, readout_pJ_per_bit = 0;
  std::string row_activation = "auto";   // auto | lockstep | slices
  std::string selection = "buffer_die";  // buffer_die | ipu: who ranks LFPS/Tidal candidates
  std::string clustering = "in_memory";  // in_memory | cmu: who clusters STARC's new blocks
};
HostConfig load_host_config(const std::string& name);  // ConfigError on bad input

enum Phase {
  kQueryWrite,
  kSelection,
  kScoring,
  kSoftmax,
  kValuePass,
  kReadout,
  kClustering,
  kPhases
};
inline const char* const kPhaseNames[kPhases] = {"query_write", "selection", "scoring",   "softmax",
                                                 "value_pass",  "readout",   "clustering"};

// The data a job's passes carry through the PIM units (--numerics fp16), recorded in phase 1.
struct JobData {
  int64_t n = 0;                             // tokens in the cache at the step
  std::vector<uint16_t> q16;                 // the group's queries, G x head_dim FP16
  bool dense = false;                        // every query head attends all n tokens
  std::vector<std::vector<uint32_t>> heads;  // otherwise: the positions of each query head
  // Cluster order (STARC): the row groups the passes touch, ascending, and the position in each
  // of their 16 lanes (-1: empty). Token order: group g holds positions 16 g .. 16 g + 15.
  bool cluster_order = false;
  std::vector<uint32_t> group_ids;
  std::vector<int32_t> group_pos;
  std::vector<uint16_t> expect;  // G x head_dim: the output pim/attacc_numerics computes
  int32_t position(uint32_t gid, uint32_t lane, int rgt) const;
};

// One (step, layer, KV head): the row groups of each pass in region coordinates (ids; slice =
// id % slices, row = id / slices within the pass's region) and the buffer-die work.
struct Job {
  std::vector<uint32_t> meta, scan, attend, value;
  uint32_t scan_columns = 32;
  int64_t select_elements = 0, softmax_elements = 0;
  int32_t cluster_blocks = 0, cluster_iterations = 0;
  // The units' cycle models for this job: the index-prediction unit's commands and the
  // cluster-mapping unit's blocks (on the critical path with selection = ipu / clustering = cmu).
  uint64_t ipu_cycles = 0, cmu_cycles = 0;
  JobData data;  // --numerics fp16 only
};

// The rows a region needs: data row groups (K or V) and metadata row groups of one KV head.
struct RegionShape {
  uint32_t data_groups = 0, staging_first = 0, meta_groups = 0;
  uint32_t data_rows = 0, meta_rows = 0;
};
RegionShape region_shape(int64_t tokens, int slices, int rgt, const policy::KmeansParams& km);

}  // namespace sparsepim::host
