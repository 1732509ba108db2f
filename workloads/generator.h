#pragma once
// The synthetic decode-workload generator: per layer, head and token, queries, keys and values
// whose attention has the structure real LLMs show (docs/workloads.md "Generator design"):
// attention sinks, a local window, heavy hitters that persist across steps and (with a set
// probability) across layers, slash lines that arise from RoPE applied to pre-RoPE vectors,
// keys clustered in a low-rank subspace with fixed outlier channels, queries that drift slowly,
// retrieval and streaming heads per layer.
//
// Every value is a pure function of (seed, layer, head, position): any slice can be produced
// on its own and in any order with identical bits. Callers stream layer by layer (or KV head by
// KV head), so memory is bounded by one slice, never by the whole KV cache.
//
// Not thread-safe (per-head constants and the RoPE table are built lazily).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/model_preset.h"
#include "workloads/synthetic_config.h"

namespace sparsepim::workloads {

enum class HeadRole { kEarly, kStreaming, kVertical, kSlash, kMixed };
const char* head_role_name(HeadRole r);
char head_role_letter(HeadRole r);  // e, t (streaming), V, S, M

class SyntheticGenerator {
 public:
  // ConfigError when the model cannot be generated (head_dim < 6).
  SyntheticGenerator(ModelPreset model, SyntheticParams params, uint64_t seed);
  ~SyntheticGenerator();

  const ModelPreset& model() const { return model_; }
  const SyntheticParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }

  // Rows [begin, end) of one layer and KV head: post-RoPE keys and values, [end-begin, head_dim]
  // row-major. k_pre (optional) receives the keys before RoPE.
  void keys_values(int layer, int kv_head, int64_t begin, int64_t end, float* k, float* v,
                   float* k_pre = nullptr);
  // The query of token `position` for one layer and query head, post-RoPE; q_pre (optional)
  // before RoPE.
  void query(int layer, int q_head, int64_t position, float* q, float* q_pre = nullptr);

  HeadRole role(int layer, int q_head);
  bool is_streaming_kv_head(int layer, int kv_head) const;
  // Whether `position` is a heavy hitter of (layer, kv_head), and its strength (mean 1).
  bool is_heavy_hitter(int layer, int kv_head, int64_t position, double* strength) const;
  // The key outlier channels the generator uses for (layer, kv_head), most outlying first.
  std::vector<int> outlier_channels(int layer, int kv_head);
  // Roles per layer and other derived facts, for reports.
  nlohmann::json describe();

 private:
  struct KvConsts;
  struct QConsts;
  const KvConsts& kv_consts(int layer, int kv_head);
  const QConsts& q_consts(int layer, int q_head);
  void ensure_rope(int64_t end);
  void rope_rotate(float* x, int64_t position) const;
  int token_cluster(int64_t position) const;
  void semantic_drift(int layer, int q_head, int64_t position, float* out);

  ModelPreset model_;
  SyntheticParams params_;
  uint64_t seed_;
  int pairs_ = 0;           // head_dim / 2
  int salience_pair_ = 0;   // the slowest pair
  int bias_pair_ = 0;       // the next slowest
  int semantic_first_ = 0;  // semantic pairs [semantic_first_, salience_pair_)
  int semantic_dims_ = 0;   // 2 x semantic pairs
  std::vector<double> freqs_;
  std::vector<float> rope_cos_, rope_sin_;  // [position][pair]
  int64_t rope_end_ = 0;
  uint64_t s_token_switch_ = 0, s_token_cluster_ = 0, s_topic_run_ = 0;
  struct HhStreams {
    uint64_t birth, survive, strength;
  };
  std::vector<HhStreams> hh_streams_;  // [layer][kv_head]
  std::vector<std::unique_ptr<KvConsts>> kv_;
  std::vector<std::unique_ptr<QConsts>> q_;
};

}  // namespace sparsepim::workloads
