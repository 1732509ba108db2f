#include "models/cmu/cmu_sim.h"

#include <string>

#include "models/cmu/cmu_unit.h"
#include "models/common/errors.h"

namespace sparsepim::cmu {

using namespace sc_core;
using sc_dt::sc_bv;
using sc_dt::sc_uint;

namespace {

// A small deterministic generator for the stall pattern (not part of any unit).
struct Lcg {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(s >> 33);
  }
};

template <int L>
class CmuBenchT : public CmuBench {
 public:
  SC_HAS_PROCESS(CmuBenchT);
  CmuBenchT(sc_module_name n, const CmuJob& job, const sc_time& period)
      : CmuBench(n), job_(job), period_(period), clk_("clk", period), dut_("cmu") {
    dut_.clk(clk_);
    dut_.rst(rst_);
    dut_.cfg_head_dim(cfg_head_dim_);
    dut_.cfg_max_iterations(cfg_max_it_);
    dut_.cfg_tolerance(cfg_tol_);
    dut_.cfg_aligned(cfg_aligned_);
    dut_.cfg_lg_bank_groups(cfg_lg_bg_);
    dut_.cfg_lg_sids(cfg_lg_sid_);
    dut_.cfg_lg_pcs(cfg_lg_pc_);
    dut_.cfg_lg_token_groups(cfg_lg_grp_);
    dut_.cfg_banks_per_token(cfg_bpt_);
    dut_.cfg_key_row_base(cfg_key_row_);
    dut_.cfg_value_row_base(cfg_value_row_);
    dut_.cmd_valid(cmd_valid_);
    dut_.cmd_ready(cmd_ready_);
    dut_.cmd_base_slot(cmd_base_);
    dut_.key_valid(key_valid_);
    dut_.key_ready(key_ready_);
    dut_.key_data(key_data_);
    dut_.out_valid(out_valid_);
    dut_.out_ready(out_ready_);
    dut_.out_kind(out_kind_);
    dut_.out_index(out_index_);
    dut_.out_label(out_label_);
    dut_.out_slot(out_slot_);
    dut_.out_pc(out_pc_);
    dut_.out_sid(out_sid_);
    dut_.out_bg(out_bg_);
    dut_.out_bank(out_bank_);
    dut_.out_lane(out_lane_);
    dut_.out_row(out_row_);
    dut_.out_value_row(out_value_row_);
    dut_.out_count(out_count_);
    dut_.out_vec(out_vec_);
    dut_.out_last(out_last_);
    results_.resize(job.blocks.size());
    accept_.resize(job.blocks.size());
    SC_CTHREAD(drive, clk_);
    SC_CTHREAD(monitor, clk_);
  }

  bool done() const override { return done_ == job_.blocks.size() || !error_.empty(); }
  const std::vector<CmuBlockResult>& results() const override { return results_; }
  const std::string& error() const override { return error_; }

  void trace(sc_trace_file* tf) override {
    const std::string p = std::string(name()) + ".";
    sc_trace(tf, clk_, p + "clk");
    sc_trace(tf, rst_, p + "rst");
    sc_trace(tf, dut_.st_state, p + "state");
    sc_trace(tf, dut_.st_token, p + "token");
    sc_trace(tf, dut_.st_chunk, p + "chunk");
    sc_trace(tf, dut_.st_iteration, p + "iteration");
    sc_trace(tf, dut_.st_cycles, p + "busy_cycles");
    sc_trace(tf, dut_.st_max_move, p + "max_move");
    sc_trace(tf, cmd_valid_, p + "cmd_valid");
    sc_trace(tf, cmd_ready_, p + "cmd_ready");
    sc_trace(tf, cmd_base_, p + "cmd_base_slot");
    sc_trace(tf, key_valid_, p + "key_valid");
    sc_trace(tf, key_ready_, p + "key_ready");
    sc_trace(tf, out_valid_, p + "out_valid");
    sc_trace(tf, out_ready_, p + "out_ready");
    sc_trace(tf, out_kind_, p + "out_kind");
    sc_trace(tf, out_index_, p + "out_index");
    sc_trace(tf, out_label_, p + "out_label");
    sc_trace(tf, out_slot_, p + "out_slot");
    sc_trace(tf, out_row_, p + "out_row");
    sc_trace(tf, out_count_, p + "out_count");
    sc_trace(tf, out_last_, p + "out_last");
  }

 private:
  uint64_t now_cycle() const { return sc_time_stamp().value() / period_.value(); }
  bool stall(uint32_t one_in) { return job_.stall_seed != 0 && rng_.next() % one_in == 0; }

  void drive() {
    const CmuConfig& c = job_.config;
    const LayoutGeometry& g = c.geometry;
    rst_.write(true);
    cmd_valid_.write(false);
    key_valid_.write(false);
    cfg_head_dim_.write(uint32_t(c.head_dim));
    cfg_max_it_.write(uint32_t(c.max_iterations));
    cfg_tol_.write(c.tolerance_threshold);
    cfg_aligned_.write(c.aligned);
    cfg_lg_bg_.write(g.lg_bank_groups);
    cfg_lg_sid_.write(g.lg_sids);
    cfg_lg_pc_.write(g.lg_pcs);
    cfg_lg_grp_.write(g.lg_token_groups);
    cfg_bpt_.write(g.banks_per_token);
    cfg_key_row_.write(g.key_row_base);
    cfg_value_row_.write(g.value_row_base);
    wait();
    wait();
    rst_.write(false);
    wait();
    const int d = c.head_dim, chunks = (d + L - 1) / L;
    for (size_t b = 0; b < job_.blocks.size(); ++b) {
      while (done_ < b) wait();
      const uint64_t base = b == 0 ? job_.base_slot : results_[b - 1].end_slot;
      cmd_base_.write(base);
      cmd_valid_.write(true);
      do wait();
      while (!cmd_ready_.read());
      accept_[b] = now_cycle();
      cmd_valid_.write(false);
      const std::vector<uint16_t>& keys = job_.blocks[b];
      for (int t = 0; t < kBlockTokens; ++t)
        for (int ch = 0; ch < chunks; ++ch) {
          while (stall(4)) {
            key_valid_.write(false);
            wait();
          }
          sc_bv<16 * L> beat;
          for (int l = 0; l < L; ++l) {
            const int dim = ch * L + l;
            beat.range(16 * l + 15, 16 * l) =
                sc_uint<16>(dim < d ? keys[size_t(t) * size_t(d) + size_t(dim)] : 0);
          }
          key_data_.write(beat);
          key_valid_.write(true);
          do wait();
          while (!key_ready_.read());
        }
      key_valid_.write(false);
    }
    while (true) wait();
  }

  void fail(const std::string& what) {
    if (error_.empty()) error_ = "block " + std::to_string(done_) + ": " + what;
  }

  void monitor() {
    out_ready_.write(false);
    bool ready = false;
    const int d = job_.config.head_dim, chunks = (d + L - 1) / L;
    int expect = 0;  // records of the current block seen so far
    while (true) {
      wait();
      if (ready && out_valid_.read() && done_ < results_.size()) {
        CmuBlockResult& r = results_[done_];
        if (expect == 0) {
          r.labels.assign(kBlockTokens, 0);
          r.slots.assign(kBlockTokens, 0);
          r.addresses.assign(kBlockTokens, SlotAddress{});
          r.sizes.assign(kClusters, 0);
          r.cluster_start.assign(kClusters, 0);
          r.centroids.assign(size_t(kClusters) * size_t(d), 0);
        }
        const int kind = int(out_kind_.read());
        const int index = int(out_index_.read());
        const int tokens_end = kBlockTokens, clusters_end = tokens_end + kClusters,
                  centroids_end = clusters_end + kClusters * chunks;
        if (expect < tokens_end) {
          if (kind != kRecToken || index != expect) fail("token record out of order");
          r.labels[size_t(index)] = uint8_t(out_label_.read());
          r.slots[size_t(index)] = out_slot_.read();
          SlotAddress& a = r.addresses[size_t(index)];
          a.pc = uint32_t(out_pc_.read());
          a.sid = uint32_t(out_sid_.read());
          a.bg = uint32_t(out_bg_.read());
          a.bank = uint32_t(out_bank_.read());
          a.row = uint32_t(out_row_.read());
          a.lane = uint32_t(out_lane_.read());
          a.value_row = uint32_t(out_value_row_.read());
        } else if (expect < clusters_end) {
          if (kind != kRecCluster || index != expect - tokens_end)
            fail("cluster record out of order");
          r.sizes[size_t(index)] = int(out_count_.read());
          r.cluster_start[size_t(index)] = out_slot_.read();
        } else if (expect < centroids_end) {
          const int k = expect - clusters_end;
          const int chunk = int(out_count_.read());
          if (kind != kRecCentroid || index != k / chunks || chunk != k % chunks)
            fail("centroid record out of order");
          const sc_bv<kPointBits* L> v = out_vec_.read();
          for (int l = 0; l < L; ++l) {
            const int dim = chunk * L + l;
            if (dim >= d) continue;
            sc_dt::sc_int<kPointBits> x;
            x = v.range(kPointBits * l + kPointBits - 1, kPointBits * l).to_int();
            r.centroids[size_t(index) * size_t(d) + size_t(dim)] = int32_t(x);
          }
        } else {
          if (kind != kRecDone || !out_last_.read()) fail("missing DONE record");
          r.iterations = int(out_count_.read());
          r.end_slot = out_slot_.read();
          r.cycles = now_cycle() - accept_[done_] + 1;
          expect = -1;
          ++done_;
        }
        ++expect;
      }
      ready = !stall(3);
      out_ready_.write(ready);
    }
  }

  CmuJob job_;
  sc_time period_;
  sc_clock clk_;
  sc_signal<bool> rst_{"rst"};
  sc_signal<sc_uint<8>> cfg_head_dim_{"cfg_head_dim"};
  sc_signal<sc_uint<5>> cfg_max_it_{"cfg_max_iterations"};
  sc_signal<sc_uint<48>> cfg_tol_{"cfg_tolerance"};
  sc_signal<bool> cfg_aligned_{"cfg_aligned"};
  sc_signal<sc_uint<3>> cfg_lg_bg_{"cfg_lg_bg"}, cfg_lg_sid_{"cfg_lg_sid"}, cfg_lg_pc_{"cfg_lg_pc"},
      cfg_lg_grp_{"cfg_lg_grp"}, cfg_bpt_{"cfg_bpt"};
  sc_signal<sc_uint<32>> cfg_key_row_{"cfg_key_row"}, cfg_value_row_{"cfg_value_row"};
  sc_signal<bool> cmd_valid_{"cmd_valid"}, cmd_ready_{"cmd_ready"};
  sc_signal<sc_uint<kSlotBits>> cmd_base_{"cmd_base"};
  sc_signal<bool> key_valid_{"key_valid"}, key_ready_{"key_ready"};
  sc_signal<sc_bv<16 * L>> key_data_{"key_data"};
  sc_signal<bool> out_valid_{"out_valid"}, out_ready_{"out_ready"};
  sc_signal<sc_uint<2>> out_kind_{"out_kind"}, out_label_{"out_label"};
  sc_signal<sc_uint<8>> out_index_{"out_index"}, out_count_{"out_count"};
  sc_signal<sc_uint<kSlotBits>> out_slot_{"out_slot"};
  sc_signal<sc_uint<4>> out_pc_{"out_pc"}, out_sid_{"out_sid"}, out_bg_{"out_bg"},
      out_bank_{"out_bank"}, out_lane_{"out_lane"};
  sc_signal<sc_uint<32>> out_row_{"out_row"}, out_value_row_{"out_value_row"};
  sc_signal<sc_bv<kPointBits * L>> out_vec_{"out_vec"};
  sc_signal<bool> out_last_{"out_last"};
  CmuUnit<L> dut_;

  std::vector<CmuBlockResult> results_;
  std::vector<uint64_t> accept_;
  size_t done_ = 0;
  std::string error_;
  Lcg rng_{job_.stall_seed};
};

}  // namespace

std::unique_ptr<CmuBench> make_cmu_bench(const char* name, const CmuJob& job,
                                         const sc_time& period) {
  const int d = job.config.head_dim;
  if (d < 1 || d > kMaxHeadDim)
    throw ConfigError("cluster-mapping unit: head dimension " + std::to_string(d) + " outside 1.." +
                      std::to_string(kMaxHeadDim));
  for (const auto& b : job.blocks)
    if (b.size() != size_t(kBlockTokens) * size_t(d))
      throw ConfigError("cluster-mapping unit: a block must hold 64 keys of head_dim values");
  switch (job.lanes) {
    case 8:
      return std::make_unique<CmuBenchT<8>>(name, job, period);
    case 16:
      return std::make_unique<CmuBenchT<16>>(name, job, period);
    case 32:
      return std::make_unique<CmuBenchT<32>>(name, job, period);
    default:
      throw ConfigError("cluster-mapping unit: lanes must be 8, 16 or 32, got " +
                        std::to_string(job.lanes));
  }
}

std::vector<CmuBlockResult> run_cmu_clocked(const CmuJob& job, const std::string& vcd_path) {
  const sc_time period(1, SC_NS);
  auto bench = make_cmu_bench("cmu_bench", job, period);
  uint64_t budget = 1000;
  const int it = job.config.max_iterations;
  budget += uint64_t(job.blocks.size()) * cmu_cycles(job.config.head_dim, job.lanes, it).total() *
            (job.stall_seed ? 8 : 2);
  units::run_units({bench->as_bench()}, period, budget, vcd_path);
  if (!bench->error().empty()) throw std::runtime_error("cmu: " + bench->error());
  return bench->results();
}

}  // namespace sparsepim::cmu
