#pragma once
// Strict reading of JSON configs (model presets, generator parameters): every key must be known,
// every value is type- and range-checked, and every error names the file and the key. The same
// standard as the memory presets (models/hbm/memory_config.cpp).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace sparsepim::workloads {

// Reads the keys of one JSON object, remembers which were used, and rejects the rest in
// finish(), so that a misspelt key is an error instead of a silently ignored value.
class StrictObject {
 public:
  StrictObject(const nlohmann::json& j, std::string where);

  bool has(const std::string& key) const { return j_.contains(key); }
  const nlohmann::json& get(const std::string& key);
  // Integer in [lo, hi].
  int64_t integer(const std::string& key, int64_t lo, int64_t hi);
  // Finite number in [lo, hi].
  double number(const std::string& key, double lo, double hi);
  std::string str(const std::string& key);
  bool boolean(const std::string& key);
  // Documentation keys every section may carry: source, unit, notes, description.
  void allow_docs();
  void allow(const std::string& key) { used_.insert(key); }
  // Throws ConfigError for the first key that was never read or allowed.
  void finish() const;
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& j_;
  std::string where_;
  std::set<std::string> used_;
};

// Applies one "a.b.c=value" override to a parsed config; the path must exist already (an
// override cannot add keys). A value that does not parse as JSON is taken as a string.
void apply_json_override(nlohmann::json& j, const std::string& assignment);

// Parses a JSON file; ConfigError if it cannot be opened or parsed.
nlohmann::json read_json_file(const std::string& path);

// The config directory: $SPARSEPIM_CONFIG_DIR, else the one compiled in.
std::string workload_config_dir();

// Resolves a preset name ("llama-3.1-8b") or a path (contains '/' or ends in .json) to a file
// under <config dir>/<subdir>; ConfigError listing the presets when the name is unknown.
std::string resolve_preset(const std::string& name_or_path, const std::string& subdir,
                           const std::string& what);

// Stems of the *.json files under <config dir>/<subdir>, sorted.
std::vector<std::string> preset_names(const std::string& subdir);

}  // namespace sparsepim::workloads
