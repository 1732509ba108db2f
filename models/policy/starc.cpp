// starc: cluster-granular selection (DESIGN.md 3). Every complete 64-token block of a KV head's
// keys is clustered on its own by k-means into 4 clusters and stored in cluster order; at decode
// time the unclustered recent tokens are always attended, and clusters are taken whole by
// centroid score q.c/sqrt(d) until the budget is filled (the last one truncated). Layers 0-1
// dense. Selection reads only the centroids.
#include "models/policy/starc.h"

#include <algorithm>
#include <cmath>

#include "models/policy/kmeans.h"
#include "models/policy/policies.h"
#include "models/policy/policy_base.h"

namespace sparsepim::policy {

ClusterStore& starc_store(const StepInput& in, const PolicyParams& p) {
  return in.cache->clusters(p.starc.kmeans, p.row_group_tokens, p.starc.aligned_layout);
}

void ClusterPicker::by_centroid(const StepInput& in, const ClusterStore& store, int g,
                                int64_t budget, std::vector<uint32_t>* positions) {
  const int d = in.cache->head_dim();
  const float scale = 1.0f / std::sqrt(float(d));
  const int64_t recent = append_recent(store, in.n(), budget, positions);
  key.resize(size_t(store.clusters()));
  if (oracle) {
    const float* exact = in.scores->scores(g);
    for (int64_t c = 0; c < store.clusters(); ++c) {
      double best = -1e300;
      for (int i = 0; i < store.size(c); ++i)
        best = std::max(best, double(exact[store.members(c)[i]]));
      key[size_t(c)] = best;
    }
  } else {
    for (int64_t c = 0; c < store.clusters(); ++c)
      key[size_t(c)] = double(dot_fp32(in.query(g), store.centroid(c), d) * scale);
  }
  rank_clusters(key, &order);
  take_clusters(store, order, budget - recent, positions);
  std::sort(positions->begin(), positions->end());
}

int64_t ClusterPicker::by_votes(const StepInput& in, const ClusterStore& store, int g,
                                int64_t budget, const std::vector<uint32_t>& hits,
                                std::vector<uint32_t>* positions) {
  const int d = in.cache->head_dim();
  const float scale = 1.0f / std::sqrt(float(d));
  const int64_t recent = append_recent(store, in.n(), budget, positions);
  std::vector<int64_t> votes(size_t(store.clusters()), 0);
  for (uint32_t p : hits)
    if (int64_t(p) < store.clustered_tokens()) ++votes[size_t(store.cluster_of(p))];
  // Candidates: clusters with a hit, ranked by votes, then centroid score, then id.
  key.assign(size_t(store.clusters()), 0.0);
  order.clear();
  for (int64_t c = 0; c < store.clusters(); ++c) {
    if (!votes[size_t(c)]) continue;
    order.push_back(c);
    key[size_t(c)] = double(dot_fp32(in.query(g), store.centroid(c), d) * scale);
  }
  const int64_t candidates = int64_t(order.size());
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (votes[size_t(a)] != votes[size_t(b)]) return votes[size_t(a)] > votes[size_t(b)];
    return key[size_t(a)] > key[size_t(b)];
  });
  take_clusters(store, order, budget - recent, positions);
  std::sort(positions->begin(), positions->end());
  return candidates;
}

namespace {
class StarcPolicy : public SparsePolicy {
 public:
  StarcPolicy(int64_t budget, const PolicyParams& p)
      : SparsePolicy("starc", budget, p.starc.dense_layers), p_(p) {}
  bool cluster_layout() const override { return true; }

 protected:
  void select_sparse(const StepInput& in, Selection* out) override {
    const ClusterStore& store = starc_store(in, p_);
    picker_.oracle = p_.starc.oracle_cluster_score;
    for (int g = 0; g < in.group; ++g)
      picker_.by_centroid(in, store, g, budget_, &out->positions[size_t(g)]);
    out->work.metadata_items = store.clusters();
    out->work.metadata_bytes = store.clusters() * in.cache->head_dim() * 2;  // FP16 centroids
  }

 private:
  PolicyParams p_;
  ClusterPicker picker_;
};
}  // namespace

std::unique_ptr<Policy> make_starc(int64_t budget, const PolicyParams& p) {
  return std::make_unique<StarcPolicy>(budget, p);
}

}  // namespace sparsepim::policy
