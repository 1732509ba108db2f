// `sparsepim workload` (generate a synthetic decode workload, optionally export it as a trace)
// and `sparsepim stats` (calibration statistics of a trace or of a generated workload).
#include "workload_cli.h"

#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "models/common/errors.h"
#include "models/common/peak_rss.h"
#include "workloads/calibration_stats.h"
#include "workloads/decode_source.h"
#include "workloads/generator.h"
#include "workloads/kv_budget_table.h"
#include "workloads/rng.h"
#include "workloads/trace.h"

namespace sparsepim {

using nlohmann::json;
using namespace sparsepim::workloads;

struct WorkloadCommands {
  CLI::App* workload = nullptr;
  CLI::App* stats = nullptr;

  // Shared by both.
  std::string model;
  int64_t context = 0;
  int64_t steps = 0;
  uint64_t seed = 1;
  std::string params = "synthetic";
  std::vector<std::string> sets;
  std::vector<std::string> model_sets;

  // workload
  std::string export_dir;
  std::string dtype = "float32";

  // stats
  std::string trace;
  std::string kv_budget;
  std::string layers;
  StatsOptions stats_opt;
  CLI::Option* recall_k = nullptr;
  CLI::Option* overlap_k = nullptr;
  CLI::Option* tidal_k = nullptr;
  CLI::Option* s_model = nullptr;
  CLI::Option* s_context = nullptr;
  CLI::Option* s_steps = nullptr;
  CLI::Option* s_trace = nullptr;
};

namespace {

// A running hash of generated floats: equal bytes in the same order, equal checksum. FNV-1a
// over 64-bit words (two floats) in four interleaved lanes, so the multiplies pipeline.
struct Checksum {
  uint64_t lane[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9ce484222325cbf2ULL,
                      0x2325cbf29ce48422ULL};
  void add(const float* x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 4; ++k) {
        uint64_t w;
        std::memcpy(&w, &x[i + 2 * size_t(k)], 8);
        lane[k] = (lane[k] ^ w) * 0x100000001b3ULL;
      }
    for (; i < n; ++i) {
      uint32_t b;
      std::memcpy(&b, &x[i], 4);
      lane[0] = (lane[0] ^ b) * 0x100000001b3ULL;
    }
  }
  std::string hex() const {
    const uint64_t h =
        rng::mix64(lane[0] ^ rng::mix64(lane[1] ^ rng::mix64(lane[2] ^ rng::mix64(lane[3]))));
    std::ostringstream os;
    os << std::hex << h;
    return os.str();
  }
};

std::vector<int> parse_layers(const std::string& text, int n_layers) {
  std::vector<int> out;
  if (text.empty() || text == "all") return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const int l = std::stoi(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
      if (l < 0 || l >= n_layers)
        throw ConfigError("--layers: layer " + item + " out of range (0.." +
                          std::to_string(n_layers - 1) + ")");
      out.push_back(l);
    } catch (const std::logic_error&) {
      throw ConfigError(
          "--layers: expected a comma-separated list of layer numbers or 'all', got '" + text +
          "'");
    }
  }
  return out;
}

int run_workload(WorkloadCommands& c) {
  const auto started = std::chrono::steady_clock::now();
  const ModelPreset model = load_model_preset(c.model, c.model_sets);
  check_workload_size(model, c.context, c.steps);
  const SyntheticParams params = load_synthetic_params(c.params, c.sets);
  NpyDtype dtype;
  if (c.dtype == "float32")
    dtype = NpyDtype::kFloat32;
  else if (c.dtype == "float16")
    dtype = NpyDtype::kFloat16;
  else
    throw ConfigError("--dtype: expected float32 or float16, got '" + c.dtype + "'");
  SyntheticGenerator gen(model, params, c.seed);
  const int64_t T = c.context + c.steps;
  const int d = model.head_dim, L = model.layers, H = model.q_heads, G = model.kv_heads;
  Checksum sum;
  uint64_t floats = 0;

  if (c.export_dir.empty()) {
    // Stream layer by layer, KV head by KV head: the whole KV cache of the last step, and the
    // queries of every decode step.
    std::vector<float> k(static_cast<size_t>(T) * d), v(static_cast<size_t>(T) * d),
        q(static_cast<size_t>(d));
    for (int l = 0; l < L; ++l) {
      for (int g = 0; g < G; ++g) {
        gen.keys_values(l, g, 0, T, k.data(), v.data());
        sum.add(k.data(), k.size());
        sum.add(v.data(), v.size());
        floats += 2 * k.size();
      }
      for (int h = 0; h < H; ++h)
        for (int64_t t = c.context; t < T; ++t) {
          gen.query(l, h, t, q.data());
          sum.add(q.data(), q.size());
          floats += q.size();
        }
    }
  } else {
    // Token blocks in C order of the trace files ([T, layers, heads, d]); about 32 MB a block.
    TraceShape shape{T, L, H, G, d};
    json meta = {
        {"model", model.name + " (synthetic, sparsepim workload generator)"},
        {"layout",
         "q: [T, layers, q_heads, head_dim]; k, v: [T, layers, kv_heads, "
         "head_dim]; row t holds the vectors of token t (post-RoPE q and k)"},
        {"rope", "theta " + std::to_string(model.rope.theta) + ", " +
                     (model.rope.layout == RopeLayout::kHalf ? "rotate-half" : "interleaved") +
                     " pairs, scaling as " + model.source_file},
        {"generator",
         {{"params", params.source_file},
          {"seed", c.seed},
          {"context", c.context},
          {"decode_steps", c.steps},
          {"model_preset", model.source_file}}},
        {"seed", c.seed}};
    TraceWriter writer(c.export_dir, shape, dtype, meta);
    const uint64_t row_floats = uint64_t(L) * (H + 2 * G) * d;
    const int64_t block = std::max<int64_t>(1, int64_t((32u << 20) / (4 * row_floats)));
    std::vector<float> kb(static_cast<size_t>(block) * d), vb(static_cast<size_t>(block) * d);
    std::vector<float> qrows, krows, vrows;
    for (int64_t t0 = 0; t0 < T; t0 += block) {
      const int64_t n = std::min(block, T - t0);
      qrows.assign(size_t(n) * L * H * d, 0.0f);
      krows.assign(size_t(n) * L * G * d, 0.0f);
      vrows.assign(size_t(n) * L * G * d, 0.0f);
      for (int l = 0; l < L; ++l) {
        for (int g = 0; g < G; ++g) {
          gen.keys_values(l, g, t0, t0 + n, kb.data(), vb.data());
          for (int64_t r = 0; r < n; ++r) {
            const size_t dst = ((size_t(r) * L + l) * G + g) * d;
            std::copy(kb.begin() + r * d, kb.begin() + (r + 1) * d, krows.begin() + dst);
            std::copy(vb.begin() + r * d, vb.begin() + (r + 1) * d, vrows.begin() + dst);
          }
        }
        for (int h = 0; h < H; ++h)
          for (int64_t r = 0; r < n; ++r)
            gen.query(l, h, t0 + r, qrows.data() + ((size_t(r) * L + l) * H + h) * d);
      }
      writer.append_rows(qrows.data(), krows.data(), vrows.data(), n);
      sum.add(qrows.data(), qrows.size());
      sum.add(krows.data(), krows.size());
      sum.add(vrows.data(), vrows.size());
      floats += qrows.size() + krows.size() + vrows.size();
    }
    writer.close();
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json out = {{"model", model.name},
              {"context", c.context},
              {"steps", c.steps},
              {"seed", c.seed},
              {"tokens", T},
              {"generated_floats", floats},
              {"generated_MB", double(floats) * 4.0 / 1e6},
              {"wall_s", wall},
              {"MB_per_s", double(floats) * 4.0 / 1e6 / wall},
              {"kv_vectors_per_s", double(uint64_t(T) * L * G) / wall},
              {"checksum", sum.hex()},
              {"peak_rss_MB", peak_rss_mb()},
              {"export", c.export_dir.empty() ? json(nullptr) : json(c.export_dir)},
              {"dtype", c.dtype},
              {"generator", gen.describe()}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_stats(WorkloadCommands& c) {
  const bool have_trace = c.s_trace->count() > 0;
  const bool have_model = c.s_model->count() > 0;
  const bool have_budget = !c.kv_budget.empty();
  json out;
  if (have_trace && have_model)
    throw ConfigError(
        "stats: give either --trace DIR or --model M --context L --steps S, not both");
  if (!have_trace && !have_model && !have_budget)
    throw ConfigError("stats: give --trace DIR, or --model M --context L --steps S");
  std::unique_ptr<DecodeSource> src;
  if (have_trace) {
    if (c.s_context->count())
      throw ConfigError(
          "stats: --context does not apply to a trace (use --steps to choose the "
          "decode rows)");
    src = std::make_unique<TraceSource>(c.trace, c.s_steps->count() ? c.steps : 0);
  } else if (have_model) {
    if (!c.s_context->count() || !c.s_steps->count())
      throw ConfigError("stats: --model needs --context and --steps");
    const ModelPreset model = load_model_preset(c.model, c.model_sets);
    check_workload_size(model, c.context, c.steps);
    src = std::make_unique<SyntheticSource>(model, load_synthetic_params(c.params, c.sets), c.seed,
                                            c.context, c.steps);
  }
  if (src) {
    StatsOptions o = c.stats_opt;
    const int64_t n0 = src->first_step() + 1;
    // Defaults shrink to an eighth of a short context; explicit values are checked as given.
    if (!c.recall_k->count()) o.recall_k = std::max<int64_t>(1, std::min(o.recall_k, n0 / 8));
    if (!c.overlap_k->count()) o.overlap_k = std::max<int64_t>(1, std::min(o.overlap_k, n0 / 8));
    if (!c.tidal_k->count()) o.tidal_k = std::max<int64_t>(1, std::min(o.tidal_k, n0 / 8));
    o.layers = parse_layers(c.layers, src->shape().layers);
    out = compute_calibration_stats(*src, o);
  }
  if (have_budget) {
    const KvBudgetTable t = read_kv_budget_table(c.kv_budget);
    if (src) check_budgets_fit_context(t, src->first_step());
    out["kv_budget"] = {{"file", c.kv_budget},
                        {"steps", t.tokens.size()},
                        {"mean", t.mean()},
                        {"min", t.min()},
                        {"max", t.max()}};
  }
  out["peak_rss_MB"] = peak_rss_mb();
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

WorkloadCommands* add_workload_commands(CLI::App& app) {
  static WorkloadCommands c;
  c.workload =
      app.add_subcommand("workload",
                         "Generate a synthetic decode workload (optionally export it as a trace); "
                         "prints one JSON object (rate, peak RSS, checksum)");
  auto* w = c.workload;
  w->add_option("--model", c.model, "model preset (configs/models) or JSON file")->required();
  w->add_option("--context", c.context, "prompt tokens before the first decode step")->required();
  w->add_option("--steps", c.steps, "decode steps")->capture_default_str();
  w->add_option("--seed", c.seed, "random seed (same seed, same bytes)")->capture_default_str();
  w->add_option("--export", c.export_dir, "write the trace (q.npy, k.npy, v.npy, meta.json) here");
  w->add_option("--dtype", c.dtype, "export dtype: float32 | float16")->capture_default_str();
  w->add_option("--params", c.params, "generator parameters (configs/workloads) or JSON file")
      ->capture_default_str();
  w->add_option("--set", c.sets, "override a generator parameter: section.key=value (repeatable)");
  w->add_option("--model-set", c.model_sets,
                "override a model preset value: section.key=value (repeatable)");
  c.steps = 1;

  c.stats = app.add_subcommand(
      "stats", "Calibration statistics of a trace or a generated workload, as one JSON object");
  auto* s = c.stats;
  c.s_trace = s->add_option("--trace", c.trace, "trace directory (q.npy, k.npy, v.npy, meta.json)");
  c.s_model = s->add_option("--model", c.model, "model preset for a generated workload");
  c.s_context = s->add_option("--context", c.context, "prompt tokens (generated workload)");
  c.s_steps = s->add_option("--steps", c.steps,
                            "decode steps (generated), or the last rows of a trace to use "
                            "(default: rows 32.. of the trace)");
  s->add_option("--seed", c.seed, "random seed")->capture_default_str();
  s->add_option("--params", c.params, "generator parameters")->capture_default_str();
  s->add_option("--set", c.sets, "override a generator parameter: section.key=value");
  s->add_option("--model-set", c.model_sets, "override a model preset value: section.key=value");
  c.recall_k = s->add_option("--recall-k", c.stats_opt.recall_k,
                             "top-k of the attention-mass recall (default 4096, at most 1/8 of "
                             "the context)");
  c.overlap_k = s->add_option("--overlap-k", c.stats_opt.overlap_k,
                              "top-k of the cross-step overlap (default 1024, at most 1/8 of the "
                              "context)");
  c.tidal_k = s->add_option("--tidal-k", c.stats_opt.tidal_k,
                            "top-k of the cross-layer overlap (default 256, at most 1/8 of the "
                            "context)");
  s->add_option("--reselection-layer", c.stats_opt.tidal_reselection_layer,
                "TidalDecode re-selection layer (default: the model preset's, or 13/32 of the "
                "depth)");
  s->add_option("--vs-steps", c.stats_opt.vs_steps,
                "last decode steps used for the vertical-and-slash estimate")
      ->capture_default_str();
  s->add_option("--layers", c.layers, "layers to measure: comma-separated list or 'all'")
      ->capture_default_str();
  s->add_option("--kv-budget", c.kv_budget,
                "also read and validate a KV budget table (one integer per line, '#' comments)");
  return &c;
}

int run_workload_commands(WorkloadCommands* c) {
  if (c->workload->parsed()) return run_workload(*c);
  if (c->stats->parsed()) return run_stats(*c);
  return -1;
}

}  // namespace sparsepim
