#pragma once
// Fixed sizes and number formats of the cluster-mapping unit (docs/units.md). Plain constants,
// shared by the SystemC unit (cmu_unit.h) and its fast model (cmu_model.h); the arithmetic
// constants equal those of the policy library's hardware k-means (models/policy/kmeans_hw.h,
// checked by static_asserts in cmu_model.cpp).
#include <cstdint>

namespace sparsepim::cmu {

constexpr int kBlockTokens = 64;     // STARC clusters 64-token blocks (DESIGN.md 3)
constexpr int kClusters = 4;         // 4 clusters per block (DESIGN.md 3)
constexpr int kMaxIterations = 16;   // at most 16 Lloyd iterations (DESIGN.md 3)
constexpr int kMaxHeadDim = 128;     // largest head dimension of the model presets
constexpr int kRowGroupTokens = 16;  // a 32 B column holds 16 FP16 lanes = 16 tokens (2.3)
constexpr int kLaneBits = 4;         // log2(kRowGroupTokens)
constexpr int kDimsPerBank = 32;     // a 1 KB row of 32 columns holds 32 dims of 16 tokens

// Number formats (kmeans_hw.h): Q1.16 points and centroids in 18-bit two's complement.
constexpr int kFracBits = 16;
constexpr int kPointBits = 18;
constexpr int kAlignBits = 17;    // a key's largest element aligned to 17 bits
constexpr int kInvSqrtBits = 25;  // r < 2^25, one bit per cycle
constexpr int kInvSqrtP = 40;     // r = floor(2^40 / sqrt(s)): r^2 s <= 2^80
constexpr int kScaleShift = 24;   // y = A r >> 24
constexpr int kRecipShift = 29;   // mean = (|S| + n/2) * ceil(2^29 / n) >> 29, exact (docs)
constexpr int kSlotBits = 32;     // storage slot numbers (tokens)

// Record kinds on the output stream.
enum CmuRecord : uint8_t { kRecToken = 0, kRecCluster = 1, kRecCentroid = 2, kRecDone = 3 };

// FSM states (scripts/gtkwave/cmu_state.filter names them).
enum CmuState : uint8_t {
  kStIdle = 0,
  kStLoad = 1,
  kStSumSq = 2,
  kStInvSqrt = 3,
  kStScale = 4,
  kStInit = 5,
  kStAssign = 6,
  kStUpdate = 7,
  kStCheck = 8,
  kStLayout = 9,
  kStOutToken = 10,
  kStOutCluster = 11,
  kStOutCentroid = 12,
  kStOutDone = 13
};

}  // namespace sparsepim::cmu
