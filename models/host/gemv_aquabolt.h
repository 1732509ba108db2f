#pragma once
// `sparsepim gemv` on aquabolt-hbm2-pim (Samsung-style programmable bank-pair units): the score
// pass q·Kᵀ and the value pass p·V of one head as CRF programs (docs/pim-isa.md), softmax on the
// host in between, driven from an SC_THREAD through TLM b_transport (normal reads/writes to the
// reserved rows for mode changes and register loads, PimExtension kMacRows ops of one
// pseudo-channel each for the column-command streams), plus the AT protocol for the streams of
// plain reads and register writes (AB-entry ACTs, probability loads, result read-out) so that
// they are pipelined as a host controller would.
// Checked bit for bit against an emulation of the same FP16 operations in the same order and
// against FP64, and timed against reading the same keys / values through the normal read path.
//
// Score layout (keys transposed, lane = token): 1024 tokens per (pseudo-channel, block): unit u
// holds tokens 128u .. 128u + 127 as 8 groups g of 16 (lane = token). Row `block * D/8 + j`
// (chunk j) of the even bank holds, at column 8m + g, dimension 8j + m of group g (m = 0..3), the
// odd bank dimension 8j + 4 + m. SRF_M[0..7] = q[8j .. 8j + 7], reloaded per chunk; GRF_B[g]
// accumulates the group's 16 scores. Blocks fill pseudo-channel 0, then 1, then 0 again, ...
//
// Value layout (values transposed too, lane = token; docs/pim-isa.md section 5): a load = 128
// tokens of one pseudo-channel (8 groups k of 16); their probabilities are broadcast into
// GRF_A[k] of all 8 units (lane = token). Unit u owns n = ceil(D/8 / sets) dimensions per set
// (sets = ceil(D/64)) and accumulates them in GRF_B[0..n-1], one partial sum per lane; one row
// per (set, load) holds the 8 groups x n dimensions of every unit, walked as 8 diagonals
// (GRF_B[j] += V x GRF_A[(j + delta) & 7]). The host adds the 16 lanes of every pseudo-channel.
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

// The value-pass kernel: `n` dimensions per unit and set (1..8), `loads` probability loads of
// 128 tokens per set on one pseudo-channel, `sets` dimension sets. MACABs per load: 8n (8
// diagonals of n columns; on the even bank if 8n <= 32, else 4 on each bank of one row), then n
// MOVs per set. At most 21 slots.
pim::isa::Program aquabolt_value_program(uint32_t n, uint32_t loads, uint32_t sets);

// Elaborates and runs a SystemC simulation (call once per process). `cfg` must have
// pim.banks_per_unit == 2; run_gemv dispatches here.
nlohmann::json run_gemv_aquabolt(const GemvOptions& opt, const hbm::MemoryConfig& cfg);

}  // namespace sparsepim::host
