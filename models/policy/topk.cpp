// topk: exact token-wise selection. Every key is scored (a full key scan), the B best per query
// head are attended (scattered value reads) — the "token-wise" baseline of STARC.
#include "models/policy/policies.h"
#include "models/policy/policy_base.h"

#include <numeric>

namespace sparsepim::policy {

namespace {
class TopkPolicy : public SparsePolicy {
 public:
  TopkPolicy(int64_t budget, const TopkParams& p) : SparsePolicy("topk", budget, p.dense_layers) {}

 protected:
  void select_sparse(const StepInput& in, Selection* out) override {
    for (int g = 0; g < in.group; ++g)
      top_k_all(in.scores->scores(g), in.n(), budget_, &out->positions[size_t(g)]);
    out->work.scanned.resize(size_t(in.n()));
    std::iota(out->work.scanned.begin(), out->work.scanned.end(), 0u);
    out->work.key_channels = in.cache->head_dim();
  }
};
}  // namespace

std::unique_ptr<Policy> make_topk(int64_t budget, const TopkParams& p) {
  return std::make_unique<TopkPolicy>(budget, p);
}

}  // namespace sparsepim::policy
