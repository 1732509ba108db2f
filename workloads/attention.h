#pragma once
// Reference attention for one decode step and the accuracy metrics of a sparse selection
// (DESIGN.md 3): attention-mass recall, overlap with the exact top-B, relative L2 and cosine
// error of the attention output against dense attention; aggregated per layer, head and step.
//
// Conventions: decode step t attends with q[t] over keys 0..t (causal, inclusive); scores are
// q.k / sqrt(head_dim); under grouped-query attention query head h uses KV head
// h / (q_heads / kv_heads).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparsepim::workloads {

enum class Precision { kFp64, kFp32 };

inline int kv_head_of(int q_head, int q_heads, int kv_heads) {
  return q_head / (q_heads / kv_heads);
}

// One query's dense attention over n keys. Probabilities and output are kept in double even for
// kFp32, which only rounds the arithmetic (scores, exponentials, sums, output) to float.
struct DenseAttention {
  int64_t n = 0;
  int head_dim = 0;
  std::vector<double> scores;  // q.k / sqrt(d)
  std::vector<double> probs;   // softmax(scores)
  std::vector<double> output;  // sum_j probs[j] * v[j]
};

// keys and values: n rows of head_dim floats (row-major). values may be null (no output).
void dense_attention(const float* q, const float* keys, const float* values, int64_t n,
                     int head_dim, Precision precision, DenseAttention* out);

// FP32 dot product in eight interleaved partial sums: vectorisable without -ffast-math, and the
// same bits on every call (the order is fixed). The one dot product of the scores and k-means.
inline float dot_fp32(const float* a, const float* b, int d) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int c = 0;
  for (; c + 8 <= d; c += 8)
    for (int u = 0; u < 8; ++u) acc[u] += a[c + u] * b[c + u];
  float s = 0;
  for (; c < d; ++c) s += a[c] * b[c];
  return s + (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])));
}

// Scores only, FP32 products with float accumulation per row: the fast path of the statistics.
void attention_scores_fp32(const float* q, const float* keys, int64_t n, int head_dim,
                           float* scores);

// The exact top-b of scores[0..n): highest score first, ties to the lower index (so the result
// is deterministic). b is clamped to n. order is reused scratch; returns b indices in order.
void top_b(const double* scores, int64_t n, int64_t b, std::vector<uint32_t>* order);
void top_b(const float* scores, int64_t n, int64_t b, std::vector<uint32_t>* order);

struct SelectionMetrics {
  int64_t selected = 0;     // distinct selected indices
  double recall = 0;        // attention mass of the selected set
  double topb_overlap = 0;  // |selected ∩ exact top-B| / B
  double rel_l2_error = 0;  // ||o_sel - o|| / ||o||, o_sel = renormalised attention over the set
  double cosine_error = 0;  // 1 - cos(o_sel, o)
};

// Metrics of one selection (indices into the n keys of dense; duplicates count once) against
// dense attention. budget_b: B of the top-B overlap (0 = the number selected). values: the n
// value rows dense was computed with. std::invalid_argument for an empty selection, an index
// >= n, or B > n.
SelectionMetrics evaluate_selection(const DenseAttention& dense, const float* values,
                                    const uint32_t* selected, int64_t count, int64_t budget_b = 0);

// Mean, minimum and maximum of each metric, overall and per layer, per (layer, head) and per
// step.
class MetricTable {
 public:
  void add(int step, int layer, int head, const SelectionMetrics& m);
  // {"overall": {...}, "by_layer": [...], "by_head": [...], "by_step": [...]}; each entry has
  // count and recall/topb_overlap/rel_l2_error/cosine_error as {mean, min, max}.
  nlohmann::json to_json() const;
  struct Agg {
    int64_t count = 0;
    double sum[4] = {0, 0, 0, 0};
    double min[4] = {1e300, 1e300, 1e300, 1e300};
    double max[4] = {-1e300, -1e300, -1e300, -1e300};
    void add(const SelectionMetrics& m);
    double mean(int i) const { return count ? sum[i] / double(count) : 0.0; }
    nlohmann::json to_json() const;
  };
  const Agg& overall() const { return overall_; }
  const std::map<int, Agg>& by_layer() const { return by_layer_; }
  const std::map<std::pair<int, int>, Agg>& by_head() const { return by_head_; }
  const std::map<int, Agg>& by_step() const { return by_step_; }

 private:
  Agg overall_;
  std::map<int, Agg> by_layer_;
  std::map<std::pair<int, int>, Agg> by_head_;
  std::map<int, Agg> by_step_;
};

}  // namespace sparsepim::workloads
