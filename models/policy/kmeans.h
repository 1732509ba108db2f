#pragma once
// STARC's block k-means (DESIGN.md 3): Lloyd's algorithm on the L2-normalised keys of one block,
// initialised from the block's first `clusters` keys, at most max_iterations iterations, stopping
// once no centroid moves by tolerance or more (Euclidean distance). Ties in the assignment go to
// the lower cluster; an empty cluster keeps its centroid. A zero key stays the zero vector.
//
// Arithmetic: FP32 values, sums of squares and dot products in eight interleaved FP32 partial
// sums (the order is fixed, so results are deterministic), centroid means in FP64.
#include <cstdint>
#include <vector>

#include "models/policy/policy_params.h"
#include "workloads/attention.h"

namespace sparsepim::policy {

struct KmeansScratch {
  std::vector<float> points, centroids, next;
  std::vector<double> sums;
  std::vector<float> norms2;
};

// Clusters `count` keys (count >= clusters) of head_dim floats. Writes labels[count] (cluster
// index), centroids[clusters * head_dim] and sizes[clusters]; returns the iterations run.
int kmeans_block(const float* keys, int count, int head_dim, const KmeansParams& p,
                 KmeansScratch* scratch, uint8_t* labels, float* centroids, int* sizes);

// The FP32 dot product of the scores (workloads/attention.h).
using workloads::dot_fp32;

}  // namespace sparsepim::policy
