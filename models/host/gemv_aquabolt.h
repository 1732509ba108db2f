#pragma once
// `sparsepim gemv` on aquabolt-hbm2-pim (Samsung-style programmable bank-pair units): the score
// pass q·Kᵀ of one head as a CRF program (docs/pim-isa.md), driven from an SC_THREAD through TLM
// b_transport (normal reads/writes to the reserved rows for mode changes and register loads,
// PimExtension kMacRows ops of one pseudo-channel each for the column-command streams), plus the
// AT protocol for the streams of plain reads (AB-entry ACTs, result read-out) so that they are
// pipelined as a host controller would.
// Checked bit for bit against an emulation of the same FP16 operations in the same order and
// against FP64, and timed against reading the same keys through the normal read path.
//
// Layout (keys transposed, lane = token): 1024 tokens per (pseudo-channel, block): unit u holds
// tokens 128u .. 128u + 127 as 8 groups g of 16 (lane = token). Row `block * D/8 + j` (chunk j)
// of the even bank holds, at column 8m + g, dimension 8j + m of group g (m = 0..3), the odd bank
// dimension 8j + 4 + m. SRF_M[0..7] = q[8j .. 8j + 7], reloaded per chunk; GRF_B[g] accumulates
// the group's 16 scores. Blocks fill pseudo-channel 0, then 1, then 0 again, ...
#include <cstdint>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm>

#include "hbm/hbm_channel.h"
#include "host/gemv.h"
#include "pim/aquabolt_units.h"
#include "pim/pim_isa.h"

namespace sparsepim::host {

inline constexpr uint32_t kAquaboltTokensPerBlock = 1024;  // 8 units x 8 GRF_B x 16 lanes

// The score-pass kernel for `chunks` = D / 8 chunks of 8 dimensions and `blocks` 1024-token
// blocks on one pseudo-channel. MACABs per block: 64 x chunks + 8.
pim::isa::Program aquabolt_gemv_program(uint32_t chunks, uint32_t blocks);

// Elaborates and runs a SystemC simulation (call once per process). `cfg` must have
// pim.banks_per_unit == 2; run_gemv dispatches here.
nlohmann::json run_gemv_aquabolt(const GemvOptions& opt, const hbm::MemoryConfig& cfg);

}  // namespace sparsepim::host
