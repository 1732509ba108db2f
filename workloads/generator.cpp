#include "workloads/generator.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <thread>

#include "models/common/errors.h"
#include "workloads/rng.h"

namespace sparsepim::workloads {

namespace {

// Purposes of the random streams; together with the seed and the coordinates they make every
// draw independent of every other.
enum Stream : uint64_t {
  kTopicRun = 1,
  kTokenSwitch,
  kTokenCluster,
  kKeyBias,
  kOutlierPick,
  kCentroid,
  kValueCentroid,
  kKeyNoise,
  kKeyWithin,
  kSalienceNoise,
  kValueNoise,
  kHhBirth,
  kHhSurvive,
  kHhStrength,
  kRetrieval,
  kKind,
  kJitter,
  kSlashOffset,
  kRipplePhase,
  kDriftGroup,
  kDriftHead,
  kFresh,
  kPositionalFresh,
};

uint64_t stream(uint64_t seed, Stream s, uint64_t a = 0, uint64_t b = 0) {
  return rng::key(rng::key(rng::key(rng::key(0x5eed5eedULL, seed), s), a), b);
}

}  // namespace

char head_role_letter(HeadRole r) {
  switch (r) {
    case HeadRole::kEarly:
      return 'e';
    case HeadRole::kStreaming:
      return 't';
    case HeadRole::kVertical:
      return 'V';
    case HeadRole::kSlash:
      return 'S';
    case HeadRole::kMixed:
      return 'M';
  }
  return '?';
}

const char* head_role_name(HeadRole r) {
  switch (r) {
    case HeadRole::kEarly:
      return "early";
    case HeadRole::kStreaming:
      return "streaming";
    case HeadRole::kVertical:
      return "vertical";
    case HeadRole::kSlash:
      return "slash";
    case HeadRole::kMixed:
      return "mixed";
  }
  return "?";
}

// Constants of one (layer, KV head): the key bias with its outlier channels, the cluster
// centroids of keys and values.
struct SyntheticGenerator::KvConsts {
  std::vector<float> bias;             // [head_dim], pre-RoPE
  std::vector<int> outliers;           // channels with outlier magnitude
  std::vector<float> centroids;        // [clusters][semantic_dims]
  std::vector<float> value_centroids;  // [clusters][head_dim]
  bool streaming = false;
};

// Constants of one (layer, query head): its role, its logits after jitter, and the constant
// pre-RoPE query that realises them against the KV head's key bias.
struct SyntheticGenerator::QConsts {
  HeadRole role = HeadRole::kMixed;
  HeadKindParams logits;
  std::vector<float> constant;             // [head_dim] pre-RoPE (positional + salience)
  std::vector<float> positional_fresh_sd;  // [pairs], per component of the complex draw
  std::vector<int64_t> slash_offsets;
  float drift_sd = 0;  // per semantic component
  float fresh_sd = 0;  // per semantic component
};

SyntheticGenerator::SyntheticGenerator(ModelPreset model, SyntheticParams params, uint64_t seed)
    : model_(std::move(model)), params_(std::move(params)), seed_(seed) {
  const int d = model_.head_dim;
  if (d < 8)
    throw ConfigError("model " + model_.name +
                      ": the generator needs head_dim >= 8 (a salience, "
                      "a bias, a semantic and a positional rotary pair)");
  pairs_ = d / 2;
  salience_pair_ = pairs_ - 1;
  bias_pair_ = pairs_ - 2;
  const int n_sem =
      std::clamp(int(std::lround(params_.semantic_pair_fraction * pairs_)), 1, pairs_ - 3);
  semantic_first_ = bias_pair_ - n_sem;
  semantic_dims_ = 2 * n_sem;
  freqs_ = rope_frequencies(model_.rope, d);
  kv_.resize(size_t(model_.layers) * model_.kv_heads);
  // Stream keys used per token, derived once.
  s_token_switch_ = stream(seed_, kTokenSwitch);
  s_token_cluster_ = stream(seed_, kTokenCluster);
  s_topic_run_ = stream(seed_, kTopicRun);
  for (int l = 0; l < model_.layers; ++l)
    for (int g = 0; g < model_.kv_heads; ++g)
      hh_streams_.push_back({stream(seed_, kHhBirth, uint64_t(l), uint64_t(g)),
                             stream(seed_, kHhSurvive, uint64_t(l), uint64_t(g)),
                             stream(seed_, kHhStrength, uint64_t(l), uint64_t(g))});
  q_.resize(size_t(model_.layers) * model_.q_heads);
}

SyntheticGenerator::~SyntheticGenerator() = default;

bool SyntheticGenerator::is_streaming_kv_head(int layer, int kv_head) const {
  const auto& gates = model_.profile.retrieval_gates;
  if (!gates.empty())
    return gates[size_t(layer)][size_t(kv_head)] <= model_.profile.retrieval_gate_threshold;
  return rng::uniform(stream(seed_, kRetrieval, uint64_t(layer)), uint64_t(kv_head)) >=
         params_.retrieval_share;
}

HeadRole SyntheticGenerator::role(int layer, int q_head) {
  return q_consts(layer, q_head).role;
}

std::vector<int> SyntheticGenerator::outlier_channels(int layer, int kv_head) {
  return kv_consts(layer, kv_head).outliers;
}

int SyntheticGenerator::token_cluster(int64_t position) const {
  const uint64_t C = uint64_t(params_.clusters);
  const uint64_t pos = uint64_t(position);
  if (rng::uniform(s_token_switch_, pos) < params_.token_switch_prob)
    return int(rng::bits(s_token_cluster_, pos) % C);
  return int(rng::bits(s_topic_run_, pos / uint64_t(params_.topic_run_tokens)) % C);
}

bool SyntheticGenerator::is_heavy_hitter(int layer, int kv_head, int64_t position,
                                         double* strength) const {
  const int first = params_.early_layers;
  if (layer < first || position < params_.sink_tokens || params_.hh_density <= 0) return false;
  const int deep_from = int(std::ceil(params_.hh_deep_from_layer_fraction * model_.layers));
  const uint64_t pos = uint64_t(position);
  // A position is a heavy hitter at layer l if it is born there, or was one at l-1 and
  // survives into l. Births keep the density steady: birth = density x (1 - survival).
  for (int l = layer; l >= first; --l) {
    const double survive = l == first ? 0.0
                                      : (l >= deep_from ? params_.hh_inherit_prob_deep
                                                        : params_.hh_inherit_prob_shallow);
    const double birth = params_.hh_density * (1.0 - survive);
    const HhStreams& hs = hh_streams_[size_t(l) * model_.kv_heads + size_t(kv_head)];
    if (rng::uniform(hs.birth, pos) < birth) {
      if (strength)
        *strength = std::max(0.05, 1.0 + params_.hh_strength_cv * rng::normal(hs.strength, pos));
      return true;
    }
    if (l == first) return false;
    if (rng::uniform(hs.survive, pos) >= survive) return false;
  }
  return false;
}

const SyntheticGenerator::KvConsts& SyntheticGenerator::kv_consts(int layer, int kv_head) {
  auto& slot = kv_[size_t(layer) * model_.kv_heads + size_t(kv_head)];
  if (slot) return *slot;
  auto c = std::make_unique<KvConsts>();
  const int d = model_.head_dim;
  const uint64_t L = uint64_t(layer), G = uint64_t(kv_head);
  c->streaming = is_streaming_kv_head(layer, kv_head);
  c->bias.resize(size_t(d));
  const uint64_t sb = stream(seed_, kKeyBias, L, G);
  // Each rotary pair of the bias has modulus bias_std x sqrt(2) (the rms of two normal channels)
  // and a random phase: a pair with a near-zero bias would need a huge query to carry its share
  // of the positional kernel, and that query would turn key noise into large static scores.
  const RopeLayout lay = model_.rope.layout;
  for (int p = 0; p < pairs_; ++p) {
    const double phase = 2.0 * M_PI * rng::uniform(sb, uint64_t(p));
    const double mod = params_.key_bias_std * std::sqrt(2.0);
    c->bias[size_t(rope_channel_a(lay, d, p))] = float(mod * std::cos(phase));
    c->bias[size_t(rope_channel_b(lay, d, p))] = float(mod * std::sin(phase));
  }
  // Outlier channels: the preset's (DoubleSparse) when published, else random distinct ones.
  const int n_out = std::min(params_.key_outlier_channels, d);
  const auto& listed = model_.profile.key_outlier_channels;
  if (!listed.empty()) {
    const auto& ch = listed[size_t(layer)][size_t(kv_head)];
    c->outliers.assign(ch.begin(), ch.begin() + std::min<size_t>(ch.size(), size_t(n_out)));
  } else {
    std::vector<int> all(static_cast<size_t>(d));
    for (int i = 0; i < d; ++i) all[size_t(i)] = i;
    const uint64_t so = stream(seed_, kOutlierPick, L, G);
    for (int i = 0; i < n_out; ++i) {  // partial Fisher-Yates
      const int j = i + int(rng::bits(so, uint64_t(i)) % uint64_t(d - i));
      std::swap(all[size_t(i)], all[size_t(j)]);
    }
    c->outliers.assign(all.begin(), all.begin() + n_out);
  }
  for (size_t i = 0; i < c->outliers.size(); ++i) {
    const int ch = c->outliers[i];
    const float sign = rng::bits(sb, uint64_t(d + ch)) & 1 ? 1.0f : -1.0f;
    c->bias[size_t(ch)] = sign * float(params_.key_outlier_magnitude);
  }
  const int C = params_.clusters;
  // Centroids: random directions, all of norm centroid_std x sqrt(dims). Equal norms keep every
  // cluster's score variance alike, so that no cluster is favoured by a fresh query more often
  // than chance (unequal norms would make the extreme top-k persist across steps).
  c->centroids.resize(size_t(C) * semantic_dims_);
  const uint64_t sc = stream(seed_, kCentroid, L, G);
  for (int cl = 0; cl < C; ++cl) {
    float* cen = c->centroids.data() + size_t(cl) * semantic_dims_;
    double n2 = 0;
    for (int i = 0; i < semantic_dims_; ++i) {
      cen[i] = float(rng::normal(sc, uint64_t(cl) * semantic_dims_ + uint64_t(i)));
      n2 += double(cen[i]) * cen[i];
    }
    const double scale = params_.key_centroid_std * std::sqrt(double(semantic_dims_) / n2);
    for (int i = 0; i < semantic_dims_; ++i) cen[i] = float(cen[i] * scale);
  }
  c->value_centroids.resize(size_t(C) * d);
  const uint64_t sv = stream(seed_, kValueCentroid, L, G);
  for (size_t i = 0; i < c->value_centroids.size(); ++i)
    c->value_centroids[i] = float(params_.value_centroid_std * rng::normal(sv, i));
  slot = std::move(c);
  return *slot;
}

const SyntheticGenerator::QConsts& SyntheticGenerator::q_consts(int layer, int q_head) {
  auto& slot = q_[size_t(layer) * model_.q_heads + size_t(q_head)];
  if (slot) return *slot;
  auto c = std::make_unique<QConsts>();
  const int d = model_.head_dim;
  const int g = q_head / model_.group_size();
  const KvConsts& kc = kv_consts(layer, g);
  const uint64_t L = uint64_t(layer), H = uint64_t(q_head);

  // Role: streaming (DuoAttention gate), early layer, else the MInference class of the head.
  if (kc.streaming) {
    c->role = HeadRole::kStreaming;
  } else if (layer < params_.early_layers) {
    c->role = HeadRole::kEarly;
  } else {
    char kind = 'M';
    const auto& pat = model_.profile.head_patterns;
    if (!pat.empty()) {
      kind = model_.profile.budget(pat[size_t(layer)][size_t(q_head)])->kind;
    } else {
      const double u = rng::uniform(stream(seed_, kKind, L), H);
      kind = u < params_.vertical_share                         ? 'V'
             : u < params_.vertical_share + params_.slash_share ? 'S'
                                                                : 'M';
    }
    c->role = kind == 'V' ? HeadRole::kVertical : kind == 'S' ? HeadRole::kSlash : HeadRole::kMixed;
  }
  const HeadKindParams& base = c->role == HeadRole::kStreaming  ? params_.streaming
                               : c->role == HeadRole::kEarly    ? params_.early
                               : c->role == HeadRole::kVertical ? params_.vertical
                               : c->role == HeadRole::kSlash    ? params_.slash
                                                                : params_.mixed;
  // Head-to-head variety: a log-normal factor per logit.
  const uint64_t sj = stream(seed_, kJitter, L, H);
  auto jit = [&](double x, uint64_t i) {
    return x * std::exp(params_.head_jitter * rng::normal(sj, i));
  };
  HeadKindParams k = base;
  k.sink_logit = jit(base.sink_logit, 0);
  k.local_logit = jit(base.local_logit, 1);
  k.slash_logit = jit(base.slash_logit, 2);
  k.ripple_logit = jit(base.ripple_logit, 3);
  k.positional_fresh_logit = jit(base.positional_fresh_logit, 4);
  k.hh_logit = layer < params_.early_layers ? 0.0 : jit(base.hh_logit, 5);
  k.bulk_logit = jit(base.bulk_logit, 6);
  c->logits = k;

  const double sqrt_d = std::sqrt(double(d));
  c->constant.assign(size_t(d), 0.0f);
  const RopeLayout lay = model_.rope.layout;
  // Salience pair: channel A meets the sink keys, channel B the heavy hitters.
  c->constant[size_t(rope_channel_a(lay, d, salience_pair_))] =
      float(k.sink_logit * sqrt_d / params_.key_sink_value);
  c->constant[size_t(rope_channel_b(lay, d, salience_pair_))] =
      float(k.hh_logit * sqrt_d / params_.key_heavy_hitter_value);

  // Positional pairs [0, semantic_first_): the constant query whose RoPE'd product with the
  // key bias gives kernel(offset) = sum_p w_p cos(omega_p offset + phi_p).
  const int window = layer < params_.early_layers ? params_.early_local_window_tokens
                                                  : params_.local_window_tokens;
  std::vector<int> local_pairs, ripple_pairs;
  for (int p = 0; p < semantic_first_; ++p) {
    if (freqs_[size_t(p)] * window >= 1.0) local_pairs.push_back(p);
    const double period = 1.0 / freqs_[size_t(p)];
    if (period >= k.ripple_min_tokens && period <= k.ripple_max_tokens) ripple_pairs.push_back(p);
  }
  if (local_pairs.empty()) local_pairs.push_back(0);
  if (ripple_pairs.empty()) ripple_pairs.push_back(0);
  std::vector<std::complex<double>> weight(
      static_cast<size_t>(semantic_first_));  // sum of w e^{i phi}
  for (int p : local_pairs) weight[size_t(p)] += k.local_logit / double(local_pairs.size());
  const uint64_t ss = stream(seed_, kSlashOffset, L, H);
  if (k.slash_logit > 0) {
    const double lo = std::log(double(params_.slash_min_offset));
    const double hi = std::log(double(params_.slash_max_offset));
    for (int s = 0; s < params_.slash_lines; ++s) {
      const int64_t off = std::llround(std::exp(lo + (hi - lo) * rng::uniform(ss, uint64_t(s))));
      c->slash_offsets.push_back(off);
      for (int p : local_pairs)
        weight[size_t(p)] += std::polar(k.slash_logit / double(local_pairs.size()),
                                        -freqs_[size_t(p)] * double(off));
    }
  }
  const uint64_t sr = stream(seed_, kRipplePhase, L, H);
  const double w_ripple = k.ripple_logit * std::sqrt(2.0 / double(ripple_pairs.size()));
  for (int p : ripple_pairs)
    weight[size_t(p)] += std::polar(w_ripple, 2.0 * M_PI * rng::uniform(sr, uint64_t(p)));
  c->positional_fresh_sd.assign(size_t(pairs_), 0.0f);
  const double bias_floor = std::max(0.1 * params_.key_bias_std, 1e-3);
  for (int p = 0; p < semantic_first_; ++p) {
    const int ca = rope_channel_a(lay, d, p), cb = rope_channel_b(lay, d, p);
    const std::complex<double> b(kc.bias[size_t(ca)], kc.bias[size_t(cb)]);
    const double mag = std::max(std::abs(b), bias_floor);
    const double psi = std::arg(b);
    const std::complex<double> a = weight[size_t(p)] * sqrt_d / mag * std::polar(1.0, psi);
    c->constant[size_t(ca)] = float(a.real());
    c->constant[size_t(cb)] = float(a.imag());
    // Fresh positional noise: each pair contributes variance fresh^2 / n to the score.
    c->positional_fresh_sd[size_t(p)] =
        float(k.positional_fresh_logit * sqrt_d / mag / std::sqrt(double(semantic_first_)));
  }

  // Semantic part: variance of q.z/sqrt(d) over keys = |q_sem|^2 sigma_z^2 / d = bulk^2.
  const double sz2 = params_.key_centroid_std * params_.key_centroid_std +
                     params_.key_within_cluster_std * params_.key_within_cluster_std;
  const double q2 = k.bulk_logit * k.bulk_logit * d / sz2;  // E|q_sem|^2
  c->drift_sd = float(std::sqrt((1.0 - k.bulk_fresh_share) * q2 / semantic_dims_));
  c->fresh_sd = float(std::sqrt(k.bulk_fresh_share * q2 / semantic_dims_));

  // Bias pair: a constant query component aligned with the (token-independent) key bias there,
  // so it shifts every score alike (RoPE's slow rotation leaves a faint recency trend). It is
  // sized so that the constant part of the query holds constant_share of its expected squared
  // norm: the adjacent-step cosine follows (LFPS observes > 0.84 for all heads).
  double fresh2 = k.bulk_fresh_share * q2;
  for (int p = 0; p < semantic_first_; ++p)
    fresh2 += double(c->positional_fresh_sd[size_t(p)]) * c->positional_fresh_sd[size_t(p)];
  double const2 = (1.0 - k.bulk_fresh_share) * q2;  // the drift moves slowly: constant here
  for (float x : c->constant) const2 += double(x) * x;
  const double share = params_.query_constant_share;
  const double need = share / (1.0 - share) * fresh2 - const2;
  if (need > 0) {
    const int ca = rope_channel_a(lay, d, bias_pair_), cb = rope_channel_b(lay, d, bias_pair_);
    const std::complex<double> b(kc.bias[size_t(ca)], kc.bias[size_t(cb)]);
    const std::complex<double> a = std::polar(std::sqrt(need), std::abs(b) > 0 ? std::arg(b) : 0.0);
    c->constant[size_t(ca)] = float(a.real());
    c->constant[size_t(cb)] = float(a.imag());
  }
  slot = std::move(c);
  return *slot;
}

void SyntheticGenerator::ensure_rope(int64_t end) {
  if (end <= rope_end_) return;
  // Grow geometrically so that a stream of small requests does not rebuild the table.
  const int64_t new_end = std::max(end, rope_end_ + rope_end_ / 2);
  rope_cos_.resize(size_t(new_end) * pairs_);
  rope_sin_.resize(size_t(new_end) * pairs_);
  for (int64_t t = rope_end_; t < new_end; ++t)
    for (int p = 0; p < pairs_; ++p) {
      const double a = freqs_[size_t(p)] * double(t);
      rope_cos_[size_t(t) * pairs_ + p] = float(std::cos(a));
      rope_sin_[size_t(t) * pairs_ + p] = float(std::sin(a));
    }
  rope_end_ = new_end;
}

void SyntheticGenerator::rope_rotate(float* x, int64_t position) const {
  const int d = model_.head_dim;
  const RopeLayout lay = model_.rope.layout;
  const float* cs = rope_cos_.data() + size_t(position) * pairs_;
  const float* sn = rope_sin_.data() + size_t(position) * pairs_;
  for (int p = 0; p < pairs_; ++p) {
    const int ca = rope_channel_a(lay, d, p), cb = rope_channel_b(lay, d, p);
    const float a = x[ca], b = x[cb];
    x[ca] = a * cs[p] - b * sn[p];
    x[cb] = b * cs[p] + a * sn[p];
  }
}

void SyntheticGenerator::keys_values(int layer, int kv_head, int64_t begin, int64_t end, float* k,
                                     float* v, float* k_pre) {
  if (layer < 0 || layer >= model_.layers || kv_head < 0 || kv_head >= model_.kv_heads ||
      begin < 0 || end < begin)
    throw std::invalid_argument("keys_values: slice out of range");
  ensure_rope(end);
  const KvConsts& c = kv_consts(layer, kv_head);
  const int d = model_.head_dim;
  const RopeLayout lay = model_.rope.layout;
  const uint64_t L = uint64_t(layer), G = uint64_t(kv_head);
  const uint64_t s_noise = stream(seed_, kKeyNoise, L, G);
  const uint64_t s_within = stream(seed_, kKeyWithin, L, G);
  const uint64_t s_sal = stream(seed_, kSalienceNoise, L, G);
  const uint64_t s_val = stream(seed_, kValueNoise, L, G);
  const float noise = float(params_.key_noise_std);
  const float within = float(params_.key_within_cluster_std);
  const float sal_noise = float(params_.key_salience_noise_std);
  const float vnoise = float(params_.value_noise_std);
  const int sal_a = rope_channel_a(lay, d, salience_pair_);
  const int sal_b = rope_channel_b(lay, d, salience_pair_);
  const int bias_a = rope_channel_a(lay, d, bias_pair_);
  const int bias_b = rope_channel_b(lay, d, bias_pair_);
  // Every row is a pure function of (seed, layer, KV head, position), so a long slice is split
  // over two threads with results identical to one (the constants and RoPE tables are ready).
  auto rows = [&](int64_t from, int64_t to) {
    for (int64_t t = from; t < to; ++t) {
      float* kr = k + (t - begin) * d;
      float* vr = v + (t - begin) * d;
      const uint64_t pos = uint64_t(t);
      for (int ch = 0; ch < d; ++ch)
        kr[ch] = c.bias[size_t(ch)] +
                 noise * rng::normal_fast(s_noise, pos * uint64_t(d) + uint64_t(ch));
      // The bias pair is constant across tokens (what makes the query's constant there a uniform
      // shift of every score).
      kr[bias_a] = c.bias[size_t(bias_a)];
      kr[bias_b] = c.bias[size_t(bias_b)];
      const int cl = token_cluster(t);
      const bool sink = t < params_.sink_tokens;
      // Sink keys carry no content: their score is the salience alone (plus noise).
      const float* cen = c.centroids.data() + size_t(cl) * semantic_dims_;
      for (int i = 0; i < semantic_dims_ && !sink; ++i) {
        const int p = semantic_first_ + i / 2;
        const int ch = (i & 1) ? rope_channel_b(lay, d, p) : rope_channel_a(lay, d, p);
        kr[ch] += cen[i] +
                  within * rng::normal_fast(s_within, pos * uint64_t(semantic_dims_) + uint64_t(i));
      }
      double strength = 0;
      const bool hh = !sink && is_heavy_hitter(layer, kv_head, t, &strength);
      // The salience channels meet the large sink/heavy-hitter query components: only their own
      // (small) noise, not the general key noise, or every key would get a large static score.
      kr[sal_a] = c.bias[size_t(sal_a)] + (sink ? float(params_.key_sink_value)
                                                : sal_noise * rng::normal_fast(s_sal, 2 * pos));
      kr[sal_b] = c.bias[size_t(sal_b)] + (hh ? float(params_.key_heavy_hitter_value * strength)
                                              : sal_noise * rng::normal_fast(s_sal, 2 * pos + 1));
      if (k_pre) std::copy(kr, kr + d, k_pre + (t - begin) * d);
      rope_rotate(kr, t);

      const float* vc = c.value_centroids.data() + size_t(cl) * d;
      const float vscale = sink ? float(params_.value_sink_scale) : 1.0f;
      for (int ch = 0; ch < d; ++ch)
        vr[ch] =
            vscale * (vc[ch] + vnoise * rng::normal_fast(s_val, pos * uint64_t(d) + uint64_t(ch)));
    }
  };
  constexpr int64_t kSplitRows = 8192;
  if (end - begin < kSplitRows) {
    rows(begin, end);
    return;
  }
  const int64_t mid = begin + (end - begin) / 2;
  std::thread other(rows, mid, end);
  rows(begin, mid);
  other.join();
}

void SyntheticGenerator::semantic_drift(int layer, int q_head, int64_t position, float* out) {
  // Cubic B-spline through Gaussian knots drift_knot_tokens apart, renormalised so that the
  // variance does not dip between knots; a shared (GQA group) and an own component.
  const int64_t K = params_.drift_knot_tokens;
  const int64_t k0 = position / K;
  const double u = double(position % K) / double(K);
  const double w[4] = {(1 - u) * (1 - u) * (1 - u) / 6, (3 * u * u * u - 6 * u * u + 4) / 6,
                       (-3 * u * u * u + 3 * u * u + 3 * u + 1) / 6, u * u * u / 6};
  const double norm = 1.0 / std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2] + w[3] * w[3]);
  const double rho = params_.group_query_correlation;
  const double wg = std::sqrt(rho) * norm, wh = std::sqrt(1 - rho) * norm;
  const int g = q_head / model_.group_size();
  const uint64_t L = uint64_t(layer);
  for (int i = 0; i < semantic_dims_; ++i) out[i] = 0.0f;
  for (int j = 0; j < 4; ++j) {
    const uint64_t knot = uint64_t(k0 + j + 1);  // knots k0-1 .. k0+2, shifted to stay >= 0
    const uint64_t sg = stream(seed_, kDriftGroup, L, uint64_t(g) << 32 | knot);
    const uint64_t sh = stream(seed_, kDriftHead, L, uint64_t(q_head) << 32 | knot);
    for (int i = 0; i < semantic_dims_; ++i)
      out[i] += float(
          w[j] * (wg * rng::normal_fast(sg, uint64_t(i)) + wh * rng::normal_fast(sh, uint64_t(i))));
  }
}

void SyntheticGenerator::query(int layer, int q_head, int64_t position, float* q, float* q_pre) {
  if (layer < 0 || layer >= model_.layers || q_head < 0 || q_head >= model_.q_heads || position < 0)
    throw std::invalid_argument("query: out of range");
  ensure_rope(position + 1);
  const QConsts& c = q_consts(layer, q_head);
  const int d = model_.head_dim;
  const RopeLayout lay = model_.rope.layout;
  const uint64_t L = uint64_t(layer), H = uint64_t(q_head), pos = uint64_t(position);
  std::copy(c.constant.begin(), c.constant.end(), q);
  const uint64_t spf = stream(seed_, kPositionalFresh, L, H);
  for (int p = 0; p < semantic_first_; ++p) {
    const float sd = c.positional_fresh_sd[size_t(p)] * float(M_SQRT1_2);
    q[rope_channel_a(lay, d, p)] += sd * rng::normal_fast(spf, pos * uint64_t(d) + uint64_t(2 * p));
    q[rope_channel_b(lay, d, p)] +=
        sd * rng::normal_fast(spf, pos * uint64_t(d) + uint64_t(2 * p + 1));
  }
  float drift[256];
  float* dr = semantic_dims_ <= 256 ? drift : nullptr;
  std::vector<float> big;
  if (!dr) {
    big.resize(size_t(semantic_dims_));
    dr = big.data();
  }
  semantic_drift(layer, q_head, position, dr);
  const uint64_t sf = stream(seed_, kFresh, L, H);
  for (int i = 0; i < semantic_dims_; ++i) {
    const int p = semantic_first_ + i / 2;
    const int ch = (i & 1) ? rope_channel_b(lay, d, p) : rope_channel_a(lay, d, p);
    q[ch] += c.drift_sd * dr[i] +
             c.fresh_sd * rng::normal_fast(sf, pos * uint64_t(semantic_dims_) + uint64_t(i));
  }
  if (q_pre) std::copy(q, q + d, q_pre);
  rope_rotate(q, position);
}

nlohmann::json SyntheticGenerator::describe() {
  nlohmann::json j;
  j["seed"] = seed_;
  j["params"] = params_.name;
  j["rotary_pairs"] = {{"positional", semantic_first_},
                       {"semantic", semantic_dims_ / 2},
                       {"bias", 1},
                       {"salience", 1}};
  nlohmann::json layers = nlohmann::json::array();
  for (int l = 0; l < model_.layers; ++l) {
    std::string roles;
    for (int h = 0; h < model_.q_heads; ++h) roles += head_role_letter(role(l, h));
    int streaming = 0;
    for (int g = 0; g < model_.kv_heads; ++g) streaming += is_streaming_kv_head(l, g);
    layers.push_back({{"layer", l}, {"roles", roles}, {"streaming_kv_heads", streaming}});
  }
  j["layers"] = layers;
  j["role_letters"] =
      "e early, t streaming (DuoAttention), V vertical, S slash, M mixed (MInference)";
  return j;
}

}  // namespace sparsepim::workloads
