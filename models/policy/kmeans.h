#pragma once
// STARC's block k-means (DESIGN.md 3): Lloyd's algorithm on the L2-normalised keys of one block,
// initialised from the block's first `clusters` keys, at most max_iterations iterations, stopping
// once no centroid moves by tolerance or more (Euclidean distance). Ties in the assignment go to
// the lower cluster; an empty cluster keeps its centroid. A zero key stays the zero vector.
//
// Arithmetic: FP32 values, sums of squares and dot products in eight interleaved FP32 partial
// sums (the order is fixed, so results are deterministic), centroid means in FP64 summed in
// position order. The implementation skips only work whose result it already has (the norms and
// dot products of a centroid that did not move, the mean of a cluster whose members did not
// change) and runs its inner loops in SIMD without changing any sum's order (kmeans.cpp).
#include <cstdint>
#include <vector>

#include "models/policy/policy_params.h"
#include "workloads/attention.h"

namespace sparsepim::policy {

// Buffers reused from block to block (one per thread).
struct KmeansScratch {
  std::vector<float> points, lengths2, centroids, next, norms2, dots;
  std::vector<int> members, first, stale;
  std::vector<uint8_t> changed;
  std::vector<const float*> rows;
};

// Clusters `count` keys (count >= clusters) of head_dim floats. Writes labels[count] (cluster
// index), centroids[clusters * head_dim] and sizes[clusters]; returns the iterations run.
int kmeans_block(const float* keys, int count, int head_dim, const KmeansParams& p,
                 KmeansScratch* scratch, uint8_t* labels, float* centroids, int* sizes);

// Tests: the widest instruction set kmeans_block may use for its inner loops, 0 plain C++, 1 SSE2,
// 2 AVX2 (the default; each only where the CPU has it). The results are the same bit for bit.
void set_kmeans_simd_level(int level);

// The FP32 dot product of the scores (workloads/attention.h).
using workloads::dot_fp32;

}  // namespace sparsepim::policy
