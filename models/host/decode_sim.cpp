#include "host/decode_sim.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tlm_utils/simple_initiator_socket.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <systemc>
#include <tlm>

#include "common/errors.h"
#include "common/json_in_child.h"
#include "common/peak_rss.h"
#include "hbm/energy.h"
#include "hbm/hbm_channel.h"
#include "hbm/memory_config.h"
#include "hbm/stats.h"
#include "hbm/timing_checker.h"
#include "hbm/vcd_writer.h"
#include "host/gemv_common.h"
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
#include "workloads/strict_json.h"

namespace sparsepim::host {

using nlohmann::json;
using namespace sc_core;
using hbm::MemoryConfig;
using hbm::PimOp;

namespace {

// ---------------------------------------------------------------------------------------------
// Configuration of the system around the stacks (configs/host/*.json).

struct HostConfig {
  std::string source_file;
  int channels_per_stack = 16;
  double softmax_per_ns = 16, topk_per_ns = 16, reduce_per_ns = 16;
  double softmax_pJ = 0, topk_pJ = 0, reduce_pJ = 0;
  double readout_ns = 0, readout_pJ_per_bit = 0;
  std::string row_activation = "auto";  // auto | lockstep | slices
};

HostConfig load_host_config(const std::string& name) {
  using workloads::StrictObject;
  const std::string path = workloads::resolve_preset(name, "host", "host config");
  const json j = workloads::read_json_file(path);
  HostConfig h;
  h.source_file = path;
  StrictObject top(j, path);
  top.allow_docs();
  top.allow("name");
  {
    StrictObject o(top.get("system"), path + ": system");
    o.allow_docs();
    h.channels_per_stack = int(o.integer("channels_per_stack", 1, 1024));
    o.finish();
  }
  {
    StrictObject o(top.get("buffer_die"), path + ": buffer_die");
    o.allow_docs();
    h.softmax_per_ns = o.number("softmax_elements_per_ns", 1e-6, 1e9);
    h.topk_per_ns = o.number("topk_elements_per_ns", 1e-6, 1e9);
    h.reduce_per_ns = o.number("reduce_elements_per_ns", 1e-6, 1e9);
    h.softmax_pJ = o.number("softmax_pJ_per_element", 0, 1e9);
    h.topk_pJ = o.number("topk_pJ_per_element", 0, 1e9);
    h.reduce_pJ = o.number("reduce_pJ_per_element", 0, 1e9);
    o.finish();
  }
  {
    StrictObject o(top.get("controller"), path + ": controller");
    o.allow_docs();
    h.row_activation = o.str("row_activation");
    if (h.row_activation != "auto" && h.row_activation != "lockstep" &&
        h.row_activation != "slices")
      throw ConfigError(path +
                        ": controller.row_activation: expected auto, lockstep or slices, got '" +
                        h.row_activation + "'");
    o.finish();
  }
  {
    StrictObject o(top.get("host"), path + ": host");
    o.allow_docs();
    h.readout_ns = o.number("readout_latency_ns", 0, 1e9);
    h.readout_pJ_per_bit = o.number("readout_pJ_per_bit", 0, 1e9);
    o.finish();
  }
  top.finish();
  return h;
}

// ---------------------------------------------------------------------------------------------
// Phase 1: jobs. A job is one (step, layer, KV head): the row groups of each pass in region
// coordinates (ids; slice = id % slices, row = id / slices within the pass's region) and the
// buffer-die work.

enum Phase {
  kQueryWrite,
  kSelection,
  kScoring,
  kSoftmax,
  kValuePass,
  kReadout,
  kClustering,
  kPhases
};
const char* const kPhaseNames[kPhases] = {"query_write", "selection", "scoring",   "softmax",
                                          "value_pass",  "readout",   "clustering"};

struct Job {
  std::vector<uint32_t> meta, scan, attend, value;
  uint32_t scan_columns = 32;
  int64_t select_elements = 0, softmax_elements = 0;
  int32_t cluster_blocks = 0, cluster_iterations = 0;
};

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

// The rows a region needs: data row groups (K or V) and metadata row groups of one KV head.
struct RegionShape {
  uint32_t data_groups = 0, staging_first = 0, meta_groups = 0;
  uint32_t data_rows = 0, meta_rows = 0;
};

RegionShape region_shape(int64_t tokens, int slices, int rgt, const policy::KmeansParams& km) {
  RegionShape r;
  const int64_t blocks = tokens / km.block_tokens;
  // Token order needs ceil(T/16) groups; cluster order at most ceil(size/16) per cluster (with
  // alignment) plus a staging block; the larger bound serves both layouts.
  const int64_t token_groups = (tokens + rgt - 1) / rgt;
  const int64_t per_block = (km.block_tokens + rgt - 1) / rgt + km.clusters - 1;
  const int64_t staging = (km.block_tokens + rgt - 1) / rgt;
  r.staging_first = uint32_t(std::max(token_groups, blocks * per_block));
  r.data_groups = uint32_t(r.staging_first + staging);
  // Centroids (one per cluster) or Quest min+max (two per page), 16 per row group.
  const int64_t items = std::max(blocks * km.clusters, 2 * ((tokens + rgt - 1) / rgt));
  r.meta_groups = uint32_t((items + rgt - 1) / rgt);
  r.data_rows = (r.data_groups + uint32_t(slices) - 1) / uint32_t(slices);
  r.meta_rows = (r.meta_groups + uint32_t(slices) - 1) / uint32_t(slices);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the SystemC simulation of one policy's jobs.

class Controller : public sc_module {
 public:
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Controller>>> sockets;

  Controller(sc_module_name n, const std::vector<hbm::HbmChannel*>& channels,
             const MemoryConfig& cfg, const HostConfig& host, const PolicyRun& run,
             const workloads::TraceShape& shape, int64_t steps, const RegionShape& region)
      : sc_module(n),
        ch_(channels),
        cfg_(cfg),
        host_(host),
        run_(run),
        shape_(shape),
        steps_(steps),
        region_(region) {
    slices_ = cfg.org.pseudo_channels * cfg.org.sids * cfg.org.bank_groups;
    slice_groups.assign(size_t(slices_), 0);
    for (size_t c = 0; c < channels.size(); ++c) {
      sockets.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Controller>>(
          ("socket_" + std::to_string(c)).c_str()));
      sockets.back()->bind(channels[c]->socket);
    }
    SC_HAS_PROCESS(Controller);
    for (size_t c = 0; c < channels.size(); ++c)
      sc_spawn(sc_bind(&Controller::channel_thread, this, int(c)));
    phase_.assign(size_t(steps * shape.layers * shape.kv_heads) * kPhases, 0.0);
  }

  // Per job and phase: ns.
  std::vector<double> phase_;
  double buffer_die_pJ[3] = {0, 0, 0};  // softmax, top-k, reduce
  double readout_pJ = 0;
  uint64_t lockstep_rounds = 0, slice_rounds = 0, useful_groups = 0;
  std::vector<uint64_t> slice_groups;  // useful row groups per slice (all channels)
  std::string error;

 private:
  // Region of (layer, KV head): its channel and the first rows of its K, V and metadata areas.
  struct Place {
    int channel;
    uint32_t k_row, v_row, m_row;
  };
  Place place(int layer, int kv) const {
    const int idx = layer * shape_.kv_heads + kv;
    const int channels = int(ch_.size());
    const uint32_t slot = uint32_t(idx / channels);
    const uint32_t per = 2 * region_.data_rows + region_.meta_rows;
    const uint32_t base = slot * per;
    return {idx % channels, base, base + region_.data_rows, base + 2 * region_.data_rows};
  }

  // One MAC pass over row groups (ids: slice = id % slices, row = base + id / slices), with the
  // moves around each round: MVGB of the probabilities before it (mvgb bursts per useful row
  // group), MVSB of the partial results after it (mvsb per useful row group). The controller
  // picks, per pass, the cheaper of two ways to open rows (by the estimate below, from the
  // timing config): ACTAB lockstep — one all-bank row per distinct row index, every slice opens
  // it whether useful or not — or per-slice rounds (kMacRowGroups) — every slice opens its own
  // next row with single-bank ACTs (tFAW, tRRD, row bus), rounds = the busiest slice's count.
  void ops_for_rows(const std::vector<uint32_t>& groups, uint32_t base, uint32_t columns,
                    std::vector<PimOp>* ops, uint32_t mvsb, uint32_t mvgb) {
    if (groups.empty()) return;
    const uint32_t S = uint32_t(slices_);
    std::vector<std::vector<uint32_t>> rows(S);
    for (uint32_t g : groups) rows[g % S].push_back(base + g / S);  // groups sorted: rows sorted
    std::vector<uint32_t> distinct;
    for (uint32_t g : groups) distinct.push_back(base + g / S);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    size_t rounds = 0;
    for (const auto& r : rows) rounds = std::max(rounds, r.size());
    // Cost estimates in cycles (the engine then times the chosen one exactly).
    const auto& t = cfg_.timing;
    const double mac = double(t.RCD_RD) + double(columns) * t.CCDAB + t.RTP_L + t.RP;
    const double lockstep = double(distinct.size()) * std::max<double>(t.RC, mac);
    double per_slice = 0;
    for (size_t k = 0; k < rounds; ++k) {
      uint32_t active = 0;
      for (const auto& r : rows) active += r.size() > k;
      const double acts = 4.0 * active, acts_pc = acts / cfg_.org.pseudo_channels;
      const double act_time =
          std::max((acts - 1) * t.ACT_BUS, (std::ceil(acts_pc / 4.0) - 1) * double(t.FAW));
      per_slice += act_time + mac;
    }
    const bool slices_mode = mode_ == "slices" || (mode_ == "auto" && per_slice < lockstep);
    for (uint32_t g : groups) ++slice_groups[g % S];
    useful_groups += groups.size();
    auto moves = [&](PimOp::Kind kind, uint32_t bursts) {
      if (!bursts) return;
      PimOp m;
      m.kind = kind;
      m.columns = bursts;
      ops->push_back(m);
    };
    if (!slices_mode) {
      lockstep_rounds += distinct.size();
      for (uint32_t row : distinct) {
        uint32_t useful = 0;
        for (const auto& r : rows) useful += std::binary_search(r.begin(), r.end(), row);
        moves(PimOp::Kind::kMoveToBanks, mvgb * useful);
        PimOp op;
        op.kind = PimOp::Kind::kMacRows;
        op.row_first = row;
        op.row_count = 1;
        op.columns = columns;
        ops->push_back(op);
        moves(PimOp::Kind::kMoveToBufferDie, mvsb * useful);
      }
      return;
    }
    slice_rounds += rounds;
    const auto& o = cfg_.org;
    for (size_t k = 0; k < rounds; ++k) {
      std::vector<hbm::SliceRow> round;
      for (uint32_t sl = 0; sl < S; ++sl)
        if (rows[sl].size() > k)
          round.push_back({sl / (o.bank_groups * o.sids), (sl / o.bank_groups) % o.sids,
                           sl % o.bank_groups, rows[sl][k]});
      const uint32_t useful = uint32_t(round.size());
      moves(PimOp::Kind::kMoveToBanks, mvgb * useful);
      PimOp op;
      op.kind = PimOp::Kind::kMacRowGroups;
      op.columns = columns;
      op.rounds = hbm::make_mac_rounds({round});
      ops->push_back(op);
      moves(PimOp::Kind::kMoveToBufferDie, mvsb * useful);
    }
  }

  void run_ops(int c, std::vector<PimOp> ops) {
    if (!ops.empty()) run_pim_ops(*sockets[size_t(c)], std::move(ops));
  }

  void buffer_die(double elements, double per_ns, double pJ, int which) {
    if (elements <= 0) return;
    buffer_die_pJ[which] += elements * pJ;
    wait(sc_time(elements / per_ns, SC_NS));
  }

  void run_job(int c, const Job& j, const Place& p, double* ph) {
    const uint32_t G = uint32_t(shape_.q_heads / shape_.kv_heads);
    const uint32_t banks = cfg_.org.banks_per_channel();
    const uint32_t banks_per_group = cfg_.org.banks_per_group;
    const uint32_t q_bursts = uint32_t(shape_.head_dim) * 2 / 32;  // FP16 query
    auto mark = [&] { return sc_time_stamp().to_seconds() * 1e9; };
    double t = mark();
    auto lap = [&](Phase phase) {
      const double now = mark();
      ph[phase] += now - t;
      t = now;
    };
    // Query into the GEMV buffers of every bank (G queries of the group).
    {
      PimOp w;
      w.kind = PimOp::Kind::kWriteBuffer;
      w.columns = G * q_bursts;
      run_ops(c, {w});
      lap(kQueryWrite);
    }
    // Selection: metadata (centroids / page summaries) and key scans, then top-k / ranking.
    {
      std::vector<PimOp> ops;
      ops_for_rows(j.meta, p.m_row, 32, &ops, G * banks_per_group, 0);
      ops_for_rows(j.scan, p.k_row, j.scan_columns, &ops, G * banks_per_group, 0);
      run_ops(c, std::move(ops));
      buffer_die(double(j.select_elements), host_.topk_per_ns, host_.topk_pJ, 1);
      lap(kSelection);
    }
    // Scores of the attended keys not scanned yet.
    {
      std::vector<PimOp> ops;
      ops_for_rows(j.attend, p.k_row, 32, &ops, G * banks_per_group, 0);
      run_ops(c, std::move(ops));
      lap(kScoring);
    }
    buffer_die(double(j.softmax_elements), host_.softmax_per_ns, host_.softmax_pJ, 0);
    lap(kSoftmax);
    // Value pass: probabilities to the banks per row, MACs, partial outputs to the buffer die.
    {
      std::vector<PimOp> ops;
      ops_for_rows(j.value, p.v_row, 32, &ops, 0, G * 2);
      PimOp m;
      m.kind = PimOp::Kind::kMoveToBufferDie;
      m.columns = G * banks * 2;
      ops.push_back(m);
      run_ops(c, std::move(ops));
      buffer_die(double(G) * banks * 2 * 16, host_.reduce_per_ns, host_.reduce_pJ, 2);
      lap(kValuePass);
    }
    wait(sc_time(host_.readout_ns, SC_NS));
    readout_pJ += double(G) * shape_.head_dim * 32 * host_.readout_pJ_per_bit;
    lap(kReadout);
    // STARC: cluster the block(s) completed at the previous step, in memory: per iteration the
    // 4 centroids into the buffers, MACs over the block's staging row groups, similarities out,
    // argmax and centroid update on the buffer die; then the block rewritten in cluster order.
    if (j.cluster_blocks) {
      const uint32_t staging_row = p.k_row + region_.staging_first / uint32_t(slices_);
      for (int it = 0; it < j.cluster_iterations; ++it) {
        PimOp w;
        w.kind = PimOp::Kind::kWriteBuffer;
        w.columns = 4 * q_bursts;
        PimOp mac;
        mac.kind = PimOp::Kind::kMacRows;
        mac.row_first = staging_row;
        mac.row_count = 1;
        mac.columns = 32;
        PimOp mv;
        mv.kind = PimOp::Kind::kMoveToBufferDie;
        mv.columns = 4 * banks;
        run_ops(c, {w, mac, mv});
        buffer_die(64.0 * 4 + 64.0 * shape_.head_dim, host_.reduce_per_ns, host_.reduce_pJ, 2);
      }
      // Rewrite: K and V of each block, 64 tokens x head_dim x 2 B each, as 32 B bursts through
      // the normal write path, in the rows the cluster order assigns (the next data rows).
      const auto& mapper = ch_[size_t(c)]->engine().mapper();
      uint8_t buf[32] = {};
      const uint32_t bursts = uint32_t(j.cluster_blocks) * 64u * uint32_t(shape_.head_dim) * 2 / 32;
      for (uint32_t kv = 0; kv < 2; ++kv)
        for (uint32_t b = 0; b < bursts; ++b) {
          hbm::DramAddress a;
          const uint32_t s = (b / cfg_.org.columns) % uint32_t(slices_);
          a.bg = s % cfg_.org.bank_groups;
          a.sid = (s / cfg_.org.bank_groups) % cfg_.org.sids;
          a.pc = s / (cfg_.org.bank_groups * cfg_.org.sids);
          a.bank = (b / (cfg_.org.columns * uint32_t(slices_))) % cfg_.org.banks_per_group;
          a.row = (kv ? p.v_row : p.k_row) + region_.staging_first / uint32_t(slices_);
          a.column = b % cfg_.org.columns;
          blocking_burst(*sockets[size_t(c)], mapper, a, buf, true);
        }
      lap(kClustering);
    }
  }

  void channel_thread(int c) {
    try {
      for (int64_t s = 0; s < steps_; ++s)
        for (int l = 0; l < shape_.layers; ++l) {
          for (int g = 0; g < shape_.kv_heads; ++g) {
            const Place p = place(l, g);
            if (p.channel != c) continue;
            const size_t ji =
                (size_t(s) * size_t(shape_.layers) + size_t(l)) * size_t(shape_.kv_heads) +
                size_t(g);
            run_job(c, run_.jobs[ji], p, &phase_[ji * kPhases]);
          }
          barrier();
        }
    } catch (const std::exception& e) {
      if (error.empty()) error = e.what();
      barrier_broken_ = true;
      done_ev_.notify(SC_ZERO_TIME);
    }
  }

  void barrier() {
    if (barrier_broken_) throw std::runtime_error("aborted");
    if (++arrived_ == int(ch_.size())) {
      arrived_ = 0;
      done_ev_.notify(SC_ZERO_TIME);
      wait(done_ev_);
    } else {
      wait(done_ev_);
    }
    if (barrier_broken_) throw std::runtime_error("aborted");
  }

  std::vector<hbm::HbmChannel*> ch_;
  const MemoryConfig& cfg_;
  const HostConfig& host_;
  const PolicyRun& run_;
  workloads::TraceShape shape_;
  int64_t steps_;
  RegionShape region_;
  int slices_ = 16;
  std::string mode_ = host_.row_activation;
  int arrived_ = 0;
  bool barrier_broken_ = false;
  sc_event done_ev_;

 public:
};

json simulate(const PolicyRun& run, const MemoryConfig& cfg, const HostConfig& host,
              const workloads::TraceShape& shape, int64_t steps, const RegionShape& region,
              int channels, bool check_timing, const std::string& vcd_path,
              const std::string& vcd_window) {
  const auto w0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<hbm::HbmChannel>> chans;
  std::vector<std::unique_ptr<hbm::StatsObserver>> stats;
  std::vector<std::unique_ptr<hbm::EnergyObserver>> energy;
  std::vector<std::unique_ptr<hbm::TimingChecker>> checkers;
  std::vector<hbm::HbmChannel*> raw;
  for (int c = 0; c < channels; ++c) {
    chans.push_back(
        std::make_unique<hbm::HbmChannel>(("channel_" + std::to_string(c)).c_str(), cfg));
    stats.push_back(std::make_unique<hbm::StatsObserver>(cfg));
    energy.push_back(std::make_unique<hbm::EnergyObserver>(cfg));
    chans.back()->add_observer(stats.back().get());
    chans.back()->add_observer(energy.back().get());
    if (check_timing) {
      checkers.push_back(std::make_unique<hbm::TimingChecker>(cfg));
      chans.back()->add_observer(checkers.back().get());
    }
    raw.push_back(chans.back().get());
  }
  std::unique_ptr<hbm::VcdWriter> vcd;
  if (!vcd_path.empty()) {
    vcd = std::make_unique<hbm::VcdWriter>(vcd_path, cfg, vcd_window);
    hbm::write_gtkwave_save(vcd_path, cfg);
    chans[0]->add_observer(vcd.get());
  }
  Controller ctl("controller", raw, cfg, host, run, shape, steps, region);
  sc_start();
  if (!ctl.error.empty()) throw std::runtime_error(ctl.error);
  const double end_ns = sc_time_stamp().to_seconds() * 1e9;
  if (vcd) vcd->on_finish(chans[0]->cycle_of(sc_time_stamp()));
  hbm::EnergyBreakdown e;
  json commands = json::object();
  uint64_t hits = 0, accesses = 0, bank_bytes = 0, total_cmds = 0;
  std::vector<double> bank_busy;
  for (int c = 0; c < channels; ++c) {
    chans[size_t(c)]->finish();
    const uint64_t end_cycle = chans[size_t(c)]->cycle_of(sc_time_stamp());
    energy[size_t(c)]->on_finish(end_cycle);
    stats[size_t(c)]->on_finish(end_cycle);
    const auto& pj = energy[size_t(c)]->pJ();
    e.act_pre += pj.act_pre;
    e.cell_rw += pj.cell_rw;
    e.on_die += pj.on_die;
    e.tsv += pj.tsv;
    e.interposer += pj.interposer;
    e.pim_mac += pj.pim_mac;
    e.refresh += pj.refresh;
    e.background += pj.background;
    const auto& st = *stats[size_t(c)];
    const json cj = st.commands_json();
    for (auto it = cj.begin(); it != cj.end(); ++it)
      commands[it.key()] = commands.value(it.key(), uint64_t(0)) + it.value().get<uint64_t>();
    hits += st.row_hits;
    accesses += st.row_hits + st.row_misses + st.row_conflicts;
    bank_bytes += st.pim_bank_bytes;
    total_cmds += st.total_commands();
    for (uint64_t b : st.bank_column_cycles) bank_busy.push_back(double(b) * cfg.timing.tCK_ns);
  }
  const int L = shape.layers, KV = shape.kv_heads;
  // Per step: latency = the sum over layers of the slowest head; phases of that head.
  double phases[kPhases] = {};
  for (int64_t s = 0; s < steps; ++s)
    for (int l = 0; l < L; ++l) {
      size_t worst = 0;
      double worst_t = -1;
      for (int g = 0; g < KV; ++g) {
        const size_t ji = (size_t(s) * size_t(L) + size_t(l)) * size_t(KV) + size_t(g);
        double tot = 0;
        for (int p = 0; p < kPhases; ++p) tot += ctl.phase_[ji * kPhases + size_t(p)];
        if (tot > worst_t) worst_t = tot, worst = ji;
      }
      for (int p = 0; p < kPhases; ++p) phases[p] += ctl.phase_[worst * kPhases + size_t(p)];
    }
  json lat = json::object();
  double lat_total = 0;
  for (int p = 0; p < kPhases; ++p) {
    lat[kPhaseNames[p]] = phases[p] / double(steps);
    lat_total += phases[p] / double(steps);
  }
  lat["total"] = end_ns / double(steps);
  lat["sum_of_phases"] = lat_total;
  json en = json::object();
  const double per = 1.0 / double(steps);
  en["act_pre"] = e.act_pre * per;
  en["cell_rw"] = e.cell_rw * per;
  en["pim_mac"] = e.pim_mac * per;
  en["on_die"] = e.on_die * per;
  en["tsv"] = e.tsv * per;
  en["interposer"] = e.interposer * per;
  en["refresh"] = e.refresh * per;
  en["background"] = e.background * per;
  en["buffer_die_softmax"] = ctl.buffer_die_pJ[0] * per;
  en["buffer_die_topk"] = ctl.buffer_die_pJ[1] * per;
  en["buffer_die_reduce"] = ctl.buffer_die_pJ[2] * per;
  en["host_readout"] = ctl.readout_pJ * per;
  double etot = 0;
  for (auto& [k, v] : en.items()) etot += v.get<double>();
  en["total"] = etot;
  double busy_max = 0, busy_sum = 0;
  for (double b : bank_busy) busy_max = std::max(busy_max, b), busy_sum += b;
  const double busy_mean = bank_busy.empty() ? 0 : busy_sum / double(bank_busy.size());
  double sg_max = 0, sg_sum = 0;
  for (uint64_t v : ctl.slice_groups) sg_max = std::max(sg_max, double(v)), sg_sum += double(v);
  const double sg_mean = ctl.slice_groups.empty() ? 0 : sg_sum / double(ctl.slice_groups.size());
  // Internal bandwidth: bytes the MACABs read in the banks over the run, against every bank of
  // every channel reading 32 B per tCCDAB.
  const double peak_GBps = double(channels) * cfg.org.banks_per_channel() *
                           cfg.org.bytes_per_column / (cfg.timing.CCDAB * cfg.timing.tCK_ns);
  const double achieved_GBps = end_ns > 0 ? double(bank_bytes) / end_ns : 0;
  json r;
  r["latency_ns"] = lat;
  r["energy_pJ"] = en;
  r["commands"] = commands;
  r["commands_per_step"] = double(total_cmds) / double(steps);
  r["row_hit_rate"] = accesses ? double(hits) / double(accesses) : 0.0;
  r["lockstep_rows_per_step"] = double(ctl.lockstep_rounds) / double(steps);
  r["slice_rounds_per_step"] = double(ctl.slice_rounds) / double(steps);
  r["useful_row_groups_per_step"] = double(ctl.useful_groups) / double(steps);
  r["bank_busy_ns_max"] = busy_max;
  r["bank_busy_ns_mean"] = busy_mean;
  r["bank_imbalance"] = sg_mean > 0 ? sg_max / sg_mean : 1.0;
  r["bank_busy_imbalance"] = busy_mean > 0 ? busy_max / busy_mean : 1.0;
  r["internal_bw_GBps"] = achieved_GBps;
  r["internal_bw_peak_GBps"] = peak_GBps;
  r["internal_bw_utilization"] = peak_GBps > 0 ? achieved_GBps / peak_GBps : 0.0;
  r["simulated_ns"] = end_ns;
  if (check_timing) {
    uint64_t v = 0;
    for (const auto& ck : checkers) v += ck->violations();
    r["timing_violations"] = v;
  }
  r["sim_wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  r["sim_peak_rss_MB"] = sparsepim::peak_rss_mb();
  return r;
}

}  // namespace

json run_decode(const DecodeOptions& opt) {
  const auto w0 = std::chrono::steady_clock::now();
  // --- Check everything before any work.
  if (opt.numerics != "fp32" && opt.numerics != "fp16")
    throw ConfigError("--numerics: expected fp32 or fp16, got '" + opt.numerics + "'");
  const bool fp16 = opt.numerics == "fp16";
  if (opt.pim_alu != "model")
    throw ConfigError("--pim-alu " + opt.pim_alu +
                      ": the RTL ALU runs in `sparsepim gemv`; the decode simulation times "
                      "passes without functional data so far");
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
  auto pim_numerics = [&](PolicyRun& run, const policy::StepInput& in, const policy::Selection& sel,
                          const policy::ClusterStore* store,
                          const std::vector<uint32_t>& value_groups) {
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
    std::set_difference(j.value.begin(), j.value.end(), j.scan.begin(), j.scan.end(),
                        std::back_inserter(j.attend));
    j.scan_columns = w.key_channels >= d || w.key_channels == 0
                         ? 32u
                         : uint32_t(std::max(1, (32 * w.key_channels + d - 1) / d));
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
          if (opt.units == "clocked") {
            run.cmu_jobs.push_back({keys, base});
            run.cmu_fast.push_back(fast);
          }
        }
      }
      seen = now;
    }
    if (fp16) pim_numerics(run, in, sel, store, j.value);
    // The index-prediction unit's work for this selection (its cycle model, fast mode).
    for (const auto& call : w.ipu) {
      run.ipu_cycles += ipu::call_cycles(call);
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
    json r = json_in_child(
        [&] {
          return simulate(runs[i], cfg, host, shape, steps, region, channels, opt.check_timing,
                          vcd_for(runs[i].name), opt.vcd_window);
        },
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
