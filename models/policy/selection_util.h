#pragma once
// Building blocks the policies share: exact and ranked selection, unions, the dense selection,
// and taking STARC clusters whole.
#include <cstdint>
#include <vector>

#include "models/policy/policy.h"

namespace sparsepim::policy {

// The k best of candidates (ascending positions) by score (higher first, ties to the lower
// position), returned in ascending position order. k is clamped to the candidate count.
void top_k_of(const float* scores, const std::vector<uint32_t>& candidates, int64_t k,
              std::vector<uint32_t>* out);
// The k best of all positions 0..n-1.
void top_k_all(const float* scores, int64_t n, int64_t k, std::vector<uint32_t>* out);

// The scores of query head g that a top-k on the index-prediction unit ranks: the FP32 scores,
// or (fp16) those rounded to FP16 as the unit receives them, in *scratch.
const float* unit_scores(const StepInput& in, int g, bool fp16, std::vector<float>* scratch);

// Records a SELECT's pairs in call (StepInput::record_ipu): positions and FP16 scores.
void record_pairs(const StepInput& in, int g, const std::vector<uint32_t>& positions,
                  SelectionWork::IpuCall* call);

// Sorted union of sorted vectors.
void sorted_union(const std::vector<std::vector<uint32_t>>& sets, std::vector<uint32_t>* out);
// Sorts and removes duplicates.
void sort_unique(std::vector<uint32_t>* v);

// Every head attends all n tokens; no selection work.
void select_dense(const StepInput& in, Selection* out);
// fetched = union of the heads' positions.
void finish_fetch(Selection* out);

// Clusters of `store` taken whole in the given order until `budget` tokens, the last one
// truncated to its first members in storage order; appends positions (unsorted).
void take_clusters(const ClusterStore& store, const std::vector<int64_t>& order, int64_t budget,
                   std::vector<uint32_t>* positions);

// The unclustered recent tokens a STARC-layout policy always attends: [clustered, n), or only the
// last `budget` of them when they alone exceed the budget. Returns how many were appended.
int64_t append_recent(const ClusterStore& store, int64_t n, int64_t budget,
                      std::vector<uint32_t>* positions);

// Cluster ids 0..clusters-1 ranked by key (higher first, ties to the lower id).
void rank_clusters(const std::vector<double>& key, std::vector<int64_t>* order);

}  // namespace sparsepim::policy
