#include "workloads/strict_json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/common/errors.h"

#ifndef SPARSEPIM_CONFIG_DIR
#define SPARSEPIM_CONFIG_DIR "configs"
#endif

namespace sparsepim::workloads {

using nlohmann::json;
namespace fs = std::filesystem;

StrictObject::StrictObject(const json& j, std::string where) : j_(j), where_(std::move(where)) {
  if (!j_.is_object()) throw ConfigError(where_ + ": expected a JSON object, got " + j_.dump());
}

const json& StrictObject::get(const std::string& key) {
  used_.insert(key);
  auto it = j_.find(key);
  if (it == j_.end()) throw ConfigError(where_ + ": missing key '" + key + "'");
  return *it;
}

int64_t StrictObject::integer(const std::string& key, int64_t lo, int64_t hi) {
  const json& v = get(key);
  if (!v.is_number_integer() && !v.is_number_unsigned())
    throw ConfigError(where_ + "." + key + ": expected an integer, got " + v.dump());
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
    throw ConfigError(where_ + "." + key + ": too large: " + v.dump());
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw ConfigError(where_ + "." + key + ": must be in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], got " + std::to_string(x));
  return x;
}

double StrictObject::number(const std::string& key, double lo, double hi) {
  const json& v = get(key);
  if (!v.is_number())
    throw ConfigError(where_ + "." + key + ": expected a number, got " + v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    std::ostringstream os;
    os << where_ << "." << key << ": must be in [" << lo << ", " << hi << "], got " << v.dump();
    throw ConfigError(os.str());
  }
  return x;
}

std::string StrictObject::str(const std::string& key) {
  const json& v = get(key);
  if (!v.is_string())
    throw ConfigError(where_ + "." + key + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}

bool StrictObject::boolean(const std::string& key) {
  const json& v = get(key);
  if (!v.is_boolean())
    throw ConfigError(where_ + "." + key + ": expected true or false, got " + v.dump());
  return v.get<bool>();
}

void StrictObject::allow_docs() {
  for (const char* k : {"source", "unit", "notes", "description"}) used_.insert(k);
}

void StrictObject::finish() const {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (!used_.count(it.key())) {
      std::string known;
      for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError(where_ + ": unknown key '" + it.key() + "' (known keys: " + known + ")");
    }
  }
}

void apply_json_override(json& j, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set '" + assignment + "': expected section.key=value");
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  json* node = &j;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (!node->is_object() || !node->contains(part))
      throw ConfigError("--set '" + assignment + "': unknown key '" + path + "'");
    node = &(*node)[part];
  }
  json v;
  try {
    v = json::parse(value);
  } catch (const json::exception&) {
    v = value;  // bare words are strings
  }
  *node = v;
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open '" + path + "'");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError(path + ": invalid JSON: " + e.what());
  }
}

std::string workload_config_dir() {
  if (const char* env = std::getenv("SPARSEPIM_CONFIG_DIR"); env && *env) return env;
  return SPARSEPIM_CONFIG_DIR;
}

std::vector<std::string> preset_names(const std::string& subdir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(workload_config_dir()) / subdir, ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolve_preset(const std::string& name_or_path, const std::string& subdir,
                           const std::string& what) {
  const fs::path p = name_or_path;
  const bool looks_like_path =
      name_or_path.find('/') != std::string::npos || p.extension() == ".json";
  if (looks_like_path) {
    if (!fs::is_regular_file(p))
      throw ConfigError("cannot open " + what + " '" + name_or_path + "'");
    return p.string();
  }
  const fs::path file = fs::path(workload_config_dir()) / subdir / (name_or_path + ".json");
  if (name_or_path.empty() || !fs::is_regular_file(file)) {
    std::string known;
    for (const auto& n : preset_names(subdir)) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown " + what + " '" + name_or_path + "' (presets: " + known + ")");
  }
  return file.string();
}

}  // namespace sparsepim::workloads
