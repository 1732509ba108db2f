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

// FP32 dot product in eight interleaved partial sums (vectorisable without -ffast-math).
inline float dot8(const float* a, const float* b, int d) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int c = 0;
  for (; c + 8 <= d; c += 8)
    for (int u = 0; u < 8; ++u) acc[u] += a[c + u] * b[c + u];
  float s = 0;
  for (; c < d; ++c) s += a[c] * b[c];
  return s + (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])));
}

}  // namespace sparsepim::policy
