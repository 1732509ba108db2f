// `sparsepim units`: runs the cluster-mapping unit (CMU) on N blocks of keys — random, clustered,
// from the workload generator or from a trace — and the index-prediction unit (IPU) on random
// LFPS decode histories and TidalDecode selections, in clocked mode (the SystemC units, cycle by
// cycle), fast mode (the policy library + the cycle model) or both (and then checks that they
// agree result for result and cycle for cycle). Prints one JSON object; --vcd writes the units'
// waveforms (clocked).
#include "units_cli.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "models/cmu/cmu_model.h"
#include "models/cmu/cmu_sim.h"
#include "models/cmu/units_runner.h"
#include "models/common/errors.h"
#include "models/ipu/ipu_model.h"
#include "models/ipu/ipu_sim.h"
#include "models/policy/kmeans.h"
#include "models/policy/kv_cache.h"
#include "models/policy/lfps.h"
#include "models/policy/policy_params.h"
#include "models/policy/selection_util.h"
#include "workloads/decode_source.h"
#include "workloads/model_preset.h"
#include "workloads/npy.h"
#include "workloads/synthetic_config.h"

namespace sparsepim {

using nlohmann::json;

struct UnitsCommand {
  CLI::App* app = nullptr;
  std::string unit = "both", mode = "both", memory = "attacc-hbm3-pim", params = "default";
  std::vector<std::string> policy_sets;
  int blocks = 100, head_dim = 128, lanes = 16;
  std::string keys = "random", model, trace, workload = "synthetic";
  int64_t context = 4096;
  int histories = 100, tidal = 10, budget = 32, capacity = 64;
  uint32_t tokens = 1024;
  uint64_t seed = 1;
  std::string vcd;
  bool per_block = false;
  CLI::Option *o_head_dim = nullptr, *o_context = nullptr;
};

namespace {

// ---- inputs ------------------------------------------------------------------------------------

std::vector<std::vector<uint16_t>> cmu_blocks(UnitsCommand& c, int* head_dim) {
  std::vector<std::vector<uint16_t>> out;
  const int n = cmu::kBlockTokens;
  if (c.keys == "random" || c.keys == "clustered") {
    const int d = *head_dim;
    std::mt19937_64 rng(c.seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int b = 0; b < c.blocks; ++b) {
      // Random scale per block (keys of real models differ by orders of magnitude per head).
      const float scale = std::ldexp(1.0f, int(rng() % 9) - 4);
      std::vector<float> centers(size_t(4) * size_t(d));
      for (auto& x : centers) x = nd(rng);
      std::vector<uint16_t> blk(size_t(n) * size_t(d));
      for (int t = 0; t < n; ++t) {
        const size_t cl = rng() % 4;
        for (int i = 0; i < d; ++i) {
          const float v =
              c.keys == "random" ? nd(rng) : centers[cl * size_t(d) + size_t(i)] + 0.3f * nd(rng);
          blk[size_t(t) * size_t(d) + size_t(i)] = workloads::float_to_half(scale * v);
        }
      }
      out.push_back(std::move(blk));
    }
    return out;
  }
  std::unique_ptr<workloads::DecodeSource> src;
  if (c.keys == "synthetic") {
    if (c.model.empty()) throw ConfigError("units: --keys synthetic needs --model");
    const auto preset = workloads::load_model_preset(c.model);
    workloads::check_workload_size(preset, c.context, 1);
    src = std::make_unique<workloads::SyntheticSource>(
        preset, workloads::load_synthetic_params(c.workload), c.seed, c.context, 1);
  } else if (c.keys == "trace") {
    if (c.trace.empty()) throw ConfigError("units: --keys trace needs --trace DIR");
    src = std::make_unique<workloads::TraceSource>(c.trace, 0);
  } else {
    throw ConfigError("units: --keys must be random, clustered, synthetic or trace");
  }
  const auto shape = src->shape();
  if (c.o_head_dim->count() && *head_dim != shape.head_dim)
    throw ConfigError("units: --head-dim differs from the source's " +
                      std::to_string(shape.head_dim));
  *head_dim = shape.head_dim;
  const int d = shape.head_dim;
  const int64_t rows = c.keys == "synthetic" ? c.context : shape.tokens;
  std::vector<float> k(size_t(rows) * size_t(d)), v(k.size());
  // Blocks in (layer, KV head, position) order, laid out as one region.
  for (int layer = 0; layer < shape.layers && int(out.size()) < c.blocks; ++layer)
    for (int h = 0; h < shape.kv_heads && int(out.size()) < c.blocks; ++h) {
      src->kv(layer, h, rows, k.data(), v.data(), nullptr);
      for (int64_t b = 0; (b + 1) * n <= rows && int(out.size()) < c.blocks; ++b) {
        std::vector<uint16_t> blk(size_t(n) * size_t(d));
        for (size_t i = 0; i < blk.size(); ++i)
          blk[i] = workloads::float_to_half(k[size_t(b * n) * size_t(d) + i]);
        out.push_back(std::move(blk));
      }
    }
  if (int(out.size()) < c.blocks)
    throw ConfigError("units: the source holds only " + std::to_string(out.size()) +
                      " complete 64-token blocks");
  return out;
}

// LFPS histories (a full refresh per slot, then PREDICT + SELECT steps on random slots) and
// TidalDecode selections with two reuses each. Scores: FP16 of N(0, 2).
struct IpuPlan {
  std::vector<ipu::IpuCommand> commands;
  std::vector<std::string> tags;
};

IpuPlan ipu_plan(const UnitsCommand& c, const ipu::IpuConfig& cfg) {
  std::mt19937_64 rng(c.seed * 7919 + 1);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  IpuPlan plan;
  ipu::IpuFast planner(cfg);  // only to know each slot's candidates
  std::vector<uint32_t> n(ipu::kSimSlots, c.tokens);
  auto add = [&](ipu::IpuCommand cmd, const char* tag) {
    plan.commands.push_back(cmd);
    plan.tags.push_back(tag);
    return planner.run(cmd);
  };
  auto select = [&](uint32_t slot, const std::vector<uint32_t>& positions, const char* tag) {
    ipu::IpuCommand s;
    s.op = ipu::kOpSelect;
    s.slot = slot;
    s.k = uint32_t(c.budget);
    s.store = true;
    for (uint32_t p : positions) s.pairs.push_back({p, workloads::float_to_half(nd(rng))});
    add(s, tag);
  };
  for (uint32_t slot = 0; slot < ipu::kSimSlots && slot < uint32_t(std::max(c.histories, 1));
       ++slot) {
    std::vector<uint32_t> all(n[slot]);
    std::iota(all.begin(), all.end(), 0u);
    select(slot, all, "refresh");
  }
  for (int i = 0; i < c.histories; ++i) {
    const uint32_t slot = uint32_t(i) % std::min<uint32_t>(ipu::kSimSlots, uint32_t(c.histories));
    n[slot] += 1;
    ipu::IpuCommand p;
    p.op = ipu::kOpPredict;
    p.slot = slot;
    p.n = n[slot];
    const auto cand = add(p, "predict").positions;
    select(slot, cand, "select");
  }
  for (int i = 0; i < c.tidal; ++i) {
    ipu::IpuCommand s;
    s.op = ipu::kOpSelect;
    s.slot = uint32_t(i) % ipu::kSimSlots;
    s.n = c.tokens + uint32_t(i);
    s.k = uint32_t(c.budget - 1);
    s.store = true;
    s.append = true;
    for (uint32_t q = 0; q + 1 < s.n; ++q)
      s.pairs.push_back({q, workloads::float_to_half(nd(rng))});
    add(s, "tidal_select");
    ipu::IpuCommand r;
    r.op = ipu::kOpReuse;
    r.slot = s.slot;
    add(r, "reuse");
    add(r, "reuse");
  }
  return plan;
}

json stats(const std::vector<uint64_t>& v) {
  if (v.empty()) return json{{"count", 0}};
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  return {{"count", v.size()},
          {"mean", sum / double(v.size())},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())}};
}

// ---- the checks ---------------------------------------------------------------------------------

// ClusterStore in the hardware arithmetic over the blocks (one region): how many blocks it lays
// out exactly as `results` (labels, centroids, sizes, cluster starts, slots, iterations).
int library_matches(const std::vector<std::vector<uint16_t>>& blocks, int d,
                    const policy::PolicyParams& pp, const std::vector<cmu::CmuBlockResult>& res) {
  const int n = cmu::kBlockTokens;
  std::vector<float> keys;
  for (const auto& b : blocks)
    for (uint16_t h : b) keys.push_back(workloads::half_to_float(h));
  policy::KmeansParams km = pp.starc.kmeans;
  km.hardware_arithmetic = true;
  policy::ClusterStore store(km, d, pp.row_group_tokens, pp.starc.aligned_layout);
  store.extend(keys.data(), int64_t(blocks.size()) * n);
  int same = 0;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const cmu::CmuBlockResult& r = res[b];
    bool ok = int(store.iterations()[b]) == r.iterations;
    for (int j = 0; j < cmu::kClusters && ok; ++j) {
      const int64_t cl = int64_t(b) * cmu::kClusters + j;
      ok = store.size(cl) == r.sizes[size_t(j)] &&
           uint64_t(store.cluster_slot(cl)) == r.cluster_start[size_t(j)];
      for (int i = 0; i < d && ok; ++i)
        ok = store.centroid(cl)[i] * 65536.0f == float(r.centroids[size_t(j * d + i)]);
    }
    for (int t = 0; t < n && ok; ++t) {
      const uint32_t p = uint32_t(b * size_t(n) + size_t(t));
      ok = store.cluster_of(p) == int64_t(b) * cmu::kClusters + r.labels[size_t(t)] &&
           uint64_t(store.slot(p)) == r.slots[size_t(t)];
    }
    same += ok;
  }
  return same;
}

// Blocks whose float k-means (kmeans.h, FP32) gives the same labels as the hardware arithmetic.
int float_label_matches(const std::vector<std::vector<uint16_t>>& blocks, int d,
                        const policy::PolicyParams& pp,
                        const std::vector<cmu::CmuBlockResult>& res) {
  policy::KmeansScratch scratch;
  const int n = cmu::kBlockTokens;
  std::vector<uint8_t> labels(static_cast<size_t>(n));
  std::vector<float> cent(size_t(cmu::kClusters) * size_t(d));
  std::vector<int> sizes(cmu::kClusters);
  int same = 0;
  for (size_t b = 0; b < blocks.size(); ++b) {
    std::vector<float> keys(blocks[b].size());
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = workloads::half_to_float(blocks[b][i]);
    policy::kmeans_block(keys.data(), n, d, pp.starc.kmeans, &scratch, labels.data(), cent.data(),
                         sizes.data());
    same += labels == res[b].labels;
  }
  return same;
}

// A GTKWave save file next to the VCD: both units' states, handshakes and counters, with the
// translate filters of scripts/gtkwave/ naming states, record kinds and commands.
void write_units_gtkw(const std::string& vcd, bool cmu_on, bool ipu_on) {
  const std::string filters = hbm::config_dir() + "/../scripts/gtkwave/";
  std::ofstream f(vcd + ".gtkw");
  if (!f) throw ConfigError("cannot write " + vcd + ".gtkw");
  f << "[*] sparsepim units: open with  gtkwave " << vcd << " " << vcd << ".gtkw\n";
  f << "[dumpfile] \"" << vcd << "\"\n[size] 1600 800\n";
  auto filtered = [&](const std::string& sig, const char* filter, int n) {
    f << "@2022\n^" << n << " " << filters << filter << "\n" << sig << "\n";
  };
  if (cmu_on) {
    const std::string p = "SystemC.cmu_bench.";
    filtered(p + "state[3:0]", "cmu_state.filter", 1);
    f << "@28\n";
    for (const char* s :
         {"cmd_valid", "cmd_ready", "key_valid", "key_ready", "out_valid", "out_ready", "out_last"})
      f << p << s << "\n";
    filtered(p + "out_kind[1:0]", "cmu_record.filter", 2);
    f << "@24\n"
      << p << "token[6:0]\n"
      << p << "chunk[4:0]\n"
      << p << "iteration[4:0]\n"
      << p << "busy_cycles[31:0]\n"
      << p << "max_move[47:0]\n"
      << p << "out_slot[31:0]\n";
  }
  if (ipu_on) {
    const std::string p = "SystemC.ipu_bench.";
    filtered(p + "state[3:0]", "ipu_state.filter", 3);
    filtered(p + "cmd_op[1:0]", "ipu_op.filter", 4);
    f << "@28\n";
    for (const char* s :
         {"cmd_valid", "cmd_ready", "in_valid", "in_ready", "out_valid", "out_ready", "out_end"})
      f << p << s << "\n";
    f << "@24\n"
      << p << "in_pos[31:0]\n"
      << p << "out_pos[31:0]\n"
      << p << "count[31:0]\n"
      << p << "queue_fill[15:0]\n"
      << p << "busy_cycles[31:0]\n";
  }
}

int run(UnitsCommand& c) {
  const auto started = std::chrono::steady_clock::now();
  if (c.unit != "cmu" && c.unit != "ipu" && c.unit != "both")
    throw ConfigError("units: --unit must be cmu, ipu or both");
  if (c.mode != "fast" && c.mode != "clocked" && c.mode != "both")
    throw ConfigError("units: --mode must be fast, clocked or both");
  const bool do_cmu = c.unit != "ipu", do_ipu = c.unit != "cmu";
  const bool fast = c.mode != "clocked", clocked = c.mode != "fast";
  if (!c.vcd.empty() && !clocked) throw ConfigError("units: --vcd needs the clocked mode");
  if (c.blocks < 1 || c.histories < 0 || c.tidal < 0)
    throw ConfigError("units: --blocks must be positive, --histories and --tidal not negative");
  const hbm::MemoryConfig mem = hbm::load_memory_config(c.memory);
  const policy::PolicyParams pp = policy::load_policy_params(c.params, c.policy_sets);
  json out;

  // Inputs and fast results.
  int d = c.head_dim;
  std::vector<std::vector<uint16_t>> blocks;
  cmu::CmuJob cjob;
  std::vector<cmu::CmuBlockResult> cfast;
  if (do_cmu) {
    blocks = cmu_blocks(c, &d);
    cjob.config = cmu::make_cmu_config(pp, mem, d);
    cjob.lanes = c.lanes;
    const auto& lanes = cmu::supported_lanes();
    if (std::find(lanes.begin(), lanes.end(), c.lanes) == lanes.end())
      throw ConfigError("units: --lanes must be 8, 16 or 32");
    cjob.blocks = blocks;
    if (fast) {
      uint64_t base = cjob.base_slot;
      for (const auto& b : blocks) {
        cfast.push_back(cmu::cmu_fast(cjob.config, c.lanes, b.data(), base));
        base = cfast.back().end_slot;
      }
    }
  }
  ipu::IpuJob ijob;
  IpuPlan plan;
  std::vector<ipu::IpuAnswer> ifast;
  if (do_ipu) {
    ijob.config = ipu::make_ipu_config(pp, c.capacity);
    if (c.budget < 1 || c.budget > c.capacity)
      throw ConfigError("units: --budget must lie in 1..--capacity");
    if (c.tokens < 1) throw ConfigError("units: --tokens must be positive");
    plan = ipu_plan(c, ijob.config);
    ijob.commands = plan.commands;
    if (fast) {
      ipu::IpuFast f(ijob.config);
      for (const auto& cmd : ijob.commands) ifast.push_back(f.run(cmd));
    }
  }

  // Clocked: both units in one simulation, on the memory's clock.
  std::vector<cmu::CmuBlockResult> cclk;
  std::vector<ipu::IpuAnswer> iclk;
  double sim_wall = 0;
  if (clocked) {
    const sc_core::sc_time period(mem.timing.tCK_ns * 1000.0, sc_core::SC_PS);
    std::vector<units::Bench> benches;
    std::unique_ptr<cmu::CmuBench> cb;
    std::unique_ptr<ipu::IpuBench> ib;
    uint64_t budget = 10000;
    if (do_cmu) {
      cb = cmu::make_cmu_bench("cmu_bench", cjob, period);
      benches.push_back(cb->as_bench());
      budget += uint64_t(blocks.size()) *
                cmu::cmu_cycles(d, c.lanes, cjob.config.max_iterations).total() * 2;
    }
    if (do_ipu) {
      ib = ipu::make_ipu_bench("ipu_bench", ijob, period);
      benches.push_back(ib->as_bench());
      ipu::IpuFast f(ijob.config);
      for (const auto& cmd : ijob.commands) budget += 2 * (f.run(cmd).cycles + 10);
    }
    const auto t0 = std::chrono::steady_clock::now();
    units::run_units(benches, period, budget, c.vcd);
    sim_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (cb) {
      if (!cb->error().empty()) throw std::runtime_error("units: CMU protocol: " + cb->error());
      cclk = cb->results();
    }
    if (ib) iclk = ib->answers();
    out["clocked_simulation_wall_s"] = sim_wall;
  }

  if (do_cmu) {
    const auto& res = clocked ? cclk : cfast;
    json j;
    j["memory"] = mem.name;
    j["keys"] = c.keys;
    j["blocks"] = blocks.size();
    j["head_dim"] = d;
    j["lanes"] = c.lanes;
    j["mode"] = c.mode;
    std::vector<uint64_t> cycles, iters;
    std::map<int, int> hist;
    uint64_t mults = 0, adds = 0;
    for (const auto& r : res) {
      cycles.push_back(r.cycles);
      iters.push_back(uint64_t(r.iterations));
      ++hist[r.iterations];
      const cmu::CmuOps o = cmu::cmu_ops(d, r.iterations);
      mults += o.multiplies;
      adds += o.additions;
    }
    j["cycles_per_block"] = stats(cycles);
    if (c.per_block) j["cycles_per_block"]["per_block"] = cycles;
    j["iterations"] = stats(iters);
    json h = json::object();
    for (const auto& [it, count] : hist) h[std::to_string(it)] = count;
    j["iterations"]["histogram"] = h;
    const cmu::CmuCycles f = cmu::cmu_cycles(d, c.lanes, 0);
    j["cycle_model"] = {{"command", f.command},
                        {"load", f.load},
                        {"normalise", f.normalise},
                        {"init", f.init},
                        {"per_iteration", f.per_iteration},
                        {"layout", f.layout},
                        {"output", f.output}};
    const double mean = json(j["cycles_per_block"]["mean"]).get<double>();
    j["tck_ns"] = mem.timing.tCK_ns;
    j["ns_per_block_mean"] = mean * mem.timing.tCK_ns;
    j["ops_per_block_mean"] = {{"multiplies", double(mults) / double(res.size())},
                               {"additions", double(adds) / double(res.size())}};
    json checks;
    if (fast && clocked) {
      int same = 0, same_cycles = 0;
      std::string first;
      for (size_t b = 0; b < res.size(); ++b) {
        const std::string diff = cmu::compare_results(cclk[b], cfast[b], false);
        same += diff.empty();
        same_cycles += cclk[b].cycles == cfast[b].cycles;
        if (!diff.empty() && first.empty()) first = "block " + std::to_string(b) + ": " + diff;
      }
      checks["clocked_equals_fast"] = {
          {"results", same}, {"cycles", same_cycles}, {"of", res.size()}};
      if (!first.empty()) checks["clocked_equals_fast"]["first_difference"] = first;
    }
    checks["library_hardware_mode_equal"] = {{"blocks", library_matches(blocks, d, pp, res)},
                                             {"of", res.size()}};
    const int fl = float_label_matches(blocks, d, pp, res);
    checks["float_kmeans_same_labels"] = {
        {"blocks", fl}, {"of", res.size()}, {"rate", double(fl) / double(res.size())}};
    j["checks"] = checks;
    out["cmu"] = j;
  }

  if (do_ipu) {
    const auto& ans = clocked ? iclk : ifast;
    json j;
    j["capacity"] = c.capacity;
    j["k"] = c.budget;
    j["tokens"] = c.tokens;
    j["mode"] = c.mode;
    j["lfps"] = {{"expansion", ijob.config.expansion},
                 {"sinks", ijob.config.sinks},
                 {"recent_window", ijob.config.recent_window}};
    j["histories"] = c.histories;
    std::map<std::string, std::vector<uint64_t>> cyc, len;
    std::vector<uint64_t> step;
    for (size_t i = 0; i < ans.size(); ++i) {
      cyc[plan.tags[i]].push_back(ans[i].cycles);
      len[plan.tags[i]].push_back(ans[i].positions.size());
      if (plan.tags[i] == "select" && i > 0) step.push_back(ans[i - 1].cycles + ans[i].cycles);
    }
    json cmds;
    for (const auto& [tag, v] : cyc) {
      cmds[tag] = stats(v);
      cmds[tag]["positions_mean"] = json(stats(len[tag])["mean"]);
      if (c.per_block) cmds[tag]["per_command"] = v;
    }
    j["cycles_per_command"] = cmds;
    j["cycles_per_lfps_step"] = stats(step);
    j["tck_ns"] = mem.timing.tCK_ns;
    if (fast && clocked) {
      int same = 0, same_cycles = 0;
      for (size_t i = 0; i < ans.size(); ++i) {
        same += iclk[i].positions == ifast[i].positions;
        same_cycles += iclk[i].cycles == ifast[i].cycles;
      }
      j["checks"]["clocked_equals_fast_reference"] = {
          {"answers", same}, {"cycles", same_cycles}, {"of", ans.size()}};
    }
    out["ipu"] = j;
  }
  if (!c.vcd.empty()) {
    write_units_gtkw(c.vcd, do_cmu, do_ipu);
    out["vcd"] = c.vcd;
    out["gtkw"] = c.vcd + ".gtkw";
  }
  out["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << out.dump(2) << "\n";
  // Disagreement is a failure of the model: say so in the exit code too.
  bool ok = true;
  if (out.contains("cmu")) {
    const json& ch = out["cmu"]["checks"];
    if (ch.contains("clocked_equals_fast"))
      ok &= ch["clocked_equals_fast"]["results"] == ch["clocked_equals_fast"]["of"] &&
            ch["clocked_equals_fast"]["cycles"] == ch["clocked_equals_fast"]["of"];
    ok &= ch["library_hardware_mode_equal"]["blocks"] == ch["library_hardware_mode_equal"]["of"];
  }
  if (out.contains("ipu") && out["ipu"].contains("checks")) {
    const json& ch = out["ipu"]["checks"]["clocked_equals_fast_reference"];
    ok &= ch["answers"] == ch["of"] && ch["cycles"] == ch["of"];
  }
  return ok ? 0 : 4;
}

}  // namespace

UnitsCommand* add_units_command(CLI::App& app) {
  static UnitsCommand c;
  c.app = app.add_subcommand(
      "units",
      "The cluster-mapping and index-prediction units (clocked SystemC and/or fast model): "
      "cycle counts and agreement checks as JSON");
  auto* a = c.app;
  a->add_option("--unit", c.unit, "cmu | ipu | both")->capture_default_str();
  a->add_option("--mode", c.mode, "clocked | fast | both (both: check they agree)")
      ->capture_default_str();
  a->add_option("--memory", c.memory, "memory preset (layout and clock)")->capture_default_str();
  a->add_option("--params", c.params, "policy parameters (configs/policies) or JSON file")
      ->capture_default_str();
  a->add_option("--policy-set", c.policy_sets,
                "override a policy parameter: section.key=value (repeatable)");
  a->add_option("--blocks", c.blocks, "CMU: 64-token key blocks")->capture_default_str();
  c.o_head_dim =
      a->add_option("--head-dim", c.head_dim, "CMU: head dimension of random keys (1..128)")
          ->capture_default_str();
  a->add_option("--lanes", c.lanes, "CMU: datapath lanes (8, 16, 32)")->capture_default_str();
  a->add_option("--keys", c.keys, "CMU: random | clustered | synthetic | trace")
      ->capture_default_str();
  a->add_option("--model", c.model, "CMU, --keys synthetic: model preset");
  c.o_context = a->add_option("--context", c.context, "CMU, --keys synthetic: tokens per head")
                    ->capture_default_str();
  a->add_option("--workload", c.workload, "CMU, --keys synthetic: generator parameters")
      ->capture_default_str();
  a->add_option("--trace", c.trace, "CMU, --keys trace: trace directory");
  a->add_option("--histories", c.histories, "IPU: LFPS decode steps (predict + select)")
      ->capture_default_str();
  a->add_option("--tidal", c.tidal, "IPU: TidalDecode selections (each reused twice)")
      ->capture_default_str();
  a->add_option("--budget", c.budget, "IPU: k of the top-k")->capture_default_str();
  a->add_option("--capacity", c.capacity, "IPU: queue cells (64 or 1024)")->capture_default_str();
  a->add_option("--tokens", c.tokens, "IPU: cache length at the first step")->capture_default_str();
  a->add_option("--seed", c.seed, "random seed")->capture_default_str();
  a->add_option("--vcd", c.vcd, "write the units' waveforms here (clocked)");
  a->add_flag("--per-block", c.per_block, "list the cycles of every block and command");
  return &c;
}

int run_units_command(UnitsCommand* c) {
  if (!c->app->parsed()) return -1;
  return run(*c);
}

}  // namespace sparsepim
