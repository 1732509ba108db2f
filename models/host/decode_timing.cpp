#include "host/decode_timing.h"

#include <tlm_utils/simple_initiator_socket.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <systemc>
#include <tlm>

#include "common/errors.h"
#include "common/peak_rss.h"
#include "hbm/energy.h"
#include "hbm/hbm_channel.h"
#include "hbm/stats.h"
#include "hbm/timing_checker.h"
#include "hbm/vcd_writer.h"
#include "host/alu_factory.h"
#include "host/gemv_common.h"
#include "pim/alu_backend.h"
#include "pim/attacc_numerics.h"
#include "pim/fp16_alu.h"
#include "pim/gemv_units.h"
#include "pim/pim_data.h"
#include "workloads/strict_json.h"

namespace sparsepim::host {

using nlohmann::json;
using namespace sc_core;
using hbm::MemoryConfig;
using hbm::PimOp;
using pim::PimData;

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
    h.selection = o.str("selection");
    if (h.selection != "buffer_die" && h.selection != "ipu")
      throw ConfigError(path + ": controller.selection: expected buffer_die or ipu, got '" +
                        h.selection + "'");
    h.clustering = o.str("clustering");
    if (h.clustering != "in_memory" && h.clustering != "cmu")
      throw ConfigError(path + ": controller.clustering: expected in_memory or cmu, got '" +
                        h.clustering + "'");
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

int32_t JobData::position(uint32_t gid, uint32_t lane, int rgt) const {
  if (!cluster_order) {
    const int64_t p = int64_t(gid) * rgt + lane;
    return p < n ? int32_t(p) : -1;
  }
  const auto it = std::lower_bound(group_ids.begin(), group_ids.end(), gid);
  if (it == group_ids.end() || *it != gid)
    throw std::logic_error("row group " + std::to_string(gid) + " has no recorded positions");
  return group_pos[size_t(it - group_ids.begin()) * size_t(rgt) + lane];
}

namespace {

// The MAC rounds of one pass: per round the useful row groups (ascending, so ascending slices),
// opened either by one ACTAB of a row index in every bank (lockstep; `rows`) or by single-bank
// ACTs of each slice's own next row (per-slice rounds).
struct PassPlan {
  bool slices_mode = false;
  uint32_t base = 0, columns = 32;
  std::vector<std::vector<uint32_t>> rounds;
  std::vector<uint32_t> rows;  // lockstep only
};

enum class PassKind { kScores, kDiscard, kValues };

class Controller : public sc_module {
 public:
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Controller>>> sockets;

  Controller(sc_module_name n, const std::vector<hbm::HbmChannel*>& channels,
             const MemoryConfig& cfg, const HostConfig& host, const std::vector<Job>& jobs,
             const workloads::TraceShape& shape, int64_t steps, const RegionShape& region,
             const TimingOptions& opt, std::vector<pim::AluBackend*> alus)
      : sc_module(n),
        ch_(channels),
        cfg_(cfg),
        host_(host),
        jobs_(jobs),
        shape_(shape),
        steps_(steps),
        region_(region),
        opt_(opt),
        alus_(std::move(alus)) {
    slices_ = cfg.org.pseudo_channels * cfg.org.sids * cfg.org.bank_groups;
    bpg_ = cfg.org.banks_per_group;
    G_ = uint32_t(shape.q_heads / shape.kv_heads);
    slice_groups.assign(size_t(slices_), 0);
    data_.resize(channels.size());  // used only with data
    for (size_t c = 0; c < channels.size(); ++c) {
      sockets.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Controller>>(
          ("socket_" + std::to_string(c)).c_str()));
      sockets.back()->bind(channels[c]->socket);
    }
    SC_HAS_PROCESS(Controller);
    // The channel threads read the workload (the generator's working set lives on the stack):
    // more than SystemC's default 64 KB coroutine stack.
    sc_spawn_options so;
    so.set_stack_size(8 << 20);
    for (size_t c = 0; c < channels.size(); ++c)
      sc_spawn(sc_bind(&Controller::channel_thread, this, int(c)), nullptr, &so);
    phase_.assign(size_t(steps * shape.layers * shape.kv_heads) * kPhases, 0.0);
  }

  // Per job and phase: ns.
  std::vector<double> phase_;
  double buffer_die_pJ[3] = {0, 0, 0};  // softmax, top-k, reduce
  double readout_pJ = 0;
  uint64_t lockstep_rounds = 0, slice_rounds = 0, useful_groups = 0;
  std::vector<uint64_t> slice_groups;  // useful row groups per slice (all channels)
  std::string error;
  // With data: outputs compared with the FP16 model, and the first difference.
  int64_t jobs_with_data = 0, outputs_checked = 0, outputs_differing = 0, scores_used = 0;
  std::string first_difference;

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

  // The numbers one job carries (with data), per channel thread.
  struct DataState {
    const JobData* d = nullptr;
    std::vector<std::unique_ptr<PimData>> owned;
    // The MVSBs of the score passes and the row groups (per round) whose partials they move.
    std::vector<std::pair<const PimData*, std::vector<uint32_t>>> score_moves;
    std::vector<uint32_t> score;  // G x n, accumulator format
    std::vector<uint8_t> scored;  // G x n
    std::vector<uint16_t> prob;   // G x n, FP16
    const PimData* value_move = nullptr;
    std::vector<float> k, v;  // the KV head's rows, as the source gives them
  };
  std::vector<DataState> data_;

  PimData* new_data(DataState* ds) {
    ds->owned.push_back(std::make_unique<PimData>());
    return ds->owned.back().get();
  }
  uint64_t slice_mask(uint32_t s) const { return ((uint64_t(1) << bpg_) - 1) << (s * bpg_); }

  // Plans one MAC pass over row groups (ids: slice = id % slices, row = base + id / slices). The
  // controller picks the cheaper of two ways to open rows (by the estimate below, from the
  // timing config): ACTAB lockstep — one all-bank row per distinct row index, every slice opens
  // it whether useful or not, the MACABs compute only in the useful slices' banks — or per-slice
  // rounds (kMacRowGroups) — every slice opens its own next row with single-bank ACTs (tFAW,
  // tRRD, row bus), rounds = the busiest slice's count.
  PassPlan plan_pass(const std::vector<uint32_t>& groups, uint32_t base, uint32_t columns) {
    PassPlan plan;
    plan.base = base;
    plan.columns = columns;
    if (groups.empty()) return plan;
    const uint32_t S = uint32_t(slices_);
    std::vector<std::vector<uint32_t>> per_slice(S);
    for (uint32_t g : groups) per_slice[g % S].push_back(g);  // groups sorted: rows sorted
    std::vector<uint32_t> distinct;
    for (uint32_t g : groups) distinct.push_back(g / S);
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    size_t rounds = 0;
    for (const auto& r : per_slice) rounds = std::max(rounds, r.size());
    // Cost estimates in cycles (the engine then times the chosen one exactly).
    const auto& t = cfg_.timing;
    const double mac = double(t.RCD_RD) + double(columns) * t.CCDAB + t.RTP_L + t.RP;
    const double lockstep = double(distinct.size()) * std::max<double>(t.RC, mac);
    double per_slice_cost = 0;
    for (size_t k = 0; k < rounds; ++k) {
      uint32_t active = 0;
      for (const auto& r : per_slice) active += r.size() > k;
      const double acts = double(bpg_) * active, acts_pc = acts / cfg_.org.pseudo_channels;
      const double act_time =
          std::max((acts - 1) * t.ACT_BUS, (std::ceil(acts_pc / 4.0) - 1) * double(t.FAW));
      per_slice_cost += act_time + mac;
    }
    plan.slices_mode = mode_ == "slices" || (mode_ == "auto" && per_slice_cost < lockstep);
    for (uint32_t g : groups) ++slice_groups[g % S];
    useful_groups += groups.size();
    if (!plan.slices_mode) {
      lockstep_rounds += distinct.size();
      size_t i = 0;
      for (uint32_t row : distinct) {
        plan.rows.push_back(base + row);
        plan.rounds.emplace_back();
        for (; i < groups.size() && groups[i] / S == row; ++i)
          plan.rounds.back().push_back(groups[i]);
      }
      return plan;
    }
    slice_rounds += rounds;
    for (size_t k = 0; k < rounds; ++k) {
      plan.rounds.emplace_back();
      for (uint32_t sl = 0; sl < S; ++sl)
        if (per_slice[sl].size() > k) plan.rounds.back().push_back(per_slice[sl][k]);
    }
    return plan;
  }

  // The ops of a planned pass, with the moves around each round: MVGB of the probabilities
  // before it (values: 2 bursts per query per useful row group), MVSB of the partial dot
  // products after it (scores: one burst per bank and query per useful row group). With data
  // (ds) the bursts carry the numbers and the MVSBs say which registers they move.
  void emit_pass(const PassPlan& plan, PassKind kind, std::vector<PimOp>* ops, DataState* ds) {
    const uint32_t S = uint32_t(slices_);
    const auto& o = cfg_.org;
    PimData* macs = nullptr;
    if (ds && kind == PassKind::kValues) {
      macs = new_data(ds);
      macs->accumulators = 2;  // column parity = which 16 of the bank's 32 dimensions
    }
    for (size_t k = 0; k < plan.rounds.size(); ++k) {
      const std::vector<uint32_t>& round = plan.rounds[k];
      const uint32_t useful = uint32_t(round.size());
      if (kind == PassKind::kValues) {
        PimOp m;
        m.kind = PimOp::Kind::kMoveToBanks;
        m.columns = G_ * 2 * useful;
        if (ds) m.data = probabilities(round, ds);
        ops->push_back(m);
      }
      PimOp op;
      op.columns = plan.columns;
      op.queries = uint8_t(G_);
      op.data = macs;
      if (!plan.slices_mode) {
        op.kind = PimOp::Kind::kMacRows;
        op.row_first = plan.rows[k];
        op.row_count = 1;
        op.mac_mask = 0;
        for (uint32_t g : round) op.mac_mask |= slice_mask(g % S);
      } else {
        std::vector<hbm::SliceRow> acts;
        for (uint32_t g : round) {
          const uint32_t sl = g % S;
          acts.push_back({sl / (o.bank_groups * o.sids), (sl / o.bank_groups) % o.sids,
                          sl % o.bank_groups, plan.base + g / S});
        }
        op.kind = PimOp::Kind::kMacRowGroups;
        op.rounds = hbm::make_mac_rounds({acts});
      }
      ops->push_back(op);
      if (kind != PassKind::kValues) {
        PimOp m;
        m.kind = PimOp::Kind::kMoveToBufferDie;
        m.columns = G_ * bpg_ * useful;
        if (ds) {
          PimData* mv = new_data(ds);
          for (uint32_t g : round)
            for (uint32_t j = 0; j < bpg_; ++j)
              for (uint32_t q = 0; q < G_; ++q)
                mv->source.push_back(PimData::mvsb_source((g % S) * bpg_ + j, q, 0));
          m.data = mv;
          if (kind == PassKind::kScores) ds->score_moves.push_back({mv, round});
        }
        ops->push_back(m);
      }
    }
  }

  // MVGB bursts of one value round: per useful row group, per query head, the probabilities of
  // the row's 16 tokens in buffer order (entry c = token c / 2: two columns per token).
  PimData* probabilities(const std::vector<uint32_t>& round, DataState* ds) {
    PimData* pd = new_data(ds);
    const JobData& d = *ds->d;
    const uint32_t S = uint32_t(slices_);
    for (uint32_t g : round)
      for (uint32_t q = 0; q < G_; ++q)
        for (uint32_t h = 0; h < 2; ++h) {
          uint16_t e[16];
          for (uint32_t i = 0; i < 16; ++i) {
            const int32_t pos = d.position(g, (16 * h + i) / 2, opt_.row_group_tokens);
            e[i] = pos < 0 ? 0 : ds->prob[size_t(q) * size_t(d.n) + size_t(pos)];
          }
          pd->add_burst(e, slice_mask(g % S), uint8_t(2 * q + h));
        }
    return pd;
  }

  void run_ops(int c, std::vector<PimOp> ops) {
    if (!ops.empty()) run_pim_ops(*sockets[size_t(c)], std::move(ops));
  }

  void buffer_die(double elements, double per_ns, double pJ, int which) {
    if (elements <= 0) return;
    buffer_die_pJ[which] += elements * pJ;
    wait(sc_time(elements / per_ns, SC_NS));
  }

  // With data: the KV head's keys (transposed: a column = one dimension of 16 tokens) and values
  // (token-major: two columns per token) into the channel's bank store, in the policy's layout,
  // for the row groups the passes read; everything else reads as zeros. The store is
  // functional: writing it costs no simulated time (the KV cache is resident).
  void store_region(int c, int layer, int kv, const Job& j, const Place& p, DataState* ds) {
    const JobData& d = *ds->d;
    const int D = shape_.head_dim, rgt = opt_.row_group_tokens;
    ds->k.resize(size_t(d.n) * size_t(D));
    ds->v.resize(ds->k.size());
    opt_.data_source->kv(layer, kv, d.n, ds->k.data(), ds->v.data(), nullptr);
    hbm::BankStore& store = ch_[size_t(c)]->store();
    store.clear();
    const uint32_t S = uint32_t(slices_), bytes = cfg_.org.bytes_per_column;
    std::vector<uint32_t> keys;
    std::set_union(j.scan.begin(), j.scan.end(), j.attend.begin(), j.attend.end(),
                   std::back_inserter(keys));
    uint16_t lanes[16];
    for (int which = 0; which < 2; ++which)
      for (uint32_t g : which == 0 ? keys : j.value) {
        int32_t pos[16];
        for (int l = 0; l < rgt; ++l) pos[l] = d.position(g, uint32_t(l), rgt);
        const uint32_t row = (which == 0 ? p.k_row : p.v_row) + g / S;
        for (uint32_t b = 0; b < bpg_; ++b) {
          uint8_t* r = store.row_for_write((g % S) * bpg_ + b, row);
          for (uint32_t col = 0; col < cfg_.org.columns; ++col) {
            for (int l = 0; l < 16; ++l) {
              int32_t t;
              size_t dim;
              if (which == 0) {  // keys: lane = token, column = dimension 32 b + col
                t = pos[l];
                dim = 32 * b + col;
              } else {  // values: column = half (col % 2) of token col / 2, lane = dimension
                t = pos[col / 2];
                dim = 32 * b + 16 * (col % 2) + uint32_t(l);
              }
              const std::vector<float>& m = which == 0 ? ds->k : ds->v;
              lanes[l] = t < 0 ? 0 : pim::fp16_from_float(m[size_t(t) * size_t(D) + dim]);
            }
            std::memcpy(r + col * bytes, lanes, 32);
          }
        }
      }
  }

  // With data: the partial dot products of the score passes, added per token in bank order on
  // the buffer die (pim::attacc_score's order), kept for the positions in the rows.
  void collect_scores(DataState* ds) {
    const JobData& d = *ds->d;
    std::vector<uint16_t> part(size_t(bpg_) * G_ * 16);  // [bank][query][lane] of one row group
    auto at_part = [&](uint32_t b, uint32_t q, uint32_t l) -> uint16_t& {
      return part[(size_t(b) * G_ + q) * 16 + l];
    };
    for (const auto& [mv, round] : ds->score_moves) {
      size_t burst = 0;
      for (uint32_t g : round) {
        for (uint32_t b = 0; b < bpg_; ++b)
          for (uint32_t q = 0; q < G_; ++q, ++burst)
            std::memcpy(&at_part(b, q, 0), mv->out.data() + 32 * burst, 32);
        for (uint32_t q = 0; q < G_; ++q)
          for (uint32_t l = 0; l < 16; ++l) {
            const int32_t pos = d.position(g, l, opt_.row_group_tokens);
            if (pos < 0) continue;
            uint32_t s = at_part(0, q, l);
            for (uint32_t b = 1; b < bpg_; ++b) s = pim::attacc_acc_add(s, at_part(b, q, l), false);
            const size_t at = size_t(q) * size_t(d.n) + size_t(pos);
            ds->score[at] = s;
            ds->scored[at] = 1;
          }
      }
    }
    ds->score_moves.clear();
  }

  // With data: softmax per query head over its positions (pim::attacc_softmax), every score
  // taken from the passes; a position no pass scored is a hole in the dataflow.
  void softmax(DataState* ds, int64_t step, int layer, int kv) {
    const JobData& d = *ds->d;
    std::fill(ds->prob.begin(), ds->prob.end(), uint16_t(0));
    std::vector<uint32_t> sc;
    std::vector<uint16_t> p16;
    std::vector<uint32_t> all;
    if (d.dense) {
      all.resize(size_t(d.n));
      for (int64_t t = 0; t < d.n; ++t) all[size_t(t)] = uint32_t(t);
    }
    for (uint32_t q = 0; q < G_; ++q) {
      const std::vector<uint32_t>& pos = d.dense ? all : d.heads[q];
      sc.resize(pos.size());
      for (size_t i = 0; i < pos.size(); ++i) {
        const size_t at = size_t(q) * size_t(d.n) + pos[i];
        if (!ds->scored[at])
          throw std::logic_error("step " + std::to_string(step) + ", layer " +
                                 std::to_string(layer) + ", KV head " + std::to_string(kv) +
                                 ": query head " + std::to_string(q) + " attends position " +
                                 std::to_string(pos[i]) + ", which no score pass computed");
        sc[i] = ds->score[at];
      }
      scores_used += int64_t(pos.size());
      p16.resize(pos.size());
      pim::attacc_softmax(sc.data(), uint32_t(sc.size()), uint32_t(shape_.head_dim), false,
                          p16.data());
      for (size_t i = 0; i < pos.size(); ++i) ds->prob[size_t(q) * size_t(d.n) + pos[i]] = p16[i];
    }
  }

  // With data: each query head's output from the moved registers, partial outputs added in
  // slice order (pim::attacc_output's order), compared bit for bit with the FP16 model.
  void check_output(DataState* ds, int64_t step, int layer, int kv) {
    const JobData& d = *ds->d;
    const PimData& mv = *ds->value_move;
    const uint32_t D = uint32_t(shape_.head_dim), S = uint32_t(slices_);
    for (uint32_t q = 0; q < G_; ++q)
      for (uint32_t dim = 0; dim < D; ++dim) {
        const uint32_t b = dim / 32, h = (dim / 16) % 2, l = dim % 16;
        uint32_t total = 0;
        for (uint32_t s = 0; s < S; ++s) {
          const size_t burst = (size_t(s * bpg_ + b) * G_ + q) * 2 + h;
          uint16_t v;
          std::memcpy(&v, mv.out.data() + 32 * burst + 2 * l, 2);
          total = s == 0 ? v : pim::attacc_acc_add(total, v, false);
        }
        ++outputs_checked;
        const uint16_t want = d.expect[size_t(q) * D + dim];
        if (uint16_t(total) != want) {
          if (outputs_differing++ == 0)
            first_difference = "step " + std::to_string(step) + ", layer " + std::to_string(layer) +
                               ", KV head " + std::to_string(kv) + ", query head " +
                               std::to_string(q) + ", dimension " + std::to_string(dim) +
                               ": PIM path 0x" + hex16(uint16_t(total)) + ", FP16 model 0x" +
                               hex16(want);
        }
      }
  }
  static std::string hex16(uint16_t v) {
    char b[8];
    std::snprintf(b, sizeof b, "%04x", v);
    return b;
  }

  void run_job(int c, int64_t step, int layer, int kv, const Job& j, const Place& p, double* ph) {
    const uint32_t banks = cfg_.org.banks_per_channel();
    const uint32_t q_bursts = uint32_t(shape_.head_dim) * 2 / 32;  // FP16 query
    DataState* ds = nullptr;
    if (opt_.data_source && j.data.n > 0) {
      ds = &data_[size_t(c)];
      ds->d = &j.data;
      ds->owned.clear();
      const size_t gn = size_t(G_) * size_t(j.data.n);
      ds->score.assign(gn, 0);
      ds->scored.assign(gn, 0);
      ds->prob.assign(gn, 0);
      store_region(c, layer, kv, j, p, ds);
      ++jobs_with_data;
    }
    auto mark = [&] { return sc_time_stamp().to_seconds() * 1e9; };
    double t = mark();
    auto lap = [&](Phase phase) {
      const double now = mark();
      ph[phase] += now - t;
      t = now;
    };
    // Query into the GEMV buffers of every bank (G queries of the group; bank b of a bank group
    // gets dimensions 32 b .. 32 b + 31 of each).
    {
      PimOp w;
      w.kind = PimOp::Kind::kWriteBuffer;
      w.columns = G_ * q_bursts;
      if (ds) {
        PimData* qd = new_data(ds);
        for (uint32_t q = 0; q < G_; ++q)
          for (uint32_t b = 0; b < uint32_t(shape_.head_dim) / 32; ++b)
            for (uint32_t h = 0; h < 2; ++h) {
              uint64_t mask = 0;
              for (uint32_t k = 0; k < banks; ++k)
                if (k % bpg_ == b) mask |= uint64_t(1) << k;
              qd->add_burst(&j.data.q16[size_t(q) * size_t(shape_.head_dim) + 32 * b + 16 * h],
                            mask, uint8_t(2 * q + h));
            }
        w.data = qd;
      }
      run_ops(c, {w});
      lap(kQueryWrite);
    }
    // Selection: metadata (centroids / page summaries) and key scans, then top-k / ranking. The
    // selection itself was made in phase 1; a full-width scan's scores serve the softmax.
    {
      std::vector<PimOp> ops;
      emit_pass(plan_pass(j.meta, p.m_row, 32), PassKind::kDiscard, &ops, ds);
      emit_pass(plan_pass(j.scan, p.k_row, j.scan_columns),
                j.scan_columns == 32 ? PassKind::kScores : PassKind::kDiscard, &ops, ds);
      run_ops(c, std::move(ops));
      if (host_.selection == "ipu" && j.ipu_cycles)  // the channel's index-prediction unit
        wait(sc_time(double(j.ipu_cycles) * cfg_.timing.tCK_ns, SC_NS));
      else
        buffer_die(double(j.select_elements), host_.topk_per_ns, host_.topk_pJ, 1);
      lap(kSelection);
    }
    // Scores of the attended keys not scanned yet.
    {
      std::vector<PimOp> ops;
      emit_pass(plan_pass(j.attend, p.k_row, 32), PassKind::kScores, &ops, ds);
      run_ops(c, std::move(ops));
      lap(kScoring);
    }
    if (ds) {
      collect_scores(ds);
      softmax(ds, step, layer, kv);
    }
    buffer_die(double(j.softmax_elements), host_.softmax_per_ns, host_.softmax_pJ, 0);
    lap(kSoftmax);
    // Value pass: probabilities to the banks per row, MACs, partial outputs to the buffer die.
    {
      std::vector<PimOp> ops;
      emit_pass(plan_pass(j.value, p.v_row, 32), PassKind::kValues, &ops, ds);
      PimOp m;
      m.kind = PimOp::Kind::kMoveToBufferDie;
      m.columns = G_ * banks * 2;
      if (ds) {
        PimData* mv = new_data(ds);
        for (uint32_t b = 0; b < banks; ++b)
          for (uint32_t q = 0; q < G_; ++q)
            for (uint32_t h = 0; h < 2; ++h)
              mv->source.push_back(PimData::mvsb_source(b, 2 * q + h, 0));
        m.data = mv;
        ds->value_move = mv;
      }
      ops.push_back(m);
      run_ops(c, std::move(ops));
      buffer_die(double(G_) * banks * 2 * 16, host_.reduce_per_ns, host_.reduce_pJ, 2);
      lap(kValuePass);
    }
    if (ds) check_output(ds, step, layer, kv);
    wait(sc_time(host_.readout_ns, SC_NS));
    readout_pJ += double(G_) * shape_.head_dim * 32 * host_.readout_pJ_per_bit;
    lap(kReadout);
    // STARC: cluster the block(s) completed at the previous step, in memory: per iteration the
    // 4 centroids into the buffers, MACs over the block's staging row groups, similarities out,
    // argmax and centroid update on the buffer die; then the block rewritten in cluster order.
    // (With data the clustering's numbers are the policy library's and the CMU's; the units
    // only move registers here, so that the next job starts from cleared accumulators.)
    if (j.cluster_blocks) {
      const uint32_t k = uint32_t(opt_.cluster_queries);  // the block's centroids
      const uint32_t staging_row = p.k_row + region_.staging_first / uint32_t(slices_);
      const auto& mapper = ch_[size_t(c)]->engine().mapper();
      uint8_t buf[32] = {};
      const uint32_t bursts = uint32_t(j.cluster_blocks) * 64u * uint32_t(shape_.head_dim) * 2 / 32;
      // The block's staging bursts in order (slices, then banks, then columns of the row).
      auto staging = [&](uint32_t b, uint32_t row) {
        hbm::DramAddress a;
        const uint32_t s = (b / cfg_.org.columns) % uint32_t(slices_);
        a.bg = s % cfg_.org.bank_groups;
        a.sid = (s / cfg_.org.bank_groups) % cfg_.org.sids;
        a.pc = s / (cfg_.org.bank_groups * cfg_.org.sids);
        a.bank = (b / (cfg_.org.columns * uint32_t(slices_))) % cfg_.org.banks_per_group;
        a.row = row + region_.staging_first / uint32_t(slices_);
        a.column = b % cfg_.org.columns;
        return a;
      };
      if (host_.clustering == "cmu") {  // keys out to the cluster-mapping unit, its cycles
        for (uint32_t b = 0; b < bursts; ++b)
          blocking_burst(*sockets[size_t(c)], mapper, staging(b, p.k_row), buf, false);
        wait(sc_time(double(j.cmu_cycles) * cfg_.timing.tCK_ns, SC_NS));
      }
      for (int it = 0; host_.clustering == "in_memory" && it < j.cluster_iterations; ++it) {
        PimOp w;
        w.kind = PimOp::Kind::kWriteBuffer;
        w.columns = k * q_bursts;
        PimOp mac;
        mac.kind = PimOp::Kind::kMacRows;
        mac.row_first = staging_row;
        mac.row_count = 1;
        mac.columns = 32;
        mac.queries = uint8_t(k);
        PimOp mv;
        mv.kind = PimOp::Kind::kMoveToBufferDie;
        mv.columns = k * banks;
        if (ds) {
          PimData* md = new_data(ds);
          for (uint32_t b = 0; b < banks; ++b)
            for (uint32_t q = 0; q < k; ++q) md->source.push_back(PimData::mvsb_source(b, q, 0));
          mv.data = md;
        }
        run_ops(c, {w, mac, mv});
        buffer_die(64.0 * k + 64.0 * shape_.head_dim, host_.reduce_per_ns, host_.reduce_pJ, 2);
      }
      // Rewrite: K and V of each block, 64 tokens x head_dim x 2 B each, as 32 B bursts through
      // the normal write path, in the rows the cluster order assigns (the next data rows).
      for (uint32_t kvsel = 0; kvsel < 2; ++kvsel)
        for (uint32_t b = 0; b < bursts; ++b)
          blocking_burst(*sockets[size_t(c)], mapper, staging(b, kvsel ? p.v_row : p.k_row), buf,
                         true);
      lap(kClustering);
    }
  }

  void channel_thread(int c) {
    try {
      if (c == 0 && !opt_.vcd_rtl.empty())
        if (auto* rtl = dynamic_cast<pim::RtlTraceable*>(alus_.empty() ? nullptr : alus_[0])) {
          const auto [lo, hi] = hbm::parse_window_ns(opt_.vcd_window);
          rtl->trace_window(sc_time(double(lo), SC_PS),
                            hi == ~uint64_t(0) ? SC_ZERO_TIME : sc_time(double(hi), SC_PS));
        }
      for (int64_t s = 0; s < steps_; ++s)
        for (int l = 0; l < shape_.layers; ++l) {
          for (int g = 0; g < shape_.kv_heads; ++g) {
            const Place p = place(l, g);
            if (p.channel != c) continue;
            const size_t ji =
                (size_t(s) * size_t(shape_.layers) + size_t(l)) * size_t(shape_.kv_heads) +
                size_t(g);
            run_job(c, s, l, g, jobs_[ji], p, &phase_[ji * kPhases]);
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
  const std::vector<Job>& jobs_;
  workloads::TraceShape shape_;
  int64_t steps_;
  RegionShape region_;
  const TimingOptions& opt_;
  std::vector<pim::AluBackend*> alus_;
  int slices_ = 16;
  uint32_t bpg_ = 4, G_ = 1;
  std::string mode_ = host_.row_activation;
  int arrived_ = 0;
  bool barrier_broken_ = false;
  sc_event done_ev_;
};

}  // namespace

json simulate_jobs(const std::vector<Job>& jobs, const MemoryConfig& cfg, const HostConfig& host,
                   const workloads::TraceShape& shape, int64_t steps, const RegionShape& region,
                   int channels, const TimingOptions& opt) {
  const auto w0 = std::chrono::steady_clock::now();
  const bool check_timing = opt.check_timing;
  std::vector<std::unique_ptr<hbm::HbmChannel>> chans;
  std::vector<std::unique_ptr<hbm::StatsObserver>> stats;
  std::vector<std::unique_ptr<hbm::EnergyObserver>> energy;
  std::vector<std::unique_ptr<hbm::TimingChecker>> checkers;
  std::vector<std::unique_ptr<pim::AluBackend>> alus;
  std::vector<std::unique_ptr<pim::GemvUnits>> units;
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
    if (opt.data_source) {  // the PIM units of every bank, behind the chosen ALU
      const std::string name = "alu_" + std::to_string(c);
      alus.push_back(make_alu_backend(opt.pim_alu, false, c == 0 ? opt.vcd_rtl : "", name.c_str()));
      units.push_back(
          std::make_unique<pim::GemvUnits>(cfg, 0, chans.back()->store(), *alus.back()));
      chans.back()->engine().set_pim_executor(units.back().get());
    }
    raw.push_back(chans.back().get());
  }
  std::unique_ptr<hbm::VcdWriter> vcd;
  if (!opt.vcd.empty()) {
    vcd = std::make_unique<hbm::VcdWriter>(opt.vcd, cfg, opt.vcd_window);
    hbm::write_gtkwave_save(opt.vcd, cfg);
    chans[0]->add_observer(vcd.get());
  }
  std::vector<pim::AluBackend*> alu_ptrs;
  for (auto& a : alus) alu_ptrs.push_back(a.get());
  Controller ctl("controller", raw, cfg, host, jobs, shape, steps, region, opt, alu_ptrs);
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
  if (opt.data_source) {
    if (ctl.outputs_differing)
      throw std::runtime_error("the PIM path's attention output differs from the FP16 model in " +
                               std::to_string(ctl.outputs_differing) + " of " +
                               std::to_string(ctl.outputs_checked) +
                               " values; first: " + ctl.first_difference);
    uint64_t beats = 0, macs = 0;
    for (const auto& a : alus) beats += a->beats();
    for (const auto& u : units) macs += u->macs();
    r["pim_path"] = {{"alu", alus.empty() ? "model" : alus[0]->name()},
                     {"jobs", ctl.jobs_with_data},
                     {"outputs_checked", ctl.outputs_checked},
                     {"outputs_bit_exact", ctl.outputs_checked - ctl.outputs_differing},
                     {"scores_from_passes", ctl.scores_used},
                     {"alu_beats", beats},
                     {"lane_macs", macs}};
  }
  r["sim_wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  r["sim_peak_rss_MB"] = sparsepim::peak_rss_mb();
  return r;
}

}  // namespace sparsepim::host
