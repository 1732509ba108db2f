#pragma once
// `sparsepim gemv`: the attention GEMVs of one head through the PIM units — scores q·Kᵀ, softmax
// on the host, then probabilities · V — on random FP16 data, checked against a bit-exact
// emulation and an FP64 reference, and timed against reading the same matrices through the
// normal read path of the same memory model.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sparsepim::host {

struct GemvOptions {
  std::string memory = "attacc-hbm3-pim";
  std::vector<std::string> sets;  // memory config overrides
  uint32_t tokens = 1024;         // rows of K and V (`--rows`)
  uint32_t head_dim = 128;
  std::string pim_alu = "model";  // model | rtl
  bool acc_fp32 = false;          // FP32 accumulators (the ALU's ACC_FP32 parameter)
  bool value_pass = true;
  uint64_t seed = 1;
  std::string vcd;         // command/bank/unit waveforms
  std::string vcd_rtl;     // the ALU RTL's own trace (rtl only)
  std::string vcd_window;  // "START:END" in ns; empty = everything
};

// Elaborates and runs a SystemC simulation: call once per process.
nlohmann::json run_gemv(const GemvOptions& opt);

}  // namespace sparsepim::host
