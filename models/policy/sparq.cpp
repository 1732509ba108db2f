// sparq: SparQ Attention's approximate token-wise selection (Ribar et al. 2023, arXiv
// 2312.04985): score every key from only the r channels where |q| is largest, keep the B best per
// query head, attend them exactly. Reads r/d of every key, then B whole keys and values.
#include "models/policy/policies.h"
#include "models/policy/policy_base.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sparsepim::policy {

int sparq_channels(const SparqParams& p, int head_dim) {
  return std::clamp(int(std::lround(p.channel_fraction * head_dim)), 1, head_dim);
}

namespace {
class SparqPolicy : public SparsePolicy {
 public:
  SparqPolicy(int64_t budget, const SparqParams& p)
      : SparsePolicy("sparq", budget, p.dense_layers), p_(p) {}

 protected:
  void select_sparse(const StepInput& in, Selection* out) override {
    const int d = in.cache->head_dim();
    const int r = sparq_channels(p_, d);
    const int64_t n = in.n();
    channels_.resize(size_t(d));
    approx_.resize(size_t(n));
    for (int g = 0; g < in.group; ++g) {
      const float* q = in.query(g);
      std::iota(channels_.begin(), channels_.end(), 0);
      std::stable_sort(channels_.begin(), channels_.end(),
                       [q](int a, int b) { return std::fabs(q[a]) > std::fabs(q[b]); });
      for (int64_t j = 0; j < n; ++j) {
        const float* k = in.cache->key(j);
        float s = 0;
        for (int i = 0; i < r; ++i) s += q[channels_[size_t(i)]] * k[channels_[size_t(i)]];
        approx_[size_t(j)] = s;
      }
      top_k_all(approx_.data(), n, budget_, &out->positions[size_t(g)]);
    }
    out->work.scanned.resize(size_t(n));
    std::iota(out->work.scanned.begin(), out->work.scanned.end(), 0u);
    out->work.key_channels = r;
  }

 private:
  SparqParams p_;
  std::vector<int> channels_;
  std::vector<float> approx_;
};
}  // namespace

std::unique_ptr<Policy> make_sparq(int64_t budget, const SparqParams& p) {
  return std::make_unique<SparqPolicy>(budget, p);
}

}  // namespace sparsepim::policy
