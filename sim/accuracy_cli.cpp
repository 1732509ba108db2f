// `sparsepim accuracy`: attention-mass recall, exact-top-B overlap, output error and selection
// work of each policy x budget, per layer and overall (models/policy/accuracy.h).
#include "accuracy_cli.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli_text.h"
#include "models/common/errors.h"
#include "models/policy/accuracy.h"
#include "workloads/decode_source.h"
#include "workloads/model_preset.h"

namespace sparsepim {

using nlohmann::json;
using namespace sparsepim::workloads;

struct AccuracyCommand {
  CLI::App* app = nullptr;
  std::string trace, model, policies = "all", budgets, params = "default", workload = "synthetic";
  int64_t context = 0, steps = 0;
  uint64_t seed = 1;
  bool json_out = false;
  std::vector<std::string> policy_sets, model_sets, sets;
  CLI::Option *o_trace = nullptr, *o_model = nullptr, *o_context = nullptr, *o_steps = nullptr,
              *o_seed = nullptr;
};

namespace {

std::vector<int64_t> parse_budgets(const std::string& text) {
  std::vector<int64_t> out;
  for (const auto& item : cli::split_list(text)) {
    size_t used = 0;
    long long b = 0;
    try {
      b = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || used == 0)
      throw ConfigError("--budget: expected comma-separated token counts, got '" + text + "'");
    if (b < 1) throw ConfigError("--budget: a budget must be at least 1 token, got " + item);
    out.push_back(b);
  }
  if (out.empty()) throw ConfigError("--budget: give at least one budget");
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The preset a trace was recorded from: --model, else the preset whose name starts meta.json's
// "model" string; null when none matches.
std::unique_ptr<ModelPreset> trace_preset(AccuracyCommand& c, const TraceShape& shape,
                                          const json& meta) {
  std::unique_ptr<ModelPreset> preset;
  if (c.o_model->count()) {
    preset = std::make_unique<ModelPreset>(load_model_preset(c.model, c.model_sets));
  } else if (meta.contains("model") && meta["model"].is_string()) {
    const std::string m = lower(meta["model"].get<std::string>());
    for (const auto& name : model_preset_names()) {
      ModelPreset p = load_model_preset(name);
      if (m.rfind(lower(p.name), 0) == 0) preset = std::make_unique<ModelPreset>(std::move(p));
    }
  }
  if (preset && (preset->layers != shape.layers || preset->q_heads != shape.q_heads ||
                 preset->kv_heads != shape.kv_heads || preset->head_dim != shape.head_dim))
    throw ConfigError("accuracy: the trace's shape (" + std::to_string(shape.layers) + " layers, " +
                      std::to_string(shape.q_heads) + "/" + std::to_string(shape.kv_heads) +
                      " heads, dim " + std::to_string(shape.head_dim) + ") disagrees with model " +
                      preset->name);
  return preset;
}

void print_table(const std::vector<policy::AccuracyRecord>& recs, const json& source) {
  std::cout << "sparsepim accuracy: " << source.dump() << "\n\n";
  std::cout << std::left << std::setw(13) << "policy" << std::right << std::setw(8) << "budget"
            << std::setw(9) << "recall" << std::setw(9) << "top-B" << std::setw(9) << "rel-L2"
            << std::setw(9) << "cosine" << std::setw(12) << "keys/step" << std::setw(12)
            << "fetch/step" << std::setw(12) << "rowgrp/step"
            << "\n";
  for (const auto& r : recs) {
    const auto& o = r.overall;
    std::cout << std::left << std::setw(13) << r.policy << std::right << std::setw(8) << r.budget
              << std::setw(9) << cli::fixed(o.recall, 4) << std::setw(9)
              << cli::fixed(o.topk_overlap, 4) << std::setw(9) << cli::fixed(o.rel_l2_error, 4)
              << std::setw(9) << cli::fixed(o.cosine, 4) << std::setw(12)
              << cli::fixed(o.keys_scored_per_step, 1) << std::setw(12)
              << cli::fixed(o.tokens_fetched_per_step, 1) << std::setw(12)
              << cli::fixed(o.row_groups_per_step, 1) << "\n";
  }
  std::cout << "\nper KV head and layer per step; overall = mean over layers. Recall per layer:\n";
  std::cout << std::left << std::setw(20) << "policy@budget" << std::right;
  const size_t L = recs.empty() ? 0 : recs[0].per_layer.size();
  for (size_t l = 0; l < L; ++l) std::cout << std::setw(6) << ("L" + std::to_string(l));
  std::cout << "\n";
  for (const auto& r : recs) {
    std::cout << std::left << std::setw(20) << (r.policy + "@" + std::to_string(r.budget))
              << std::right;
    for (const auto& lm : r.per_layer) std::cout << std::setw(6) << cli::fixed(lm.recall, 3);
    std::cout << "\n";
  }
  std::cout << "\nRow groups per step, per layer:\n";
  for (const auto& r : recs) {
    std::cout << std::left << std::setw(20) << (r.policy + "@" + std::to_string(r.budget))
              << std::right;
    for (const auto& lm : r.per_layer)
      std::cout << std::setw(6) << cli::fixed(lm.row_groups_per_step, 0);
    std::cout << "\n";
  }
}

int run(AccuracyCommand& c) {
  const auto started = std::chrono::steady_clock::now();
  const bool have_trace = c.o_trace->count() > 0;
  std::unique_ptr<DecodeSource> src;
  std::unique_ptr<ModelPreset> preset;
  if (have_trace) {
    if (c.o_context->count() || c.o_seed->count())
      throw ConfigError("accuracy: --context and --seed do not apply to a trace");
    auto ts = std::make_unique<TraceSource>(c.trace, c.o_steps->count() ? c.steps : 0);
    preset = trace_preset(c, ts->shape(), ts->reader().info().meta);
    src = std::move(ts);
  } else {
    if (!c.o_model->count() || !c.o_context->count() || !c.o_steps->count())
      throw ConfigError("accuracy: give --trace DIR, or --model M --context L --steps S");
    preset = std::make_unique<ModelPreset>(load_model_preset(c.model, c.model_sets));
    check_workload_size(*preset, c.context, c.steps);
    src = std::make_unique<SyntheticSource>(*preset, load_synthetic_params(c.workload, c.sets),
                                            c.seed, c.context, c.steps);
  }
  policy::AccuracyOptions opt;
  opt.policies = c.policies == "all" ? policy::policy_names() : cli::split_list(c.policies);
  if (opt.policies.empty()) throw ConfigError("--policy: give at least one policy");
  opt.budgets = parse_budgets(c.budgets);
  opt.params = policy::load_policy_params(c.params, c.policy_sets);
  const TraceShape shape = src->shape();
  opt.model = {shape.layers, shape.q_heads, shape.kv_heads, shape.head_dim,
               preset ? preset->profile.tidal_reselection_layer : 0};
  const bool tty = !c.json_out && isatty(STDERR_FILENO);
  if (tty)
    opt.progress = [started](double f) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::fprintf(stderr, "\r[%-40s] %3.0f%%  %.0f s", std::string(size_t(f * 40), '#').c_str(),
                   f * 100, s);
      std::fflush(stderr);
    };
  const auto recs = policy::evaluate_accuracy(*src, opt);
  if (tty) std::fprintf(stderr, "\n");
  if (c.json_out) {
    json arr = json::array();
    for (const auto& r : recs) arr.push_back(r.to_json());
    std::cout << arr.dump(2) << "\n";
  } else {
    json brief = {{"tokens", shape.tokens},
                  {"decode_steps", shape.tokens - src->first_step()},
                  {"first_step", src->first_step()},
                  {"model", preset ? json(preset->name) : json("(unknown)")}};
    if (have_trace)
      brief["trace"] = c.trace;
    else
      brief["seed"] = c.seed;
    print_table(recs, brief);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "\nwall " << cli::fixed(wall, 1) << " s\n";
  }
  return 0;
}

}  // namespace

AccuracyCommand* add_accuracy_command(CLI::App& app) {
  static AccuracyCommand c;
  c.app = app.add_subcommand(
      "accuracy",
      "Accuracy and selection work of sparse-attention policies x budgets on a trace or a "
      "generated workload");
  auto* a = c.app;
  c.o_trace = a->add_option("--trace", c.trace, "trace directory (q.npy, k.npy, v.npy, meta.json)");
  c.o_model = a->add_option("--model", c.model,
                            "model preset (generated workload; with --trace: the traced model)");
  c.o_context = a->add_option("--context", c.context, "prompt tokens before the first decode step");
  c.o_steps = a->add_option("--steps", c.steps, "decode steps (trace: the last S rows)");
  c.o_seed = a->add_option("--seed", c.seed, "generator seed")->capture_default_str();
  a->add_option("--policy", c.policies, "policies, comma-separated, or 'all'")
      ->capture_default_str();
  a->add_option("--budget", c.budgets, "budgets in tokens per query head, comma-separated")
      ->required();
  a->add_flag("--json", c.json_out, "one JSON array of records (policy x budget)");
  a->add_option("--params", c.params, "policy parameters (configs/policies) or JSON file")
      ->capture_default_str();
  a->add_option("--policy-set", c.policy_sets,
                "override a policy parameter: section.key=value (repeatable)");
  a->add_option("--workload", c.workload, "generator parameters (configs/workloads)")
      ->capture_default_str();
  a->add_option("--set", c.sets, "override a generator parameter: section.key=value");
  a->add_option("--model-set", c.model_sets, "override a model preset value: section.key=value");
  return &c;
}

int run_accuracy_command(AccuracyCommand* c) {
  if (!c->app->parsed()) return -1;
  return run(*c);
}

}  // namespace sparsepim
