#include "hbm/memory_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/errors.h"

#ifndef SPARSEPIM_CONFIG_DIR
#define SPARSEPIM_CONFIG_DIR "configs"
#endif

namespace sparsepim::hbm {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Reads the keys of one JSON object, remembers which were used, and rejects the rest, so that
// a misspelt key is an error instead of a silently ignored value.
class StrictObject {
 public:
  StrictObject(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw ConfigError(where_ + ": expected a JSON object");
  }
  const json& get(const std::string& key) {
    used_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) throw ConfigError(where_ + ": missing key '" + key + "'");
    return *it;
  }
  void allow(const std::string& key) { used_.insert(key); }
  uint32_t u32(const std::string& key, bool allow_zero = false) {
    const json& v = get(key);
    if (!v.is_number_integer() && !v.is_number_unsigned())
      throw ConfigError(where_ + "." + key + ": expected an integer, got " + v.dump());
    const int64_t x = v.get<int64_t>();
    if (x < 0 || (!allow_zero && x == 0))
      throw ConfigError(where_ + "." + key + ": must be " +
                        (allow_zero ? "non-negative" : "positive") + ", got " + std::to_string(x));
    if (x > int64_t(UINT32_MAX)) throw ConfigError(where_ + "." + key + ": too large");
    return uint32_t(x);
  }
  double number(const std::string& key, bool allow_zero = true) {
    const json& v = get(key);
    if (!v.is_number())
      throw ConfigError(where_ + "." + key + ": expected a number, got " + v.dump());
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < 0 || (!allow_zero && x == 0))
      throw ConfigError(where_ + "." + key + ": must be " +
                        (allow_zero ? "non-negative" : "positive") + ", got " + v.dump());
    return x;
  }
  std::string str(const std::string& key) {
    const json& v = get(key);
    if (!v.is_string())
      throw ConfigError(where_ + "." + key + ": expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  // Documentation keys every section may carry.
  void allow_docs() {
    for (const char* k : {"source", "unit", "notes", "description"}) used_.insert(k);
  }
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!used_.count(it.key())) {
        std::string known;
        for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
        throw ConfigError(where_ + ": unknown key '" + it.key() + "' (known keys: " + known + ")");
      }
    }
  }

 private:
  const json& j_;
  std::string where_;
  std::set<std::string> used_;
};

bool is_pow2(uint64_t x) {
  return x && !(x & (x - 1));
}
uint32_t log2u(uint64_t x) {
  uint32_t n = 0;
  while (x > 1) x >>= 1, ++n;
  return n;
}

void require(bool ok, const std::string& msg) {
  if (!ok) throw ConfigError(msg);
}

Organization parse_org(const json& j, const std::string& where) {
  StrictObject o(j, where);
  o.allow_docs();
  Organization org;
  org.channels = o.u32("channels");
  org.pseudo_channels = o.u32("pseudo_channels");
  org.sids = o.u32("sids");
  org.bank_groups = o.u32("bank_groups");
  org.banks_per_group = o.u32("banks_per_group");
  org.rows = o.u32("rows");
  org.columns = o.u32("columns");
  org.bytes_per_column = o.u32("bytes_per_column");
  o.finish();
  // The address mapping assigns whole bit fields, so every dimension must be a power of two.
  const std::pair<const char*, uint32_t> dims[] = {{"channels", org.channels},
                                                   {"pseudo_channels", org.pseudo_channels},
                                                   {"sids", org.sids},
                                                   {"bank_groups", org.bank_groups},
                                                   {"banks_per_group", org.banks_per_group},
                                                   {"rows", org.rows},
                                                   {"columns", org.columns},
                                                   {"bytes_per_column", org.bytes_per_column}};
  for (const auto& [name, v] : dims)
    require(is_pow2(v), where + "." + name +
                            ": must be a power of two for the address mapping, got " +
                            std::to_string(v));
  require(org.pseudo_channels <= 8, where + ".pseudo_channels: at most 8 supported");
  require(org.banks_per_pc() <= 64, where +
                                        ": at most 64 banks per pseudo-channel supported, got " +
                                        std::to_string(org.banks_per_pc()));
  require(org.channels <= 4096, where + ".channels: at most 4096 supported");
  require(org.capacity_bytes() <= (uint64_t(1) << 48), where + ": capacity exceeds 2^48 bytes");
  return org;
}

Timing parse_timing(const json& j, const std::string& where) {
  StrictObject o(j, where);
  o.allow_docs();
  Timing t;
  t.tCK_ns = o.number("tCK_ns", /*allow_zero=*/false);
  t.BL = o.u32("BL");
  t.CL = o.u32("CL");
  t.CWL = o.u32("CWL");
  t.RCD_RD = o.u32("RCD_RD");
  t.RCD_WR = o.u32("RCD_WR");
  t.RP = o.u32("RP");
  t.RAS = o.u32("RAS");
  t.RC = o.u32("RC");
  t.WR = o.u32("WR");
  t.RTP_S = o.u32("RTP_S");
  t.RTP_L = o.u32("RTP_L");
  t.CCD_S = o.u32("CCD_S");
  t.CCD_L = o.u32("CCD_L");
  t.CCD_R = o.u32("CCD_R");
  t.RRD_S = o.u32("RRD_S");
  t.RRD_L = o.u32("RRD_L");
  t.FAW = o.u32("FAW");
  t.WTR_S = o.u32("WTR_S");
  t.WTR_L = o.u32("WTR_L");
  t.RTW = o.u32("RTW");
  t.RFC = o.u32("RFC");
  t.RFC_PB = o.u32("RFC_PB");
  t.REFI = o.u32("REFI");
  t.REFI_PB = o.u32("REFI_PB");
  t.RREFD = o.u32("RREFD");
  t.ACT_BUS = o.u32("ACT_BUS");
  t.CCDAB = o.u32("CCDAB", /*allow_zero=*/true);
  o.finish();

  auto le = [&](const char* a, uint32_t va, const char* b, uint32_t vb) {
    require(va <= vb, where + ": " + a + " (" + std::to_string(va) + ") > " + b + " (" +
                          std::to_string(vb) + ") contradicts itself");
  };
  le("RAS", t.RAS, "RC", t.RC);
  le("RCD_RD", t.RCD_RD, "RAS", t.RAS);
  le("RCD_WR", t.RCD_WR, "RAS", t.RAS);
  le("RP", t.RP, "RC", t.RC);
  le("CCD_S", t.CCD_S, "CCD_L", t.CCD_L);
  le("RRD_S", t.RRD_S, "RRD_L", t.RRD_L);
  le("WTR_S", t.WTR_S, "WTR_L", t.WTR_L);
  le("RTP_S", t.RTP_S, "RTP_L", t.RTP_L);
  le("RRD_S", t.RRD_S, "FAW", t.FAW);
  le("RFC_PB", t.RFC_PB, "RFC", t.RFC);
  le("RFC", t.RFC, "REFI", t.REFI);
  // Two bursts on one data bus cannot overlap.
  le("BL", t.BL, "CCD_S", t.CCD_S);
  le("BL", t.BL, "CCD_R", t.CCD_R);
  require(t.ACT_BUS >= 1 && t.ACT_BUS <= t.RRD_S + 1,
          where + ": ACT_BUS must be between 1 and RRD_S+1 cycles");
  require(t.tCK_ns >= 0.1 && t.tCK_ns <= 100, where + ".tCK_ns: outside 0.1..100 ns");
  return t;
}

PimConfig parse_pim(const json& j, const std::string& where, const Organization& org) {
  StrictObject o(j, where);
  o.allow_docs();
  PimConfig p;
  const std::string scope = o.str("scope");
  if (scope == "none")
    p.scope = PimScope::kNone;
  else if (scope == "pseudo_channel")
    p.scope = PimScope::kPseudoChannel;
  else if (scope == "channel")
    p.scope = PimScope::kChannel;
  else
    throw ConfigError(where + ".scope: expected none, pseudo_channel or channel, got '" + scope +
                      "'");
  p.lanes = o.u32("lanes", true);
  p.banks_per_unit = o.u32("banks_per_unit", true);
  p.query_slots = o.u32("query_slots", true);
  o.finish();
  if (p.scope != PimScope::kNone) {
    require(p.lanes > 0, where + ".lanes: must be positive when PIM is present");
    require(p.banks_per_unit == 1 || p.banks_per_unit == 2,
            where + ".banks_per_unit: must be 1 or 2 when PIM is present");
    require(p.query_slots >= 1, where + ".query_slots: must be at least 1 when PIM is present");
    require(p.lanes * 2 == org.bytes_per_column,
            where + ".lanes: 16-bit lanes must cover one column (" +
                std::to_string(org.bytes_per_column) + " B)");
  }
  return p;
}

EnergyConfig parse_energy(const json& j, const std::string& where) {
  StrictObject o(j, where);
  o.allow_docs();
  EnergyConfig e;
  e.act_pre_pJ_per_bit = o.number("act_pre_pJ_per_bit");
  e.cell_rw_pJ_per_bit = o.number("cell_rw_pJ_per_bit");
  e.coldec_to_bgmux_pJ_per_bit = o.number("coldec_to_bgmux_pJ_per_bit");
  e.bgmux_to_gio_pJ_per_bit = o.number("bgmux_to_gio_pJ_per_bit");
  e.tsv_pJ_per_bit = o.number("tsv_pJ_per_bit");
  e.interposer_pJ_per_bit = o.number("interposer_pJ_per_bit");
  e.pim_mac_pJ_per_op = o.number("pim_mac_pJ_per_op");
  e.background_mW_per_pc = o.number("background_mW_per_pc");
  e.refresh_window_ms = o.number("refresh_window_ms", /*allow_zero=*/false);
  o.finish();
  return e;
}

ControllerConfig parse_controller(const json& j, const std::string& where) {
  StrictObject o(j, where);
  o.allow_docs();
  ControllerConfig c;
  c.read_queue = o.u32("read_queue");
  c.write_queue = o.u32("write_queue");
  c.write_high_watermark = o.u32("write_high_watermark");
  c.write_low_watermark = o.u32("write_low_watermark", true);
  c.age_cap_cycles = o.u32("age_cap_cycles");
  const std::string page = o.str("page_policy");
  if (page == "open")
    c.page_policy = PagePolicy::kOpen;
  else if (page == "closed")
    c.page_policy = PagePolicy::kClosed;
  else
    throw ConfigError(where + ".page_policy: expected open or closed, got '" + page + "'");
  const std::string ref = o.str("refresh");
  if (ref == "all_bank")
    c.refresh = RefreshMode::kAllBank;
  else if (ref == "per_bank")
    c.refresh = RefreshMode::kPerBank;
  else if (ref == "off")
    c.refresh = RefreshMode::kOff;
  else
    throw ConfigError(where + ".refresh: expected all_bank, per_bank or off, got '" + ref + "'");
  o.finish();
  require(c.read_queue <= 1024 && c.write_queue <= 1024,
          where + ": queues hold at most 1024 entries");
  require(c.write_low_watermark < c.write_high_watermark,
          where + ": write_low_watermark must be below write_high_watermark");
  require(c.write_high_watermark <= c.write_queue,
          where + ": write_high_watermark exceeds write_queue");
  return c;
}

std::vector<AddrSlice> parse_mapping(const json& j, const std::string& where,
                                     const Organization& org) {
  StrictObject o(j, where);
  o.allow_docs();
  const json& list = o.get("lsb_first");
  o.finish();
  if (!list.is_array() || list.empty())
    throw ConfigError(where + ".lsb_first: expected a non-empty array of field names");
  struct FieldInfo {
    const char* name;
    AddrField f;
    uint32_t width;
  };
  const FieldInfo fields[] = {
      {"offset", AddrField::kOffset, log2u(org.bytes_per_column)},
      {"column", AddrField::kColumn, log2u(org.columns)},
      {"bank", AddrField::kBank, log2u(org.banks_per_group)},
      {"bank_group", AddrField::kBankGroup, log2u(org.bank_groups)},
      {"sid", AddrField::kSid, log2u(org.sids)},
      {"pseudo_channel", AddrField::kPseudoChannel, log2u(org.pseudo_channels)},
      {"row", AddrField::kRow, log2u(org.rows)},
      {"channel", AddrField::kChannel, log2u(org.channels)}};
  uint32_t assigned[8] = {};
  std::vector<AddrSlice> out;
  for (const auto& e : list) {
    if (!e.is_string())
      throw ConfigError(where + ".lsb_first: entries must be strings, got " + e.dump());
    std::string name = e.get<std::string>();
    int64_t bits = -1;
    if (auto colon = name.find(':'); colon != std::string::npos) {
      const std::string n = name.substr(colon + 1);
      char* end = nullptr;
      bits = std::strtol(n.c_str(), &end, 10);
      if (n.empty() || *end || bits <= 0)
        throw ConfigError(where + ".lsb_first: bad bit count in '" + name + "'");
      name = name.substr(0, colon);
    }
    const FieldInfo* fi = nullptr;
    for (const auto& f : fields)
      if (name == f.name) fi = &f;
    if (!fi)
      throw ConfigError(
          where + ".lsb_first: unknown field '" + name +
          "' (fields: offset, column, bank, bank_group, sid, pseudo_channel, row, channel)");
    const uint32_t k = uint32_t(fi->f);
    const uint32_t remaining = fi->width - assigned[k];
    const uint32_t take = bits < 0 ? remaining : uint32_t(bits);
    if (take > remaining)
      throw ConfigError(where + ".lsb_first: field '" + name + "' has " +
                        std::to_string(fi->width) + " bits but more are assigned");
    if (bits < 0 && remaining == 0 && fi->width > 0)
      throw ConfigError(where + ".lsb_first: field '" + name + "' is assigned twice");
    assigned[k] += take;
    if (take > 0) out.push_back({fi->f, take});
  }
  for (const auto& f : fields)
    if (assigned[uint32_t(f.f)] != f.width)
      throw ConfigError(where + ".lsb_first: field '" + std::string(f.name) + "' needs " +
                        std::to_string(f.width) + " bits, " +
                        std::to_string(assigned[uint32_t(f.f)]) +
                        " assigned (every address bit must be assigned exactly once)");
  if (out.empty() || out.front().field != AddrField::kOffset)
    if (log2u(org.bytes_per_column) > 0)
      throw ConfigError(where + ".lsb_first: 'offset' must be the least significant field");
  return out;
}

// "timing.CL=18" -> sets j["timing"]["CL"] = 18. Only existing keys can be overridden.
void apply_override(json& j, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set '" + kv + "': expected section.key=value");
  const std::string path = kv.substr(0, eq);
  const std::string value = kv.substr(eq + 1);
  json* node = &j;
  std::stringstream ss(path);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!node->is_object() || !node->contains(parts[i]))
      throw ConfigError("--set '" + kv + "': unknown key '" + path + "'");
    node = &(*node)[parts[i]];
  }
  json v;
  try {
    v = json::parse(value);
  } catch (const json::exception&) {
    v = value;  // bare words are strings: --set controller.page_policy=closed
  }
  *node = v;
}

}  // namespace

std::string config_dir() {
  if (const char* env = std::getenv("SPARSEPIM_CONFIG_DIR"); env && *env) return env;
  return SPARSEPIM_CONFIG_DIR;
}

std::vector<std::string> memory_preset_names() {
  std::vector<std::string> names;
  const fs::path dir = fs::path(config_dir()) / "memory";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

MemoryConfig load_memory_config(const std::string& preset_or_path,
                                const std::vector<std::string>& overrides) {
  fs::path path = preset_or_path;
  const bool looks_like_path =
      preset_or_path.find('/') != std::string::npos || path.extension() == ".json";
  if (!looks_like_path) path = fs::path(config_dir()) / "memory" / (preset_or_path + ".json");
  std::ifstream in(path);
  if (!in) {
    std::string known;
    for (const auto& n : memory_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError(looks_like_path ? "cannot open memory config '" + path.string() + "'"
                                      : "unknown memory preset '" + preset_or_path +
                                            "' (presets: " + known + ")");
  }
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError(path.string() + ": invalid JSON: " + e.what());
  }
  for (const auto& kv : overrides) apply_override(j, kv);

  const std::string where = path.filename().string();
  StrictObject top(j, where);
  top.allow("description");
  MemoryConfig cfg;
  cfg.source_file = path.string();
  cfg.name = top.str("name");
  cfg.org = parse_org(top.get("organization"), where + ": organization");
  cfg.timing = parse_timing(top.get("timing"), where + ": timing");
  cfg.pim = parse_pim(top.get("pim"), where + ": pim", cfg.org);
  cfg.energy = parse_energy(top.get("energy"), where + ": energy");
  cfg.controller = parse_controller(top.get("controller"), where + ": controller");
  cfg.mapping = parse_mapping(top.get("address_mapping"), where + ": address_mapping", cfg.org);
  top.finish();
  // Per-bank refreshes of different banks overlap; each bank comes round every
  // REFI_PB x banks, which must leave room for its own RFC_PB.
  require(uint64_t(cfg.timing.RFC_PB) < uint64_t(cfg.timing.REFI_PB) * cfg.org.banks_per_pc(),
          where + ": timing: RFC_PB (" + std::to_string(cfg.timing.RFC_PB) +
              ") does not fit in REFI_PB x banks per pseudo-channel");
  if (cfg.pim.scope != PimScope::kNone)
    require(cfg.timing.CCDAB >= cfg.timing.BL,
            where + ": timing.CCDAB must be at least BL on a device with PIM");
  if (cfg.pim.scope != PimScope::kNone)
    require(cfg.pim.query_slots <= cfg.timing.CCDAB,
            where + ": pim.query_slots (" + std::to_string(cfg.pim.query_slots) +
                ") exceeds timing.CCDAB (" + std::to_string(cfg.timing.CCDAB) +
                "): a unit applies one buffered query per cycle between two MACABs");
  return cfg;
}

}  // namespace sparsepim::hbm
