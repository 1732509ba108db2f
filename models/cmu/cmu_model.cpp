#include "models/cmu/cmu_model.h"

#include <sstream>
#include <stdexcept>

#include "models/common/errors.h"
#include "models/policy/kmeans_hw.h"

namespace sparsepim::cmu {

// The unit's constants are the policy library's hardware arithmetic.
static_assert(kFracBits == policy::hw::kFracBits);
static_assert(kAlignBits == policy::hw::kAlignBits);
static_assert(kInvSqrtBits == policy::hw::kInvSqrtBits);
static_assert(kInvSqrtP == policy::hw::kInvSqrtP);
static_assert(kScaleShift == policy::hw::kScaleShift);
static_assert(kRowGroupTokens == 1 << kLaneBits);

const std::vector<int>& supported_lanes() {
  static const std::vector<int> lanes = {8, 16, 32};
  return lanes;
}

CmuConfig make_cmu_config(const policy::PolicyParams& p, const hbm::MemoryConfig& mem,
                          int head_dim) {
  const auto& km = p.starc.kmeans;
  if (km.block_tokens != kBlockTokens || km.clusters != kClusters)
    throw ConfigError("cluster-mapping unit: built for blocks of " + std::to_string(kBlockTokens) +
                      " tokens in " + std::to_string(kClusters) + " clusters, the policy has " +
                      std::to_string(km.block_tokens) + " and " + std::to_string(km.clusters));
  if (km.max_iterations > kMaxIterations)
    throw ConfigError("cluster-mapping unit: at most " + std::to_string(kMaxIterations) +
                      " iterations, the policy asks for " + std::to_string(km.max_iterations));
  if (p.row_group_tokens != kRowGroupTokens)
    throw ConfigError("cluster-mapping unit: row groups of " + std::to_string(kRowGroupTokens) +
                      " tokens, the policy has " + std::to_string(p.row_group_tokens));
  CmuConfig c;
  c.head_dim = head_dim;
  c.max_iterations = km.max_iterations;
  c.tolerance_threshold = policy::hw::tolerance_threshold(km.tolerance);
  if (c.tolerance_threshold >= (uint64_t(1) << 48))
    throw ConfigError("cluster-mapping unit: tolerance too large for the 48-bit threshold");
  c.aligned = p.starc.aligned_layout;
  c.geometry = make_layout_geometry(mem, head_dim);
  return c;
}

std::string compare_results(const CmuBlockResult& a, const CmuBlockResult& b, bool with_cycles) {
  std::ostringstream s;
  auto first_diff = [&](const char* what, const auto& x, const auto& y) {
    if (x.size() != y.size()) {
      s << what << ": " << x.size() << " vs " << y.size() << " entries";
      return true;
    }
    for (size_t i = 0; i < x.size(); ++i)
      if (!(x[i] == y[i])) {
        s << what << "[" << i << "] differs";
        return true;
      }
    return false;
  };
  if (first_diff("labels", a.labels, b.labels) ||
      first_diff("centroids", a.centroids, b.centroids) || first_diff("sizes", a.sizes, b.sizes) ||
      first_diff("cluster_start", a.cluster_start, b.cluster_start) ||
      first_diff("slots", a.slots, b.slots) || first_diff("addresses", a.addresses, b.addresses))
    return s.str();
  if (a.end_slot != b.end_slot)
    return "end slot " + std::to_string(a.end_slot) + " vs " + std::to_string(b.end_slot);
  if (a.iterations != b.iterations)
    return "iterations " + std::to_string(a.iterations) + " vs " + std::to_string(b.iterations);
  if (with_cycles && a.cycles != b.cycles)
    return "cycles " + std::to_string(a.cycles) + " vs " + std::to_string(b.cycles);
  return "";
}

CmuCycles cmu_cycles(int head_dim, int lanes, int iterations) {
  const uint64_t C = uint64_t((head_dim + lanes - 1) / lanes);
  const uint64_t N = kBlockTokens, K = kClusters;
  CmuCycles c;
  c.command = 1;
  c.load = N * C;
  c.normalise = N * (2 * C + kInvSqrtBits);
  c.init = C;
  c.per_iteration = (N + 1) * C + C + 1;
  c.iterations = uint64_t(iterations);
  c.layout = 1;
  c.output = N + K + K * C + 1;
  return c;
}

CmuBlockResult cmu_fast(const CmuConfig& cfg, int lanes, const uint16_t* keys, uint64_t base_slot) {
  const int d = cfg.head_dim;
  if (base_slot + kBlockTokens + kClusters * kRowGroupTokens >= (uint64_t(1) << kSlotBits))
    throw std::invalid_argument("cmu_fast: slot numbers beyond the unit's 32 bits");
  CmuBlockResult r;
  r.labels.resize(kBlockTokens);
  r.centroids.resize(size_t(kClusters) * size_t(d));
  r.sizes.resize(kClusters);
  r.iterations = policy::hw::kmeans_block(keys, kBlockTokens, d, kClusters, cfg.max_iterations,
                                          cfg.tolerance_threshold, r.labels.data(),
                                          r.centroids.data(), r.sizes.data());
  BlockLayout lay;
  block_layout(r.labels.data(), kBlockTokens, r.sizes.data(), kClusters, base_slot, kRowGroupTokens,
               cfg.aligned, &lay);
  r.cluster_start = lay.cluster_start;
  r.slots = lay.slot;
  r.end_slot = lay.end;
  for (uint64_t s : r.slots) r.addresses.push_back(slot_address(cfg.geometry, s));
  r.cycles = cmu_cycles(d, lanes, r.iterations).total();
  return r;
}

CmuOps cmu_ops(int head_dim, int iterations) {
  const uint64_t d = uint64_t(head_dim), N = kBlockTokens, K = kClusters, it = uint64_t(iterations);
  CmuOps o;
  // Normalise: A^2 and A*r per element; initial centroid norms; per iteration the K dot
  // products of every token, and per centroid element the reciprocal multiply, move^2, norm^2.
  o.multiplies = 2 * N * d + K * d + it * (K * N * d + 3 * K * d);
  // Sum of squares, 3 adds per inverse-square-root bit, per iteration the dot accumulations,
  // the cluster sums and 4 adds per centroid element.
  o.additions = N * d + 3 * N * kInvSqrtBits + K * d + it * (K * N * d + N * d + 4 * K * d);
  return o;
}

}  // namespace sparsepim::cmu
