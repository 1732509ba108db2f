#include "host/decode_sim.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <systemc>

#include "common/errors.h"
#include "common/json_in_child.h"
#include "common/peak_rss.h"
#include "hbm/memory_config.h"
#include "hbm/vcd_writer.h"
#include "host/alu_factory.h"
#include "host/decode_jobs.h"
#include "host/decode_timing.h"
#include "models/cmu/cmu_model.h"
#include "models/cmu/cmu_sim.h"
#include "models/ipu/ipu_model.h"
#include "models/ipu/ipu_replay.h"
#include "models/policy/accuracy.h"
#include "models/policy/kv_cache.h"
#include "pim/attacc_numerics.h"
#include "pim/fp16_alu.h"
#include "workloads/decode_source.h"
#include "workloads/kv_budget_table.h"
#include "workloads/model_preset.h"

namespace sparsepim::host {

using nlohmann::json;
using namespace sc_core;
using hbm::MemoryConfig;

namespace {

// Phase 1's record of one policy: accuracy, jobs, and the units' work.
struct PolicyRun {
  std::string name;
  policy::AccuracyRecord accuracy;
  std::vector<Job> jobs;  // [step][layer][kv head]
  std::map<std::pair<int, int>, int64_t> clusters_seen;
  double pim_error_sum = 0, pim_error_max = 0;  // --numerics fp16
  // The cluster-mapping unit on the blocks clustered during the run.
  int64_t cmu_blocks = 0;
  uint64_t cmu_cycles = 0;
  int64_t ipu_calls = 0;  // the index-prediction unit (fast mode) on LFPS/TidalDecode selections
  uint64_t ipu_cycles = 0;
  std::vector<std::pair<std::vector<uint16_t>, uint64_t>> cmu_jobs;  // --units clocked
  std::vector<cmu::CmuBlockResult> cmu_fast;
  ipu::IpuReplay ipu_replay;  // --units clocked: the IPU's commands with their data
  int64_t pim_error_count = 0;
};

}  // namespace

json run_decode(const DecodeOptions& opt) {
  const auto w0 = std::chrono::steady_clock::now();
  // --- Check everything before any work.
  if (opt.numerics != "fp32" && opt.numerics != "fp16")
    throw ConfigError("--numerics: expected fp32 or fp16, got '" + opt.numerics + "'");
  const bool fp16 = opt.numerics == "fp16";
  if (opt.pim_alu != "model" && opt.pim_alu != "rtl")
    throw ConfigError("--pim-alu: expected model or rtl, got '" + opt.pim_alu + "'");
  if (opt.pim_alu == "rtl" && !fp16)
    throw ConfigError(
        "--pim-alu rtl computes on data: add --numerics fp16 (fp32 runs the "
        "timing with the policy library's FP32 numerics, no data in the banks)");
  if (opt.pim_alu == "rtl" && !rtl_alu_available())
    throw ConfigError("--pim-alu rtl is not available in this build (Verilator not found)");
  if (opt.units != "fast" && opt.units != "clocked")
    throw ConfigError("--units: expected fast or clocked, got '" + opt.units + "'");
  if (opt.stacks < 1) throw ConfigError("--stacks must be at least 1");
  if (opt.vcd.empty() && !opt.vcd_window.empty()) throw ConfigError("--vcd-window needs --vcd");
  if (!opt.vcd_window.empty()) hbm::parse_window_ns(opt.vcd_window);
  if (opt.budget < 1) throw ConfigError("--budget must be at least 1 token");
  if (opt.policies.empty()) throw ConfigError("--policy: give at least one policy");
  const MemoryConfig cfg = hbm::load_memory_config(opt.memory, opt.memory_sets);
  if (cfg.pim.scope != hbm::PimScope::kChannel || cfg.pim.banks_per_unit != 1)
    throw ConfigError("memory '" + cfg.name +
                      "': the decode simulation needs AttAcc-style PIM (one unit per bank, "
                      "channel scope), e.g. attacc-hbm3-pim");
  HostConfig host = load_host_config(opt.host_config);
  if (!opt.row_activation.empty()) {
    if (opt.row_activation != "auto" && opt.row_activation != "lockstep" &&
        opt.row_activation != "slices")
      throw ConfigError("--row-activation: expected auto, lockstep or slices, got '" +
                        opt.row_activation + "'");
    host.row_activation = opt.row_activation;
  }
  if (!opt.selection.empty()) {
    if (opt.selection != "buffer_die" && opt.selection != "ipu")
      throw ConfigError("--selection: expected buffer_die or ipu, got '" + opt.selection + "'");
    host.selection = opt.selection;
  }
  if (!opt.clustering.empty()) {
    if (opt.clustering != "in_memory" && opt.clustering != "cmu")
      throw ConfigError("--clustering: expected in_memory or cmu, got '" + opt.clustering + "'");
    host.clustering = opt.clustering;
  }
  const policy::PolicyParams params = policy::load_policy_params(opt.params, opt.policy_sets);
  constexpr int kCmuLanes = 16;  // the CMU's default datapath (docs/units.md)
  std::unique_ptr<workloads::DecodeSource> src;
  std::unique_ptr<workloads::ModelPreset> preset;
  if (!opt.trace.empty()) {
    src = std::make_unique<workloads::TraceSource>(opt.trace, opt.steps);
    preset = std::make_unique<workloads::ModelPreset>(workloads::load_model_preset(opt.model));
    const auto sh = src->shape();
    if (sh.layers != preset->layers || sh.q_heads != preset->q_heads ||
        sh.kv_heads != preset->kv_heads || sh.head_dim != preset->head_dim)
      throw ConfigError("--trace: its shape (" + std::to_string(sh.layers) + " layers, " +
                        std::to_string(sh.q_heads) + "/" + std::to_string(sh.kv_heads) +
                        " heads, dim " + std::to_string(sh.head_dim) + ") disagrees with --model " +
                        preset->name);
  } else {
    preset = std::make_unique<workloads::ModelPreset>(workloads::load_model_preset(opt.model));
    workloads::check_workload_size(*preset, opt.context, opt.steps);
    src = std::make_unique<workloads::SyntheticSource>(
        *preset, workloads::load_synthetic_params("synthetic"), opt.seed, opt.context, opt.steps);
  }
  const workloads::TraceShape shape = src->shape();
  const int64_t first = src->first_step(), steps = shape.tokens - first;
  std::vector<int64_t> step_budgets;
  if (!opt.replay.empty()) {
    const workloads::KvBudgetTable t = workloads::read_kv_budget_table(opt.replay);
    if (int64_t(t.tokens.size()) < steps)
      throw InputError(opt.replay + ": " + std::to_string(t.tokens.size()) +
                       " steps in the table, the run has " + std::to_string(steps));
    for (int64_t s = 0; s < steps; ++s) {
      const size_t i = t.tokens.size() - size_t(steps) + size_t(s);
      if (t.tokens[i] < 1)
        throw InputError(opt.replay + ":" + std::to_string(t.lines[i]) +
                         ": a step that touches no token cannot be replayed");
      if (t.tokens[i] > first + 1 + s)
        throw InputError(opt.replay + ":" + std::to_string(t.lines[i]) + ": " +
                         std::to_string(t.tokens[i]) + " tokens at a step with " +
                         std::to_string(first + 1 + s) + " in the cache");
      step_budgets.push_back(t.tokens[i]);
    }
  } else if (opt.budget >= first + 1)
    throw ConfigError("--budget " + std::to_string(opt.budget) + " is not below the context (" +
                      std::to_string(first + 1) + " tokens at the first step): use --policy dense");
  if (shape.head_dim * 2 != int(cfg.org.banks_per_group * 64))
    throw ConfigError("the AttAcc layout splits a " + std::to_string(cfg.org.banks_per_group * 32) +
                      "-dim key over the banks of a bank group; head_dim " +
                      std::to_string(shape.head_dim) + " does not fit it");
  const int slices = int(cfg.org.pseudo_channels * cfg.org.sids * cfg.org.bank_groups);
  const int rgt = params.row_group_tokens;
  const cmu::CmuConfig cmu_cfg = cmu::make_cmu_config(params, cfg, shape.head_dim);
  const RegionShape region = region_shape(shape.tokens, slices, rgt, params.starc.kmeans);
  const int channels = opt.stacks * host.channels_per_stack;
  const int regions = shape.layers * shape.kv_heads;
  const int per_channel = (regions + channels - 1) / channels;
  const uint64_t rows_needed =
      uint64_t(per_channel) * (2 * uint64_t(region.data_rows) + region.meta_rows);
  if (rows_needed > cfg.org.rows)
    throw ConfigError("the KV cache does not fit: " + std::to_string(per_channel) +
                      " KV heads per channel x " +
                      std::to_string(2 * region.data_rows + region.meta_rows) +
                      " rows = " + std::to_string(rows_needed) + " rows, but a bank has " +
                      std::to_string(cfg.org.rows) + " (add --stacks or shorten --context)");
  // The G query heads of a KV head share each column read (pim.query_slots, docs/architecture.md);
  // so do STARC's centroids when a block is clustered in memory.
  const int group = shape.q_heads / shape.kv_heads;
  for (const auto& [what, need] : {std::pair<std::string, int>{"a GQA group of", group},
                                   {"STARC's k-means with", params.starc.kmeans.clusters}})
    if (need > int(cfg.pim.query_slots))
      throw ConfigError(what + " " + std::to_string(need) + " queries per MAC pass exceeds pim." +
                        "query_slots = " + std::to_string(cfg.pim.query_slots) + " of memory '" +
                        cfg.name +
                        "' (raise it with --set pim.query_slots=N, at most timing.CCDAB)");
  if (fp16 && rgt != int(cfg.pim.lanes))
    throw ConfigError(
        "--numerics fp16 lays 16 tokens in a row group (one per lane); the policy "
        "parameters have row_group_tokens = " +
        std::to_string(rgt));

  // --- Phase 1: selections, accuracy and jobs.
  std::vector<PolicyRun> runs(opt.policies.size());
  const size_t jobs_per_policy = size_t(steps) * size_t(shape.layers) * size_t(shape.kv_heads);
  for (size_t i = 0; i < runs.size(); ++i) {
    runs[i].name = opt.policies[i];
    runs[i].jobs.resize(jobs_per_policy);
  }
  policy::AccuracyOptions ao;
  ao.policies = opt.policies;
  ao.budgets = {opt.budget};
  ao.step_budgets = step_budgets;
  ao.params = params;
  ao.record_ipu = opt.units == "clocked";
  ao.model = {shape.layers, shape.q_heads, shape.kv_heads, shape.head_dim,
              preset->profile.tidal_reselection_layer};
  const int G = shape.q_heads / shape.kv_heads, d = shape.head_dim;
  std::vector<uint32_t> groups;
  auto to_groups = [&](const std::vector<uint32_t>& pos, const policy::ClusterStore* store,
                       std::vector<uint32_t>* out) {
    out->clear();
    for (uint32_t p : pos) {
      if (!store) {
        out->push_back(p / uint32_t(rgt));
        continue;
      }
      const int64_t slot = store->slot(p);
      if (slot >= policy::kStagingSlotBase)
        out->push_back(region.staging_first +
                       uint32_t((int64_t(p) - store->clustered_tokens()) / rgt));
      else
        out->push_back(uint32_t(slot / rgt));
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
  };
  // --numerics fp16: each query head's output computed as the PIM units and the buffer die
  // compute it (pim/attacc_numerics, which `sparsepim gemv` holds bit-exact to the units): FP16
  // keys, values and query, scores of the attended tokens, FP16 probabilities, and the value
  // pass over the row groups the head's KV head reads, in MAC order; tokens of those rows that
  // the head does not attend enter with probability 0. Compared with dense FP64 attention.
  struct {
    int layer = -1, kv_head = -1;
    int64_t n = -1;
    std::vector<uint16_t> k, v;
  } f16;
  // The numbers the phase-2 passes carry are recorded in the job (JobData): the FP16 queries,
  // each head's positions, the positions of the row groups in cluster order, and this output,
  // which the PIM path must reproduce bit for bit.
  auto pim_numerics = [&](PolicyRun& run, const policy::StepInput& in, const policy::Selection& sel,
                          const policy::ClusterStore* store, Job& job) {
    const std::vector<uint32_t>& value_groups = job.value;
    const int64_t n = in.n();
    std::vector<int64_t> slot_pos;  // clustered slot -> position
    if (store) {
      slot_pos.assign(size_t(store->region_slots()), -1);
      for (int64_t c = 0; c < store->clusters(); ++c)
        for (int i = 0; i < store->size(c); ++i)
          slot_pos[size_t(store->cluster_slot(c) + i)] = store->members(c)[i];
    }
    auto position_of = [&](uint32_t gid, uint32_t lane) -> int64_t {
      int64_t p;
      if (!store)
        p = int64_t(gid) * rgt + lane;
      else if (gid >= region.staging_first)
        p = store->clustered_tokens() + int64_t(gid - region.staging_first) * rgt + lane;
      else {
        const size_t slot = size_t(gid) * size_t(rgt) + lane;
        p = slot < slot_pos.size() ? slot_pos[slot] : -1;
      }
      return p < n ? p : -1;
    };
    JobData& jd = job.data;
    jd.n = n;
    jd.dense = sel.dense;
    if (!sel.dense) jd.heads = sel.positions;
    jd.cluster_order = store != nullptr;
    if (store) {
      std::vector<uint32_t> keys;
      std::set_union(job.scan.begin(), job.scan.end(), job.attend.begin(), job.attend.end(),
                     std::back_inserter(keys));
      std::set_union(keys.begin(), keys.end(), job.value.begin(), job.value.end(),
                     std::back_inserter(jd.group_ids));
      for (uint32_t gid : jd.group_ids)
        for (uint32_t lane = 0; lane < uint32_t(rgt); ++lane)
          jd.group_pos.push_back(int32_t(position_of(gid, lane)));
    }
    jd.q16.resize(size_t(in.group) * size_t(d));
    jd.expect.resize(jd.q16.size());
    std::vector<std::vector<int64_t>> slice_tokens(static_cast<size_t>(slices));
    for (uint32_t gid : value_groups)
      for (uint32_t lane = 0; lane < uint32_t(rgt); ++lane)
        slice_tokens[gid % uint32_t(slices)].push_back(position_of(gid, lane));
    const float* K = in.cache->keys();
    const float* V = in.cache->values();
    // FP16 keys and values: converted once per (layer, KV head, step), shared by the policies.
    if (f16.layer != in.layer || f16.kv_head != in.kv_head || f16.n != n) {
      f16.layer = in.layer;
      f16.kv_head = in.kv_head;
      f16.n = n;
      f16.k.resize(size_t(n) * size_t(d));
      f16.v.resize(f16.k.size());
      for (size_t i = 0; i < f16.k.size(); ++i) {
        f16.k[i] = pim::fp16_from_float(K[i]);
        f16.v[i] = pim::fp16_from_float(V[i]);
      }
    }
    const std::vector<uint16_t>& k16 = f16.k;
    const std::vector<uint16_t>& v16 = f16.v;
    std::vector<uint16_t> q16(static_cast<size_t>(d));
    std::vector<uint32_t> scores, out(static_cast<size_t>(d));
    std::vector<uint16_t> p16;
    std::vector<uint16_t> prob(size_t(n), 0);
    for (int g = 0; g < in.group; ++g) {
      const float* q = in.query(g);
      for (int c = 0; c < d; ++c) q16[size_t(c)] = pim::fp16_from_float(q[c]);
      std::copy(q16.begin(), q16.end(), jd.q16.begin() + ptrdiff_t(g) * d);
      const auto& pos = sel.positions[size_t(g)];
      scores.resize(pos.size());
      for (size_t i = 0; i < pos.size(); ++i)
        scores[i] =
            pim::attacc_score(&k16[size_t(pos[i]) * size_t(d)], q16.data(), uint32_t(d), false);
      p16.resize(pos.size());
      pim::attacc_softmax(scores.data(), uint32_t(pos.size()), uint32_t(d), false, p16.data());
      std::fill(prob.begin(), prob.end(), uint16_t(0));
      for (size_t i = 0; i < pos.size(); ++i) prob[pos[i]] = p16[i];
      pim::attacc_output(
          slice_tokens, uint32_t(d), false, [&](int64_t t) { return prob[size_t(t)]; },
          [&](int64_t t) { return &v16[size_t(t) * size_t(d)]; }, out.data());
      for (int c = 0; c < d; ++c)
        jd.expect[size_t(g) * size_t(d) + size_t(c)] = uint16_t(out[size_t(c)]);
      // Dense FP64 reference over the FP32 inputs.
      std::vector<double> sc(static_cast<size_t>(n)), o(static_cast<size_t>(d), 0.0);
      double mx = -1e300, sum = 0;
      for (int64_t t = 0; t < n; ++t) {
        double acc = 0;
        for (int c = 0; c < d; ++c) acc += double(q[c]) * K[size_t(t) * size_t(d) + size_t(c)];
        sc[size_t(t)] = acc / std::sqrt(double(d));
        mx = std::max(mx, sc[size_t(t)]);
      }
      for (auto& x : sc) sum += (x = std::exp(x - mx));
      for (int64_t t = 0; t < n; ++t)
        for (int c = 0; c < d; ++c)
          o[size_t(c)] += sc[size_t(t)] / sum * V[size_t(t) * size_t(d) + size_t(c)];
      double err2 = 0, ref2 = 0;
      for (int c = 0; c < d; ++c) {
        const double got = pim::fp16_to_double(uint16_t(out[size_t(c)]));
        err2 += (got - o[size_t(c)]) * (got - o[size_t(c)]);
        ref2 += o[size_t(c)] * o[size_t(c)];
      }
      run.pim_error_sum += ref2 > 0 ? std::sqrt(err2 / ref2) : 0.0;
      run.pim_error_count += 1;
      run.pim_error_max = std::max(run.pim_error_max, ref2 > 0 ? std::sqrt(err2 / ref2) : 0.0);
    }
  };
  ao.on_selection = [&](size_t ci, const policy::Policy& pol, const policy::StepInput& in,
                        const policy::Selection& sel, policy::KvCache& cache) {
    PolicyRun& run = runs[ci];
    const size_t ji = (size_t(in.position - first) * size_t(shape.layers) + size_t(in.layer)) *
                          size_t(shape.kv_heads) +
                      size_t(in.kv_head);
    Job& j = run.jobs[ji];
    const policy::ClusterStore* store =
        pol.cluster_layout()
            ? &cache.clusters(params.starc.kmeans, rgt, params.starc.aligned_layout)
            : nullptr;
    const auto& w = sel.work;
    to_groups(w.scanned, store, &j.scan);
    to_groups(w.fetched, store, &j.value);
    j.scan_columns = w.key_channels >= d || w.key_channels == 0
                         ? 32u
                         : uint32_t(std::max(1, (32 * w.key_channels + d - 1) / d));
    // Exact scores of the attended keys: a full-width scan has them already; after a partial
    // one (SparQ's r channels) every attended row group is scored again in full.
    if (j.scan_columns == 32)
      std::set_difference(j.value.begin(), j.value.end(), j.scan.begin(), j.scan.end(),
                          std::back_inserter(j.attend));
    else
      j.attend = j.value;
    const int64_t meta_items = pol.name() == "quest" ? 2 * w.metadata_items : w.metadata_items;
    const int64_t mg = (meta_items + rgt - 1) / rgt;
    for (int64_t g = 0; g < mg; ++g) j.meta.push_back(uint32_t(g));
    if (!sel.dense) j.select_elements = int64_t(G) * (int64_t(w.scanned.size()) + w.metadata_items);
    for (const auto& p : sel.positions) j.softmax_elements += int64_t(p.size());
    // Clustering of blocks completed since this KV head's last step.
    if (store) {
      int64_t& seen = run.clusters_seen[{in.layer, in.kv_head}];
      const int64_t now = store->clusters();
      if (seen > 0 && now > seen) {
        const int k = store->clusters_per_block();
        j.cluster_blocks = int32_t((now - seen) / k);
        for (int64_t b = seen / k; b < now / k; ++b) {
          j.cluster_iterations += store->iterations()[size_t(b)];
          // The cluster-mapping unit on the same block (FP16 keys): its fast mode always, its
          // clocked mode later, in one SystemC run, checked against the fast one.
          const int64_t first_token = b * store->block_tokens();
          std::vector<uint16_t> keys(size_t(store->block_tokens()) * size_t(d));
          for (size_t i = 0; i < keys.size(); ++i)
            keys[i] = pim::fp16_from_float(in.cache->keys()[size_t(first_token) * size_t(d) + i]);
          const uint64_t base = uint64_t(store->cluster_slot(b * k));
          const cmu::CmuBlockResult fast = cmu::cmu_fast(cmu_cfg, kCmuLanes, keys.data(), base);
          run.cmu_blocks += 1;
          run.cmu_cycles += fast.cycles;
          j.cmu_cycles += fast.cycles;
          if (opt.units == "clocked") {
            run.cmu_jobs.push_back({keys, base});
            run.cmu_fast.push_back(fast);
          }
        }
      }
      seen = now;
    }
    if (fp16) pim_numerics(run, in, sel, store, j);
    // The index-prediction unit's work for this selection (its cycle model, fast mode).
    for (const auto& call : w.ipu) {
      run.ipu_cycles += ipu::call_cycles(call);
      j.ipu_cycles += ipu::call_cycles(call);
      run.ipu_calls += 1;
    }
    if (opt.units == "clocked") run.ipu_replay.add(in, w);  // its clocked mode later
  };
  if (opt.progress) ao.progress = [&](double f) { opt.progress("selection and accuracy", f); };
  const auto recs = policy::evaluate_accuracy(*src, ao);
  for (size_t i = 0; i < runs.size(); ++i) runs[i].accuracy = recs[i];
  const double phase1_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();

  // --- Phase 2: timing, one SystemC simulation per policy.
  json out;
  out["config"] = {{"model", preset->name},
                   {"context", first},
                   {"steps", steps},
                   {"budget", opt.budget},
                   {"memory", cfg.name},
                   {"stacks", opt.stacks},
                   {"channels", channels},
                   {"seed", opt.seed},
                   {"trace", opt.trace.empty() ? json(nullptr) : json(opt.trace)},
                   {"numerics", opt.numerics},
                   {"pim_alu", opt.pim_alu},
                   {"units", opt.units},
                   {"policy_params", params.source_file},
                   {"host_config", host.source_file},
                   {"row_activation", host.row_activation},
                   {"selection", host.selection},
                   {"clustering", host.clustering},
                   {"replay", opt.replay.empty() ? json(nullptr) : json(opt.replay)},
                   {"replay_budgets", step_budgets}};
  // One waveform file per policy: a.vcd -> a.starc.vcd ('+' of compositions as '_').
  auto vcd_for = [&](std::string name) -> std::string {
    if (opt.vcd.empty()) return "";
    std::replace(name.begin(), name.end(), '+', '_');
    const auto dot = opt.vcd.rfind('.');
    const auto slash = opt.vcd.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
      return opt.vcd + "." + name;
    return opt.vcd.substr(0, dot) + "." + name + opt.vcd.substr(dot);
  };
  json pols = json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    if (opt.progress) opt.progress("timing " + runs[i].name, double(i) / double(runs.size()));
    TimingOptions to;
    to.check_timing = opt.check_timing;
    to.vcd = vcd_for(runs[i].name);
    to.vcd_window = opt.vcd_window;
    to.row_group_tokens = rgt;
    to.cluster_queries = params.starc.kmeans.clusters;
    if (fp16) {
      to.data_source = src.get();
      to.pim_alu = opt.pim_alu;
      if (opt.pim_alu == "rtl" && !to.vcd.empty()) {  // a.starc.vcd -> a.starc.rtl.vcd
        const auto dot = to.vcd.rfind('.');
        to.vcd_rtl = to.vcd.substr(0, dot) + ".rtl" + to.vcd.substr(dot);
      }
    }
    json r = json_in_child(
        [&] { return simulate_jobs(runs[i].jobs, cfg, host, shape, steps, region, channels, to); },
        "the timing simulation of " + runs[i].name);
    const auto& a = runs[i].accuracy.overall;
    r["policy"] = runs[i].name;
    r["recall"] = a.recall;
    r["topk_overlap"] = a.topk_overlap;
    json units = {
        {"mode", opt.units},
        {"cmu_blocks", runs[i].cmu_blocks},
        {"cmu_cycles_per_block",
         runs[i].cmu_blocks ? double(runs[i].cmu_cycles) / double(runs[i].cmu_blocks) : 0.0},
        {"ipu_calls_per_step", double(runs[i].ipu_calls) / double(steps)},
        {"ipu_cycles_per_step", double(runs[i].ipu_cycles) / double(steps)}};
    if (opt.units == "clocked" && !runs[i].cmu_jobs.empty()) {
      // All blocks of the run through the clocked unit in one SystemC simulation (a child).
      const json c = json_in_child(
          [&] {
            std::vector<std::unique_ptr<cmu::CmuBench>> benches;
            std::vector<units::Bench> all;
            for (size_t b = 0; b < runs[i].cmu_jobs.size(); ++b) {
              cmu::CmuJob job;
              job.config = cmu_cfg;
              job.lanes = kCmuLanes;
              job.blocks = {runs[i].cmu_jobs[b].first};
              job.base_slot = runs[i].cmu_jobs[b].second;
              benches.push_back(cmu::make_cmu_bench(("cmu_" + std::to_string(b)).c_str(), job,
                                                    sc_time(cfg.timing.tCK_ns, SC_NS)));
              all.push_back(benches.back()->as_bench());
            }
            units::run_units(all, sc_time(cfg.timing.tCK_ns, SC_NS), 1u << 30, "");
            int64_t mismatches = 0;
            std::string first_diff;
            for (size_t b = 0; b < benches.size(); ++b) {
              const std::string diff =
                  cmu::compare_results(benches[b]->results().at(0), runs[i].cmu_fast[b], true);
              if (!diff.empty() || !benches[b]->error().empty()) {
                ++mismatches;
                if (first_diff.empty()) first_diff = diff + benches[b]->error();
              }
            }
            return json{
                {"checked", benches.size()}, {"mismatches", mismatches}, {"first", first_diff}};
          },
          "the clocked cluster-mapping unit");
      if (c["mismatches"].get<int64_t>() != 0)
        throw std::runtime_error(
            "the clocked cluster-mapping unit disagrees with its fast mode on " +
            c["mismatches"].dump() + " blocks: " + c["first"].get<std::string>());
      units["cmu_clocked_blocks_checked"] = c["checked"];
    }
    if (opt.units == "clocked" && runs[i].ipu_replay.size()) {
      // Every IPU command of the run through the clocked unit (one SystemC simulation, a child).
      const json v = json_in_child(
          [&] { return ipu::replay_clocked(runs[i].ipu_replay, params, cfg.timing.tCK_ns); },
          "the clocked index-prediction unit");
      ipu::require_agreement(v);
      units.update(ipu::units_report(v, steps));
    }
    r["units"] = units;
    r["selection_rel_l2_error"] = a.rel_l2_error;
    if (fp16 && runs[i].pim_error_count) {
      // The output error of the PIM numerics (selection and FP16 arithmetic together).
      r["rel_l2_error"] = runs[i].pim_error_sum / double(runs[i].pim_error_count);
      r["rel_l2_error_max"] = runs[i].pim_error_max;
    } else {
      r["rel_l2_error"] = a.rel_l2_error;
    }
    r["cosine"] = a.cosine;
    r["row_groups_per_step"] = a.row_groups_per_step;
    r["tokens_fetched_per_step"] = a.tokens_fetched_per_step;
    r["keys_scored_per_step"] = a.keys_scored_per_step;
    pols.push_back(std::move(r));
  }
  if (opt.progress) opt.progress("done", 1.0);
  out["policies"] = std::move(pols);
  out["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  out["selection_wall_s"] = phase1_s;
  out["peak_rss_MB"] = sparsepim::peak_rss_mb();
  return out;
}

}  // namespace sparsepim::host
