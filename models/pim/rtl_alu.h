#pragma once
// The PIM ALU as Verilated RTL (rtl/pim_alu.sv, `--sc`), behind the same AluBackend interface as
// the C++ model. The RTL has its own clock, driven by this module only while it has beats to
// compute (two picoseconds per cycle), so it adds no events to an idle simulation and does not
// move the memory system's timing: the DRAM engine decides when a MACAB happens, the RTL only
// computes what it produces.
//
// run() waits on that clock, so it must be called from an SC_THREAD (the loosely timed path:
// b_transport from a thread). Only FP16 accumulators (the verilated configuration).
#include <memory>
#include <string>

#include <systemc>

#include "pim/alu_backend.h"

class Vpim_alu_sc;
class VerilatedVcdSc;

namespace sparsepim::pim {

class RtlAlu : public sc_core::sc_module, public AluBackend, public RtlTraceable {
 public:
  RtlAlu(sc_core::sc_module_name name, bool acc_fp32, const std::string& vcd_path);
  ~RtlAlu() override;
  void run(AluBeat* beats, size_t n, uint64_t at_ps = 0) override;
  bool acc_fp32() const override { return false; }
  const char* name() const override { return "rtl"; }
  uint64_t cycles() const { return cycles_; }
  // Record the RTL's own VCD between these simulated times, counted from now (end zero: to the
  // end). The ALU computes at the time of the command that asks, so the trace lines up with the
  // command-stream VCD. Without a call nothing is traced.
  void trace_window(const sc_core::sc_time& start, const sc_core::sc_time& end) override;

 private:
  void tick();  // one clock cycle: rising edge, then falling edge

  std::unique_ptr<Vpim_alu_sc> dut_;
  sc_core::sc_signal<bool> clk_{"clk"}, rst_n_{"rst_n"}, in_valid_{"in_valid"},
      in_ready_{"in_ready"};
  sc_core::sc_signal<bool> out_valid_{"out_valid"}, out_ready_{"out_ready"};
  sc_core::sc_signal<uint32_t> in_op_{"in_op"}, out_op_{"out_op"};
  sc_core::sc_signal<sc_dt::sc_bv<256>> in_a_{"in_a"}, in_b_{"in_b"}, in_c_{"in_c"},
      out_d_{"out_d"};
  std::string vcd_path_;
  std::unique_ptr<VerilatedVcdSc> vcd_;
  bool reset_done_ = false;
  uint64_t cycles_ = 0;
  sc_core::sc_time trace_from_ = sc_core::sc_max_time(), trace_to_ = sc_core::sc_max_time();
};

}  // namespace sparsepim::pim
