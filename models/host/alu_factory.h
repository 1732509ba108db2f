#pragma once
// Chooses the ALU behind the PIM units: "model" (the bit-exact C++ model) or "rtl" (the
// Verilated RTL, when this build has it). ConfigError otherwise.
#include <memory>
#include <string>

#include "pim/alu_backend.h"

namespace sparsepim::host {

// vcd_rtl: the RTL's own trace (rtl only); name: the RTL module's SystemC name (unique per
// simulation).
std::unique_ptr<pim::AluBackend> make_alu_backend(const std::string& kind, bool acc_fp32,
                                                  const std::string& vcd_rtl,
                                                  const char* name = "rtl_alu");
bool rtl_alu_available();  // this build has the Verilated ALU

}  // namespace sparsepim::host
