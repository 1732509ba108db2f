#pragma once
// The sparse-attention policy library (DESIGN.md 3): plain C++, no SystemC. It is the golden
// model of the cluster-mapping and index-prediction units and what the host attention
// controller asks which tokens to attend.
//
// One call per decode step, layer and KV head: given the group's queries and a view of that
// KV head's cache (keys, values and the metadata stored beside them: cluster summaries, page
// summaries), a policy returns the positions each query head attends and the work the
// selection needed (keys scanned, metadata scored, tokens fetched), from which the hardware
// model derives rows, banks and commands through the storage layout (kv_cache.h).
//
// Calls for one (layer, KV head) must come in increasing step order, and calls for one step in
// increasing layer order (TidalDecode reuses an earlier layer's positions). Any interleaving
// that respects both works: layer-major (the accuracy evaluator) or step-major (the decode
// simulation).
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/policy/kv_cache.h"
#include "models/policy/policy_params.h"

namespace sparsepim::policy {

// The model a policy runs on.
struct ModelShape {
  int layers = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int tidal_reselection_layer = 0;  // 0 = none published (then tidal.reselection_layer rules)
  int group() const { return q_heads / kv_heads; }
};

// The inputs of one step for one KV head.
struct StepInput {
  int64_t position = 0;  // the current token t; the cache holds tokens 0..t (n = t + 1)
  int layer = 0;
  int kv_head = 0;
  int first_q_head = 0;  // query heads first_q_head .. first_q_head + group - 1
  int group = 1;
  const float* queries = nullptr;  // [group][head_dim], post-RoPE
  KvCache* cache = nullptr;        // length() == position + 1
  ScoreCache* scores = nullptr;    // exact scores of these queries over this cache
  // Record the data of the index-prediction unit's commands in SelectionWork::ipu (the decode
  // simulation's --units clocked check); off: counts only.
  bool record_ipu = false;

  int64_t n() const { return position + 1; }
  const float* query(int g) const { return queries + int64_t(g) * cache->head_dim(); }
};

// What a selection cost, per KV head (the G query heads share every read).
struct SelectionWork {
  // Stored keys read and scored to choose (a selection scan), ascending positions: all n for a
  // full scan, the candidates for LFPS, none for Quest and STARC. key_channels: channels read
  // per scanned key (head_dim, or SparQ's r).
  std::vector<uint32_t> scanned;
  int key_channels = 0;
  // Summaries scored instead of keys: STARC centroids, Quest page min/max pairs.
  int64_t metadata_items = 0;
  int64_t metadata_bytes = 0;  // FP16 as stored
  // History read from the index-prediction unit (LFPS, TidalDecode reuse), in positions.
  int64_t history_positions = 0;
  // The union over the group of the positions attended: their keys are scored exactly (unless
  // already scanned) and their values read.
  std::vector<uint32_t> fetched;
  // What the index-prediction unit does for each query head (its cycle model, models/ipu), in
  // this order: PREDICT candidates from `history` stored positions; SELECT the best k of `pairs`
  // scored positions (append: the current token n - 1 after them) and store the answer as the
  // head's history; REUSE: hand out the `reused` stored positions.
  struct IpuCall {
    bool predict = false, select = false, reuse = false;
    uint32_t history = 0, candidates = 0, pairs = 0, k = 0, reused = 0;
    bool append = false;
    // The history the unit's position store keeps for these commands: query head q_head's
    // selection at layer history_layer (LFPS: this layer; TidalDecode: its selection layer).
    int q_head = 0, history_layer = 0;
    // The commands' data, only with StepInput::record_ipu (else empty): PREDICT's answer as the
    // library computed it (the candidates); SELECT's pairs in streaming order (positions, and
    // scores in FP16 as the unit receives them) and its answer as the library chose it (what the
    // unit stores); REUSE's answer.
    std::vector<uint32_t> predicted, pair_positions, selected, reused_positions;
    std::vector<uint16_t> pair_scores;
  };
  std::vector<IpuCall> ipu;
};

struct Selection {
  // Per query head of the group: ascending, distinct positions in [0, n).
  std::vector<std::vector<uint32_t>> positions;
  SelectionWork work;
  bool dense = false;  // every head attends all n tokens
  void clear(int group);
};

class Policy {
 public:
  virtual ~Policy() = default;
  const std::string& name() const { return name_; }
  int64_t budget() const { return budget_; }
  // A new budget from the next step on (replaying published per-step token counts).
  void set_budget(int64_t budget) {
    if (budget < 1) throw std::invalid_argument("policy budget below 1");
    budget_ = budget;
  }
  // Chooses the positions of one step; fills out (which is cleared first).
  virtual void select(const StepInput& in, Selection* out) = 0;
  // The storage layout this policy needs: token order, or STARC's cluster order.
  virtual bool cluster_layout() const { return false; }

 protected:
  Policy(std::string name, int64_t budget) : name_(std::move(name)), budget_(budget) {}
  std::string name_;
  int64_t budget_;
};

// The policy names make_policy knows, in presentation order.
const std::vector<std::string>& policy_names();

// A policy by name with budget B tokens per query head (B >= 1; B >= n means dense for that
// step). ConfigError for an unknown name, a bad budget or parameters that do not fit the
// model (e.g. a re-selection layer beyond it).
std::unique_ptr<Policy> make_policy(const std::string& name, int64_t budget,
                                    const PolicyParams& params, const ModelShape& model);

}  // namespace sparsepim::policy
