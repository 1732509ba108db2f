// Chooses the ALU behind the PIM units. The RTL backend is linked in when the verilated ALU is
// available (SPARSEPIM_HAVE_RTL_ALU).
#include <memory>
#include <string>

#include "common/errors.h"
#include "pim/alu_backend.h"
#ifdef SPARSEPIM_HAVE_RTL_ALU
#include "pim/rtl_alu.h"
#endif

namespace sparsepim::host {

std::unique_ptr<pim::AluBackend> make_alu_backend(const std::string& kind, bool acc_fp32,
                                                  const std::string& vcd_rtl) {
  if (kind == "model") {
    if (!vcd_rtl.empty()) throw ConfigError("--vcd-rtl needs --pim-alu rtl");
    return std::make_unique<pim::ModelAlu>(acc_fp32);
  }
#ifdef SPARSEPIM_HAVE_RTL_ALU
  if (kind == "rtl") return std::make_unique<pim::RtlAlu>("rtl_alu", acc_fp32, vcd_rtl);
#endif
  throw ConfigError("--pim-alu " + kind + " is not available in this build");
}

}  // namespace sparsepim::host
