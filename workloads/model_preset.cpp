#include "workloads/model_preset.h"

#include <cmath>
#include <filesystem>
#include <set>

#include "models/common/errors.h"
#include "workloads/strict_json.h"

namespace sparsepim::workloads {

using nlohmann::json;

const PatternBudget* AttentionProfile::budget(char letter) const {
  for (const auto& b : pattern_budgets)
    if (b.letter == letter) return &b;
  return nullptr;
}

namespace {

RopeConfig parse_rope(const json& j, const std::string& where) {
  StrictObject o(j, where);
  o.allow_docs();
  RopeConfig r;
  r.theta = o.number("theta", 1.0, 1e12);
  const std::string layout = o.str("layout");
  if (layout == "half")
    r.layout = RopeLayout::kHalf;
  else if (layout == "interleaved")
    r.layout = RopeLayout::kInterleaved;
  else
    throw ConfigError(where + ".layout: expected \"half\" or \"interleaved\", got \"" + layout +
                      "\"");
  StrictObject s(o.get("scaling"), where + ".scaling");
  s.allow_docs();
  const std::string type = s.str("type");
  if (type == "none") {
    r.scaling = RopeScaling::kNone;
  } else if (type == "linear") {
    r.scaling = RopeScaling::kLinear;
    r.factor = s.number("factor", 1.0, 1e6);
  } else if (type == "llama3") {
    r.scaling = RopeScaling::kLlama3;
    r.factor = s.number("factor", 1.0, 1e6);
    r.low_freq_factor = s.number("low_freq_factor", 1e-6, 1e6);
    r.high_freq_factor = s.number("high_freq_factor", 1e-6, 1e6);
    r.original_max_position = s.integer("original_max_position", 1, int64_t(1) << 40);
    if (r.high_freq_factor <= r.low_freq_factor)
      throw ConfigError(where + ".scaling: high_freq_factor must exceed low_freq_factor");
  } else {
    throw ConfigError(where + ".scaling.type: expected none, linear or llama3, got \"" + type +
                      "\"");
  }
  s.finish();
  o.finish();
  return r;
}

AttentionProfile parse_profile(const json& j, const std::string& where, const ModelPreset& m) {
  StrictObject o(j, where);
  o.allow_docs();
  AttentionProfile p;
  p.tidal_reselection_layer = int(o.integer("tidal_reselection_layer", 3, m.layers - 1));

  if (o.has("retrieval_gates")) {
    StrictObject g(o.get("retrieval_gates"), where + ".retrieval_gates");
    g.allow_docs();
    p.retrieval_gate_threshold = g.number("threshold", 0.0, 1.0);
    const json& rows = g.get("gates");
    if (!rows.is_array() || int(rows.size()) != m.layers)
      throw ConfigError(where + ".retrieval_gates.gates: expected " + std::to_string(m.layers) +
                        " rows (one per layer)");
    for (size_t l = 0; l < rows.size(); ++l) {
      const json& row = rows[l];
      if (!row.is_array() || int(row.size()) != m.kv_heads)
        throw ConfigError(where + ".retrieval_gates.gates[" + std::to_string(l) + "]: expected " +
                          std::to_string(m.kv_heads) + " values (one per KV head)");
      std::vector<double> r;
      for (const auto& v : row) {
        // Learned gates land in [0, 1] up to optimiser noise (DuoAttention's Llama-2-7B-32K
        // table holds -0.0014): accept a small margin, reject anything else.
        if (!v.is_number() || v.get<double>() < -0.01 || v.get<double>() > 1.01)
          throw ConfigError(where + ".retrieval_gates.gates[" + std::to_string(l) +
                            "]: values must be numbers in [0, 1] (+-0.01), got " + v.dump());
        r.push_back(v.get<double>());
      }
      p.retrieval_gates.push_back(std::move(r));
    }
    g.finish();
  }

  if (o.has("head_patterns")) {
    StrictObject hp(o.get("head_patterns"), where + ".head_patterns");
    hp.allow_docs();
    StrictObject budgets(hp.get("budgets"), where + ".head_patterns.budgets");
    budgets.allow_docs();
    for (auto it = hp.get("budgets").begin(); it != hp.get("budgets").end(); ++it) {
      if (it.key() == "source" || it.key() == "notes" || it.key() == "unit" ||
          it.key() == "description")
        continue;
      if (it.key().size() != 1)
        throw ConfigError(where + ".head_patterns.budgets: class names are single letters, got '" +
                          it.key() + "'");
      StrictObject b(it.value(), where + ".head_patterns.budgets." + it.key());
      budgets.allow(it.key());
      PatternBudget pb;
      pb.letter = it.key()[0];
      pb.vertical = b.integer("vertical", 0, int64_t(1) << 40);
      pb.slash = b.integer("slash", 0, int64_t(1) << 40);
      const std::string kind = b.str("kind");
      if (kind != "vertical" && kind != "slash" && kind != "mixed")
        throw ConfigError(where + ".head_patterns.budgets." + it.key() +
                          ".kind: expected vertical, slash or mixed, got \"" + kind + "\"");
      pb.kind = kind == "vertical" ? 'V' : kind == "slash" ? 'S' : 'M';
      b.finish();
      p.pattern_budgets.push_back(pb);
    }
    budgets.finish();
    const json& layers = hp.get("layers");
    if (!layers.is_array() || int(layers.size()) != m.layers)
      throw ConfigError(where + ".head_patterns.layers: expected " + std::to_string(m.layers) +
                        " strings (one per layer)");
    for (size_t l = 0; l < layers.size(); ++l) {
      if (!layers[l].is_string() || int(layers[l].get<std::string>().size()) != m.q_heads)
        throw ConfigError(where + ".head_patterns.layers[" + std::to_string(l) +
                          "]: expected a string of " + std::to_string(m.q_heads) +
                          " class letters (one per query head)");
      const std::string s = layers[l].get<std::string>();
      for (char c : s)
        if (!p.budget(c))
          throw ConfigError(where + ".head_patterns.layers[" + std::to_string(l) +
                            "]: unknown class '" + std::string(1, c) + "'");
      p.head_patterns.push_back(s);
    }
    hp.finish();
  }

  if (o.has("key_outlier_channels")) {
    StrictObject kc(o.get("key_outlier_channels"), where + ".key_outlier_channels");
    kc.allow_docs();
    const json& layers = kc.get("channels");
    if (!layers.is_array() || int(layers.size()) != m.layers)
      throw ConfigError(where + ".key_outlier_channels.channels: expected " +
                        std::to_string(m.layers) + " entries (one per layer)");
    for (size_t l = 0; l < layers.size(); ++l) {
      const std::string at = where + ".key_outlier_channels.channels[" + std::to_string(l) + "]";
      if (!layers[l].is_array() || int(layers[l].size()) != m.kv_heads)
        throw ConfigError(at + ": expected " + std::to_string(m.kv_heads) +
                          " lists (one per KV head)");
      std::vector<std::vector<int>> heads;
      for (const auto& h : layers[l]) {
        if (!h.is_array() || h.empty())
          throw ConfigError(at + ": each KV head needs a non-empty list of channels");
        std::vector<int> ch;
        std::set<int> seen;
        for (const auto& c : h) {
          if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() >= m.head_dim)
            throw ConfigError(at + ": channels must be integers in [0, " +
                              std::to_string(m.head_dim) + "), got " + c.dump());
          if (!seen.insert(c.get<int>()).second)
            throw ConfigError(at + ": channel " + c.dump() + " listed twice");
          ch.push_back(c.get<int>());
        }
        heads.push_back(std::move(ch));
      }
      p.key_outlier_channels.push_back(std::move(heads));
    }
    kc.finish();
  }
  o.finish();
  return p;
}

}  // namespace

ModelPreset load_model_preset(const std::string& name_or_path,
                              const std::vector<std::string>& overrides) {
  const std::string path = resolve_preset(name_or_path, "models", "model");
  json j = read_json_file(path);
  for (const auto& kv : overrides) apply_json_override(j, kv);
  const std::string where = std::filesystem::path(path).filename().string();

  StrictObject top(j, where);
  top.allow_docs();
  ModelPreset m;
  m.source_file = path;
  m.name = top.str("name");
  {
    StrictObject a(top.get("architecture"), where + ": architecture");
    a.allow_docs();
    m.layers = int(a.integer("layers", 1, 1024));
    m.q_heads = int(a.integer("q_heads", 1, 1024));
    m.kv_heads = int(a.integer("kv_heads", 1, 1024));
    m.head_dim = int(a.integer("head_dim", 2, 1024));
    m.max_context = a.integer("max_context", 1, int64_t(1) << 32);
    a.finish();
    if (m.q_heads % m.kv_heads != 0)
      throw ConfigError(where + ": architecture: q_heads (" + std::to_string(m.q_heads) +
                        ") must be a multiple of kv_heads (" + std::to_string(m.kv_heads) + ")");
    if (m.head_dim % 2 != 0)
      throw ConfigError(where + ": architecture.head_dim must be even (RoPE rotates pairs)");
  }
  m.rope = parse_rope(top.get("rope"), where + ": rope");
  if (m.layers < 4)
    throw ConfigError(where + ": architecture.layers: the workload model needs at least 4 layers");
  m.profile = parse_profile(top.get("attention_profile"), where + ": attention_profile", m);
  top.finish();
  return m;
}

std::vector<std::string> model_preset_names() {
  return preset_names("models");
}

std::vector<double> rope_frequencies(const RopeConfig& rope, int head_dim) {
  const int pairs = head_dim / 2;
  std::vector<double> f(static_cast<size_t>(pairs), 0.0);
  const double two_pi = 2.0 * M_PI;
  for (int p = 0; p < pairs; ++p) {
    const double freq = std::pow(rope.theta, -2.0 * p / head_dim);
    double out = freq;
    if (rope.scaling == RopeScaling::kLinear) {
      out = freq / rope.factor;
    } else if (rope.scaling == RopeScaling::kLlama3) {
      const double old_len = double(rope.original_max_position);
      const double low_wavelen = old_len / rope.low_freq_factor;
      const double high_wavelen = old_len / rope.high_freq_factor;
      const double wavelen = two_pi / freq;
      if (wavelen < high_wavelen) {
        out = freq;
      } else if (wavelen > low_wavelen) {
        out = freq / rope.factor;
      } else {
        const double smooth = (old_len / wavelen - rope.low_freq_factor) /
                              (rope.high_freq_factor - rope.low_freq_factor);
        out = (1.0 - smooth) * freq / rope.factor + smooth * freq;
      }
    }
    f[size_t(p)] = out;
  }
  return f;
}

}  // namespace sparsepim::workloads
