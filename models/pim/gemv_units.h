#pragma once
// AttAcc-style PIM units (attacc-hbm3-pim): one 16-lane FP16 MAC unit per bank, next to the
// bank's column decoder, with a GEMV buffer of one FP16 scalar per column and two accumulator
// registers of 16 lanes.
//
//   WRGB / MVGB  burst of 16 scalars into buffer entries 16h..16h+15 of the banks in a mask
//   MACAB col c  for each buffered query g < Q (the op's queries):
//                acc[g R + c % R][l] += row[c][l] x buffer[32 g + c]   (every bank of the
//                MACAB's bank mask — the op's mask after ACTAB, the activated slices' banks in
//                a per-slice round — each on the row its ACTAB/ACT opened)
//   MVSB         32 B of an accumulator register out to the buffer die (then cleared)
//
// The buffer holds pim.query_slots queries (32 entries each) and the unit 2 accumulator
// registers per query: the G query heads of a GQA group share each column read.
//
// With keys stored transposed (a column = one dimension of 16 tokens, lane = token), a row of
// MACABs computes 16 partial dot products per bank; with values stored token-major (a column =
// 16 dimensions of one token, two columns per token) and the probabilities in the buffer, two
// registers collect 32 output dimensions.
#include <cstdint>
#include <vector>

#include "hbm/bank_store.h"
#include "hbm/channel_engine.h"
#include "pim/alu_backend.h"
#include "pim/pim_data.h"

namespace sparsepim::pim {

class GemvUnits : public hbm::PimExecutor {
 public:
  GemvUnits(const hbm::MemoryConfig& cfg, uint32_t channel, hbm::BankStore& store, AluBackend& alu);
  void on_pim_command(const hbm::Command& c, const hbm::PimOp& op, uint32_t index) override;

  static constexpr int kEntriesPerQuery = 32;
  static constexpr int kRegistersPerQuery = 2;
  uint32_t banks() const { return banks_; }
  uint32_t buffer_entries() const { return entries_; }
  uint32_t registers() const { return registers_; }
  // Busy cycles (MAC work) per bank, for statistics and waveforms.
  uint64_t macs() const { return macs_; }
  const uint32_t* accumulator(uint32_t bank, uint32_t reg) const {
    return &acc_[(bank * registers_ + reg) * kLanes];
  }
  uint16_t buffer(uint32_t bank, uint32_t entry) const { return buf_[bank * entries_ + entry]; }

 private:
  hbm::MemoryConfig cfg_;
  uint32_t channel_;
  hbm::BankStore& store_;
  AluBackend& alu_;
  uint32_t banks_;                 // banks of the channel
  uint32_t entries_, registers_;   // per bank
  uint32_t first_flat_;            // flat index of the channel's first bank in the store
  std::vector<uint16_t> buf_;      // banks x entries_
  std::vector<uint32_t> acc_;      // banks x registers_ x kLanes
  std::vector<int64_t> open_row_;  // per bank, from the PIM ops' ACTAB / ACT / PREA (-1: closed)
  std::vector<AluBeat> beats_;
  uint64_t macs_ = 0;
  uint64_t tck_ps_ = 0;
};

}  // namespace sparsepim::pim
