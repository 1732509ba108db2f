#include "workloads/synthetic_config.h"

#include <filesystem>

#include "models/common/errors.h"
#include "workloads/strict_json.h"

namespace sparsepim::workloads {

using nlohmann::json;

namespace {

constexpr double kMaxLogit = 60.0;  // beyond this exp() of a score difference overflows float

HeadKindParams parse_kind(const json& j, const std::string& where) {
  StrictObject o(j, where);
  o.allow_docs();
  HeadKindParams k;
  k.sink_logit = o.number("sink_logit", 0, kMaxLogit);
  k.local_logit = o.number("local_logit", 0, kMaxLogit);
  k.slash_logit = o.number("slash_logit", 0, kMaxLogit);
  k.ripple_logit = o.number("ripple_logit", 0, kMaxLogit);
  k.ripple_min_tokens = int(o.integer("ripple_min_tokens", 1, 1 << 30));
  k.ripple_max_tokens = int(o.integer("ripple_max_tokens", 1, 1 << 30));
  if (k.ripple_max_tokens < k.ripple_min_tokens)
    throw ConfigError(where + ": ripple_max_tokens < ripple_min_tokens");
  k.positional_fresh_logit = o.number("positional_fresh_logit", 0, kMaxLogit);
  k.hh_logit = o.number("hh_logit", 0, kMaxLogit);
  k.bulk_logit = o.number("bulk_logit", 0, kMaxLogit);
  k.bulk_fresh_share = o.number("bulk_fresh_share", 0, 1);
  o.finish();
  return k;
}

}  // namespace

SyntheticParams load_synthetic_params(const std::string& name_or_path,
                                      const std::vector<std::string>& overrides) {
  const std::string path = resolve_preset(name_or_path, "workloads", "workload config");
  json j = read_json_file(path);
  for (const auto& kv : overrides) apply_json_override(j, kv);
  const std::string where = std::filesystem::path(path).filename().string();
  StrictObject top(j, where);
  top.allow_docs();
  SyntheticParams p;
  p.source_file = path;
  p.name = top.str("name");
  {
    StrictObject o(top.get("structure"), where + ": structure");
    o.allow_docs();
    p.semantic_pair_fraction = o.number("semantic_pair_fraction", 0.0, 0.9);
    p.clusters = int(o.integer("clusters", 1, 1 << 16));
    p.topic_run_tokens = int(o.integer("topic_run_tokens", 1, 1 << 30));
    p.token_switch_prob = o.number("token_switch_prob", 0, 1);
    p.early_layers = int(o.integer("early_layers", 0, 1024));
    o.finish();
  }
  {
    StrictObject o(top.get("sinks"), where + ": sinks");
    o.allow_docs();
    p.sink_tokens = int(o.integer("tokens", 0, 1 << 20));
    o.finish();
  }
  {
    StrictObject o(top.get("keys"), where + ": keys");
    o.allow_docs();
    p.key_bias_std = o.number("bias_std", 0, 1e3);
    p.key_outlier_channels = int(o.integer("outlier_channels", 0, 1024));
    p.key_outlier_magnitude = o.number("outlier_magnitude", 0, 1e3);
    p.key_noise_std = o.number("noise_std", 0, 1e3);
    p.key_centroid_std = o.number("centroid_std", 0, 1e3);
    p.key_within_cluster_std = o.number("within_cluster_std", 0, 1e3);
    p.key_sink_value = o.number("sink_value", 1e-3, 1e3);
    p.key_heavy_hitter_value = o.number("heavy_hitter_value", 1e-3, 1e3);
    p.key_salience_noise_std = o.number("salience_noise_std", 0, 1e3);
    o.finish();
    if (p.key_centroid_std == 0 && p.key_within_cluster_std == 0)
      throw ConfigError(where +
                        ": keys: centroid_std and within_cluster_std cannot both be 0 "
                        "(the semantic subspace would be empty)");
  }
  {
    StrictObject o(top.get("values"), where + ": values");
    o.allow_docs();
    p.value_centroid_std = o.number("centroid_std", 0, 1e3);
    p.value_noise_std = o.number("noise_std", 0, 1e3);
    p.value_sink_scale = o.number("sink_scale", 0, 1e3);
    o.finish();
  }
  {
    StrictObject o(top.get("heavy_hitters"), where + ": heavy_hitters");
    o.allow_docs();
    p.hh_density = o.number("density", 0, 1);
    p.hh_strength_cv = o.number("strength_cv", 0, 10);
    p.hh_inherit_prob_shallow = o.number("inherit_prob_shallow", 0, 1);
    p.hh_inherit_prob_deep = o.number("inherit_prob_deep", 0, 1);
    p.hh_deep_from_layer_fraction = o.number("deep_from_layer_fraction", 0, 1);
    o.finish();
  }
  {
    StrictObject o(top.get("queries"), where + ": queries");
    o.allow_docs();
    p.drift_knot_tokens = int(o.integer("drift_knot_tokens", 1, 1 << 30));
    p.group_query_correlation = o.number("group_query_correlation", 0, 1);
    p.query_constant_share = o.number("constant_share", 0, 0.999);
    o.finish();
  }
  {
    StrictObject o(top.get("positional"), where + ": positional");
    o.allow_docs();
    p.local_window_tokens = int(o.integer("local_window_tokens", 1, 1 << 30));
    p.early_local_window_tokens = int(o.integer("early_local_window_tokens", 1, 1 << 30));
    p.slash_lines = int(o.integer("slash_lines", 0, 64));
    p.slash_min_offset = int(o.integer("slash_min_offset", 1, 1 << 30));
    p.slash_max_offset = int(o.integer("slash_max_offset", 1, 1 << 30));
    o.finish();
    if (p.slash_max_offset < p.slash_min_offset)
      throw ConfigError(where + ": positional: slash_max_offset (" +
                        std::to_string(p.slash_max_offset) + ") < slash_min_offset (" +
                        std::to_string(p.slash_min_offset) + ")");
  }
  {
    StrictObject o(top.get("head_kinds"), where + ": head_kinds");
    o.allow_docs();
    p.vertical = parse_kind(o.get("vertical"), where + ": head_kinds.vertical");
    p.mixed = parse_kind(o.get("mixed"), where + ": head_kinds.mixed");
    p.slash = parse_kind(o.get("slash"), where + ": head_kinds.slash");
    p.streaming = parse_kind(o.get("streaming"), where + ": head_kinds.streaming");
    p.early = parse_kind(o.get("early"), where + ": head_kinds.early");
    o.finish();
  }
  {
    StrictObject o(top.get("roles"), where + ": roles");
    o.allow_docs();
    p.retrieval_share = o.number("retrieval_share", 0, 1);
    p.vertical_share = o.number("vertical_share", 0, 1);
    p.slash_share = o.number("slash_share", 0, 1);
    p.head_jitter = o.number("head_jitter", 0, 2);
    o.finish();
    if (p.vertical_share + p.slash_share > 1.0)
      throw ConfigError(where + ": roles: vertical_share + slash_share exceeds 1");
  }
  top.finish();
  return p;
}

}  // namespace sparsepim::workloads
