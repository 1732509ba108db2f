#pragma once
// The data side of one PIM op (hbm::PimOp::data). The engine schedules commands; the PIM units
// read these fields when each command issues.
#include <cstdint>
#include <cstring>
#include <vector>

namespace sparsepim::pim {

struct PimData {
  // WRGB / MVGB: burst i carries in[32 i .. 32 i + 31] (16 FP16 scalars) into GEMV-buffer
  // entries 16 * half[i] .. 16 * half[i] + 15 of every bank whose bit is set in dest_mask[i]
  // (query g's 32 entries are halves 2g and 2g + 1)
  // (bit = bank index within the channel: ((pc * sids + sid) * bank_groups + bg) * banks + bank).
  std::vector<uint8_t> in;
  std::vector<uint64_t> dest_mask;
  std::vector<uint8_t> half;

  // MACAB: column c accumulates into register g * accumulators + c % accumulators for each of
  // the op's queries g (accumulators: 1 or 2 per query).
  uint8_t accumulators = 1;

  // MVSB: burst i copies 32 B of an accumulator register into out[32 i ..]. source[i] =
  // bank << 8 | register << 1 | part (part: which 32 B of a 64 B FP32 register). A register is
  // cleared once its last part has been moved when clear_after_move is set.
  std::vector<uint32_t> source;
  std::vector<uint8_t> out;
  bool clear_after_move = true;

  // Appends one WRGB/MVGB burst: 16 FP16 scalars for entries 16 * half_index .. + 15 of the
  // banks in mask.
  void add_burst(const uint16_t* scalars, uint64_t mask, uint8_t half_index) {
    const size_t at = in.size();
    in.resize(at + 32);
    std::memcpy(in.data() + at, scalars, 32);
    dest_mask.push_back(mask);
    half.push_back(half_index);
  }

  static uint32_t mvsb_source(uint32_t bank, uint32_t reg, uint32_t part) {
    return bank << 8 | reg << 1 | part;
  }
};

}  // namespace sparsepim::pim
