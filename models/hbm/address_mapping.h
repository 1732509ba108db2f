#pragma once
// Physical address <-> DRAM coordinates, as a configurable order of bit fields (LSB first).
#include <cstdint>
#include <vector>

#include "hbm/memory_config.h"

namespace sparsepim::hbm {

struct DramAddress {
  uint32_t channel = 0, pc = 0, sid = 0, bg = 0, bank = 0, row = 0, column = 0;
  bool operator==(const DramAddress& o) const {
    return channel == o.channel && pc == o.pc && sid == o.sid && bg == o.bg && bank == o.bank &&
           row == o.row && column == o.column;
  }
};

class AddressMapper {
 public:
  explicit AddressMapper(const MemoryConfig& cfg);
  uint64_t capacity() const { return capacity_; }
  bool in_range(uint64_t addr) const { return addr < capacity_; }
  // Decodes an in-range address (the caller checks in_range); the byte offset is dropped.
  DramAddress decode(uint64_t addr) const {
    uint32_t f[8] = {};
    for (const auto& s : slices_)
      f[s.field] |= uint32_t((addr >> s.addr_shift) & s.mask) << s.field_shift;
    return {f[7], f[5], f[4], f[3], f[2], f[6], f[1]};
  }
  uint64_t encode(const DramAddress& a, uint32_t offset = 0) const;

 private:
  struct Slice {
    uint32_t field;        // AddrField as index
    uint32_t addr_shift;   // where the slice starts in the address
    uint32_t field_shift;  // where it starts in the field value
    uint64_t mask;
  };
  std::vector<Slice> slices_;
  uint64_t capacity_ = 0;
};

}  // namespace sparsepim::hbm
