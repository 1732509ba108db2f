#pragma once
// Functional contents of the DRAM: sparse and row-granular (a row costs memory only once it is
// written). Addressed by DRAM coordinates so that the PIM units can read the open row of every
// bank directly.
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "hbm/address_mapping.h"
#include "hbm/memory_config.h"

namespace sparsepim::hbm {

class BankStore {
 public:
  explicit BankStore(const Organization& org) : org_(org), row_bytes_(uint32_t(org.row_bytes())) {}

  // Bank index over the whole memory (channel, pc, sid, bg, bank), the order of BankNodes.
  uint32_t flat_bank(const DramAddress& a) const {
    return (((a.channel * org_.pseudo_channels + a.pc) * org_.sids + a.sid) * org_.bank_groups +
            a.bg) *
               org_.banks_per_group +
           a.bank;
  }
  // The row's bytes, or nullptr if it was never written (it reads as zeros).
  const uint8_t* row(uint32_t flat_bank, uint32_t row) const {
    const auto it = rows_.find(key(flat_bank, row));
    return it == rows_.end() ? nullptr : it->second.get();
  }
  uint8_t* row_for_write(uint32_t flat_bank, uint32_t row) {
    auto& p = rows_[key(flat_bank, row)];
    if (!p) p = std::make_unique<uint8_t[]>(row_bytes_);  // value-initialised: zeros
    return p.get();
  }
  // `len` bytes at byte `offset` of column a.column of the row a addresses (within one row).
  void read(const DramAddress& a, uint32_t offset, uint8_t* dst, uint32_t len) const {
    const uint8_t* r = row(flat_bank(a), a.row);
    if (r)
      std::memcpy(dst, r + a.column * org_.bytes_per_column + offset, len);
    else
      std::memset(dst, 0, len);
  }
  void write(const DramAddress& a, uint32_t offset, const uint8_t* src, uint32_t len) {
    std::memcpy(row_for_write(flat_bank(a), a.row) + a.column * org_.bytes_per_column + offset, src,
                len);
  }
  size_t rows_allocated() const { return rows_.size(); }
  void clear() { rows_.clear(); }  // everything reads as zeros again
  uint32_t row_bytes() const { return row_bytes_; }

 private:
  uint64_t key(uint32_t flat_bank, uint32_t row) const {
    return uint64_t(flat_bank) * org_.rows + row;
  }
  Organization org_;
  uint32_t row_bytes_;
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> rows_;
};

}  // namespace sparsepim::hbm
