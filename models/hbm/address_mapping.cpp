#include "hbm/address_mapping.h"

namespace sparsepim::hbm {

AddressMapper::AddressMapper(const MemoryConfig& cfg) : capacity_(cfg.org.capacity_bytes()) {
  uint32_t addr_shift = 0;
  uint32_t field_bits[8] = {};
  for (const auto& s : cfg.mapping) {
    const uint32_t f = uint32_t(s.field);
    slices_.push_back({f, addr_shift, field_bits[f], (uint64_t(1) << s.bits) - 1});
    field_bits[f] += s.bits;
    addr_shift += s.bits;
  }
}

uint64_t AddressMapper::encode(const DramAddress& a, uint32_t offset) const {
  const uint32_t f[8] = {offset, a.column, a.bank, a.bg, a.sid, a.pc, a.row, a.channel};
  uint64_t addr = 0;
  for (const auto& s : slices_)
    addr |= uint64_t((f[s.field] >> s.field_shift) & s.mask) << s.addr_shift;
  return addr;
}

}  // namespace sparsepim::hbm
