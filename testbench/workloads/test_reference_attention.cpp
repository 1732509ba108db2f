// Reference attention and selection metrics against an independent brute-force computation,
// the identities that must hold (full set: recall 1, zero error; exact top-B: overlap 1), exact
// top-B selection with ties, GQA head mapping, and the aggregation per layer, head and step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "workload_test_util.h"
#include "workloads/attention.h"
#include "workloads/calibration_stats.h"
#include "workloads/trace.h"

using namespace sparsepim::workloads;

namespace {

struct Case {
  int64_t n;
  int d;
  std::vector<float> q, k, v;
};

Case random_case(int64_t n, int d, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  Case c{n, d, {}, {}, {}};
  for (int i = 0; i < d; ++i) c.q.push_back(nd(rng));
  for (int64_t i = 0; i < n * d; ++i) c.k.push_back(nd(rng));
  for (int64_t i = 0; i < n * d; ++i) c.v.push_back(nd(rng));
  return c;
}

// The textbook formulas, written independently of attention.cpp: a double loop per key, the
// softmax normalised through log-sum-exp, the output as a weighted sum.
struct Brute {
  std::vector<double> p;
  std::vector<double> o;
};
Brute brute_force(const Case& c) {
  Brute b;
  std::vector<double> s(size_t(c.n));
  for (int64_t j = 0; j < c.n; ++j) {
    double dot = 0;
    for (int i = 0; i < c.d; ++i) dot += double(c.q[size_t(i)]) * double(c.k[size_t(j * c.d + i)]);
    s[size_t(j)] = dot / std::sqrt(double(c.d));
  }
  const double m = *std::max_element(s.begin(), s.end());
  double lse = 0;
  for (double x : s) lse += std::exp(x - m);
  lse = m + std::log(lse);
  for (double x : s) b.p.push_back(std::exp(x - lse));
  b.o.assign(size_t(c.d), 0.0);
  for (int64_t j = 0; j < c.n; ++j)
    for (int i = 0; i < c.d; ++i)
      b.o[size_t(i)] += b.p[size_t(j)] * double(c.v[size_t(j * c.d + i)]);
  return b;
}

double rel_l2(const std::vector<double>& a, const std::vector<double>& b) {
  double e = 0, r = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e += (a[i] - b[i]) * (a[i] - b[i]);
    r += b[i] * b[i];
  }
  return std::sqrt(e / r);
}

}  // namespace

TEST(ReferenceAttention, DenseMatchesBruteForceInFp64AndFp32) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const Case c = random_case(1000 + seed * 37, 64, seed, 1.5f);
    const Brute b = brute_force(c);
    DenseAttention d64, d32;
    dense_attention(c.q.data(), c.k.data(), c.v.data(), c.n, c.d, Precision::kFp64, &d64);
    dense_attention(c.q.data(), c.k.data(), c.v.data(), c.n, c.d, Precision::kFp32, &d32);
    double max_dp64 = 0, max_dp32 = 0;
    for (int64_t j = 0; j < c.n; ++j) {
      max_dp64 = std::max(max_dp64, std::fabs(d64.probs[size_t(j)] - b.p[size_t(j)]));
      max_dp32 = std::max(max_dp32, std::fabs(d32.probs[size_t(j)] - b.p[size_t(j)]));
    }
    EXPECT_LT(max_dp64, 1e-14);
    EXPECT_LT(max_dp32, 1e-5);
    EXPECT_GT(max_dp32, 0.0);  // FP32 really rounds
    EXPECT_LT(rel_l2(d64.output, b.o), 1e-12);
    EXPECT_LT(rel_l2(d32.output, b.o), 1e-5);
    EXPECT_NEAR(std::accumulate(d64.probs.begin(), d64.probs.end(), 0.0), 1.0, 1e-12);
    // The fast FP32 score kernel of the statistics agrees with the reference scores.
    std::vector<float> fs(static_cast<size_t>(c.n));
    attention_scores_fp32(c.q.data(), c.k.data(), c.n, c.d, fs.data());
    for (int64_t j = 0; j < c.n; ++j) EXPECT_NEAR(fs[size_t(j)], d64.scores[size_t(j)], 1e-4);
  }
}

TEST(ReferenceAttention, FullSetAndExactTopBIdentities) {
  const Case c = random_case(777, 32, 9, 2.0f);
  DenseAttention d;
  dense_attention(c.q.data(), c.k.data(), c.v.data(), c.n, c.d, Precision::kFp64, &d);
  std::vector<uint32_t> all(size_t(c.n));
  std::iota(all.begin(), all.end(), 0u);
  const SelectionMetrics full = evaluate_selection(d, c.v.data(), all.data(), c.n);
  EXPECT_NEAR(full.recall, 1.0, 1e-12);
  EXPECT_EQ(full.topb_overlap, 1.0);
  EXPECT_LT(full.rel_l2_error, 1e-12);
  EXPECT_LT(full.cosine_error, 1e-12);
  EXPECT_EQ(full.selected, c.n);

  for (int64_t B : {1, 16, 100, 500}) {
    std::vector<uint32_t> top;
    top_b(d.scores.data(), c.n, B, &top);
    const SelectionMetrics m = evaluate_selection(d, c.v.data(), top.data(), B);
    EXPECT_EQ(m.topb_overlap, 1.0) << B;
    // Recall of the exact top-B is the largest possible mass of any B keys.
    std::vector<double> p = d.probs;
    std::sort(p.rbegin(), p.rend());
    EXPECT_NEAR(m.recall, std::accumulate(p.begin(), p.begin() + B, 0.0), 1e-12) << B;
  }
}

// A hand-picked selection: recall, overlap and output error recomputed by brute force.
TEST(ReferenceAttention, SubsetMetricsMatchBruteForce) {
  const Case c = random_case(300, 16, 4, 2.0f);
  const Brute b = brute_force(c);
  DenseAttention d;
  dense_attention(c.q.data(), c.k.data(), c.v.data(), c.n, c.d, Precision::kFp64, &d);
  std::vector<uint32_t> sel;
  for (uint32_t j = 0; j < 300; j += 7) sel.push_back(j);
  sel.push_back(0);  // a duplicate counts once
  const SelectionMetrics m = evaluate_selection(d, c.v.data(), sel.data(), int64_t(sel.size()), 20);
  double mass = 0;
  std::vector<double> os(16, 0.0);
  for (uint32_t j = 0; j < 300; j += 7) {
    mass += b.p[j];
    for (int i = 0; i < 16; ++i) os[size_t(i)] += b.p[j] * c.v[size_t(j) * 16 + size_t(i)];
  }
  for (double& x : os) x /= mass;
  EXPECT_EQ(m.selected, 43);
  EXPECT_NEAR(m.recall, mass, 1e-12);
  EXPECT_NEAR(m.rel_l2_error, rel_l2(os, b.o), 1e-10);
  double dot = 0, n1 = 0, n2 = 0;
  for (int i = 0; i < 16; ++i) {
    dot += os[size_t(i)] * b.o[size_t(i)];
    n1 += os[size_t(i)] * os[size_t(i)];
    n2 += b.o[size_t(i)] * b.o[size_t(i)];
  }
  EXPECT_NEAR(m.cosine_error, 1.0 - dot / std::sqrt(n1 * n2), 1e-10);
  // Overlap with the exact top-20 by brute force.
  std::vector<uint32_t> order(300);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t x) { return b.p[a] > b.p[x]; });
  int hit = 0;
  for (int i = 0; i < 20; ++i) hit += order[size_t(i)] % 7 == 0;
  EXPECT_NEAR(m.topb_overlap, hit / 20.0, 1e-12);
  EXPECT_GT(m.rel_l2_error, 0.0);
}

TEST(ReferenceAttention, TopBBreaksTiesByIndexAndFastPathAgrees) {
  const std::vector<double> s = {1, 3, 3, 2, 3, 0, 2};
  std::vector<uint32_t> top;
  top_b(s.data(), 7, 4, &top);
  EXPECT_EQ(top, (std::vector<uint32_t>{1, 2, 4, 3}));
  std::mt19937 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t n = 1 + int64_t(rng() % 3000);
    std::vector<float> f(static_cast<size_t>(n));
    for (auto& x : f) x = float(int(rng() % 40)) * 0.25f;  // many ties
    const int64_t b = 1 + int64_t(rng() % uint32_t(n));
    std::vector<uint32_t> slow, fast;
    std::vector<float> scratch;
    top_b(f.data(), n, b, &slow);
    top_b_fast(f.data(), n, b, &scratch, &fast);
    ASSERT_EQ(slow, fast) << "n " << n << " b " << b;
  }
}

TEST(ReferenceAttention, GqaHeadMapping) {
  EXPECT_EQ(kv_head_of(0, 32, 8), 0);
  EXPECT_EQ(kv_head_of(3, 32, 8), 0);
  EXPECT_EQ(kv_head_of(4, 32, 8), 1);
  EXPECT_EQ(kv_head_of(31, 32, 8), 7);
  EXPECT_EQ(kv_head_of(7, 8, 4), 3);
  EXPECT_EQ(kv_head_of(17, 32, 32), 17);
}

TEST(ReferenceAttention, RejectsBadSelections) {
  const Case c = random_case(10, 4, 1);
  DenseAttention d;
  dense_attention(c.q.data(), c.k.data(), c.v.data(), c.n, c.d, Precision::kFp64, &d);
  const uint32_t bad[1] = {10};
  const uint32_t ok[2] = {1, 2};
  EXPECT_THROW(evaluate_selection(d, c.v.data(), ok, 0), std::invalid_argument);
  EXPECT_THROW(evaluate_selection(d, c.v.data(), bad, 1), std::invalid_argument);
  EXPECT_THROW(evaluate_selection(d, c.v.data(), ok, 2, 11), std::invalid_argument);
  EXPECT_THROW(dense_attention(c.q.data(), c.k.data(), c.v.data(), 0, 4, Precision::kFp64, &d),
               std::invalid_argument);
}

TEST(ReferenceAttention, AggregatesPerLayerHeadAndStep) {
  MetricTable t;
  auto m = [](double r) {
    SelectionMetrics x;
    x.recall = r;
    x.topb_overlap = r / 2;
    x.rel_l2_error = 1 - r;
    x.cosine_error = (1 - r) / 10;
    return x;
  };
  t.add(0, 0, 0, m(0.9));
  t.add(1, 0, 0, m(0.7));
  t.add(0, 1, 3, m(0.5));
  EXPECT_EQ(t.overall().count, 3);
  EXPECT_NEAR(t.overall().mean(0), 0.7, 1e-12);
  EXPECT_NEAR(t.by_layer().at(0).mean(0), 0.8, 1e-12);
  EXPECT_NEAR(t.by_layer().at(0).min[0], 0.7, 1e-12);
  EXPECT_NEAR(t.by_layer().at(0).max[2], 0.3, 1e-12);
  EXPECT_NEAR(t.by_head().at({1, 3}).mean(1), 0.25, 1e-12);
  EXPECT_NEAR(t.by_step().at(0).mean(0), 0.7, 1e-12);
  EXPECT_EQ(t.by_step().at(1).count, 1);
  const auto j = t.to_json();
  EXPECT_EQ(j["by_layer"].size(), 2u);
  EXPECT_EQ(j["by_head"].size(), 2u);
  EXPECT_NEAR(j["overall"]["rel_l2_error"]["max"].get<double>(), 0.5, 1e-12);
}

// A real decode step of a shared trace: q[t] over k[0..t] with GQA, against brute force.
TEST(ReferenceAttention, SharedTraceDecodeStepMatchesBruteForce) {
  TraceReader r(wltest::shared_trace(2));
  const auto& s = r.info().shape;
  std::vector<float> k(size_t(s.tokens) * s.head_dim), v(k.size());
  const int layer = 3, head = 5, t = 400;
  const int g = kv_head_of(head, s.q_heads, s.kv_heads);
  EXPECT_EQ(g, 2);
  r.keys(layer, g, k.data());
  r.values(layer, g, v.data());
  Case c{t + 1, s.head_dim, std::vector<float>(size_t(s.head_dim)), k, v};
  r.query(layer, head, t, c.q.data());
  c.k.resize(size_t(t + 1) * s.head_dim);
  c.v.resize(size_t(t + 1) * s.head_dim);
  const Brute b = brute_force(c);
  DenseAttention d;
  dense_attention(c.q.data(), c.k.data(), c.v.data(), c.n, c.d, Precision::kFp64, &d);
  EXPECT_LT(rel_l2(d.output, b.o), 1e-12);
  double last32 = 0;
  for (int j = t + 1 - 32; j <= t; ++j) last32 += d.probs[size_t(j)];
  EXPECT_GT(last32, 0.3);  // this model's attention is local
}
