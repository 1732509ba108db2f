#pragma once
// STARC's pieces, shared by the starc policy and the compositions built on its cluster layout.
#include <cstdint>
#include <vector>

#include "models/policy/policy.h"

namespace sparsepim::policy {

// The KV head's cluster store, clustered up to the current step.
ClusterStore& starc_store(const StepInput& in, const PolicyParams& p);

// Ranks clusters and takes them whole: scratch for one head's selection.
struct ClusterPicker {
  std::vector<double> key;
  std::vector<int64_t> order;
  bool oracle = false;  // starc.cluster_score = oracle_max (a diagnostic)

  // STARC's selection for query head g: the unclustered recent tokens, then clusters whole in
  // order of q.c/sqrt(d) until the budget, the last one truncated. Appends sorted positions.
  void by_centroid(const StepInput& in, const ClusterStore& store, int g, int64_t budget,
                   std::vector<uint32_t>* positions);
  // The same with clusters ranked by how many of `hits` (positions) fall in them, then by
  // centroid score; clusters without a hit are not taken. Returns the number of candidate
  // clusters (those with a hit), whose centroids were scored.
  int64_t by_votes(const StepInput& in, const ClusterStore& store, int g, int64_t budget,
                   const std::vector<uint32_t>& hits, std::vector<uint32_t>* positions);
};

}  // namespace sparsepim::policy
