#include "workloads/calibration_stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "models/common/errors.h"
#include "workloads/attention.h"

namespace sparsepim::workloads {

using nlohmann::json;

void top_b_fast(const float* scores, int64_t n, int64_t b, std::vector<float>* scratch,
                std::vector<uint32_t>* out) {
  b = std::min(b, n);
  out->clear();
  if (b <= 0) return;
  // The b-th largest value, then every index above it and enough of those equal to it (lowest
  // index first) — the same set as sorting (score desc, index asc).
  scratch->assign(scores, scores + n);
  std::nth_element(scratch->begin(), scratch->begin() + (b - 1), scratch->end(),
                   std::greater<float>());
  const float thr = (*scratch)[size_t(b - 1)];
  int64_t above = 0;
  for (int64_t j = 0; j < n; ++j) above += scores[j] > thr;
  int64_t equal_needed = b - above;
  out->reserve(size_t(b));
  for (int64_t j = 0; j < n; ++j) {
    if (scores[j] > thr) {
      out->push_back(uint32_t(j));
    } else if (scores[j] == thr && equal_needed > 0) {
      out->push_back(uint32_t(j));
      --equal_needed;
    }
  }
  std::sort(out->begin(), out->end(), [scores](uint32_t a, uint32_t c) {
    return scores[a] > scores[c] || (scores[a] == scores[c] && a < c);
  });
}

namespace {

struct Mean {
  double sum = 0;
  int64_t n = 0;
  void add(double x) {
    sum += x;
    ++n;
  }
  json value() const { return n ? json(sum / double(n)) : json(nullptr); }
  double get() const { return n ? sum / double(n) : 0.0; }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

json per_layer(const std::vector<Mean>& m) {
  json a = json::array();
  for (const auto& x : m) a.push_back(x.value());
  return a;
}

// Mean over the listed layers of per-layer means (layers without data skipped).
json mean_over(const std::vector<Mean>& m, int from, int to) {
  Mean acc;
  for (int l = std::max(0, from); l < std::min<int>(to, int(m.size())); ++l)
    if (m[size_t(l)].n) acc.add(m[size_t(l)].get());
  return acc.value();
}

// Mass captured by MInference's vertical-and-slash pattern estimated from `rows` (attention of
// the last queries): the top `vertical` columns by summed attention (the first 30 always kept)
// and the top `slash` diagonals (the 100 nearest always kept), as its vertical_and_slash().
struct VsResult {
  double both = 0, vertical_only = 0, slash_only = 0;
};
VsResult vs_capture(const std::vector<float>& rows, int64_t stride,
                    const std::vector<int64_t>& row_pos, int64_t vertical, int64_t slash) {
  const int64_t T = stride;
  std::vector<double> col(static_cast<size_t>(T), 0.0), diag(static_cast<size_t>(T), 0.0);
  for (size_t r = 0; r < row_pos.size(); ++r) {
    const int64_t t = row_pos[r];
    const float* p = rows.data() + r * size_t(T);
    for (int64_t j = 0; j <= t; ++j) {
      col[size_t(j)] += p[j];
      diag[size_t(t - j)] += p[j];
    }
  }
  for (int64_t j = 0; j < std::min<int64_t>(30, T); ++j) col[size_t(j)] = 1e300;
  for (int64_t d = 0; d < std::min<int64_t>(100, T); ++d) diag[size_t(d)] = 1e300;
  std::vector<uint32_t> vsel, ssel;
  top_b(col.data(), T, std::max<int64_t>(vertical, 30), &vsel);
  top_b(diag.data(), T, std::max<int64_t>(slash, 100), &ssel);
  std::vector<char> in_v(static_cast<size_t>(T), 0), in_s(static_cast<size_t>(T), 0);
  for (uint32_t j : vsel) in_v[j] = 1;
  for (uint32_t d : ssel) in_s[d] = 1;
  VsResult res;
  for (size_t r = 0; r < row_pos.size(); ++r) {
    const int64_t t = row_pos[r];
    const float* p = rows.data() + r * size_t(T);
    double both = 0, v = 0, s = 0;
    for (int64_t j = 0; j <= t; ++j) {
      const bool iv = in_v[size_t(j)], is = in_s[size_t(t - j)];
      both += (iv || is) ? p[j] : 0.0;
      v += iv ? p[j] : 0.0;
      s += is ? p[j] : 0.0;
    }
    res.both += both;
    res.vertical_only += v;
    res.slash_only += s;
  }
  const double n = double(row_pos.size());
  res.both /= n;
  res.vertical_only /= n;
  res.slash_only /= n;
  return res;
}

}  // namespace

json compute_calibration_stats(DecodeSource& src, const StatsOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  const TraceShape s = src.shape();
  const int64_t T = s.tokens;
  const int64_t first = src.first_step();
  const int64_t S = T - first;
  const int64_t N0 = first + 1;  // keys seen by the first decode step
  const int d = s.head_dim;
  const int G = s.q_heads / s.kv_heads;
  const ModelPreset* model = src.model();

  auto check_k = [&](const char* name, int64_t k) {
    if (k <= 0) throw ConfigError(std::string("--") + name + " must be positive");
    if (k > N0)
      throw ConfigError(std::string("--") + name + " " + std::to_string(k) +
                        " is larger than the context of the first decode step (" +
                        std::to_string(N0) + " tokens)");
  };
  check_k("recall-k", opt.recall_k);
  check_k("overlap-k", opt.overlap_k);
  check_k("tidal-k", opt.tidal_k);
  if (opt.vs_steps <= 0) throw ConfigError("--vs-steps must be positive");

  std::vector<int> layers = opt.layers;
  if (layers.empty())
    for (int l = 0; l < s.layers; ++l) layers.push_back(l);
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  for (int l : layers)
    if (l < 0 || l >= s.layers)
      throw ConfigError("--layers: layer " + std::to_string(l) + " out of range (the model has " +
                        std::to_string(s.layers) + ")");
  const int sel_layer = opt.tidal_selection_layer;
  int resel_layer = opt.tidal_reselection_layer;
  if (resel_layer < 0)
    resel_layer = model ? model->profile.tidal_reselection_layer
                        : std::max(sel_layer + 1, int(std::lround(13.0 / 32.0 * s.layers)));
  const bool tidal_ok = s.layers > resel_layer + 1 && resel_layer > sel_layer &&
                        std::binary_search(layers.begin(), layers.end(), sel_layer) &&
                        std::binary_search(layers.begin(), layers.end(), resel_layer);

  const int L = s.layers;
  std::vector<Mean> recall(static_cast<size_t>(L)), last_win(static_cast<size_t>(L)),
      sink(static_cast<size_t>(L)), overlap(static_cast<size_t>(L)),
      cos_post(static_cast<size_t>(L)), cos_pre(static_cast<size_t>(L)),
      tidal_l2_after(static_cast<size_t>(L)), tidal_resel_after(static_cast<size_t>(L)),
      tidal_l2_between(static_cast<size_t>(L)), ratio(static_cast<size_t>(L)),
      stability(static_cast<size_t>(L)), agreement(static_cast<size_t>(L)),
      retrieval_share(static_cast<size_t>(L));
  std::vector<std::vector<double>> vs_by_layer(static_cast<size_t>(L));
  std::vector<double> vs_all, vs_v_all, vs_s_all;
  std::map<char, int64_t> vs_kind_count, vs_kind_total, vs_kind_agree;
  double min_cos_post = 2, min_cos_pre = 2;
  double min_head_cos_post = 2, min_head_cos_pre = 2;
  int64_t retrieval_agree = 0, retrieval_total = 0;
  json lost_table = json::array();  // [layer][kv head], null for layers not measured
  for (int l = 0; l < s.layers; ++l) lost_table.push_back(nullptr);
  // The same statistics split by the generator's head role (synthetic workloads only).
  struct RoleStats {
    Mean recall, overlap, sink, last_window, tidal, vs;
  };
  std::map<char, RoleStats> by_role;
  int64_t rows_done = 0;

  // Per (query head, step) selections of the TidalDecode layers.
  std::vector<std::vector<uint32_t>> tidal_sel(static_cast<size_t>(s.q_heads) * S),
      tidal_resel(static_cast<size_t>(s.q_heads) * S);

  std::vector<float> K(static_cast<size_t>(T) * d), V(static_cast<size_t>(T) * d), Kpre;
  if (src.has_pre_rope()) Kpre.resize(size_t(T) * d);
  std::vector<float> scores(static_cast<size_t>(T)), scratch;
  std::vector<double> ex(static_cast<size_t>(T));
  std::vector<uint32_t> top;
  std::vector<int64_t> mark(static_cast<size_t>(T), -1), tmark(static_cast<size_t>(T), -1);
  int64_t stamp = 0;
  const int64_t vs_rows = std::min<int64_t>(opt.vs_steps, S);
  std::vector<float> vs_buf(static_cast<size_t>(vs_rows) * T);
  std::vector<int64_t> vs_pos;
  std::vector<float> q(static_cast<size_t>(d)), qp(static_cast<size_t>(d)),
      q_prev(static_cast<size_t>(d)), qp_prev(static_cast<size_t>(d));
  const int64_t max_k = std::max({opt.recall_k, opt.overlap_k, opt.tidal_k});

  for (int l : layers) {
    for (int g = 0; g < s.kv_heads; ++g) {
      src.kv(l, g, T, K.data(), V.data(), Kpre.empty() ? nullptr : Kpre.data());

      // Key outlier channels: mean |k| per channel, pre-RoPE when available.
      {
        const float* kk = Kpre.empty() ? K.data() : Kpre.data();
        std::vector<double> all(static_cast<size_t>(d), 0.0), h1(static_cast<size_t>(d), 0.0),
            h2(static_cast<size_t>(d), 0.0);
        for (int64_t t = 0; t < T; ++t)
          for (int c = 0; c < d; ++c) {
            const double a = std::fabs(double(kk[size_t(t) * d + c]));
            all[size_t(c)] += a;
            (t < T / 2 ? h1 : h2)[size_t(c)] += a;
          }
        const int64_t n = std::max(1, std::min(opt.outlier_rank, d / 4));
        std::vector<uint32_t> ta, t1, t2;
        top_b(all.data(), d, n, &ta);
        top_b(h1.data(), d, n, &t1);
        top_b(h2.data(), d, n, &t2);
        double top_mean = 0;
        for (uint32_t c : ta) top_mean += all[c] / double(n);
        ratio[size_t(l)].add(top_mean / std::max(median(all), 1e-30));
        std::set<uint32_t> s1(t1.begin(), t1.end());
        int64_t same = 0;
        for (uint32_t c : t2) same += s1.count(c);
        stability[size_t(l)].add(double(same) / double(n));
        if (model && !model->profile.key_outlier_channels.empty()) {
          const auto& listed = model->profile.key_outlier_channels[size_t(l)][size_t(g)];
          const std::set<int> ls(listed.begin(),
                                 listed.begin() + std::min<size_t>(listed.size(), size_t(n)));
          int64_t hit = 0;
          for (uint32_t c : ta) hit += ls.count(int(c));
          agreement[size_t(l)].add(double(hit) / double(n));
        }
      }

      Mean lost;  // mass outside DuoAttention's sink + recent window, this KV head
      for (int h = g * G; h < (g + 1) * G; ++h) {
        Mean head_cos_post, head_cos_pre;
        RoleStats& rs = by_role[src.head_role(l, h)];
        src.query(l, h, first - 1, q_prev.data(), qp_prev.data());
        const int64_t prev_stamp = ++stamp;  // no previous selection yet
        int64_t last_stamp = prev_stamp;
        vs_pos.clear();
        for (int64_t t = first; t < T; ++t) {
          const int64_t step = t - first;
          const int64_t N = t + 1;
          src.query(l, h, t, q.data(), qp.data());
          attention_scores_fp32(q.data(), K.data(), N, d, scores.data());
          const float mx = *std::max_element(scores.begin(), scores.begin() + N);
          double Z = 0;
          for (int64_t j = 0; j < N; ++j) {
            ex[size_t(j)] = std::exp(double(scores[size_t(j)] - mx));
            Z += ex[size_t(j)];
          }
          const double inv_z = 1.0 / Z;
          top_b_fast(scores.data(), N, max_k, &scratch, &top);

          double m_rec = 0;
          for (int64_t i = 0; i < opt.recall_k; ++i) m_rec += ex[top[size_t(i)]];
          recall[size_t(l)].add(m_rec * inv_z);
          rs.recall.add(m_rec * inv_z);
          double m_last = 0, m_sink = 0, m_stream = 0;
          for (int64_t j = std::max<int64_t>(0, N - opt.last_window); j < N; ++j)
            m_last += ex[size_t(j)];
          for (int64_t j = 0; j < std::min(opt.sink_tokens, N); ++j) m_sink += ex[size_t(j)];
          for (int64_t j = 0; j < N; ++j)
            if (j < opt.duo_sink || j >= N - opt.duo_recent) m_stream += ex[size_t(j)];
          last_win[size_t(l)].add(m_last * inv_z);
          sink[size_t(l)].add(m_sink * inv_z);
          rs.last_window.add(m_last * inv_z);
          rs.sink.add(m_sink * inv_z);
          lost.add(1.0 - m_stream * inv_z);

          // Cross-step overlap of the top overlap_k sets.
          const int64_t cur = ++stamp;
          int64_t same = 0;
          for (int64_t i = 0; i < opt.overlap_k; ++i) {
            const uint32_t j = top[size_t(i)];
            same += mark[j] == last_stamp;
            mark[j] = cur;
          }
          if (step > 0) {
            overlap[size_t(l)].add(double(same) / double(opt.overlap_k));
            rs.overlap.add(double(same) / double(opt.overlap_k));
          }
          last_stamp = cur;

          // Cross-layer overlap (TidalDecode): this layer's top tidal_k against the stored
          // selections of the selection and re-selection layers (same query head and step).
          if (tidal_ok) {
            const size_t slot = size_t(h) * S + size_t(step);
            auto overlap_with = [&](const std::vector<uint32_t>& ref) {
              const int64_t st = ++stamp;
              for (uint32_t j : ref) tmark[j] = st;
              int64_t hit = 0;
              for (int64_t i = 0; i < opt.tidal_k; ++i) hit += tmark[top[size_t(i)]] == st;
              return double(hit) / double(opt.tidal_k);
            };
            if (l == sel_layer) tidal_sel[slot].assign(top.begin(), top.begin() + opt.tidal_k);
            if (l == resel_layer) tidal_resel[slot].assign(top.begin(), top.begin() + opt.tidal_k);
            if (l > sel_layer && l < resel_layer)
              tidal_l2_between[size_t(l)].add(overlap_with(tidal_sel[slot]));
            if (l > resel_layer) {
              tidal_l2_after[size_t(l)].add(overlap_with(tidal_sel[slot]));
              const double o = overlap_with(tidal_resel[slot]);
              tidal_resel_after[size_t(l)].add(o);
              rs.tidal.add(o);
            }
          }

          // Adjacent-step query cosine.
          auto cosine = [d](const std::vector<float>& a, const std::vector<float>& b) {
            double ab = 0, aa = 0, bb = 0;
            for (int c = 0; c < d; ++c) {
              ab += double(a[size_t(c)]) * b[size_t(c)];
              aa += double(a[size_t(c)]) * a[size_t(c)];
              bb += double(b[size_t(c)]) * b[size_t(c)];
            }
            return ab / std::sqrt(std::max(aa * bb, 1e-300));
          };
          const double cp = cosine(q, q_prev);
          cos_post[size_t(l)].add(cp);
          head_cos_post.add(cp);
          min_cos_post = std::min(min_cos_post, cp);
          if (src.has_pre_rope()) {
            const double cq = cosine(qp, qp_prev);
            cos_pre[size_t(l)].add(cq);
            head_cos_pre.add(cq);
            min_cos_pre = std::min(min_cos_pre, cq);
          }
          std::swap(q, q_prev);
          std::swap(qp, qp_prev);

          // Rows of the vertical-and-slash estimate.
          if (step >= S - vs_rows) {
            float* row = vs_buf.data() + size_t(vs_pos.size()) * T;
            for (int64_t j = 0; j < N; ++j) row[j] = float(ex[size_t(j)] * inv_z);
            vs_pos.push_back(t);
          }
          ++rows_done;
        }
        min_head_cos_post = std::min(min_head_cos_post, head_cos_post.get());
        if (head_cos_pre.n) min_head_cos_pre = std::min(min_head_cos_pre, head_cos_pre.get());

        int64_t vb = 1000, sb = 6096;  // MInference's largest class when the head has none
        if (model && !model->profile.head_patterns.empty()) {
          const PatternBudget* b =
              model->profile.budget(model->profile.head_patterns[size_t(l)][size_t(h)]);
          vb = b->vertical;
          sb = b->slash;
        }
        // Only meaningful while the pattern's budget is well below the context.
        if (std::max<int64_t>(vb, 30) + std::max<int64_t>(sb, 100) < N0 / 2) {
          const VsResult r = vs_capture(vs_buf, T, vs_pos, vb, sb);
          vs_by_layer[size_t(l)].push_back(r.both);
          rs.vs.add(r.both);
          vs_all.push_back(r.both);
          vs_v_all.push_back(r.vertical_only);
          vs_s_all.push_back(r.slash_only);
          // Which extreme class of MInference's search fits the head better: vertical-dominant
          // (3500 columns, 100 diagonals) or slash-dominant (30 columns, 800 diagonals).
          if (3500 + 100 < N0 / 2) {
            const double cv = vs_capture(vs_buf, T, vs_pos, 3500, 100).both;
            const double cs = vs_capture(vs_buf, T, vs_pos, 30, 800).both;
            const char kind = cv > cs + opt.vs_kind_margin   ? 'V'
                              : cs > cv + opt.vs_kind_margin ? 'S'
                                                             : 'M';
            ++vs_kind_count[kind];
            if (model && !model->profile.head_patterns.empty()) {
              const char want =
                  model->profile.budget(model->profile.head_patterns[size_t(l)][size_t(h)])->kind;
              ++vs_kind_total[want];
              vs_kind_agree[want] += want == kind;
            }
          }
        }
      }
      const bool measured_retrieval = lost.get() > opt.retrieval_lost_mass;
      if (lost_table[size_t(l)].is_null()) lost_table[size_t(l)] = json::array();
      lost_table[size_t(l)].push_back(lost.get());
      retrieval_share[size_t(l)].add(measured_retrieval ? 1.0 : 0.0);
      if (model && !model->profile.retrieval_gates.empty()) {
        const bool preset_retrieval = model->profile.retrieval_gates[size_t(l)][size_t(g)] >
                                      model->profile.retrieval_gate_threshold;
        retrieval_agree += preset_retrieval == measured_retrieval;
        ++retrieval_total;
      }
    }
  }

  json out;
  out["source"] = src.describe();
  out["shape"] = {{"tokens", T},
                  {"layers", s.layers},
                  {"q_heads", s.q_heads},
                  {"kv_heads", s.kv_heads},
                  {"head_dim", s.head_dim}};
  out["decode_steps"] = {{"first_row", first}, {"count", S}, {"context_at_first_step", N0}};
  out["layers_measured"] = layers;
  out["finite"] = true;  // every value read was checked; a NaN/Inf is an error before this
  out["recall"] = {
      {"k", opt.recall_k}, {"mean", mean_over(recall, 0, L)}, {"per_layer", per_layer(recall)}};
  out["last_window_mass"] = {{"tokens", opt.last_window},
                             {"mean", mean_over(last_win, 0, L)},
                             {"per_layer", per_layer(last_win)}};
  out["sink_mass"] = {
      {"tokens", opt.sink_tokens}, {"mean", mean_over(sink, 0, L)}, {"per_layer", per_layer(sink)}};
  out["cross_step_overlap"] = {{"k", opt.overlap_k},
                               {"layers_0_1", mean_over(overlap, 0, 2)},
                               {"layers_2_up", mean_over(overlap, 2, L)},
                               {"second_half", mean_over(overlap, L / 2, L)},
                               {"per_layer", per_layer(overlap)}};
  if (S < 2) out["cross_step_overlap"]["note"] = "needs at least 2 decode steps";
  if (tidal_ok) {
    out["cross_layer_overlap"] = {
        {"k", opt.tidal_k},
        {"selection_layer", sel_layer},
        {"reselection_layer", resel_layer},
        {"selection_to_after_reselection", mean_over(tidal_l2_after, resel_layer + 1, L)},
        {"reselection_to_after", mean_over(tidal_resel_after, resel_layer + 1, L)},
        {"selection_to_between", mean_over(tidal_l2_between, sel_layer + 1, resel_layer)},
        {"per_layer_from_selection", per_layer(tidal_l2_after)},
        {"per_layer_from_reselection", per_layer(tidal_resel_after)}};
  } else {
    out["cross_layer_overlap"] = {
        {"note", "needs the selection layer " + std::to_string(sel_layer) +
                     ", the re-selection layer " + std::to_string(resel_layer) +
                     " and a later layer among the measured layers"}};
  }
  out["query_cosine_adjacent"] = {{"post_rope",
                                   {{"mean", mean_over(cos_post, 0, L)},
                                    {"min_head_mean", min_head_cos_post},
                                    {"min", min_cos_post},
                                    {"per_layer", per_layer(cos_post)}}}};
  if (src.has_pre_rope())
    out["query_cosine_adjacent"]["pre_rope"] = {{"mean", mean_over(cos_pre, 0, L)},
                                                {"min_head_mean", min_head_cos_pre},
                                                {"min", min_cos_pre},
                                                {"per_layer", per_layer(cos_pre)}};
  out["retrieval_heads"] = {
      {"rule", "a KV head is retrieval when DuoAttention's streaming pattern (first " +
                   std::to_string(opt.duo_sink) + " + last " + std::to_string(opt.duo_recent) +
                   " tokens) misses more than " + std::to_string(opt.retrieval_lost_mass) +
                   " of its attention mass"},
      {"share", mean_over(retrieval_share, 0, L)},
      {"per_layer_share", per_layer(retrieval_share)},
      {"lost_mass", lost_table}};
  if (retrieval_total)
    out["retrieval_heads"]["agreement_with_preset"] =
        double(retrieval_agree) / double(retrieval_total);
  if (!vs_all.empty()) {
    json pl = json::array();
    for (int l = 0; l < L; ++l)
      pl.push_back(vs_by_layer[size_t(l)].empty() ? json(nullptr)
                                                  : json(median(vs_by_layer[size_t(l)])));
    double mean_all = std::accumulate(vs_all.begin(), vs_all.end(), 0.0) / double(vs_all.size());
    out["vertical_slash"] = {{"rows", vs_rows},
                             {"heads", vs_all.size()},
                             {"median_capture", median(vs_all)},
                             {"mean_capture", mean_all},
                             {"median_vertical_only", median(vs_v_all)},
                             {"median_slash_only", median(vs_s_all)},
                             {"per_layer_median", pl}};
    int64_t nk = 0;
    for (const auto& [c, n] : vs_kind_count) nk += n;
    if (nk) {
      json kinds = {{"margin", opt.vs_kind_margin},
                    {"heads", nk},
                    {"vertical_share", double(vs_kind_count['V']) / double(nk)},
                    {"slash_share", double(vs_kind_count['S']) / double(nk)},
                    {"mixed_share", double(vs_kind_count['M']) / double(nk)}};
      for (char c : {'V', 'S', 'M'})
        if (vs_kind_total[c])
          kinds[std::string("preset_") + c + "_measured_as_" + c] =
              double(vs_kind_agree[c]) / double(vs_kind_total[c]);
      out["vertical_slash"]["measured_kind"] = kinds;
    }
  } else {
    out["vertical_slash"] = {{"note", "the pattern budgets are not well below the context"}};
  }
  out["key_outlier_channels"] = {{"rank", std::max(1, std::min(opt.outlier_rank, d / 4))},
                                 {"pre_rope", src.has_pre_rope()},
                                 {"top_to_median_ratio", mean_over(ratio, 0, L)},
                                 {"half_stability", mean_over(stability, 0, L)}};
  if (model && !model->profile.key_outlier_channels.empty())
    out["key_outlier_channels"]["agreement_with_preset"] = mean_over(agreement, 0, L);
  if (!(by_role.size() == 1 && by_role.count('?'))) {
    json br;
    for (const auto& [role, r] : by_role)
      br[std::string(1, role)] = {{"recall", r.recall.value()},
                                  {"cross_step_overlap", r.overlap.value()},
                                  {"sink_mass", r.sink.value()},
                                  {"last_window_mass", r.last_window.value()},
                                  {"reselection_to_after", r.tidal.value()},
                                  {"vs_capture", r.vs.value()},
                                  {"rows", r.recall.n}};
    out["by_role"] = br;
  }
  out["attention_rows"] = rows_done;
  out["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return out;
}

}  // namespace sparsepim::workloads
