// The policy library on hand-built cases whose right answer is known (k-means on separable
// points, Quest's bound, TidalDecode's reuse, LFPS's slash shift, STARC's whole clusters and
// truncation), the invariants every policy promises (budget, current token, determinism), and
// the accuracy evaluator against the independent reference metrics of workloads/attention.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "models/common/errors.h"
#include "models/policy/accuracy.h"
#include "models/policy/kmeans.h"
#include "models/policy/lfps.h"
#include "models/policy/policies.h"
#include "models/policy/policy.h"
#include "workloads/attention.h"
#include "workloads/decode_source.h"

using namespace sparsepim;
using namespace sparsepim::policy;

namespace {

PolicyParams params() {
  return load_policy_params("default");
}

// A decode source held in memory: keys, values and queries given per (layer, head).
class MemorySource : public workloads::DecodeSource {
 public:
  MemorySource(int layers, int q_heads, int kv_heads, int d, int64_t tokens, int64_t first)
      : shape_{tokens, layers, q_heads, kv_heads, d}, first_(first) {
    k_.assign(size_t(layers * kv_heads), std::vector<float>(size_t(tokens * d)));
    v_ = k_;
    q_.assign(size_t(layers * q_heads), std::vector<float>(size_t(tokens * d)));
  }
  workloads::TraceShape shape() const override { return shape_; }
  int64_t first_step() const override { return first_; }
  void kv(int layer, int kv_head, int64_t rows, float* k, float* v, float*) override {
    const auto& K = k_[size_t(layer * shape_.kv_heads + kv_head)];
    const auto& Vv = v_[size_t(layer * shape_.kv_heads + kv_head)];
    std::copy(K.begin(), K.begin() + rows * shape_.head_dim, k);
    std::copy(Vv.begin(), Vv.begin() + rows * shape_.head_dim, v);
  }
  bool has_pre_rope() const override { return false; }
  void query(int layer, int q_head, int64_t row, float* q, float*) override {
    const auto& Q = q_[size_t(layer * shape_.q_heads + q_head)];
    std::copy(Q.begin() + row * shape_.head_dim, Q.begin() + (row + 1) * shape_.head_dim, q);
  }
  nlohmann::json describe() override { return {{"source", "memory"}}; }

  float* K(int layer, int kv_head) { return k_[size_t(layer * shape_.kv_heads + kv_head)].data(); }
  float* V(int layer, int kv_head) { return v_[size_t(layer * shape_.kv_heads + kv_head)].data(); }
  float* Q(int layer, int q_head) { return q_[size_t(layer * shape_.q_heads + q_head)].data(); }
  void randomize(uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto* set : {&k_, &v_, &q_})
      for (auto& vec : *set)
        for (auto& x : vec) x = nd(rng);
  }

 private:
  workloads::TraceShape shape_;
  int64_t first_;
  std::vector<std::vector<float>> k_, v_, q_;
};

ModelShape shape_of(const MemorySource& s, int reselection) {
  const auto sh = s.shape();
  return {sh.layers, sh.q_heads, sh.kv_heads, sh.head_dim, reselection};
}

// Runs one policy step by step over a source (layer-major), handing each selection to f.
template <typename F>
void drive(Policy& pol, MemorySource& src, const ModelShape& m, F f) {
  const auto sh = src.shape();
  const int d = sh.head_dim, G = m.group();
  std::vector<float> K(size_t(sh.tokens * d)), V(K.size()), Q(size_t(G * d));
  Selection sel;
  ScoreCache scores;
  for (int l = 0; l < m.layers; ++l)
    for (int g = 0; g < m.kv_heads; ++g) {
      src.kv(l, g, sh.tokens, K.data(), V.data(), nullptr);
      KvCache cache(l, g, d, sh.tokens, K.data(), V.data());
      for (int64_t t = src.first_step(); t < sh.tokens; ++t) {
        for (int gi = 0; gi < G; ++gi) src.query(l, g * G + gi, t, &Q[size_t(gi * d)], nullptr);
        cache.set_length(t + 1);
        scores.reset(Q.data(), G, &cache);
        StepInput in;
        in.position = t;
        in.layer = l;
        in.kv_head = g;
        in.first_q_head = g * G;
        in.group = G;
        in.queries = Q.data();
        in.cache = &cache;
        in.scores = &scores;
        pol.select(in, &sel);
        f(in, sel, cache);
      }
    }
}

void unit(float* x, int d) {
  double n = 0;
  for (int c = 0; c < d; ++c) n += double(x[c]) * x[c];
  for (int c = 0; c < d; ++c) x[c] = float(x[c] / std::sqrt(n));
}

}  // namespace

// --- k-means -----------------------------------------------------------------------------------

TEST(Kmeans, SeparatesFourWellSeparatedGroups) {
  const int d = 16, n = 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::vector<float> keys(size_t(n * d));
  std::vector<int> truth(n);
  // Groups point along channels 0..3 with different lengths (normalisation must remove them);
  // the first four keys are one of each group, in order.
  for (int i = 0; i < n; ++i) {
    truth[size_t(i)] = i < 4 ? i : int(rng() % 4);
    for (int c = 0; c < d; ++c) keys[size_t(i * d + c)] = noise(rng);
    keys[size_t(i * d + truth[size_t(i)])] += 1.0f + float(i % 5);
  }
  KmeansParams p;
  KmeansScratch s;
  std::vector<uint8_t> labels(n);
  std::vector<float> cent(size_t(4 * d));
  std::vector<int> sizes(4);
  const int it = kmeans_block(keys.data(), n, d, p, &s, labels.data(), cent.data(), sizes.data());
  EXPECT_LE(it, 3);
  for (int i = 0; i < n; ++i) EXPECT_EQ(labels[size_t(i)], truth[size_t(i)]) << i;
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(sizes[size_t(j)], std::count(truth.begin(), truth.end(), j));
    EXPECT_NEAR(cent[size_t(j * d + j)], 1.0, 0.01);  // the mean of unit vectors along e_j
  }
}

TEST(Kmeans, StopsAtTheIterationCapAndKeepsEmptyClusters) {
  const int d = 8, n = 64;
  std::vector<float> keys(size_t(n * d), 0.0f);
  // Every key identical: clusters 1..3 lose all members to cluster 0 (ties go low) and keep
  // their initial centroids; the centroids then stop moving.
  for (int i = 0; i < n; ++i) keys[size_t(i * d)] = 2.0f;
  KmeansParams p;
  KmeansScratch s;
  std::vector<uint8_t> labels(n);
  std::vector<float> cent(size_t(4 * d));
  std::vector<int> sizes(4);
  const int it = kmeans_block(keys.data(), n, d, p, &s, labels.data(), cent.data(), sizes.data());
  EXPECT_EQ(it, 1);
  EXPECT_EQ(sizes[0], n);
  EXPECT_EQ(sizes[1] + sizes[2] + sizes[3], 0);
  // Random data with a zero tolerance cannot converge early on every block: the cap holds.
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (auto& x : keys) x = nd(rng);
  p.tolerance = 0;
  p.max_iterations = 5;
  EXPECT_LE(kmeans_block(keys.data(), n, d, p, &s, labels.data(), cent.data(), sizes.data()), 5);
}

// The k-means as first written (straight loops, every norm, dot product and sum recomputed in
// every iteration): kmeans_block must reproduce it bit for bit with every instruction set.
static int reference_kmeans(const float* keys, int count, int d, const KmeansParams& p,
                            uint8_t* labels, float* centroids, int* sizes) {
  const int k = p.clusters;
  const size_t ks = static_cast<size_t>(k), kd = static_cast<size_t>(k * d);
  std::vector<float> pts(static_cast<size_t>(count * d)), cent, next(kd), norms2(ks);
  std::vector<double> sums(kd);
  for (int i = 0; i < count; ++i) {
    const float* x = keys + i * d;
    const float n2 = dot_fp32(x, x, d);
    const float inv = n2 > 0 ? 1.0f / std::sqrt(n2) : 0.0f;
    for (int c = 0; c < d; ++c) pts[size_t(i * d + c)] = x[c] * inv;
  }
  cent.assign(pts.begin(), pts.begin() + k * d);
  int it = 0;
  while (it < p.max_iterations) {
    ++it;
    for (int j = 0; j < k; ++j)
      norms2[size_t(j)] = dot_fp32(&cent[size_t(j * d)], &cent[size_t(j * d)], d);
    for (int i = 0; i < count; ++i) {
      int best = 0;
      float best_v = 0;
      for (int j = 0; j < k; ++j) {
        const float v =
            norms2[size_t(j)] - 2.0f * dot_fp32(&pts[size_t(i * d)], &cent[size_t(j * d)], d);
        if (j == 0 || v < best_v) {
          best_v = v;
          best = j;
        }
      }
      labels[i] = uint8_t(best);
    }
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(sizes, sizes + k, 0);
    for (int i = 0; i < count; ++i) {
      ++sizes[labels[i]];
      for (int c = 0; c < d; ++c)
        sums[size_t(labels[i] * d + c)] += double(pts[size_t(i * d + c)]);
    }
    double moved2 = 0;
    for (int j = 0; j < k; ++j) {
      double m2 = 0;
      for (int c = 0; c < d; ++c) {
        const size_t e = size_t(j * d + c);
        next[e] = sizes[j] ? float(sums[e] / sizes[j]) : cent[e];
        const double diff = double(next[e]) - double(cent[e]);
        m2 += diff * diff;
      }
      moved2 = std::max(moved2, m2);
    }
    cent.swap(next);
    if (moved2 < p.tolerance * p.tolerance) break;
  }
  std::copy(cent.begin(), cent.end(), centroids);
  return it;
}

TEST(Kmeans, EveryInstructionSetReproducesTheStraightLoopsBitForBit) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  int blocks = 0;
  for (int d : {3, 8, 12, 100, 128})
    for (int k : {1, 2, 3, 4, 5, 8})
      for (int kind = 0; kind < 5; ++kind) {
        const int n = 64;
        KmeansParams p;
        p.clusters = k;
        p.tolerance = kind == 3 ? 0.0 : 1e-4;
        p.max_iterations = kind == 3 ? 7 : 16;
        std::vector<float> keys(size_t(n * d));
        std::vector<float> centers(size_t(6 * d));
        for (auto& x : centers) x = nd(rng);
        for (int i = 0; i < n; ++i)
          for (int c = 0; c < d; ++c) {
            float& x = keys[size_t(i * d + c)];
            x = nd(rng);
            if (kind == 1 && i % 5 == 2) x = 0.0f;                          // zero keys
            if (kind == 2) x = float(int(x * 1.5f));                         // exact ties
            if (kind == 4) x = centers[size_t(i % 6 * d + c)] + 0.3f * x;  // clustered
          }
        const size_t ks = static_cast<size_t>(k), kd = static_cast<size_t>(k * d);
        std::vector<uint8_t> l_ref(n);
        std::vector<float> c_ref(kd);
        std::vector<int> s_ref(ks);
        const int it_ref =
            reference_kmeans(keys.data(), n, d, p, l_ref.data(), c_ref.data(), s_ref.data());
        for (int level : {0, 1, 2}) {
          set_kmeans_simd_level(level);
          KmeansScratch s;
          std::vector<uint8_t> l(n);
          std::vector<float> c(kd);
          std::vector<int> sz(ks);
          const int it = kmeans_block(keys.data(), n, d, p, &s, l.data(), c.data(), sz.data());
          SCOPED_TRACE("d " + std::to_string(d) + " k " + std::to_string(k) + " kind " +
                       std::to_string(kind) + " level " + std::to_string(level));
          EXPECT_EQ(it, it_ref);
          EXPECT_EQ(l, l_ref);
          EXPECT_EQ(sz, s_ref);
          EXPECT_EQ(0, std::memcmp(c.data(), c_ref.data(), c.size() * sizeof(float)));
        }
        ++blocks;
      }
  set_kmeans_simd_level(2);
  EXPECT_EQ(blocks, 150);
}

TEST(ClusterStore, LayoutIsClusterOrderedAndRowGroupAligned) {
  const int d = 8;
  const int64_t n = 64 * 3 + 10;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  std::vector<float> keys(size_t(n * d));
  for (auto& x : keys) x = nd(rng);
  KvCache cache(0, 0, d, n, keys.data(), nullptr);
  cache.set_length(n);
  const ClusterStore& s = cache.clusters(KmeansParams{}, 16, true);
  EXPECT_EQ(s.clustered_tokens(), 192);
  EXPECT_EQ(s.clusters(), 12);
  std::vector<int64_t> slots;
  for (int64_t c = 0; c < s.clusters(); ++c) {
    EXPECT_EQ(s.cluster_slot(c) % 16, 0) << "cluster " << c << " not row-group aligned";
    for (int i = 0; i < s.size(c); ++i) {
      const uint32_t p = s.members(c)[i];
      EXPECT_EQ(s.cluster_of(p), c);
      EXPECT_EQ(s.slot(p), s.cluster_slot(c) + i);
      EXPECT_EQ(int64_t(p) / 64, c / 4) << "a cluster holds tokens of its own block only";
      if (i) {
        EXPECT_LT(s.members(c)[i - 1], p);
      }
      slots.push_back(s.slot(p));
    }
  }
  std::sort(slots.begin(), slots.end());
  EXPECT_EQ(std::unique(slots.begin(), slots.end()), slots.end()) << "two tokens share a slot";
  EXPECT_EQ(s.slot(200), kStagingSlotBase + 200) << "unclustered tokens stay in staging";
  // Packed: no padding, exactly one slot per token.
  KvCache packed(0, 0, d, n, keys.data(), nullptr);
  packed.set_length(n);
  EXPECT_EQ(packed.clusters(KmeansParams{}, 16, false).region_slots(), 192);
  EXPECT_GE(s.region_slots(), 192);
}

// --- Quest -------------------------------------------------------------------------------------

// Starting the clustering early on the helper thread (start, KvCache::prefetch_clusters) gives
// the same store as clustering on demand, whichever thread clusters which block.
TEST(ClusterStore, StartedEarlyGivesTheSameStore) {
  const int d = 16;
  const int64_t n = 64 * 80 + 7;
  std::mt19937 rng(13);
  std::normal_distribution<float> nd;
  std::vector<float> keys(size_t(n * d));
  for (auto& x : keys) x = nd(rng);
  auto same = [&](const ClusterStore& a, const ClusterStore& b) {
    ASSERT_EQ(a.clustered_tokens(), b.clustered_tokens());
    ASSERT_EQ(a.clusters(), b.clusters());
    EXPECT_EQ(a.region_slots(), b.region_slots());
    EXPECT_EQ(a.iterations(), b.iterations());
    for (int64_t c = 0; c < a.clusters(); ++c) {
      ASSERT_EQ(a.size(c), b.size(c));
      EXPECT_EQ(a.cluster_slot(c), b.cluster_slot(c));
      EXPECT_EQ(0, std::memcmp(a.centroid(c), b.centroid(c), d * sizeof(float)));
      for (int i = 0; i < a.size(c); ++i) EXPECT_EQ(a.members(c)[i], b.members(c)[i]);
    }
    for (int64_t p = 0; p < n; ++p) EXPECT_EQ(a.slot(uint32_t(p)), b.slot(uint32_t(p)));
  };
  const KmeansParams km;
  ClusterStore plain(km, d, 16, true);
  plain.extend(keys.data(), n);
  ClusterStore started(km, d, 16, true);
  started.start(keys.data(), n);
  started.extend(keys.data(), n);
  same(plain, started);
  ClusterStore grown(km, d, 16, true);  // started for fewer tokens than the extend asks
  grown.start(keys.data(), 64 * 40);
  grown.extend(keys.data(), n);
  same(plain, grown);
  ClusterStore abandoned(km, d, 16, true);  // destroyed while the helper runs
  abandoned.start(keys.data(), n);
  KvCache cache(0, 0, d, n, keys.data(), nullptr);
  cache.set_length(n);
  cache.prefetch_clusters(km, 16, true);
  same(plain, cache.clusters(km, 16, true));
  ClusterStore behind(km, d, 16, true);
  behind.start(keys.data(), n);
  EXPECT_THROW(behind.extend(keys.data(), n - 64), std::logic_error);
}

TEST(Quest, PageBoundIsAtLeastEveryTrueScoreInThePage) {
  const int d = 32;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::vector<float> keys(size_t(16 * 40 * d));
  for (auto& x : keys) x = nd(rng) * 3.0f;
  PageSummaries pages(d, 16);
  pages.extend(keys.data(), 16 * 40 - 5);  // the last page partial
  std::vector<float> q(static_cast<size_t>(d));
  int tight = 0;
  for (int trial = 0; trial < 50; ++trial) {
    for (auto& x : q) x = nd(rng);
    for (int64_t pg = 0; pg < pages.pages(); ++pg) {
      const double bound = quest_page_bound(q.data(), pages.min(pg), pages.max(pg), d);
      double best = -1e300;
      for (int64_t j = pg * 16; j < std::min<int64_t>((pg + 1) * 16, 16 * 40 - 5); ++j) {
        double s = 0;
        for (int c = 0; c < d; ++c) s += double(q[size_t(c)]) * keys[size_t(j * d + c)];
        EXPECT_GE(bound + 1e-9, s) << "page " << pg << " token " << j;
        best = std::max(best, s);
      }
      tight += bound - best < 1e-9;
    }
  }
  // A single-token page's bound is exact: build one and check equality.
  PageSummaries one(d, 1);
  one.extend(keys.data(), 1);
  double s = 0;
  for (int c = 0; c < d; ++c) s += double(q[size_t(c)]) * keys[size_t(c)];
  EXPECT_NEAR(quest_page_bound(q.data(), one.min(0), one.max(0), d), s, 1e-9);
  (void)tight;
}

TEST(Quest, SelectsWholePagesByBoundAndTruncatesTheLast) {
  // One head, 8 pages of 16 tokens; page 5 holds the only large keys, so its bound is highest.
  MemorySource src(3, 1, 1, 4, 128, 127);
  for (int l = 0; l < 3; ++l) {
    float* K = src.K(l, 0);
    for (int j = 0; j < 128; ++j)
      for (int c = 0; c < 4; ++c) K[j * 4 + c] = (j / 16 == 5 ? 5.0f : 0.1f) * float(c + 1) / 4;
    for (int c = 0; c < 4; ++c) src.Q(l, 0)[127 * 4 + c] = 1.0f;
  }
  const ModelShape m = shape_of(src, 0);
  auto pol = make_policy("quest", 20, params(), m);
  drive(*pol, src, m, [](const StepInput& in, const Selection& sel, KvCache&) {
    if (in.layer < 2) {
      EXPECT_TRUE(sel.dense);
      return;
    }
    const auto& p = sel.positions[0];
    ASSERT_EQ(p.size(), 20u);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(p[size_t(4 + i)], uint32_t(80 + i));  // page 5 whole
    EXPECT_EQ(sel.work.metadata_items, 8);
    EXPECT_EQ(sel.work.metadata_bytes, 8 * 2 * 4 * 2);
    EXPECT_TRUE(sel.work.scanned.empty());
  });
}

// --- TidalDecode -------------------------------------------------------------------------------

TEST(Tidal, ReusesTheSelectionLayersPositionsAndKeepsTheCurrentToken) {
  MemorySource src(6, 4, 2, 8, 200, 190);
  src.randomize(21);
  const ModelShape m = shape_of(src, 4);  // selection at 2, re-selection at 4
  const int64_t B = 12;
  auto pol = make_policy("tidal", B, params(), m);
  // Expected picks of a selection layer: the current token and the exact top B-1 of the rest.
  std::map<std::pair<int64_t, int>, std::vector<uint32_t>> picks;  // (step, q head)
  drive(*pol, src, m, [&](const StepInput& in, const Selection& sel, KvCache&) {
    const int64_t n = in.n();
    for (int gi = 0; gi < in.group; ++gi) {
      const int h = in.first_q_head + gi;
      const auto& pos = sel.positions[size_t(gi)];
      if (in.layer < 2) {
        EXPECT_TRUE(sel.dense);
      } else if (in.layer == 2 || in.layer == 4) {
        EXPECT_EQ(int64_t(pos.size()), n) << "selection layers attend fully";
        std::vector<uint32_t> top;
        top_k_all(in.scores->scores(gi), n - 1, B - 1, &top);
        top.push_back(uint32_t(n - 1));
        picks[{in.position, h}] = top;
        EXPECT_EQ(int64_t(sel.work.scanned.size()), n);
      } else {
        const auto& want = picks.at({in.position, h});
        EXPECT_EQ(pos, want) << "layer " << in.layer << " head " << h;
        EXPECT_EQ(pos.back(), uint32_t(n - 1));
        EXPECT_LE(int64_t(pos.size()), B);
      }
    }
    if (in.layer == 3 || in.layer == 5) {
      // GQA: fetch = union of the group's positions.
      std::vector<uint32_t> u;
      for (const auto& p : sel.positions) u.insert(u.end(), p.begin(), p.end());
      std::sort(u.begin(), u.end());
      u.erase(std::unique(u.begin(), u.end()), u.end());
      EXPECT_EQ(sel.work.fetched, u);
      EXPECT_GT(sel.work.history_positions, 0);
    }
  });
  EXPECT_EQ(picks.size(), size_t(10 * 4));
}

TEST(Tidal, RejectsAReselectionLayerBeyondTheModel) {
  ModelShape m{32, 32, 8, 128, 13};
  PolicyParams p = params();
  EXPECT_NO_THROW(make_policy("tidal", 64, p, m));
  p.tidal.reselection_layer = 32;
  EXPECT_THROW(make_policy("tidal", 64, p, m), ConfigError);
  p.tidal.reselection_layer = 2;  // not after the selection layer
  EXPECT_THROW(make_policy("starc+tidal", 64, p, m), ConfigError);
  p.tidal.reselection_layer = 0;
  m.tidal_reselection_layer = 0;  // the model names none: must be explicit
  EXPECT_THROW(make_policy("tidal", 64, p, m), ConfigError);
  p.tidal.reselection_layer = -1;
  EXPECT_NO_THROW(make_policy("tidal", 64, p, m));
}

// --- LFPS --------------------------------------------------------------------------------------

TEST(Lfps, SlashShiftFollowsAMovingDiagonal) {
  // At step t the query matches only key t - 7: a slash line (a fixed relative offset). With no
  // expansion, no sinks and no recent window, the only way to find it is the +1 shift of the
  // previous step's pick.
  const int d = 64, T = 400, first = 100, offset = 7;
  MemorySource src(1, 1, 1, d, T, first);
  std::mt19937 rng(9);
  std::normal_distribution<float> nd;
  float* K = src.K(0, 0);
  for (int j = 0; j < T; ++j) {
    for (int c = 0; c < d; ++c) K[j * d + c] = nd(rng);
    unit(K + j * d, d);
  }
  for (int t = first; t < T; ++t)
    for (int c = 0; c < d; ++c) src.Q(0, 0)[t * d + c] = 40.0f * K[(t - offset) * d + c];
  PolicyParams p = params();
  p.lfps.expansion = 0;
  p.lfps.sinks = 0;
  p.lfps.recent_window = 0;
  p.lfps.refresh_interval = 0;
  p.lfps.min_candidates_factor = 1.0;
  const ModelShape m = shape_of(src, -1);
  LfpsPolicy pol("lfps", 1, p, 0);
  int64_t steps = 0;
  drive(pol, src, m, [&](const StepInput& in, const Selection& sel, KvCache&) {
    ASSERT_EQ(sel.positions[0].size(), 1u);
    EXPECT_EQ(int64_t(sel.positions[0][0]), in.position - offset);
    if (in.position > first) {
      // Candidates were only the previous pick and its slash shift.
      EXPECT_EQ(sel.work.scanned.size(), 2u);
      EXPECT_EQ(int64_t(sel.work.scanned[1]), in.position - offset);
    }
    ++steps;
  });
  EXPECT_EQ(steps, T - first);
  EXPECT_EQ(pol.refreshes(), 1) << "only the first step (no history) scans every key";
  EXPECT_EQ(pol.predictions(), T - first - 1);
}

TEST(Lfps, CandidatesAndRefreshRules) {
  LfpsParams p;
  p.expansion = 1;
  p.sinks = 2;
  p.recent_window = 3;
  std::vector<uint32_t> c;
  LfpsPolicy::candidates({10, 11, 40}, 50, p, &c);
  const std::vector<uint32_t> want = {0, 1, 9, 10, 11, 12, 13, 39, 40, 41, 42, 47, 48, 49};
  EXPECT_EQ(c, want);
  LfpsPolicy::candidates({49}, 50, p, &c);  // clipped at the context end
  EXPECT_EQ(c.back(), 49u);
  // Periodic refresh: with interval 4 a full scan every 4th step.
  MemorySource src(1, 2, 1, 8, 120, 100);
  src.randomize(4);
  PolicyParams pp = params();
  pp.lfps.refresh_interval = 4;
  pp.lfps.min_candidates_factor = 0;
  LfpsPolicy pol("lfps", 8, pp, 0);
  std::vector<int> full;
  drive(pol, src, shape_of(src, -1), [&](const StepInput& in, const Selection& sel, KvCache&) {
    full.push_back(int64_t(sel.work.scanned.size()) == in.n());
  });
  const std::vector<int> expect = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
  EXPECT_EQ(full, expect);
  // Fallback: candidates fewer than factor * B force a full scan every step.
  pp.lfps.refresh_interval = 0;
  pp.lfps.min_candidates_factor = 100;
  LfpsPolicy fallback("lfps", 8, pp, 0);
  drive(fallback, src, shape_of(src, -1), [](const StepInput&, const Selection&, KvCache&) {});
  EXPECT_EQ(fallback.predictions(), 0);
}

// --- STARC -------------------------------------------------------------------------------------

TEST(Starc, TakesClustersWholeByCentroidScoreAndTruncatesTheLast) {
  // Two blocks of 64 tokens plus 5 unclustered ones. In each block the groups point along
  // channels 0..3 (first four keys one of each); group sizes differ. The query points along
  // channel 2, then (weaker) channel 1.
  const int d = 8;
  const int64_t T = 64 * 2 + 5;
  MemorySource src(3, 1, 1, d, T, T - 1);
  const int sizes_b0[4] = {10, 20, 14, 20}, sizes_b1[4] = {16, 16, 16, 16};
  for (int l = 0; l < 3; ++l) {
    float* K = src.K(l, 0);
    std::fill(K, K + T * d, 0.0f);
    for (int b = 0; b < 2; ++b) {
      const int* sz = b == 0 ? sizes_b0 : sizes_b1;
      std::vector<int> group;
      for (int gi = 0; gi < 4; ++gi) group.push_back(gi);  // first four: one of each
      for (int gi = 0; gi < 4; ++gi)
        for (int i = 1; i < sz[gi]; ++i) group.push_back(gi);
      for (int i = 0; i < 64; ++i) K[(b * 64 + i) * d + group[size_t(i)]] = 1.0f;
    }
    for (int64_t j = 128; j < T; ++j) K[j * d + 7] = 1.0f;
    float* q = src.Q(l, 0) + (T - 1) * d;
    q[2] = 3.0f;
    q[1] = 1.0f;
  }
  const ModelShape m = shape_of(src, 0);
  const int64_t B = 5 + 14 + 16 + 7;  // recent + both channel-2 clusters + 7 of the next
  auto pol = make_policy("starc", B, params(), m);
  drive(*pol, src, m, [&](const StepInput& in, const Selection& sel, KvCache& cache) {
    if (in.layer < 2) return;
    const ClusterStore& s = cache.clusters(KmeansParams{}, 16, true);
    ASSERT_EQ(s.clusters(), 8);
    EXPECT_EQ(s.size(2), 14);
    EXPECT_EQ(s.size(6), 16);
    std::vector<uint32_t> want;
    for (uint32_t j = 128; j < T; ++j) want.push_back(j);
    for (int64_t c : {int64_t(2), int64_t(6)})
      want.insert(want.end(), s.members(c), s.members(c) + s.size(c));
    // Next by score: the channel-1 clusters 1 (20 tokens) and 5 (16) tie; the lower id wins
    // and is truncated to its first 7 members in storage order.
    want.insert(want.end(), s.members(1), s.members(1) + 7);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(sel.positions[0], want);
    EXPECT_EQ(sel.work.metadata_items, 8);
    EXPECT_TRUE(sel.work.scanned.empty()) << "STARC scores centroids, not keys";
  });
}

TEST(Starc, UnclusteredRecentTokensAlwaysAttended) {
  MemorySource src(3, 4, 2, 8, 64 * 4 + 40, 64 * 4);
  src.randomize(2);
  const ModelShape m = shape_of(src, 0);
  for (int64_t B : {1, 10, 50, 100}) {
    auto pol = make_policy("starc", B, params(), m);
    drive(*pol, src, m, [&](const StepInput& in, const Selection& sel, KvCache&) {
      if (in.layer < 2 || B >= in.n()) return;
      const int64_t recent = in.n() - 64 * 4;
      for (const auto& pos : sel.positions) {
        EXPECT_LE(int64_t(pos.size()), B);
        const int64_t must = std::min(recent, B);
        for (int64_t j = in.n() - must; j < in.n(); ++j)
          EXPECT_TRUE(std::binary_search(pos.begin(), pos.end(), uint32_t(j)));
      }
    });
  }
}

// --- Every policy ------------------------------------------------------------------------------

TEST(AllPolicies, NeverExceedTheBudgetAndKeepTheCurrentTokenWherePromised) {
  MemorySource src(6, 4, 2, 16, 64 * 5 + 30, 64 * 5 - 20);
  src.randomize(17);
  const ModelShape m = shape_of(src, 4);
  for (const auto& name : policy_names())
    for (int64_t B : {1, 3, 16, 64, 200, 100000}) {
      auto pol = make_policy(name, B, params(), m);
      const bool keeps_current = name == "tidal" || name == "dense" || name.rfind("starc", 0) == 0;
      drive(*pol, src, m, [&](const StepInput& in, const Selection& sel, KvCache&) {
        ASSERT_EQ(int(sel.positions.size()), in.group);
        for (const auto& pos : sel.positions) {
          ASSERT_FALSE(pos.empty()) << name;
          EXPECT_TRUE(std::is_sorted(pos.begin(), pos.end()));
          EXPECT_EQ(std::adjacent_find(pos.begin(), pos.end()), pos.end()) << name;
          EXPECT_LT(int64_t(pos.back()), in.n());
          if (int64_t(pos.size()) < in.n()) {
            EXPECT_LE(int64_t(pos.size()), B) << name << " layer " << in.layer;
          }
          if (keeps_current) {
            EXPECT_EQ(int64_t(pos.back()), in.n() - 1) << name;
          }
          if (B >= in.n()) {
            EXPECT_EQ(int64_t(pos.size()), in.n()) << name << ": B >= n is dense";
          }
        }
      });
    }
}

TEST(AllPolicies, UnknownNameAndBadBudgetAreErrors) {
  const ModelShape m{4, 4, 2, 8, 3};
  EXPECT_THROW(make_policy("streamingllm", 16, params(), m), ConfigError);
  EXPECT_THROW(make_policy("topk", 0, params(), m), ConfigError);
  EXPECT_THROW(make_policy("topk", -5, params(), m), ConfigError);
  EXPECT_THROW(load_policy_params("default", {"lfps.no_such_key=1"}), ConfigError);
  EXPECT_THROW(load_policy_params("default", {"starc.clusters=0"}), ConfigError);
  EXPECT_THROW(load_policy_params("default", {"index_prediction.scores=fp8"}), ConfigError);
  EXPECT_FALSE(load_policy_params("default").index_prediction.fp16_scores);
  EXPECT_TRUE(
      load_policy_params("default", {"index_prediction.scores=fp16"}).index_prediction.fp16_scores);
  EXPECT_THROW(load_policy_params("no-such-config"), ConfigError);
}

// --- The evaluator -----------------------------------------------------------------------------

TEST(Accuracy, TopkAtTheContextIsDenseAndTopkOverlapIsOne) {
  MemorySource src(3, 4, 2, 16, 150, 100);
  src.randomize(8);
  AccuracyOptions o;
  o.policies = {"topk", "dense"};
  o.budgets = {150, 7};
  o.params = params();
  o.model = shape_of(src, 0);
  const auto recs = evaluate_accuracy(src, o);
  ASSERT_EQ(recs.size(), 4u);
  for (const auto& r : recs) {
    if (r.policy == "dense" || r.budget == 150) {
      EXPECT_EQ(r.overall.recall, 1.0);
      EXPECT_EQ(r.overall.rel_l2_error, 0.0);
      EXPECT_EQ(r.overall.cosine, 1.0);
      EXPECT_EQ(r.overall.topk_overlap, 1.0);
    } else {
      EXPECT_EQ(r.overall.topk_overlap, 1.0) << "topk is the exact top-B";
      EXPECT_LT(r.overall.recall, 1.0);
      EXPECT_GT(r.overall.rel_l2_error, 0.0);
    }
  }
}

TEST(Accuracy, AgreesWithTheIndependentReferenceMetrics) {
  // One layer, one head, one step: the evaluator's metrics of topk and quest equal
  // workloads::evaluate_selection's (FP64 reference attention, written separately) on the
  // policy's own selection.
  for (const std::string name : {"topk", "sparq", "lfps"}) {
    MemorySource src(1, 1, 1, 32, 300, 299);
    src.randomize(31);
    AccuracyOptions o;
    o.policies = {name};
    o.budgets = {20};
    o.params = params();
    o.model = shape_of(src, -1);
    const auto recs = evaluate_accuracy(src, o);
    ASSERT_EQ(recs.size(), 1u);
    auto pol = make_policy(name, 20, o.params, o.model);
    Selection got;
    drive(*pol, src, o.model, [&](const StepInput&, const Selection& sel, KvCache&) { got = sel; });
    workloads::DenseAttention dense;
    workloads::dense_attention(src.Q(0, 0) + 299 * 32, src.K(0, 0), src.V(0, 0), 300, 32,
                               workloads::Precision::kFp64, &dense);
    const auto& pos = got.positions[0];
    const auto ref =
        workloads::evaluate_selection(dense, src.V(0, 0), pos.data(), int64_t(pos.size()), 20);
    EXPECT_NEAR(recs[0].overall.recall, ref.recall, 1e-6) << name;
    EXPECT_NEAR(recs[0].overall.topk_overlap, ref.topb_overlap, 1e-12) << name;
    EXPECT_NEAR(recs[0].overall.rel_l2_error, ref.rel_l2_error, 1e-5) << name;
    EXPECT_NEAR(1.0 - recs[0].overall.cosine, ref.cosine_error, 1e-6) << name;
    EXPECT_EQ(recs[0].overall.tokens_fetched_per_step, double(pos.size()));
  }
}

TEST(Accuracy, EveryPolicyIsDeterministic) {
  MemorySource src(5, 4, 2, 16, 64 * 4 + 9, 64 * 4 - 6);
  src.randomize(99);
  AccuracyOptions o;
  o.policies = policy_names();
  o.budgets = {16, 40};
  o.params = params();
  o.model = shape_of(src, 3);
  const auto a = evaluate_accuracy(src, o), b = evaluate_accuracy(src, o);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].to_json().dump(), b[i].to_json().dump()) << a[i].policy;
}

TEST(Accuracy, RowGroupsFollowTheLayout) {
  // Token order: topk's attended row groups are the distinct p/16 of its positions.
  MemorySource src(1, 1, 1, 8, 64 * 8 + 1, 64 * 8);
  src.randomize(12);
  AccuracyOptions o;
  o.policies = {"topk", "starc"};
  o.budgets = {24};
  o.params = params();
  o.params.starc.dense_layers = 0;
  o.model = shape_of(src, -1);
  const auto recs = evaluate_accuracy(src, o);
  auto pol = make_policy("topk", 24, o.params, o.model);
  std::vector<uint32_t> pos;
  drive(*pol, src, o.model,
        [&](const StepInput&, const Selection& sel, KvCache&) { pos = sel.positions[0]; });
  std::set<uint32_t> groups;
  for (uint32_t p : pos) groups.insert(p / 16);
  EXPECT_EQ(recs[0].overall.attend_row_groups_per_step, double(groups.size()));
  EXPECT_EQ(recs[0].overall.row_groups_per_step, std::ceil(513.0 / 16)) << "a full scan";
  // STARC: the distinct row groups of its positions' slots in the cluster layout.
  auto starc = make_policy("starc", 24, o.params, o.model);
  std::set<int64_t> starc_groups;
  drive(*starc, src, o.model, [&](const StepInput&, const Selection& sel, KvCache& cache) {
    const ClusterStore& s = cache.clusters(o.params.starc.kmeans, 16, true);
    for (uint32_t p : sel.positions[0]) starc_groups.insert(s.slot(p) / 16);
  });
  EXPECT_EQ(recs[1].overall.attend_row_groups_per_step, double(starc_groups.size()));
  EXPECT_EQ(recs[1].overall.row_groups_per_step, double(starc_groups.size()));
}
