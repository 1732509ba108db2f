// Chooses the ALU behind the PIM units. The RTL backend is linked in when the verilated ALU is
// available (SPARSEPIM_HAVE_RTL_ALU).
#include <memory>
#include <string>

#include "host/alu_factory.h"

#include "common/errors.h"
#include "pim/alu_backend.h"
#ifdef SPARSEPIM_HAVE_RTL_ALU
#include "pim/rtl_alu.h"
#endif

namespace sparsepim::host {

std::unique_ptr<pim::AluBackend> make_alu_backend(const std::string& kind, bool acc_fp32,
                                                  const std::string& vcd_rtl, const char* name) {
  if (kind == "model") {
    if (!vcd_rtl.empty()) throw ConfigError("--vcd-rtl needs --pim-alu rtl");
    return std::make_unique<pim::ModelAlu>(acc_fp32);
  }
#ifdef SPARSEPIM_HAVE_RTL_ALU
  if (kind == "rtl") return std::make_unique<pim::RtlAlu>(name, acc_fp32, vcd_rtl);
#endif
  throw ConfigError("--pim-alu " + kind + " is not available in this build");
}

bool rtl_alu_available() {
#ifdef SPARSEPIM_HAVE_RTL_ALU
  return true;
#else
  return false;
#endif
}

}  // namespace sparsepim::host
