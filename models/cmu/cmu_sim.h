#pragma once
// The clocked mode of the cluster-mapping unit: a SystemC testbench that streams blocks of keys
// through CmuUnit<lanes> over its handshakes and collects the result records (for accuracy
// checks, cycle counts and waveforms). Blocks of one job are one KV head's consecutive blocks:
// each block's first cluster may start where the previous block ended.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/cmu/cmu_model.h"
#include "models/cmu/units_runner.h"

namespace sparsepim::cmu {

struct CmuJob {
  CmuConfig config;
  int lanes = 16;
  std::vector<std::vector<uint16_t>> blocks;  // each kBlockTokens x head_dim FP16 bit patterns
  uint64_t base_slot = 0;                     // where the first block may start
  // Non-zero: random bubbles on the key stream and random back-pressure on the results (the
  // results must not change; the cycle counts then include the stalls).
  uint64_t stall_seed = 0;
};

// The testbench module; elaborate it (alone or beside an IPU bench) and run run_units().
class CmuBench : public sc_core::sc_module {
 public:
  virtual bool done() const = 0;
  virtual const std::vector<CmuBlockResult>& results() const = 0;
  // A protocol error seen by the monitor (records out of order), empty if none.
  virtual const std::string& error() const = 0;
  virtual void trace(sc_core::sc_trace_file* tf) = 0;
  units::Bench as_bench() {
    return {[this] { return done(); }, [this](sc_core::sc_trace_file* tf) { trace(tf); }};
  }

 protected:
  explicit CmuBench(sc_core::sc_module_name n) : sc_core::sc_module(n) {}
};

// ConfigError for an unsupported lane count or head dimension.
std::unique_ptr<CmuBench> make_cmu_bench(const char* name, const CmuJob& job,
                                         const sc_core::sc_time& period);

// Elaborates one bench, runs it and returns its results (a SystemC kernel runs once per
// process). Throws on a protocol error or a hang.
std::vector<CmuBlockResult> run_cmu_clocked(const CmuJob& job, const std::string& vcd_path = "");

}  // namespace sparsepim::cmu
