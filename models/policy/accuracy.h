#pragma once
// The accuracy evaluator behind `sparsepim accuracy`: runs policies x budgets over the decode
// steps of a source (a trace or the synthetic generator) and measures, against dense attention,
// the attention-mass recall of each query head's selection, its overlap with the exact top-B,
// the relative L2 and cosine error of the attention output, and the work the selection needed
// (keys scored, tokens fetched, row groups touched in the policy's storage layout).
//
// Definitions (docs/accuracy.md): decode step t attends with q[t] over tokens 0..t. Accuracy
// metrics are averaged over steps and query heads within a layer, work metrics over steps and
// KV heads (one attention of one KV head = one unit of work); "overall" is the mean over layers.
// A selection of every token (dense layers, budgets covering the context) counts as exact:
// recall 1, overlap 1, errors 0.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/policy/policy.h"
#include "workloads/decode_source.h"

namespace sparsepim::policy {

struct AccuracyMetrics {
  double recall = 0;
  double topk_overlap = 0;
  double rel_l2_error = 0;
  double cosine = 0;                        // cosine similarity of the outputs (1 = same direction)
  double keys_scored_per_step = 0;          // key vectors scored: selection scan and attention
  double key_channels_scored_per_step = 0;  // channels read by the selection scan / head_dim
  double metadata_items_per_step = 0;       // centroids or page summaries scored
  double metadata_bytes_per_step = 0;
  double tokens_fetched_per_step = 0;     // distinct tokens attended (union over the group)
  double row_groups_per_step = 0;         // distinct row groups touched: scan and attention
  double attend_row_groups_per_step = 0;  // row groups of the attended tokens alone
  // Row groups of one query head's own positions (no GQA union): what STARC's artifact counts.
  double head_row_groups_per_step = 0;
  nlohmann::json to_json() const;
};

struct AccuracyRecord {
  std::string policy;
  int64_t budget = 0;
  AccuracyMetrics overall;
  std::vector<AccuracyMetrics> per_layer;
  nlohmann::json to_json() const;
};

struct AccuracyOptions {
  std::vector<std::string> policies;
  std::vector<int64_t> budgets;
  PolicyParams params;
  ModelShape model;
  // Per decode step (index from the first step): the budget of every policy at that step,
  // replacing `budgets` (which must then hold one entry); empty = fixed budgets.
  std::vector<int64_t> step_budgets;
  // Called with the fraction done (0..1) now and then.
  std::function<void(double)> progress;
  // Sees every selection (policy index in `policies` x `budgets` order), with the cache it was
  // made on: how the decode simulation turns selections into row plans.
  std::function<void(size_t combo, const Policy&, const StepInput&, const Selection&, KvCache&)>
      on_selection;
  // Selections record the index-prediction unit's command data (StepInput::record_ipu).
  bool record_ipu = false;
};

std::vector<AccuracyRecord> evaluate_accuracy(workloads::DecodeSource& src,
                                              const AccuracyOptions& opt);

}  // namespace sparsepim::policy
