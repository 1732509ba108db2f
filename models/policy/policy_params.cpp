#include "models/policy/policy_params.h"

#include "models/common/errors.h"
#include "workloads/strict_json.h"

namespace sparsepim::policy {

using workloads::StrictObject;

PolicyParams load_policy_params(const std::string& name_or_path,
                                const std::vector<std::string>& overrides) {
  const std::string path = workloads::resolve_preset(name_or_path, "policies", "policy config");
  nlohmann::json j = workloads::read_json_file(path);
  for (const auto& kv : overrides) workloads::apply_json_override(j, kv);
  PolicyParams p;
  p.source_file = path;
  StrictObject top(j, path);
  top.allow_docs();
  top.allow("name");
  auto section = [&](const char* key) {
    StrictObject o(top.get(key), path + ": " + key);
    o.allow_docs();
    return o;
  };
  const int64_t kLayers = 1024;
  {
    auto o = section("layout");
    p.row_group_tokens = int(o.integer("row_group_tokens", 1, 1 << 16));
    o.finish();
  }
  {
    auto o = section("topk");
    p.topk.dense_layers = int(o.integer("dense_layers", 0, kLayers));
    o.finish();
  }
  {
    auto o = section("sparq");
    p.sparq.dense_layers = int(o.integer("dense_layers", 0, kLayers));
    p.sparq.channel_fraction = o.number("channel_fraction", 1e-6, 1.0);
    o.finish();
  }
  {
    auto o = section("quest");
    p.quest.dense_layers = int(o.integer("dense_layers", 0, kLayers));
    p.quest.page_tokens = int(o.integer("page_tokens", 1, 1 << 16));
    o.finish();
  }
  {
    auto o = section("starc");
    p.starc.dense_layers = int(o.integer("dense_layers", 0, kLayers));
    p.starc.kmeans.block_tokens = int(o.integer("block_tokens", 1, 1 << 16));
    p.starc.kmeans.clusters = int(o.integer("clusters", 1, 255));
    p.starc.kmeans.max_iterations = int(o.integer("max_iterations", 1, 1000));
    p.starc.kmeans.tolerance = o.number("tolerance", 0.0, 10.0);
    const std::string arithmetic = o.str("arithmetic");
    if (arithmetic != "float" && arithmetic != "hardware")
      throw ConfigError(path + ": starc.arithmetic: expected float or hardware, got '" +
                        arithmetic + "'");
    p.starc.kmeans.hardware_arithmetic = arithmetic == "hardware";
    p.starc.aligned_layout = o.boolean("aligned_layout");
    const std::string score = o.str("cluster_score");
    if (score != "centroid" && score != "oracle_max")
      throw ConfigError(path + ": starc.cluster_score: expected centroid or oracle_max, got '" +
                        score + "'");
    p.starc.oracle_cluster_score = score == "oracle_max";
    if (p.starc.kmeans.clusters > p.starc.kmeans.block_tokens)
      throw ConfigError(path + ": starc: more clusters than tokens in a block");
    o.finish();
  }
  {
    auto o = section("tidal");
    p.tidal.dense_layers = int(o.integer("dense_layers", 0, kLayers));
    p.tidal.selection_layer = int(o.integer("selection_layer", 0, kLayers));
    p.tidal.reselection_layer = int(o.integer("reselection_layer", -1, kLayers));
    o.finish();
  }
  {
    auto o = section("lfps");
    p.lfps.dense_layers = int(o.integer("dense_layers", 0, kLayers));
    p.lfps.expansion = int(o.integer("expansion", 0, 1 << 20));
    p.lfps.sinks = int(o.integer("sinks", 0, 1 << 20));
    p.lfps.recent_window = int(o.integer("recent_window", 0, 1 << 20));
    p.lfps.refresh_interval = int(o.integer("refresh_interval", 0, 1 << 20));
    p.lfps.min_candidates_factor = o.number("min_candidates_factor", 0.0, 1e6);
    o.finish();
  }
  {
    auto o = section("starc_lfps");
    p.starc_lfps.history_fraction = o.number("history_fraction", 1e-6, 1.0);
    o.finish();
  }
  {
    auto o = section("index_prediction");
    const std::string scores = o.str("scores");
    if (scores != "float" && scores != "fp16")
      throw ConfigError(path + ": index_prediction.scores: expected float or fp16, got '" +
                        scores + "'");
    p.index_prediction.fp16_scores = scores == "fp16";
    o.finish();
  }
  top.finish();
  return p;
}

}  // namespace sparsepim::policy
