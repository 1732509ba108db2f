#pragma once
// Parameters of the synthetic decode-workload generator (configs/workloads/synthetic.json).
// docs/workloads.md explains each one, its default and why; the JSON carries the same notes.
#include <string>
#include <vector>

namespace sparsepim::workloads {

// How strongly a head shows each structure, in logits (score units: q.k / sqrt(d)).
struct HeadKindParams {
  double sink_logit = 0;              // score of a sink token
  double local_logit = 0;             // peak of the local-window kernel (offset 0)
  double slash_logit = 0;             // peak of each slash line (offset != 0)
  double ripple_logit = 0;            // std of the random-phase positional texture
  int ripple_min_tokens = 1;          // texture made of the pairs with 1/omega in [min, max]:
  int ripple_max_tokens = 16;         // its smallest and largest feature, in offsets
  double positional_fresh_logit = 0;  // std of the per-step positional noise
  double hh_logit = 0;                // score of a heavy hitter of strength 1
  double bulk_logit = 0;              // std of the semantic (cluster) score across keys
  double bulk_fresh_share = 0;        // share of the semantic score variance redrawn every step
};

struct SyntheticParams {
  std::string name;
  std::string source_file;

  // Rotary-pair roles. The slowest pair carries salience (sinks, heavy hitters); the next
  // slowest semantic_pair_fraction of the pairs carry the clustered semantic content; the
  // faster pairs carry position (local window, slash lines, texture).
  double semantic_pair_fraction = 0.2;
  int clusters = 64;
  int topic_run_tokens = 32;
  double token_switch_prob = 0.3;
  int early_layers = 2;

  int sink_tokens = 4;

  double key_bias_std = 2.0;
  int key_outlier_channels = 8;
  double key_outlier_magnitude = 8.0;
  double key_noise_std = 0.3;
  double key_centroid_std = 1.0;
  double key_within_cluster_std = 0.6;
  double key_sink_value = 12.0;
  double key_heavy_hitter_value = 4.0;
  double key_salience_noise_std = 0.05;

  double value_centroid_std = 1.0;
  double value_noise_std = 0.7;
  double value_sink_scale = 0.1;

  double hh_density = 0.004;
  double hh_strength_cv = 0.25;
  double hh_inherit_prob_shallow = 0.5;
  double hh_inherit_prob_deep = 0.88;
  double hh_deep_from_layer_fraction = 0.4;

  int drift_knot_tokens = 64;
  double group_query_correlation = 0.5;
  double query_constant_share = 0.9;

  int local_window_tokens = 32;
  int early_local_window_tokens = 8;
  int slash_lines = 2;
  int slash_min_offset = 16;
  int slash_max_offset = 4096;

  HeadKindParams vertical, slash, mixed, streaming, early;

  double retrieval_share = 0.91;
  double vertical_share = 0.146;
  double slash_share = 0.171;
  double head_jitter = 0.15;
};

// Loads configs/workloads/<name>.json (or a path); overrides "section.key=value". ConfigError for
// a missing, unknown or out-of-range value.
SyntheticParams load_synthetic_params(const std::string& name_or_path = "synthetic",
                                      const std::vector<std::string>& overrides = {});

}  // namespace sparsepim::workloads
