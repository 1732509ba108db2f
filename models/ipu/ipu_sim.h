#pragma once
// The clocked mode of the index-prediction unit: a SystemC testbench that sends commands (and
// their (position, score) pairs) to IpuUnit<kSimSlots, capacity> over its handshakes and
// collects the answers, for accuracy checks, cycle counts and waveforms.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/cmu/units_runner.h"
#include "models/ipu/ipu_model.h"

namespace sparsepim::ipu {

struct IpuJob {
  IpuConfig config;
  std::vector<IpuCommand> commands;  // run in order (later ones may read what earlier stored)
  // Non-zero: random bubbles on the pair stream and random back-pressure on the answers (the
  // answers must not change; the cycle counts then include the stalls).
  uint64_t stall_seed = 0;
};

class IpuBench : public sc_core::sc_module {
 public:
  virtual bool done() const = 0;
  virtual const std::vector<IpuAnswer>& answers() const = 0;
  virtual void trace(sc_core::sc_trace_file* tf) = 0;
  units::Bench as_bench() {
    return {[this] { return done(); }, [this](sc_core::sc_trace_file* tf) { trace(tf); }};
  }

 protected:
  explicit IpuBench(sc_core::sc_module_name n) : sc_core::sc_module(n) {}
};

// Checks every command (check_command); ConfigError for an unsupported capacity.
std::unique_ptr<IpuBench> make_ipu_bench(const char* name, const IpuJob& job,
                                         const sc_core::sc_time& period);

// Elaborates one bench, runs it and returns the answers (once per process).
std::vector<IpuAnswer> run_ipu_clocked(const IpuJob& job, const std::string& vcd_path = "");

}  // namespace sparsepim::ipu
