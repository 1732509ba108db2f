#pragma once
// Parameters of the sparse-attention policies, read from configs/policies/*.json (every value
// with its unit and source there). Overrides: "policy.key=value", e.g. "lfps.expansion=2".
#include <cstdint>
#include <string>
#include <vector>

namespace sparsepim::policy {

// STARC's per-block k-means (DESIGN.md 3).
struct KmeansParams {
  int block_tokens = 64;    // tokens clustered together
  int clusters = 4;         // clusters per block
  int max_iterations = 16;  // Lloyd iterations at most
  double tolerance = 1e-4;  // stop when no centroid moves this far (L2, normalised-key units)
  // false: FP32 arithmetic (kmeans.h); true: the cluster-mapping unit's integer arithmetic on
  // FP16 keys (kmeans_hw.h), bit-exact with models/cmu.
  bool hardware_arithmetic = false;
};

struct TopkParams {
  int dense_layers = 0;
};

struct SparqParams {
  int dense_layers = 0;
  double channel_fraction = 0.25;  // r = round(fraction * head_dim) largest-|q| channels, >= 1
};

struct QuestParams {
  int dense_layers = 2;
  int page_tokens = 16;
};

struct StarcParams {
  int dense_layers = 2;
  KmeansParams kmeans;
  // Each cluster starts on a row-group boundary (bank-aligned), or clusters are packed.
  bool aligned_layout = true;
  // Diagnostic only: rank clusters by their best exact score (needs every key scored; an
  // upper bound on what any cluster score could achieve) instead of the centroid score.
  bool oracle_cluster_score = false;
};

struct TidalParams {
  int dense_layers = 2;
  int selection_layer = 2;
  // The re-selection layer; 0 = the model preset's (13 for Llama-3.x, 7 for Llama-2-7B), -1 =
  // none.
  int reselection_layer = 0;
};

struct LfpsParams {
  int dense_layers = 0;
  int expansion = 1;          // w: +-w neighbours of each vertical and slash hit
  int sinks = 4;              // first tokens always candidates
  int recent_window = 64;     // last tokens always candidates
  int refresh_interval = 16;  // a full exact top-k every N steps (0: never periodically)
  // Fallback refresh when fewer than factor * B candidates are found.
  double min_candidates_factor = 1.0;
};

// starc+lfps: history = the best history_fraction * B attended tokens by exact score (computed by
// the attention itself), mapped to clusters next step.
struct StarcLfpsParams {
  double history_fraction = 0.25;
};

// The top-k of the selections the index-prediction unit makes (LFPS, TidalDecode, starc+lfps's
// history): on the FP32 scores (false), or on the scores rounded to FP16 as the unit receives
// them (true; ties to the lower position, bit-exact with models/ipu).
struct IndexPredictionParams {
  bool fp16_scores = false;
};

struct PolicyParams {
  std::string source_file;
  int row_group_tokens = 16;  // tokens per row group of the AttAcc/STARC layout
  TopkParams topk;
  SparqParams sparq;
  QuestParams quest;
  StarcParams starc;
  TidalParams tidal;
  LfpsParams lfps;
  StarcLfpsParams starc_lfps;
  IndexPredictionParams index_prediction;
};

// Loads configs/policies/<name>.json (or a path); ConfigError on an unknown or missing key or an
// out-of-range value.
PolicyParams load_policy_params(const std::string& name_or_path = "default",
                                const std::vector<std::string>& overrides = {});

}  // namespace sparsepim::policy
