#pragma once
// Model presets (configs/models/*.json): the attention shapes of an LLM, its RoPE, and the
// per-head attention statistics published for it (DuoAttention gates, MInference patterns,
// DoubleSparse outlier channels), each with its source.
#include <cstdint>
#include <string>
#include <vector>

namespace sparsepim::workloads {

// Which channels RoPE rotates together: "half" pairs channel i with i + d/2 (Hugging Face
// Llama/Mistral), "interleaved" pairs 2i with 2i+1 (Meta's reference code, llama2.c).
enum class RopeLayout { kHalf, kInterleaved };
enum class RopeScaling { kNone, kLinear, kLlama3 };

struct RopeConfig {
  double theta = 10000.0;
  RopeLayout layout = RopeLayout::kHalf;
  RopeScaling scaling = RopeScaling::kNone;
  double factor = 1.0;                // linear and llama3
  double low_freq_factor = 1.0;       // llama3
  double high_freq_factor = 4.0;      // llama3
  int64_t original_max_position = 0;  // llama3
};

// One MInference budget class: the number of vertical lines (key positions) and slash lines
// (relative offsets) its pattern search chose for a head.
struct PatternBudget {
  char letter = 'A';
  int64_t vertical = 0;
  int64_t slash = 0;
  // What the generator makes of a head of this class: 'V' vertical-dominant (heavy hitters),
  // 'S' slash-dominant (positional), 'M' mixed.
  char kind = 'M';
};

struct AttentionProfile {
  // DuoAttention gates [layers][kv_heads] in [0, 1]; empty when none are published.
  std::vector<std::vector<double>> retrieval_gates;
  double retrieval_gate_threshold = 0.5;
  // MInference pattern class per query head: head_patterns[layer][q_head] is a letter of
  // pattern_budgets; empty when none are published.
  std::vector<std::string> head_patterns;
  std::vector<PatternBudget> pattern_budgets;
  // DoubleSparse key outlier channels [layers][kv_heads][rank], most outlying first (pre-RoPE
  // channel indices); empty when none are published.
  std::vector<std::vector<std::vector<int>>> key_outlier_channels;
  // The layer TidalDecode re-selects tokens at (after the first selection at layer 2).
  int tidal_reselection_layer = 0;

  const PatternBudget* budget(char letter) const;
};

struct ModelPreset {
  std::string name;
  std::string source_file;
  int layers = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int64_t max_context = 0;
  RopeConfig rope;
  AttentionProfile profile;

  int group_size() const { return q_heads / kv_heads; }
};

// Loads a preset by name (configs/models/<name>.json) or path. overrides: "section.key=value".
// ConfigError for an unknown name, a missing or unknown key, or an inconsistent value.
ModelPreset load_model_preset(const std::string& name_or_path,
                              const std::vector<std::string>& overrides = {});
std::vector<std::string> model_preset_names();

// RoPE inverse frequencies (radians per token) of the head_dim/2 rotary pairs, scaling applied,
// pair 0 the fastest. Hugging Face's computation (_compute_llama3_parameters for llama3).
std::vector<double> rope_frequencies(const RopeConfig& rope, int head_dim);
// The two channels of rotary pair p.
inline int rope_channel_a(RopeLayout l, int /*head_dim*/, int p) {
  return l == RopeLayout::kHalf ? p : 2 * p;
}
inline int rope_channel_b(RopeLayout l, int head_dim, int p) {
  return l == RopeLayout::kHalf ? p + head_dim / 2 : 2 * p + 1;
}

}  // namespace sparsepim::workloads
