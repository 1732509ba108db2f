#pragma once
// The calibration statistics of a decode workload (docs/workloads.md "Calibration"), computed
// from Q/K/V alone, layer by layer: top-k attention-mass recall, mass on the last tokens and on
// the sinks, cross-step and cross-layer (TidalDecode) top-k overlap, adjacent-step query cosine,
// retrieval vs streaming heads (DuoAttention's sink + recent window), vertical-and-slash capture
// (MInference's pattern search over the last 64 queries), key outlier channels (DoubleSparse).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "workloads/decode_source.h"

namespace sparsepim::workloads {

struct StatsOptions {
  int64_t recall_k = 4096;   // top-k of the attention-mass recall
  int64_t overlap_k = 1024;  // top-k of the cross-step overlap
  int64_t tidal_k = 256;     // top-k of the cross-layer overlap (TidalDecode's 256)
  int tidal_selection_layer = 2;
  int tidal_reselection_layer = -1;  // -1: the model preset's, else 13/32 of the depth
  int64_t last_window = 32;          // "mass on the last tokens" (the shared traces' property)
  int64_t sink_tokens = 4;
  int64_t duo_sink = 128;    // DuoAttention's streaming pattern (its config.json: sink_size)
  int64_t duo_recent = 256;  // (recent_size)
  // A KV head counts as retrieval when the streaming pattern misses more than this share of
  // its attention mass (mean over steps and the group's query heads).
  double retrieval_lost_mass = 0.1;
  int vs_steps = 64;  // MInference estimates its pattern from the last 64 queries
  // A head counts as vertical- (slash-) dominant when MInference's vertical class budget
  // (3500, 100) captures this much more mass than the slash class (30, 800) (or vice versa).
  double vs_kind_margin = 0.05;
  int outlier_rank = 8;     // top channels compared (DoubleSparse heavy channels)
  std::vector<int> layers;  // the layers to measure; empty = all
};

// Computes everything in one pass over the layers. ConfigError when a k exceeds the context of
// the first decode step or a layer is out of range.
nlohmann::json compute_calibration_stats(DecodeSource& source, const StatsOptions& options);

// The exact top-b of float scores (highest first, ties to the lower index), faster than the
// index sort of top_b() for b << n: a selection on the values, then a sort of the b winners.
void top_b_fast(const float* scores, int64_t n, int64_t b, std::vector<float>* scratch,
                std::vector<uint32_t>* out);

}  // namespace sparsepim::workloads
