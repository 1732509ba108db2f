#include "workloads/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace sparsepim::workloads {

namespace {

template <typename T>
void dense_impl(const float* q, const float* keys, const float* values, int64_t n, int d,
                DenseAttention* out) {
  const T scale = T(1) / std::sqrt(T(d));
  out->n = n;
  out->head_dim = d;
  out->scores.resize(size_t(n));
  out->probs.resize(size_t(n));
  T max_s = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    const float* k = keys + j * d;
    T acc = 0;
    for (int c = 0; c < d; ++c) acc += T(q[c]) * T(k[c]);
    const T s = acc * scale;
    out->scores[size_t(j)] = double(s);
    max_s = std::max(max_s, s);
  }
  T sum = 0;
  std::vector<T> e(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    e[size_t(j)] = std::exp(T(out->scores[size_t(j)]) - max_s);
    sum += e[size_t(j)];
  }
  for (int64_t j = 0; j < n; ++j) out->probs[size_t(j)] = double(e[size_t(j)] / sum);
  out->output.assign(size_t(d), 0.0);
  if (!values) return;
  std::vector<T> o(static_cast<size_t>(d), T(0));
  for (int64_t j = 0; j < n; ++j) {
    const T p = e[size_t(j)] / sum;
    const float* v = values + j * d;
    for (int c = 0; c < d; ++c) o[size_t(c)] += p * T(v[c]);
  }
  for (int c = 0; c < d; ++c) out->output[size_t(c)] = double(o[size_t(c)]);
}

template <typename S>
void top_b_impl(const S* scores, int64_t n, int64_t b, std::vector<uint32_t>* order) {
  b = std::min(b, n);
  order->resize(size_t(n));
  std::iota(order->begin(), order->end(), 0u);
  auto better = [scores](uint32_t a, uint32_t c) {
    return scores[a] > scores[c] || (scores[a] == scores[c] && a < c);
  };
  if (b < n) std::nth_element(order->begin(), order->begin() + b, order->end(), better);
  std::sort(order->begin(), order->begin() + b, better);
  order->resize(size_t(b));
}

}  // namespace

void dense_attention(const float* q, const float* keys, const float* values, int64_t n,
                     int head_dim, Precision precision, DenseAttention* out) {
  if (n <= 0) throw std::invalid_argument("dense_attention: no keys");
  if (precision == Precision::kFp64)
    dense_impl<double>(q, keys, values, n, head_dim, out);
  else
    dense_impl<float>(q, keys, values, n, head_dim, out);
}

void attention_scores_fp32(const float* q, const float* keys, int64_t n, int head_dim,
                           float* scores) {
  const float scale = 1.0f / std::sqrt(float(head_dim));
  for (int64_t j = 0; j < n; ++j) scores[j] = dot_fp32(q, keys + j * head_dim, head_dim) * scale;
}

void top_b(const double* scores, int64_t n, int64_t b, std::vector<uint32_t>* order) {
  top_b_impl(scores, n, b, order);
}
void top_b(const float* scores, int64_t n, int64_t b, std::vector<uint32_t>* order) {
  top_b_impl(scores, n, b, order);
}

SelectionMetrics evaluate_selection(const DenseAttention& dense, const float* values,
                                    const uint32_t* selected, int64_t count, int64_t budget_b) {
  const int64_t n = dense.n;
  const int d = dense.head_dim;
  if (count <= 0) throw std::invalid_argument("evaluate_selection: empty selection");
  std::vector<char> in_set(static_cast<size_t>(n), 0);
  SelectionMetrics m;
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t j = selected[i];
    if (int64_t(j) >= n)
      throw std::invalid_argument("evaluate_selection: index " + std::to_string(j) +
                                  " beyond the " + std::to_string(n) + " keys");
    if (!in_set[j]) {
      in_set[j] = 1;
      ++m.selected;
    }
  }
  const int64_t b = budget_b > 0 ? budget_b : m.selected;
  if (b > n)
    throw std::invalid_argument("evaluate_selection: budget " + std::to_string(b) +
                                " larger than the context (" + std::to_string(n) + " keys)");
  std::vector<double> o_sel(static_cast<size_t>(d), 0.0);
  double mass = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (!in_set[size_t(j)]) continue;
    const double p = dense.probs[size_t(j)];
    mass += p;
    if (values)
      for (int c = 0; c < d; ++c) o_sel[size_t(c)] += p * double(values[j * d + c]);
  }
  m.recall = mass;
  std::vector<uint32_t> top;
  top_b(dense.scores.data(), n, b, &top);
  int64_t hit = 0;
  for (uint32_t j : top) hit += in_set[j];
  m.topb_overlap = double(hit) / double(b);
  if (values) {
    double err2 = 0, ref2 = 0, sel2 = 0, dot = 0;
    for (int c = 0; c < d; ++c) {
      const double os = mass > 0 ? o_sel[size_t(c)] / mass : 0.0;
      const double o = dense.output[size_t(c)];
      err2 += (os - o) * (os - o);
      ref2 += o * o;
      sel2 += os * os;
      dot += os * o;
    }
    m.rel_l2_error = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
    m.cosine_error = (ref2 > 0 && sel2 > 0) ? 1.0 - dot / std::sqrt(ref2 * sel2) : 1.0;
  }
  return m;
}

void MetricTable::Agg::add(const SelectionMetrics& m) {
  const double v[4] = {m.recall, m.topb_overlap, m.rel_l2_error, m.cosine_error};
  ++count;
  for (int i = 0; i < 4; ++i) {
    sum[i] += v[i];
    min[i] = std::min(min[i], v[i]);
    max[i] = std::max(max[i], v[i]);
  }
}

nlohmann::json MetricTable::Agg::to_json() const {
  static const char* names[4] = {"recall", "topb_overlap", "rel_l2_error", "cosine_error"};
  nlohmann::json j;
  j["count"] = count;
  for (int i = 0; i < 4; ++i)
    j[names[i]] = {{"mean", mean(i)}, {"min", count ? min[i] : 0.0}, {"max", count ? max[i] : 0.0}};
  return j;
}

void MetricTable::add(int step, int layer, int head, const SelectionMetrics& m) {
  overall_.add(m);
  by_layer_[layer].add(m);
  by_head_[{layer, head}].add(m);
  by_step_[step].add(m);
}

nlohmann::json MetricTable::to_json() const {
  nlohmann::json j;
  j["overall"] = overall_.to_json();
  j["by_layer"] = nlohmann::json::array();
  for (const auto& [l, a] : by_layer_) {
    auto e = a.to_json();
    e["layer"] = l;
    j["by_layer"].push_back(e);
  }
  j["by_head"] = nlohmann::json::array();
  for (const auto& [lh, a] : by_head_) {
    auto e = a.to_json();
    e["layer"] = lh.first;
    e["head"] = lh.second;
    j["by_head"].push_back(e);
  }
  j["by_step"] = nlohmann::json::array();
  for (const auto& [s, a] : by_step_) {
    auto e = a.to_json();
    e["step"] = s;
    j["by_step"].push_back(e);
  }
  return j;
}

}  // namespace sparsepim::workloads
