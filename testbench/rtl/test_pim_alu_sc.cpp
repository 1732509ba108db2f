// Smoke test of the SystemC build of the PIM ALU (pim_alu_sc, Vpim_alu_sc.h): a consumer only
// links pim_alu_sc, binds the ports to sc_signals and runs; a stream with random back-pressure
// matches the C++ model, and a VCD window can be traced. Runs in a fork()ed child (one SystemC
// elaboration per process).
#include <verilated.h>
#include <verilated_vcd_sc.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <systemc>

#include "Vpim_alu_sc.h"
#include "fork_sim.h"
#include "pim/fp16_alu.h"

namespace {

constexpr int kLanes = 16;

struct ScBeat {
  uint32_t op;
  uint16_t a[kLanes], b[kLanes], c[kLanes];
};

SC_MODULE(AluBench) {
  sc_core::sc_clock clk{"clk", 1, sc_core::SC_NS};
  sc_core::sc_signal<bool> rst_n{"rst_n"}, in_valid{"in_valid"}, in_ready{"in_ready"};
  sc_core::sc_signal<bool> out_valid{"out_valid"}, out_ready{"out_ready"};
  sc_core::sc_signal<uint32_t> in_op{"in_op"}, out_op{"out_op"};
  sc_core::sc_signal<sc_dt::sc_bv<256>> in_a{"in_a"}, in_b{"in_b"}, in_c{"in_c"}, out_d{"out_d"};
  Vpim_alu_sc dut{"dut"};

  uint64_t beats_target = 3000, beats_in = 0, beats_out = 0, errors = 0, cycles = 0;
  std::string first_error;
  std::deque<ScBeat> inflight;
  std::mt19937_64 rng{5};

  SC_CTOR(AluBench) {
    dut.clk(clk);
    dut.rst_n(rst_n);
    dut.in_valid(in_valid);
    dut.in_ready(in_ready);
    dut.in_op(in_op);
    dut.in_a(in_a);
    dut.in_b(in_b);
    dut.in_c(in_c);
    dut.out_valid(out_valid);
    dut.out_ready(out_ready);
    dut.out_d(out_d);
    dut.out_op(out_op);
    SC_THREAD(run);
  }

  void fail(const std::string& what) {
    if (errors++ == 0) first_error = what;
  }

  void run() {
    rst_n.write(false);
    in_valid.write(false);
    out_ready.write(false);
    for (int i = 0; i < 3; ++i) wait(clk.posedge_event());
    wait(clk.negedge_event());
    rst_n.write(true);
    ScBeat cur{};
    bool have = false;
    while (beats_out < beats_target && cycles < 100 * beats_target) {
      // Drive at the falling edge, decide the handshakes at the rising edge (signals still hold
      // the values of the cycle that ends).
      if (!have && beats_in < beats_target) {
        cur.op = static_cast<uint32_t>(rng() % 8);
        for (int l = 0; l < kLanes; ++l) {
          cur.a[l] = static_cast<uint16_t>(rng());
          cur.b[l] = static_cast<uint16_t>(rng());
          cur.c[l] = static_cast<uint16_t>(rng());
        }
        have = true;
      }
      const bool valid = have && (in_valid.read() || rng() % 4 != 0);
      sc_dt::sc_bv<256> a, b, c;
      for (int l = 0; l < kLanes; ++l) {
        a.range(16 * l + 15, 16 * l) = cur.a[l];
        b.range(16 * l + 15, 16 * l) = cur.b[l];
        c.range(16 * l + 15, 16 * l) = cur.c[l];
      }
      in_a.write(a);
      in_b.write(b);
      in_c.write(c);
      in_op.write(cur.op);
      in_valid.write(valid);
      out_ready.write(rng() % 3 != 0);
      wait(clk.posedge_event());
      ++cycles;
      if (out_valid.read() && out_ready.read()) {
        ++beats_out;
        if (inflight.empty()) {
          fail("output beat with nothing in flight");
        } else {
          const ScBeat bt = inflight.front();
          inflight.pop_front();
          if (out_op.read() != bt.op) fail("out_op out of order");
          const sc_dt::sc_bv<256> d = out_d.read();
          for (int l = 0; l < kLanes; ++l) {
            const auto got = static_cast<uint32_t>(d.range(16 * l + 15, 16 * l).to_uint());
            const uint32_t want = sparsepim::pim::alu_lane(
                static_cast<sparsepim::pim::AluOp>(bt.op), bt.a[l], bt.b[l], bt.c[l], false);
            if (got != want) {
              char buf[128];
              std::snprintf(buf, sizeof buf, "op %u a=%04x b=%04x c=%04x: rtl %04x model %04x",
                            bt.op, bt.a[l], bt.b[l], bt.c[l], got, want);
              fail(buf);
            }
          }
        }
      }
      if (in_valid.read() && in_ready.read()) {
        inflight.push_back(cur);
        ++beats_in;
        have = false;
      }
      wait(clk.negedge_event());
    }
    sc_core::sc_stop();
  }
};

TEST(PimAluSc, StreamMatchesModelWithBackPressureAndTraces) {
  const std::string vcd = std::string(::testing::TempDir()) + "pim_alu_sc_smoke.vcd";
  EXPECT_TRUE(sparsepim::testing::run_in_child([&]() -> std::string {
    Verilated::traceEverOn(true);
    AluBench bench("bench");
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    VerilatedVcdSc trace;
    bench.dut.trace(&trace, 99);
    trace.open(vcd.c_str());
    sc_core::sc_start(sc_core::sc_time(50, sc_core::SC_NS));  // a traced window
    trace.close();
    sc_core::sc_start();
    if (bench.errors) return std::to_string(bench.errors) + " errors, first: " + bench.first_error;
    if (bench.beats_out != bench.beats_target) return "stream did not complete";
    std::FILE* f = std::fopen(vcd.c_str(), "rb");
    if (!f) return "no VCD written";
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fclose(f);
    if (size < 1000) return "VCD too small";
    return "";
  }));
}

}  // namespace
