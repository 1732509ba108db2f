// The synthetic generator: determinism by seed, random access (any slice equals the same rows of
// a bigger one), RoPE applied as specified, the structures it promises (sinks, heavy hitters
// with their density and layer-to-layer inheritance, outlier channels, roles from the preset),
// export to a trace directory, input checks, and calibration on a small configuration.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "models/common/errors.h"
#include "workload_test_util.h"
#include "workloads/attention.h"
#include "workloads/calibration_stats.h"
#include "workloads/decode_source.h"
#include "workloads/generator.h"
#include "workloads/trace.h"

using namespace sparsepim;
using namespace sparsepim::workloads;
using nlohmann::json;

namespace {

SyntheticGenerator make(const std::string& model, uint64_t seed,
                        const std::vector<std::string>& sets = {}) {
  return SyntheticGenerator(load_model_preset(model), load_synthetic_params("synthetic", sets),
                            seed);
}

// Keys, values and a few queries of layers 0..2 as one byte string.
std::string sample_bytes(SyntheticGenerator& g, int64_t rows) {
  const int d = g.model().head_dim;
  std::string out;
  std::vector<float> k(static_cast<size_t>(rows) * d), v(k.size()), q(static_cast<size_t>(d));
  for (int l = 0; l < 3; ++l) {
    for (int h = 0; h < g.model().kv_heads; ++h) {
      g.keys_values(l, h, 0, rows, k.data(), v.data());
      out.append(reinterpret_cast<const char*>(k.data()), k.size() * 4);
      out.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    }
    for (int h = 0; h < g.model().q_heads; ++h)
      for (int64_t t : {int64_t(0), rows / 2, rows - 1}) {
        g.query(l, h, t, q.data());
        out.append(reinterpret_cast<const char*>(q.data()), q.size() * 4);
      }
  }
  return out;
}

}  // namespace

TEST(Generator, SameSeedSameBytesDifferentSeedDifferent) {
  SyntheticGenerator a = make("llama-3.1-8b", 7), b = make("llama-3.1-8b", 7),
                     c = make("llama-3.1-8b", 8);
  const std::string ba = sample_bytes(a, 300), bb = sample_bytes(b, 300), bc = sample_bytes(c, 300);
  EXPECT_EQ(ba.size(), bb.size());
  EXPECT_TRUE(ba == bb);
  ASSERT_EQ(ba.size(), bc.size());
  size_t differ = 0;
  for (size_t i = 0; i < ba.size(); i += 4) differ += std::memcmp(&ba[i], &bc[i], 4) != 0;
  EXPECT_GT(differ, ba.size() / 4 * 9 / 10);  // nearly every value changes
  // Asking again from the same generator (its caches warm) gives the same bytes.
  EXPECT_TRUE(sample_bytes(a, 300) == ba);
}

// Random access: rows [a, b) generated alone equal the same rows of [0, n), in any order.
TEST(Generator, SlicesEqualTheWhole) {
  SyntheticGenerator g = make("mistral-7b-v0.3", 3);
  const int d = 128;
  std::vector<float> k(1000 * d), v(k.size()), ks(200 * d), vs(ks.size());
  g.keys_values(5, 3, 0, 1000, k.data(), v.data());
  SyntheticGenerator g2 = make("mistral-7b-v0.3", 3);
  g2.keys_values(5, 3, 700, 900, ks.data(), vs.data());
  EXPECT_EQ(std::memcmp(ks.data(), k.data() + 700 * d, ks.size() * 4), 0);
  EXPECT_EQ(std::memcmp(vs.data(), v.data() + 700 * d, vs.size() * 4), 0);
  std::vector<float> q1(d), q2(d);
  g.query(9, 17, 555, q1.data());
  g2.query(9, 17, 555, q2.data());
  EXPECT_EQ(std::memcmp(q1.data(), q2.data(), d * 4), 0);
}

// Post-RoPE = the pre-RoPE vector rotated pair by pair by position x frequency: norms per pair
// are kept, and q.k depends on positions only through their difference for the constant parts.
TEST(Generator, RopeRotatesPairsByPosition) {
  SyntheticGenerator g = make("llama-3.1-8b", 1);
  const ModelPreset& m = g.model();
  const auto f = rope_frequencies(m.rope, 128);
  std::vector<float> k(64 * 128), v(k.size()), kp(k.size());
  g.keys_values(4, 1, 1000, 1064, k.data(), v.data(), kp.data());
  for (int r = 0; r < 64; r += 7)
    for (int p = 0; p < 64; p += 5) {
      const float a = kp[size_t(r * 128 + p)], b = kp[size_t(r * 128 + p + 64)];
      const double ang = f[size_t(p)] * double(1000 + r);
      EXPECT_NEAR(k[size_t(r * 128 + p)], a * std::cos(ang) - b * std::sin(ang), 2e-3);
      EXPECT_NEAR(k[size_t(r * 128 + p + 64)], b * std::cos(ang) + a * std::sin(ang), 2e-3);
    }
  // stories260K pairs interleaved channels.
  SyntheticGenerator s = make("stories260k", 1);
  std::vector<float> k8(8), v8(8), p8(8);
  s.keys_values(1, 0, 300, 301, k8.data(), v8.data(), p8.data());
  const auto f8 = rope_frequencies(s.model().rope, 8);
  for (int p = 0; p < 4; ++p) {
    const double ang = f8[size_t(p)] * 300.0;
    EXPECT_NEAR(k8[size_t(2 * p)],
                p8[size_t(2 * p)] * std::cos(ang) - p8[size_t(2 * p + 1)] * std::sin(ang), 1e-4);
  }
}

TEST(Generator, HeavyHittersHaveTheirDensityAndInheritance) {
  SyntheticGenerator g = make("llama-3.1-8b", 11);
  const SyntheticParams& p = g.params();
  const int64_t N = 200000;
  // Early layers have none; the deep layers the configured density; a deep heavy hitter stays
  // one at the next layer with probability inherit_prob_deep (+ a rebirth), a shallow one with
  // inherit_prob_shallow.
  int64_t early = 0, deep = 0, both_deep = 0, shallow = 0, both_shallow = 0;
  double strength_sum = 0;
  for (int64_t j = 0; j < N; ++j) {
    double s = 0;
    early += g.is_heavy_hitter(1, 2, j, &s);
    if (g.is_heavy_hitter(20, 2, j, &s)) {
      ++deep;
      strength_sum += s;
      both_deep += g.is_heavy_hitter(21, 2, j, nullptr);
    }
    if (g.is_heavy_hitter(5, 2, j, nullptr)) {
      ++shallow;
      both_shallow += g.is_heavy_hitter(6, 2, j, nullptr);
    }
  }
  EXPECT_EQ(early, 0);
  EXPECT_NEAR(double(deep) / N, p.hh_density, 0.15 * p.hh_density);
  EXPECT_NEAR(strength_sum / double(deep), 1.0, 0.05);
  const double keep_deep = p.hh_inherit_prob_deep + p.hh_density * (1 - p.hh_inherit_prob_deep);
  EXPECT_NEAR(double(both_deep) / double(deep), keep_deep, 0.04);
  EXPECT_NEAR(double(both_shallow) / double(shallow), p.hh_inherit_prob_shallow, 0.08);
  EXPECT_FALSE(g.is_heavy_hitter(20, 2, 0, nullptr));  // sinks are not heavy hitters
}

TEST(Generator, RolesAndOutliersFollowThePreset) {
  SyntheticGenerator g = make("llama-3.1-8b", 1);
  const ModelPreset& m = g.model();
  int streaming = 0;
  for (int l = 0; l < m.layers; ++l)
    for (int kv = 0; kv < m.kv_heads; ++kv) {
      const bool s = g.is_streaming_kv_head(l, kv);
      streaming += s;
      EXPECT_EQ(s, m.profile.retrieval_gates[size_t(l)][size_t(kv)] <= 0.5);
      if (s) {
        EXPECT_EQ(g.role(l, kv * 4), HeadRole::kStreaming);
      }
    }
  EXPECT_EQ(streaming, 256 - 234);
  EXPECT_EQ(g.role(0, 0), HeadRole::kEarly);  // layer 0, KV head 0 has gate 0.61
  // Layer 23: MInference classes "BBBBVVVB...": head 4 vertical, head 0 mixed.
  EXPECT_EQ(g.role(23, 4), HeadRole::kVertical);
  EXPECT_EQ(g.role(23, 0), HeadRole::kMixed);
  EXPECT_EQ(g.outlier_channels(0, 0), (std::vector<int>{0, 97, 42, 47, 103, 86, 93, 1}));
  // Pre-RoPE keys: the outlier channels carry the largest mean magnitude.
  std::vector<float> k(2000 * 128), v(k.size()), kp(k.size());
  g.keys_values(7, 3, 0, 2000, k.data(), v.data(), kp.data());
  std::vector<double> mag(128, 0.0);
  for (int64_t t = 0; t < 2000; ++t)
    for (int c = 0; c < 128; ++c) mag[size_t(c)] += std::fabs(kp[size_t(t * 128 + c)]);
  const auto out = g.outlier_channels(7, 3);
  std::set<int> top;
  std::vector<int> order(128);
  for (int c = 0; c < 128; ++c) order[size_t(c)] = c;
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return mag[size_t(a)] > mag[size_t(b)]; });
  for (int i = 0; i < 8; ++i) top.insert(order[size_t(i)]);
  for (int c : out) EXPECT_TRUE(top.count(c)) << c;
  // Without published channels (70B) they are drawn by seed: distinct, stable per seed.
  SyntheticGenerator big = make("llama-3.1-70b", 5), big2 = make("llama-3.1-70b", 5);
  const auto o70 = big.outlier_channels(40, 2);
  EXPECT_EQ(std::set<int>(o70.begin(), o70.end()).size(), 8u);
  EXPECT_EQ(o70, big2.outlier_channels(40, 2));
}

// In a streaming head the sinks take nearly all attention; sink values are small.
TEST(Generator, SinksDominateStreamingHeads) {
  SyntheticGenerator g = make("llama-3.1-8b", 2);
  ASSERT_EQ(g.role(0, 4), HeadRole::kStreaming);  // layer 0, KV head 1 has gate 0
  const int64_t n = 4000;
  std::vector<float> k(static_cast<size_t>(n) * 128), v(k.size()), q(128),
      s(static_cast<size_t>(n));
  g.keys_values(0, 1, 0, n, k.data(), v.data());
  g.query(0, 4, n - 1, q.data());
  attention_scores_fp32(q.data(), k.data(), n, 128, s.data());
  const float mx = *std::max_element(s.begin(), s.end());
  double z = 0, sink = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double e = std::exp(double(s[size_t(j)] - mx));
    z += e;
    if (j < 4) sink += e;
  }
  EXPECT_GT(sink / z, 0.9);
  double vn_sink = 0, vn = 0;
  for (int c = 0; c < 128; ++c) {
    vn_sink += std::fabs(v[size_t(c)]);
    vn += std::fabs(v[size_t(1000 * 128 + c)]);
  }
  EXPECT_LT(vn_sink, 0.3 * vn);
}

TEST(Generator, ExportsATraceThatReadsBack) {
  for (NpyDtype dt : {NpyDtype::kFloat32, NpyDtype::kFloat16}) {
    const std::string dir = wltest::scratch_dir(std::string("export_") + npy_dtype_name(dt));
    SyntheticGenerator g = make("stories260k", 4);
    const int64_t T = 40;
    TraceShape shape{T, 5, 8, 4, 8};
    TraceWriter w(dir, shape, dt, json{{"model", "stories260K synthetic"}});
    std::vector<float> q(5 * 8 * 8), k(5 * 4 * 8), v(k.size()), kb(8), vb(8);
    for (int64_t t = 0; t < T; ++t) {
      for (int l = 0; l < 5; ++l) {
        for (int h = 0; h < 4; ++h) {
          g.keys_values(l, h, t, t + 1, kb.data(), vb.data());
          std::copy(kb.begin(), kb.end(), k.begin() + (l * 4 + h) * 8);
          std::copy(vb.begin(), vb.end(), v.begin() + (l * 4 + h) * 8);
        }
        for (int h = 0; h < 8; ++h) g.query(l, h, t, q.data() + (l * 8 + h) * 8);
      }
      w.append_rows(q.data(), k.data(), v.data(), 1);
    }
    w.close();
    TraceSource src(dir, 8);
    EXPECT_EQ(src.first_step(), 32);
    std::vector<float> kk(T * 8), vv(T * 8), gk(T * 8), gv(T * 8), qq(8), gq(8);
    src.kv(3, 2, T, kk.data(), vv.data(), nullptr);
    g.keys_values(3, 2, 0, T, gk.data(), gv.data());
    src.query(4, 7, 39, qq.data(), nullptr);
    g.query(4, 7, 39, gq.data());
    for (size_t i = 0; i < kk.size(); ++i) {
      const float tol = dt == NpyDtype::kFloat32 ? 0.0f : std::fabs(gk[i]) * 0x1p-10f + 1e-6f;
      ASSERT_NEAR(kk[i], gk[i], tol);
      ASSERT_NEAR(vv[i], gv[i],
                  dt == NpyDtype::kFloat32 ? 0.0f : std::fabs(gv[i]) * 0x1p-10f + 1e-6f);
    }
    for (int c = 0; c < 8; ++c)
      EXPECT_NEAR(qq[size_t(c)], gq[size_t(c)],
                  dt == NpyDtype::kFloat32 ? 0.0f : std::fabs(gq[size_t(c)]) * 0x1p-10f + 1e-6f);
  }
}

TEST(Generator, RejectsBadSizes) {
  const ModelPreset m = load_model_preset("llama-2-7b");
  const SyntheticParams p = load_synthetic_params();
  EXPECT_THROW(SyntheticSource(m, p, 1, 0, 4), ConfigError);
  EXPECT_THROW(SyntheticSource(m, p, 1, 100, 0), ConfigError);
  EXPECT_THROW(SyntheticSource(m, p, 1, -5, 4), ConfigError);
  try {
    SyntheticSource(m, p, 1, 4090, 10);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds Llama-2-7B's max_context 4096"),
              std::string::npos)
        << e.what();
  }
  SyntheticSource ok(m, p, 1, 4090, 6);
  EXPECT_EQ(ok.shape().tokens, 4096);
  ModelPreset tiny = load_model_preset("stories260k");
  tiny.head_dim = 6;
  EXPECT_THROW(SyntheticGenerator(tiny, p, 1), ConfigError);
  // A k larger than the context of the first step.
  SyntheticSource small(load_model_preset("stories260k"), p, 1, 100, 2);
  StatsOptions o;
  o.recall_k = 200;
  EXPECT_THROW(compute_calibration_stats(small, o), ConfigError);
  o.recall_k = 10;
  o.overlap_k = 10;
  o.tidal_k = 10;
  o.layers = {7};
  EXPECT_THROW(compute_calibration_stats(small, o), ConfigError);
}

// The calibration targets of docs/workloads.md on a small configuration (Llama-3.1-8B, 32K
// context, 4 decode steps, six layers; every k scaled with the context as 4096 : 1024 : 256 at
// 128K). The tolerances are those of the calibration table.
TEST(Calibration, SmallConfigurationWithinTolerance) {
  SyntheticSource src(load_model_preset("llama-3.1-8b"), load_synthetic_params(), 1, 32760, 4);
  StatsOptions o;
  o.recall_k = 1024;
  o.overlap_k = 256;
  o.tidal_k = 64;
  o.layers = {0, 1, 2, 13, 14, 20};
  const json st = compute_calibration_stats(src, o);
  EXPECT_NEAR(st["recall"]["mean"].get<double>(), 0.96, 0.03);
  const double early = st["cross_step_overlap"]["layers_0_1"];
  EXPECT_GT(early, 0.005);
  EXPECT_LT(early, 0.04);
  for (int l : {13, 14, 20}) {
    const double x = st["cross_step_overlap"]["per_layer"][size_t(l)];
    EXPECT_GT(x, 0.30) << l;
    EXPECT_LT(x, 0.60) << l;
  }
  EXPECT_LT(st["cross_layer_overlap"]["selection_to_after_reselection"].get<double>(), 0.2);
  EXPECT_GT(st["cross_layer_overlap"]["reselection_to_after"].get<double>(), 0.3);
  EXPECT_GT(st["query_cosine_adjacent"]["pre_rope"]["min_head_mean"].get<double>(), 0.84);
  EXPECT_GE(st["retrieval_heads"]["agreement_with_preset"].get<double>(), 0.9);
  EXPECT_EQ(st["key_outlier_channels"]["agreement_with_preset"].get<double>(), 1.0);
  EXPECT_GE(st["key_outlier_channels"]["half_stability"].get<double>(), 0.9);
  EXPECT_GT(st["key_outlier_channels"]["top_to_median_ratio"].get<double>(), 2.0);
  EXPECT_TRUE(st["finite"].get<bool>());
}
