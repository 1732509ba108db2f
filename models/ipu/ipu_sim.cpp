#include "models/ipu/ipu_sim.h"

#include <string>

#include "models/common/errors.h"
#include "models/ipu/ipu_unit.h"

namespace sparsepim::ipu {

using namespace sc_core;
using sc_dt::sc_uint;

namespace {

struct Lcg {  // stall pattern of the testbench (not part of the unit)
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(s >> 33);
  }
};

template <int CAP>
class IpuBenchT : public IpuBench {
 public:
  SC_HAS_PROCESS(IpuBenchT);
  IpuBenchT(sc_module_name n, const IpuJob& job, const sc_time& period)
      : IpuBench(n), job_(job), period_(period), clk_("clk", period), dut_("ipu") {
    dut_.clk(clk_);
    dut_.rst(rst_);
    dut_.cfg_expansion(cfg_w_);
    dut_.cfg_sinks(cfg_sinks_);
    dut_.cfg_window(cfg_window_);
    dut_.cmd_valid(cmd_valid_);
    dut_.cmd_ready(cmd_ready_);
    dut_.cmd_op(cmd_op_);
    dut_.cmd_slot(cmd_slot_);
    dut_.cmd_n(cmd_n_);
    dut_.cmd_k(cmd_k_);
    dut_.cmd_m(cmd_m_);
    dut_.cmd_store(cmd_store_);
    dut_.cmd_append(cmd_append_);
    dut_.in_valid(in_valid_);
    dut_.in_ready(in_ready_);
    dut_.in_pos(in_pos_);
    dut_.in_score(in_score_);
    dut_.out_valid(out_valid_);
    dut_.out_ready(out_ready_);
    dut_.out_pos(out_pos_);
    dut_.out_end(out_end_);
    answers_.resize(job.commands.size());
    accept_.resize(job.commands.size());
    SC_CTHREAD(drive, clk_);
    SC_CTHREAD(monitor, clk_);
  }

  bool done() const override { return done_ == job_.commands.size(); }
  const std::vector<IpuAnswer>& answers() const override { return answers_; }

  void trace(sc_trace_file* tf) override {
    const std::string p = std::string(name()) + ".";
    sc_trace(tf, clk_, p + "clk");
    sc_trace(tf, rst_, p + "rst");
    sc_trace(tf, dut_.st_state, p + "state");
    sc_trace(tf, dut_.st_cycles, p + "busy_cycles");
    sc_trace(tf, dut_.st_count, p + "count");
    sc_trace(tf, dut_.st_fill, p + "queue_fill");
    sc_trace(tf, cmd_valid_, p + "cmd_valid");
    sc_trace(tf, cmd_ready_, p + "cmd_ready");
    sc_trace(tf, cmd_op_, p + "cmd_op");
    sc_trace(tf, cmd_slot_, p + "cmd_slot");
    sc_trace(tf, cmd_n_, p + "cmd_n");
    sc_trace(tf, cmd_k_, p + "cmd_k");
    sc_trace(tf, in_valid_, p + "in_valid");
    sc_trace(tf, in_ready_, p + "in_ready");
    sc_trace(tf, in_pos_, p + "in_pos");
    sc_trace(tf, in_score_, p + "in_score");
    sc_trace(tf, out_valid_, p + "out_valid");
    sc_trace(tf, out_ready_, p + "out_ready");
    sc_trace(tf, out_pos_, p + "out_pos");
    sc_trace(tf, out_end_, p + "out_end");
  }

 private:
  uint64_t now_cycle() const { return sc_time_stamp().value() / period_.value(); }
  bool stall(uint32_t one_in) { return job_.stall_seed != 0 && rng_.next() % one_in == 0; }

  void drive() {
    rst_.write(true);
    cmd_valid_.write(false);
    in_valid_.write(false);
    cfg_w_.write(uint32_t(job_.config.expansion));
    cfg_sinks_.write(uint32_t(job_.config.sinks));
    cfg_window_.write(uint32_t(job_.config.recent_window));
    wait();
    wait();
    rst_.write(false);
    wait();
    for (size_t i = 0; i < job_.commands.size(); ++i) {
      while (done_ < i) wait();
      const IpuCommand& c = job_.commands[i];
      cmd_op_.write(uint32_t(c.op));
      cmd_slot_.write(c.slot);
      cmd_n_.write(c.n);
      cmd_k_.write(c.k);
      cmd_m_.write(uint32_t(c.pairs.size()));
      cmd_store_.write(c.store);
      cmd_append_.write(c.append);
      cmd_valid_.write(true);
      do wait();
      while (!cmd_ready_.read());
      accept_[i] = now_cycle();
      cmd_valid_.write(false);
      if (c.op != kOpSelect) continue;
      for (const auto& pr : c.pairs) {
        while (stall(4)) {
          in_valid_.write(false);
          wait();
        }
        in_pos_.write(pr.first);
        in_score_.write(pr.second);
        in_valid_.write(true);
        do wait();
        while (!in_ready_.read());
      }
      in_valid_.write(false);
    }
    while (true) wait();
  }

  void monitor() {
    out_ready_.write(false);
    bool ready = false;
    while (true) {
      wait();
      if (ready && out_valid_.read() && done_ < answers_.size()) {
        if (out_end_.read()) {
          answers_[done_].cycles = now_cycle() - accept_[done_] + 1;
          ++done_;
        } else {
          answers_[done_].positions.push_back(uint32_t(out_pos_.read()));
        }
      }
      ready = !stall(3);
      out_ready_.write(ready);
    }
  }

  IpuJob job_;
  sc_time period_;
  sc_clock clk_;
  sc_signal<bool> rst_{"rst"};
  sc_signal<sc_uint<kParamBits>> cfg_w_{"cfg_expansion"}, cfg_sinks_{"cfg_sinks"},
      cfg_window_{"cfg_window"};
  sc_signal<bool> cmd_valid_{"cmd_valid"}, cmd_ready_{"cmd_ready"};
  sc_signal<sc_uint<2>> cmd_op_{"cmd_op"};
  sc_signal<sc_uint<kSlotIdBits>> cmd_slot_{"cmd_slot"};
  sc_signal<sc_uint<kPosBits>> cmd_n_{"cmd_n"}, cmd_m_{"cmd_m"};
  sc_signal<sc_uint<kCountBits>> cmd_k_{"cmd_k"};
  sc_signal<bool> cmd_store_{"cmd_store"}, cmd_append_{"cmd_append"};
  sc_signal<bool> in_valid_{"in_valid"}, in_ready_{"in_ready"};
  sc_signal<sc_uint<kPosBits>> in_pos_{"in_pos"};
  sc_signal<sc_uint<16>> in_score_{"in_score"};
  sc_signal<bool> out_valid_{"out_valid"}, out_ready_{"out_ready"};
  sc_signal<sc_uint<kPosBits>> out_pos_{"out_pos"};
  sc_signal<bool> out_end_{"out_end"};
  IpuUnit<kSimSlots, CAP> dut_;

  std::vector<IpuAnswer> answers_;
  std::vector<uint64_t> accept_;
  size_t done_ = 0;
  Lcg rng_{job_.stall_seed};
};

}  // namespace

std::unique_ptr<IpuBench> make_ipu_bench(const char* name, const IpuJob& job,
                                         const sc_time& period) {
  if (job.config.slots != kSimSlots)
    throw ConfigError("index-prediction unit: the simulated unit has " + std::to_string(kSimSlots) +
                      " slots");
  for (const auto& c : job.commands) check_command(job.config, c);
  switch (job.config.capacity) {
    case 64:
      return std::make_unique<IpuBenchT<64>>(name, job, period);
    case 1024:
      return std::make_unique<IpuBenchT<1024>>(name, job, period);
    default:
      throw ConfigError("index-prediction unit: queue capacity must be 64 or 1024, got " +
                        std::to_string(job.config.capacity));
  }
}

std::vector<IpuAnswer> run_ipu_clocked(const IpuJob& job, const std::string& vcd_path) {
  const sc_time period(1, SC_NS);
  auto bench = make_ipu_bench("ipu_bench", job, period);
  // Upper bound on the cycles: every command's own bound, times the stall slowdown.
  uint64_t budget = 1000;
  IpuFast fast(job.config);
  for (const auto& c : job.commands) budget += (fast.run(c).cycles + 10) * (job.stall_seed ? 8 : 2);
  units::run_units({bench->as_bench()}, period, budget, vcd_path);
  return bench->answers();
}

}  // namespace sparsepim::ipu
