#pragma once
// Sizes, command codes and FSM states of the index-prediction unit (docs/units.md). Plain
// constants shared by the SystemC unit (ipu_unit.h) and its fast model (ipu_model.h).
#include <cstdint>

namespace sparsepim::ipu {

constexpr int kPosBits = 32;    // token positions (the policy library's uint32_t)
constexpr int kParamBits = 21;  // LFPS w, sinks, window: up to 2^20 (policy_params.cpp ranges)
constexpr int kSlotIdBits = 8;  // up to 256 position slots
constexpr int kCountBits = 16;  // k, stored positions per slot: up to 2^16 - 1

// Commands.
enum IpuOp : uint8_t {
  kOpPredict = 0,  // LFPS candidates of slot's history for a cache of n tokens
  kOpSelect = 1,   // top-k of m (position, FP16 score) pairs; optionally + n-1; optionally stored
  kOpReuse = 2     // the positions stored in a slot (TidalDecode's reuse by later layers)
};

// FSM states (scripts/gtkwave/ipu_state.filter names them).
enum IpuState : uint8_t {
  kIpIdle = 0,
  kIpFetch = 1,     // predict: next interval (sinks, a history entry's +-w, the recent window)
  kIpEmit = 2,      // predict: one candidate position per cycle
  kIpInsert = 3,    // select: one (position, score) pair per cycle into the score queue
  kIpTransfer = 4,  // select: survivors from the score queue into the position queue
  kIpOutput = 5,    // select: positions in ascending order (and into the slot)
  kIpAppend = 6,    // select: the current token n-1 (TidalDecode)
  kIpReuse = 7,     // reuse: a slot's positions
  kIpEnd = 8        // the end-of-list beat
};

}  // namespace sparsepim::ipu
