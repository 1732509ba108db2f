#include "pim/rtl_alu.h"

#include <verilated.h>
#include <verilated_vcd_sc.h>

#include <deque>
#include <stdexcept>

#include "Vpim_alu_sc.h"
#include "common/errors.h"

namespace sparsepim::pim {

using namespace sc_core;

namespace {
const sc_time kHalfCycle(1, SC_PS);

sc_dt::sc_bv<256> pack16(const uint16_t* v) {
  sc_dt::sc_bv<256> b;
  for (int l = 0; l < kLanes; ++l) b.range(16 * l + 15, 16 * l) = v[l];
  return b;
}
sc_dt::sc_bv<256> pack_acc(const uint32_t* v) {
  sc_dt::sc_bv<256> b;
  for (int l = 0; l < kLanes; ++l) b.range(16 * l + 15, 16 * l) = v[l] & 0xFFFF;
  return b;
}
}  // namespace

RtlAlu::RtlAlu(sc_module_name n, bool acc_fp32, const std::string& vcd_path)
    : sc_module(n), vcd_path_(vcd_path) {
  if (acc_fp32)
    throw ConfigError(
        "--pim-alu rtl: the verilated ALU is built with FP16 accumulators (no --acc-fp32)");
  if (!vcd_path.empty()) Verilated::traceEverOn(true);
  dut_ = std::make_unique<Vpim_alu_sc>("pim_alu");
  dut_->clk(clk_);
  dut_->rst_n(rst_n_);
  dut_->in_valid(in_valid_);
  dut_->in_ready(in_ready_);
  dut_->in_op(in_op_);
  dut_->in_a(in_a_);
  dut_->in_b(in_b_);
  dut_->in_c(in_c_);
  dut_->out_valid(out_valid_);
  dut_->out_ready(out_ready_);
  dut_->out_d(out_d_);
  dut_->out_op(out_op_);
}

RtlAlu::~RtlAlu() {
  if (vcd_ && vcd_->isOpen()) vcd_->close();
}

void RtlAlu::trace_window(const sc_time& start, const sc_time& end) {
  if (vcd_path_.empty()) return;
  trace_from_ = sc_time_stamp() + start;
  trace_to_ = end == SC_ZERO_TIME ? sc_max_time() : sc_time_stamp() + end;
}

void RtlAlu::tick() {
  if (!vcd_ && sc_time_stamp() >= trace_from_ && sc_time_stamp() < trace_to_) {
    vcd_ = std::make_unique<VerilatedVcdSc>();
    dut_->trace(vcd_.get(), 1);  // ports and top-level state: full depth is ~12 KB per cycle
    vcd_->open(vcd_path_.c_str());
  }
  if (vcd_ && vcd_->isOpen() && sc_time_stamp() >= trace_to_) vcd_->close();  // close, not delete
  clk_.write(true);
  wait(kHalfCycle);
  clk_.write(false);
  wait(kHalfCycle);
  ++cycles_;
}

void RtlAlu::run(AluBeat* beats, size_t n, uint64_t at_ps) {
  sc_process_handle h = sc_get_current_process_handle();
  if (!h.valid() || h.proc_kind() != SC_THREAD_PROC_)
    throw std::runtime_error(
        "--pim-alu rtl: the RTL ALU is clocked from the calling thread; drive the memory with "
        "b_transport from an SC_THREAD");
  const sc_time at = sc_time::from_value(at_ps);
  if (at > sc_time_stamp()) wait(at - sc_time_stamp());
  if (!reset_done_) {
    rst_n_.write(false);
    out_ready_.write(true);
    in_valid_.write(false);
    tick();
    tick();
    rst_n_.write(true);
    tick();
    reset_done_ = true;
  }
  // Between edges everything is settled: what in_ready and out_valid show now is what the
  // next rising edge will act on (out_ready stays high).
  std::deque<size_t> in_flight;
  size_t issued = 0, done = 0;
  while (done < n) {
    if (out_valid_.read()) {
      if (in_flight.empty()) throw std::logic_error("RTL ALU produced a beat nobody asked for");
      const sc_dt::sc_bv<256> d = out_d_.read();
      AluBeat& bt = beats[in_flight.front()];
      in_flight.pop_front();
      for (int l = 0; l < kLanes; ++l) bt.d[l] = d.range(16 * l + 15, 16 * l).to_uint();
      ++done;
    }
    if (issued < n) {
      const AluBeat& bt = beats[issued];
      in_valid_.write(true);
      in_op_.write(uint32_t(bt.op));
      in_a_.write(pack16(bt.a));
      in_b_.write(pack16(bt.b));
      in_c_.write(pack_acc(bt.c));
      if (in_ready_.read()) in_flight.push_back(issued++);
    } else {
      in_valid_.write(false);
    }
    // The rising edge is also where a beat shown on the output is taken (out_ready is high),
    // so the last result needs its edge too.
    tick();
  }
  in_valid_.write(false);
  beats_ += n;
}

}  // namespace sparsepim::pim
