#include "models/policy/accuracy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/common/errors.h"
#include "models/policy/kv_cache.h"
#include "models/policy/selection_util.h"

namespace sparsepim::policy {

using nlohmann::json;

json AccuracyMetrics::to_json() const {
  return {{"recall", recall},
          {"topk_overlap", topk_overlap},
          {"rel_l2_error", rel_l2_error},
          {"cosine", cosine},
          {"cosine_error", 1.0 - cosine},
          {"keys_scored_per_step", keys_scored_per_step},
          {"key_channels_scored_per_step", key_channels_scored_per_step},
          {"metadata_items_per_step", metadata_items_per_step},
          {"metadata_bytes_per_step", metadata_bytes_per_step},
          {"tokens_fetched_per_step", tokens_fetched_per_step},
          {"row_groups_per_step", row_groups_per_step},
          {"attend_row_groups_per_step", attend_row_groups_per_step},
          {"head_row_groups_per_step", head_row_groups_per_step}};
}

json AccuracyRecord::to_json() const {
  json j = overall.to_json();
  j["policy"] = policy;
  j["budget"] = budget;
  json layers = json::array();
  for (size_t l = 0; l < per_layer.size(); ++l) {
    json e = per_layer[l].to_json();
    e["layer"] = l;
    layers.push_back(std::move(e));
  }
  j["per_layer"] = std::move(layers);
  return j;
}

namespace {

// Sums of one layer's samples: accuracy per (step, query head), work per (step, KV head).
struct Sums {
  double heads = 0, ops = 0;
  double recall = 0, overlap = 0, l2 = 0, cosine = 0;
  double keys = 0, channels = 0, meta_items = 0, meta_bytes = 0, fetched = 0, rows = 0,
         attend_rows = 0, head_rows = 0;
  AccuracyMetrics mean() const {
    AccuracyMetrics m;
    const double h = heads > 0 ? heads : 1, o = ops > 0 ? ops : 1;
    m.recall = recall / h;
    m.topk_overlap = overlap / h;
    m.rel_l2_error = l2 / h;
    m.cosine = cosine / h;
    m.keys_scored_per_step = keys / o;
    m.key_channels_scored_per_step = channels / o;
    m.metadata_items_per_step = meta_items / o;
    m.metadata_bytes_per_step = meta_bytes / o;
    m.tokens_fetched_per_step = fetched / o;
    m.row_groups_per_step = rows / o;
    m.attend_row_groups_per_step = attend_rows / o;
    m.head_row_groups_per_step = head_rows / h;
    return m;
  }
};

struct Combo {
  std::unique_ptr<Policy> policy;
  int64_t budget = 0;
  std::vector<Sums> layers;
};

// Dense attention of one query from FP32 scores: probabilities and output in FP64.
struct Reference {
  std::vector<double> probs, out;
  double out_norm = 0;
  void compute(const float* scores, const float* values, int64_t n, int d) {
    probs.resize(size_t(n));
    float mx = scores[0];
    for (int64_t j = 1; j < n; ++j) mx = std::max(mx, scores[j]);
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += probs[size_t(j)] = std::exp(double(scores[j] - mx));
    out.assign(size_t(d), 0.0);
    for (int64_t j = 0; j < n; ++j) {
      const double p = probs[size_t(j)] /= sum;
      const float* v = values + j * d;
      for (int c = 0; c < d; ++c) out[size_t(c)] += p * double(v[c]);
    }
    out_norm = 0;
    for (double o : out) out_norm += o * o;
    out_norm = std::sqrt(out_norm);
  }
};

void check_selection(const Policy& p, const StepInput& in, const Selection& sel) {
  auto fail = [&](const std::string& what) {
    throw std::logic_error("policy " + p.name() + " (budget " + std::to_string(p.budget()) +
                           "), layer " + std::to_string(in.layer) + ", step " +
                           std::to_string(in.position) + ": " + what);
  };
  if (int(sel.positions.size()) != in.group) fail("wrong number of heads");
  for (const auto& pos : sel.positions) {
    if (pos.empty()) fail("empty selection");
    if (int64_t(pos.back()) >= in.n()) fail("position beyond the context");
    for (size_t i = 1; i < pos.size(); ++i)
      if (pos[i] <= pos[i - 1]) fail("positions not ascending and distinct");
    if (int64_t(pos.size()) < in.n() && int64_t(pos.size()) > p.budget()) fail("over budget");
  }
}

// Distinct row groups of a sorted position list in the layout (token order or clusters).
int64_t row_groups(const std::vector<uint32_t>& pos, const ClusterStore* store, int rg,
                   std::vector<int64_t>* scratch) {
  scratch->clear();
  for (uint32_t p : pos) scratch->push_back((store ? store->slot(p) : int64_t(p)) / rg);
  if (store) std::sort(scratch->begin(), scratch->end());
  return int64_t(std::unique(scratch->begin(), scratch->end()) - scratch->begin());
}

}  // namespace

std::vector<AccuracyRecord> evaluate_accuracy(workloads::DecodeSource& src,
                                              const AccuracyOptions& opt) {
  const workloads::TraceShape shape = src.shape();
  const ModelShape& m = opt.model;
  if (shape.layers != m.layers || shape.q_heads != m.q_heads || shape.kv_heads != m.kv_heads ||
      shape.head_dim != m.head_dim)
    throw ConfigError("accuracy: the source's shape (" + std::to_string(shape.layers) +
                      " layers, " + std::to_string(shape.q_heads) + "/" +
                      std::to_string(shape.kv_heads) + " heads, dim " +
                      std::to_string(shape.head_dim) + ") disagrees with the model's");
  const int64_t T = shape.tokens, first = src.first_step(), steps = T - first;
  if (steps < 1) throw ConfigError("accuracy: no decode steps");
  const int d = m.head_dim, G = m.group(), rg = opt.params.row_group_tokens;
  if (opt.policies.empty() || opt.budgets.empty())
    throw ConfigError("accuracy: give at least one policy and one budget");

  std::vector<Combo> combos;
  for (const auto& name : opt.policies)
    for (int64_t b : opt.budgets) {
      Combo c;
      c.policy = make_policy(name, b, opt.params, m);
      c.budget = b;
      c.layers.resize(size_t(m.layers));
      combos.push_back(std::move(c));
    }
  std::vector<int64_t> budgets = opt.budgets;
  std::sort(budgets.begin(), budgets.end());
  budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
  const bool replay = !opt.step_budgets.empty();
  if (replay) {
    if (budgets.size() != 1)
      throw ConfigError("accuracy: per-step budgets replace the budget list; give one budget");
    if (int64_t(opt.step_budgets.size()) != steps)
      throw ConfigError("accuracy: " + std::to_string(opt.step_budgets.size()) +
                        " per-step budgets for " + std::to_string(steps) + " decode steps");
    for (int64_t b : opt.step_budgets)
      if (b < 1) throw ConfigError("accuracy: a per-step budget below 1 token");
  }

  std::vector<float> K(size_t(T) * size_t(d)), V(size_t(T) * size_t(d));
  std::vector<float> Q(size_t(steps) * size_t(G) * size_t(d));
  std::vector<Reference> ref(static_cast<size_t>(G));
  // top_marks[budget index][head][position] == stamp: position in that head's exact top-B.
  std::vector<std::vector<std::vector<uint32_t>>> top_marks(
      budgets.size(),
      std::vector<std::vector<uint32_t>>(size_t(G), std::vector<uint32_t>(size_t(T), 0)));
  uint32_t stamp = 0;
  std::vector<uint32_t> top, seen;
  std::vector<int64_t> rg_scratch;
  Selection sel;
  ScoreCache scores;
  double o_sel[1024];
  if (d > 1024) throw ConfigError("accuracy: head_dim above 1024");

  const bool clustered = std::any_of(combos.begin(), combos.end(),
                                     [](const Combo& c) { return c.policy->cluster_layout(); });
  for (int l = 0; l < m.layers; ++l) {
    for (int g = 0; g < m.kv_heads; ++g) {
      src.kv(l, g, T, K.data(), V.data(), nullptr);
      for (int64_t s = 0; s < steps; ++s)
        for (int gi = 0; gi < G; ++gi)
          src.query(l, g * G + gi, first + s, &Q[(size_t(s) * size_t(G) + size_t(gi)) * size_t(d)],
                    nullptr);
      KvCache cache(l, g, d, T, K.data(), V.data());
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t t = first + s, n = t + 1;
        const float* Qt = &Q[size_t(s) * size_t(G) * size_t(d)];
        cache.set_length(n);
        // The prompt's clustering (STARC) starts on a helper thread while this one computes the
        // scores and the reference; the policies' first clusters() call finishes it.
        if (clustered)
          cache.prefetch_clusters(opt.params.starc.kmeans, rg, opt.params.starc.aligned_layout);
        scores.reset(Qt, G, &cache);
        ++stamp;
        if (replay) {
          budgets[0] = opt.step_budgets[size_t(s)];
          for (Combo& c : combos) {
            c.budget = budgets[0];
            c.policy->set_budget(budgets[0]);
          }
        }
        for (int gi = 0; gi < G; ++gi) {
          const float* sc = scores.scores(gi);
          ref[size_t(gi)].compute(sc, V.data(), n, d);
          for (size_t bi = 0; bi < budgets.size(); ++bi) {
            if (budgets[bi] >= n) continue;
            top_k_all(sc, n, budgets[bi], &top);
            for (uint32_t j : top) top_marks[bi][size_t(gi)][j] = stamp;
          }
        }
        for (size_t ci = 0; ci < combos.size(); ++ci) {
          Combo& c = combos[ci];
          StepInput in;
          in.position = t;
          in.layer = l;
          in.kv_head = g;
          in.first_q_head = g * G;
          in.group = G;
          in.queries = Qt;
          in.cache = &cache;
          in.scores = &scores;
          in.record_ipu = opt.record_ipu;
          c.policy->select(in, &sel);
          check_selection(*c.policy, in, sel);
          if (opt.on_selection) opt.on_selection(ci, *c.policy, in, sel, cache);
          Sums& acc = c.layers[size_t(l)];
          const ClusterStore* store =
              c.policy->cluster_layout()
                  ? &cache.clusters(opt.params.starc.kmeans, rg, opt.params.starc.aligned_layout)
                  : nullptr;
          for (const auto& pos : sel.positions)
            acc.head_rows += double(row_groups(pos, store, rg, &rg_scratch));
          const size_t bi =
              size_t(std::lower_bound(budgets.begin(), budgets.end(), c.budget) - budgets.begin());
          for (int gi = 0; gi < G; ++gi) {
            const auto& pos = sel.positions[size_t(gi)];
            acc.heads += 1;
            if (int64_t(pos.size()) == n) {  // every token: exact by definition
              acc.recall += 1;
              acc.overlap += 1;
              acc.cosine += 1;
              continue;
            }
            const Reference& r = ref[size_t(gi)];
            double mass = 0;
            int64_t hit = 0;
            std::fill(o_sel, o_sel + d, 0.0);
            for (uint32_t j : pos) {
              const double p = r.probs[j];
              mass += p;
              hit += top_marks[bi][size_t(gi)][j] == stamp;
              const float* v = &V[size_t(j) * size_t(d)];
              for (int ch = 0; ch < d; ++ch) o_sel[ch] += p * double(v[ch]);
            }
            double err2 = 0, sel2 = 0, dot = 0;
            for (int ch = 0; ch < d; ++ch) {
              const double os = mass > 0 ? o_sel[ch] / mass : 0.0, o = r.out[size_t(ch)];
              err2 += (os - o) * (os - o);
              sel2 += os * os;
              dot += os * o;
            }
            acc.recall += mass;
            acc.overlap += double(hit) / double(c.budget);
            acc.l2 += r.out_norm > 0 ? std::sqrt(err2) / r.out_norm : 0.0;
            acc.cosine += (sel2 > 0 && r.out_norm > 0) ? dot / (std::sqrt(sel2) * r.out_norm) : 0.0;
          }
          // Work of this KV head's step.
          const SelectionWork& w = sel.work;
          seen.clear();
          std::set_union(w.scanned.begin(), w.scanned.end(), w.fetched.begin(), w.fetched.end(),
                         std::back_inserter(seen));
          acc.ops += 1;
          acc.keys += double(seen.size());
          acc.channels += double(w.scanned.size()) * double(w.key_channels) / double(d);
          acc.meta_items += double(w.metadata_items);
          acc.meta_bytes += double(w.metadata_bytes);
          acc.fetched += double(w.fetched.size());
          acc.rows += double(row_groups(seen, store, rg, &rg_scratch));
          acc.attend_rows += double(row_groups(w.fetched, store, rg, &rg_scratch));
        }
      }
      if (opt.progress)
        opt.progress(double(l * m.kv_heads + g + 1) / double(m.layers * m.kv_heads));
    }
  }

  std::vector<AccuracyRecord> out;
  for (const Combo& c : combos) {
    AccuracyRecord r;
    r.policy = c.policy->name();
    r.budget = c.budget;
    for (const Sums& s : c.layers) {
      AccuracyMetrics lm = s.mean();
      r.per_layer.push_back(lm);
    }
    const double L = double(m.layers);
    AccuracyMetrics& o = r.overall;
    for (const AccuracyMetrics& lm : r.per_layer) {
      o.recall += lm.recall / L;
      o.topk_overlap += lm.topk_overlap / L;
      o.rel_l2_error += lm.rel_l2_error / L;
      o.cosine += lm.cosine / L;
      o.keys_scored_per_step += lm.keys_scored_per_step / L;
      o.key_channels_scored_per_step += lm.key_channels_scored_per_step / L;
      o.metadata_items_per_step += lm.metadata_items_per_step / L;
      o.metadata_bytes_per_step += lm.metadata_bytes_per_step / L;
      o.tokens_fetched_per_step += lm.tokens_fetched_per_step / L;
      o.row_groups_per_step += lm.row_groups_per_step / L;
      o.attend_row_groups_per_step += lm.attend_row_groups_per_step / L;
      o.head_row_groups_per_step += lm.head_row_groups_per_step / L;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sparsepim::policy
