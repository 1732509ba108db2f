#include "models/policy/selection_util.h"

#include <algorithm>
#include <numeric>

#include "workloads/npy.h"

namespace sparsepim::policy {

void Selection::clear(int group) {
  positions.assign(size_t(group), {});
  work = SelectionWork{};
  dense = false;
}

namespace {
template <typename It>
void top_k_range(const float* scores, It first, It last, int64_t k) {
  auto better = [scores](uint32_t a, uint32_t b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  };
  if (k < last - first) std::nth_element(first, first + k, last, better);
}
}  // namespace

void top_k_of(const float* scores, const std::vector<uint32_t>& candidates, int64_t k,
              std::vector<uint32_t>* out) {
  *out = candidates;
  k = std::min<int64_t>(k, int64_t(out->size()));
  top_k_range(scores, out->begin(), out->end(), k);
  out->resize(size_t(k));
  std::sort(out->begin(), out->end());
}

void top_k_all(const float* scores, int64_t n, int64_t k, std::vector<uint32_t>* out) {
  out->resize(size_t(n));
  std::iota(out->begin(), out->end(), 0u);
  k = std::min(k, n);
  top_k_range(scores, out->begin(), out->end(), k);
  out->resize(size_t(k));
  std::sort(out->begin(), out->end());
}

const float* unit_scores(const StepInput& in, int g, bool fp16, std::vector<float>* scratch) {
  const float* s = in.scores->scores(g);
  if (!fp16) return s;
  scratch->resize(size_t(in.n()));
  for (int64_t p = 0; p < in.n(); ++p)
    (*scratch)[size_t(p)] = workloads::half_to_float(workloads::float_to_half(s[p]));
  return scratch->data();
}

void record_pairs(const StepInput& in, int g, const std::vector<uint32_t>& positions,
                  SelectionWork::IpuCall* call) {
  const float* s = in.scores->scores(g);
  call->pair_positions = positions;
  call->pair_scores.resize(positions.size());
  for (size_t i = 0; i < positions.size(); ++i)
    call->pair_scores[i] = workloads::float_to_half(s[positions[i]]);
}

void sort_unique(std::vector<uint32_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

void sorted_union(const std::vector<std::vector<uint32_t>>& sets, std::vector<uint32_t>* out) {
  out->clear();
  for (const auto& s : sets) {
    const size_t mid = out->size();
    out->insert(out->end(), s.begin(), s.end());
    std::inplace_merge(out->begin(), out->begin() + int64_t(mid), out->end());
  }
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

void select_dense(const StepInput& in, Selection* out) {
  out->clear(in.group);
  out->dense = true;
  out->work.fetched.resize(size_t(in.n()));
  std::iota(out->work.fetched.begin(), out->work.fetched.end(), 0u);
  for (auto& p : out->positions) p = out->work.fetched;
}

void finish_fetch(Selection* out) {
  sorted_union(out->positions, &out->work.fetched);
}

void take_clusters(const ClusterStore& store, const std::vector<int64_t>& order, int64_t budget,
                   std::vector<uint32_t>* positions) {
  for (int64_t c : order) {
    if (budget <= 0) break;
    const int64_t take = std::min<int64_t>(budget, store.size(c));
    const uint32_t* m = store.members(c);
    positions->insert(positions->end(), m, m + take);
    budget -= take;
  }
}

int64_t append_recent(const ClusterStore& store, int64_t n, int64_t budget,
                      std::vector<uint32_t>* positions) {
  const int64_t first = std::max(store.clustered_tokens(), n - budget);
  for (int64_t p = first; p < n; ++p) positions->push_back(uint32_t(p));
  return n - first;
}

void rank_clusters(const std::vector<double>& key, std::vector<int64_t>* order) {
  order->resize(key.size());
  std::iota(order->begin(), order->end(), int64_t(0));
  std::stable_sort(order->begin(), order->end(),
                   [&key](int64_t a, int64_t b) { return key[size_t(a)] > key[size_t(b)]; });
}

}  // namespace sparsepim::policy
