#pragma once
// STARC's block k-means in the arithmetic of the cluster-mapping unit (models/cmu, docs/units.md):
// integers only, the golden model the unit is checked against bit for bit. The algorithm is the
// one of kmeans.h (Lloyd, initialised from the block's first `clusters` keys, at most
// max_iterations iterations, stop once no centroid moved by the tolerance or more, ties to the
// lower cluster, an empty cluster keeps its centroid); only the number formats differ:
//
//   keys        FP16 bit patterns (the format the KV cache stores)
//   normalise   each FP16 element as an exact integer X = M << (E - 1) (M the significand with
//               its hidden bit, E = max(exponent field, 1)); the key's largest bit length Lmax
//               aligns every element to A = floor(X * 2^(17 - Lmax)) (17-bit magnitude);
//               s = sum A^2 (2^32 <= s < 2^41 unless the key is zero); r = the largest integer
//               with r^2 * s <= 2^80 (= floor(2^40 / sqrt(s)) <= 2^24);
//               y = sign * floor(A * r / 2^24)
//   points,     Q1.16 fixed point in 18-bit two's complement (|value| <= 2^16 = 1.0)
//   centroids
//   assign      argmin_j |c_j|^2 - 2 y.c_j, exact 64-bit integers, ties to the lower cluster
//   update      c = sign(S) * floor((|S| + floor(n / 2)) / n): the mean of n points rounded to
//               the nearest Q1.16 value, halves away from zero
//   converge    max_j sum (c_new - c_old)^2 < T, T = ceil(tolerance^2 * 2^32) (tolerance in
//               units of the normalised keys, as the float version)
//
// Inf and NaN keys are outside the contract (the exponent field 31 is taken as a number).
#include <cstdint>

#include "models/policy/policy_params.h"

namespace sparsepim::policy::hw {

constexpr int kFracBits = 16;                       // Q1.16 points and centroids
constexpr int kAlignBits = 17;                      // bit length of a key's largest aligned element
constexpr int kInvSqrtBits = 25;                    // r < 2^25 (r <= 2^24 because s >= 2^32)
constexpr int kInvSqrtP = 40;                       // r = floor(2^kInvSqrtP / sqrt(s))
constexpr int kScaleShift = kInvSqrtP - kFracBits;  // y = A * r >> 24
constexpr int64_t kOne = int64_t(1) << kFracBits;   // 1.0 in Q1.16

// Exact value of an FP16 magnitude as an integer in units of 2^-24 (< 2^41).
uint64_t fp16_magnitude(uint16_t h);
// Number of significant bits (0 for 0).
int bit_length(uint64_t x);
// The largest r < 2^25 with r * r * s <= 2^80.
uint32_t inv_sqrt(uint64_t s);
// y[d] (Q1.16) of the key x[d] (FP16 bits), as described above. A zero key gives zeros.
void normalise_key(const uint16_t* x, int d, int32_t* y);
// T = ceil(tolerance^2 * 2^32), the integer convergence threshold on squared Q1.16 moves.
uint64_t tolerance_threshold(double tolerance);
// Rounded mean of n > 0 points whose Q1.16 sum is s: sign(s) * floor((|s| + floor(n/2)) / n).
int32_t rounded_mean(int64_t s, int n);

// Clusters `count` keys (FP16 bits, count >= clusters). Writes labels[count],
// centroids[clusters * d] (Q1.16) and sizes[clusters]; returns the iterations run.
int kmeans_block(const uint16_t* keys, int count, int d, int clusters, int max_iterations,
                 uint64_t threshold, uint8_t* labels, int32_t* centroids, int* sizes);

// The policy library's "hardware" arithmetic for float keys: the keys rounded to FP16 (nearest
// even), clustered as above with p's parameters; centroids returned as floats (exact: Q1.16
// values need 17 significant bits).
int kmeans_block_float_io(const float* keys, int count, int d, const KmeansParams& p,
                          uint8_t* labels, float* centroids, int* sizes);

}  // namespace sparsepim::policy::hw
