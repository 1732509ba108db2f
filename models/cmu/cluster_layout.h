#pragma once
// Where STARC's cluster-ordered tokens live in the memory (plain C++, no SystemC): the
// cluster-mapping unit computes the same in hardware (cmu_unit.h), and the host controller uses
// it to place and find keys and values.
//
// Storage slots are token-sized places of one KV head's region, counted in the order of the
// AttAcc layout of models/host/gemv.cpp (DESIGN.md 2.3): 16 consecutive slots form a row group
// (one lane per token of a 32 B column); consecutive row groups go to consecutive slices
// (pseudo-channel, SID, bank group; bank group fastest), then to the token groups of banks
// inside a bank group, then to the next row. A key of d dimensions occupies ceil(d/32) banks of
// its bank group (32 dimensions per bank, stored transposed: column = dimension, lane = token);
// its value the same banks in the value region (token-major: columns 2*lane and 2*lane + 1).
// So slot s of the layout is token s of gemv.cpp's Layout::token(row, slice, group, lane).
#include <cstdint>
#include <vector>

#include "hbm/address_mapping.h"
#include "hbm/memory_config.h"

namespace sparsepim::cmu {

struct LayoutGeometry {
  uint32_t pseudo_channels = 2, sids = 2, bank_groups = 4, banks_per_group = 4, rows = 16384;
  uint32_t head_dim = 128;
  uint32_t banks_per_token = 4;    // ceil(head_dim / 32)
  uint32_t token_groups = 1;       // banks_per_group / banks_per_token (a power of two)
  uint32_t key_row_base = 0;       // first row of the key region
  uint32_t value_row_base = 8192;  // first row of the value region
  // log2 of the power-of-two counts (what the hardware shifts by).
  uint32_t lg_pcs = 1, lg_sids = 1, lg_bank_groups = 2, lg_token_groups = 0;

  uint32_t slices() const { return pseudo_channels * sids * bank_groups; }
  // Tokens of one row across all slices and token groups (gemv.cpp's tokens_per_row).
  uint64_t tokens_per_row() const { return 16ull * slices() * token_groups; }
  // Slots that fit the key region (rows key_row_base .. value_row_base - 1 when keys come
  // first, else key_row_base .. rows - 1).
  uint64_t capacity_slots() const;
};

// The geometry of a memory preset for head dimension d: pseudo-channels, SIDs, bank groups and
// banks per group must be powers of two and rows 32 columns of 32 B (ConfigError otherwise).
// value_row_base < 0: the upper half of every bank (keys in rows [0, rows/2), values in
// [rows/2, rows): both regions grow independently as the cache grows).
LayoutGeometry make_layout_geometry(const hbm::MemoryConfig& cfg, int head_dim,
                                    uint32_t key_row_base = 0, int64_t value_row_base = -1);

struct SlotAddress {
  uint32_t pc = 0, sid = 0, bg = 0;
  uint32_t bank = 0;  // first of banks_per_token consecutive banks of the bank group
  uint32_t row = 0;   // key row
  uint32_t lane = 0;  // the token's lane in every key column (0..15)
  uint32_t value_row = 0;
  bool operator==(const SlotAddress& o) const {
    return pc == o.pc && sid == o.sid && bg == o.bg && bank == o.bank && row == o.row &&
           lane == o.lane && value_row == o.value_row;
  }
  // First of the two value columns of the token (2 * lane).
  uint32_t value_column() const { return 2 * lane; }
};

SlotAddress slot_address(const LayoutGeometry& g, uint64_t slot);
// The DRAM column holding key dimension dim (0..d-1) of the token in `slot`, and the column
// holding value dimensions 16*half .. 16*half+15 of bank j (channel 0; the caller sets it).
hbm::DramAddress key_column_address(const LayoutGeometry& g, uint64_t slot, uint32_t dim);
hbm::DramAddress value_column_address(const LayoutGeometry& g, uint64_t slot, uint32_t bank_j,
                                      uint32_t half);

// The cluster-ordered layout of one clustered block (as ClusterStore::extend): cluster j
// starts at the cursor (rounded up to a row group when aligned), its members follow in token
// order; the cursor then moves past it.
struct BlockLayout {
  std::vector<uint64_t> cluster_start;  // per cluster
  std::vector<uint64_t> slot;           // per token of the block
  uint64_t end = 0;                     // the next free slot
};
void block_layout(const uint8_t* labels, int count, const int* sizes, int clusters, uint64_t cursor,
                  int row_group_tokens, bool aligned, BlockLayout* out);

}  // namespace sparsepim::cmu
