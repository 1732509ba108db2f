// quest: query-aware page selection (Tang et al. 2024, arXiv 2406.10774). Pages of 16 tokens keep
// the channel-wise min and max of their keys; a page's score is the upper bound
// sum_i max(q_i min_i, q_i max_i) of any q.k in it; the top ceil(B/16) pages per query head are
// attended (the last one truncated so no head exceeds B); layers 0-1 dense.
#include "models/policy/policies.h"
#include "models/policy/policy_base.h"

#include <algorithm>

namespace sparsepim::policy {

double quest_page_bound(const float* q, const float* lo, const float* hi, int d) {
  double s = 0;
  for (int c = 0; c < d; ++c) s += std::max(double(q[c]) * lo[c], double(q[c]) * hi[c]);
  return s;
}

namespace {
class QuestPolicy : public SparsePolicy {
 public:
  QuestPolicy(int64_t budget, const QuestParams& p)
      : SparsePolicy("quest", budget, p.dense_layers), p_(p) {}

 protected:
  void select_sparse(const StepInput& in, Selection* out) override {
    const PageSummaries& pages = in.cache->pages(p_.page_tokens);
    const int d = in.cache->head_dim();
    const int64_t np = pages.pages(), n = in.n();
    bound_.resize(size_t(np));
    for (int g = 0; g < in.group; ++g) {
      for (int64_t pg = 0; pg < np; ++pg)
        bound_[size_t(pg)] = quest_page_bound(in.query(g), pages.min(pg), pages.max(pg), d);
      rank_clusters(bound_, &order_);
      auto& pos = out->positions[size_t(g)];
      int64_t left = budget_;
      for (int64_t pg : order_) {
        if (left <= 0) break;
        const int64_t first = pg * p_.page_tokens;
        const int64_t last = std::min(n, first + std::min<int64_t>(p_.page_tokens, left));
        for (int64_t j = first; j < last; ++j) pos.push_back(uint32_t(j));
        left -= last - first;
      }
      std::sort(pos.begin(), pos.end());
    }
    out->work.metadata_items = np;
    out->work.metadata_bytes = np * 2 * d * 2;  // FP16 min and max per channel
  }

 private:
  QuestParams p_;
  std::vector<double> bound_;
  std::vector<int64_t> order_;
};
}  // namespace

std::unique_ptr<Policy> make_quest(int64_t budget, const QuestParams& p) {
  return std::make_unique<QuestPolicy>(budget, p);
}

}  // namespace sparsepim::policy
