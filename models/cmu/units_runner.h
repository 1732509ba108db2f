#pragma once
// Running the clocked hardware units (CMU, IPU) in one SystemC simulation: their testbench
// modules report done(); the kernel runs in slices until all are, with an optional VCD of what
// they trace. A SystemC kernel elaborates once per process: call run_units once.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>

namespace sparsepim::units {

// A unit testbench as the runner sees it.
struct Bench {
  std::function<bool()> done;
  std::function<void(sc_core::sc_trace_file*)> trace;
};

// Runs until every bench is done; throws std::runtime_error after max_cycles clock periods.
// vcd_path: written with sc_trace (the file name is kept exactly as given).
inline void run_units(const std::vector<Bench>& benches, const sc_core::sc_time& period,
                      uint64_t max_cycles, const std::string& vcd_path) {
  sc_core::sc_trace_file* tf = nullptr;
  std::string base = vcd_path;
  const bool has_ext = base.size() > 4 && base.compare(base.size() - 4, 4, ".vcd") == 0;
  if (!vcd_path.empty()) {
    if (has_ext) base.resize(base.size() - 4);
    // Quiet the kernel's note that it set the trace time unit.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    tf = sc_core::sc_create_vcd_trace_file(base.c_str());
    if (!tf) throw std::runtime_error("cannot write VCD " + vcd_path);
    tf->set_time_unit(1, sc_core::SC_PS);
    for (const auto& b : benches) b.trace(tf);
  }
  auto all_done = [&] {
    for (const auto& b : benches)
      if (!b.done()) return false;
    return true;
  };
  const uint64_t slice = 4096;
  uint64_t run = 0;
  while (!all_done()) {
    if (run >= max_cycles) {
      if (tf) sc_core::sc_close_vcd_trace_file(tf);
      throw std::runtime_error("hardware units did not finish within " +
                               std::to_string(max_cycles) + " cycles");
    }
    sc_core::sc_start(period * double(slice));
    run += slice;
  }
  if (tf) {
    sc_core::sc_close_vcd_trace_file(tf);
    if (!has_ext && std::rename((base + ".vcd").c_str(), vcd_path.c_str()) != 0)
      throw std::runtime_error("cannot rename the VCD to " + vcd_path);
  }
}

}  // namespace sparsepim::units
