#include "models/cmu/cluster_layout.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "models/cmu/cmu_params.h"
#include "models/common/errors.h"

namespace sparsepim::cmu {

namespace {
uint32_t log2_exact(uint32_t v, const std::string& what) {
  if (v == 0 || (v & (v - 1)))
    throw ConfigError("cluster layout: " + what + " = " + std::to_string(v) +
                      " is not a power of two");
  return uint32_t(__builtin_ctz(v));
}
}  // namespace

uint64_t LayoutGeometry::capacity_slots() const {
  const uint32_t key_end = value_row_base > key_row_base ? value_row_base : rows;
  const uint32_t value_end = key_row_base > value_row_base ? key_row_base : rows;
  const uint32_t r = std::min(key_end - key_row_base, value_end - value_row_base);
  return uint64_t(r) * tokens_per_row();
}

LayoutGeometry make_layout_geometry(const hbm::MemoryConfig& cfg, int head_dim,
                                    uint32_t key_row_base, int64_t value_row_base) {
  const auto& o = cfg.org;
  if (o.columns != 32 || o.bytes_per_column != 32)
    throw ConfigError("cluster layout: needs rows of 32 columns of 32 B (" + cfg.name + ")");
  if (head_dim < 1 || head_dim > kMaxHeadDim)
    throw ConfigError("cluster layout: head dimension " + std::to_string(head_dim) +
                      " outside 1.." + std::to_string(kMaxHeadDim));
  LayoutGeometry g;
  g.pseudo_channels = o.pseudo_channels;
  g.sids = o.sids;
  g.bank_groups = o.bank_groups;
  g.banks_per_group = o.banks_per_group;
  g.rows = o.rows;
  g.head_dim = uint32_t(head_dim);
  g.lg_pcs = log2_exact(o.pseudo_channels, "pseudo_channels");
  g.lg_sids = log2_exact(o.sids, "sids");
  g.lg_bank_groups = log2_exact(o.bank_groups, "bank_groups");
  log2_exact(o.banks_per_group, "banks_per_group");
  g.banks_per_token = uint32_t((head_dim + kDimsPerBank - 1) / kDimsPerBank);
  if (g.banks_per_token > o.banks_per_group)
    throw ConfigError("cluster layout: a key of " + std::to_string(head_dim) +
                      " dimensions needs " + std::to_string(g.banks_per_token) +
                      " banks, a bank group has " + std::to_string(o.banks_per_group));
  g.token_groups = o.banks_per_group / g.banks_per_token;
  // 3 banks per token leave one token group per bank group (a power of two again).
  g.lg_token_groups = log2_exact(g.token_groups, "token groups per bank group");
  g.key_row_base = key_row_base;
  g.value_row_base = value_row_base < 0 ? o.rows / 2 : uint32_t(value_row_base);
  if (g.key_row_base >= o.rows || g.value_row_base >= o.rows || g.key_row_base == g.value_row_base)
    throw ConfigError("cluster layout: key and value regions must start at distinct rows below " +
                      std::to_string(o.rows));
  return g;
}

SlotAddress slot_address(const LayoutGeometry& g, uint64_t slot) {
  SlotAddress a;
  const uint64_t rg = slot >> kLaneBits;
  const uint64_t slice = rg % g.slices();
  const uint64_t group = (rg / g.slices()) % g.token_groups;
  const uint64_t row = rg / (uint64_t(g.slices()) * g.token_groups);
  a.lane = uint32_t(slot & (kRowGroupTokens - 1));
  a.bg = uint32_t(slice % g.bank_groups);
  a.sid = uint32_t((slice / g.bank_groups) % g.sids);
  a.pc = uint32_t(slice / (uint64_t(g.bank_groups) * g.sids));
  a.bank = uint32_t(group * g.banks_per_token);
  a.row = uint32_t(g.key_row_base + row);
  a.value_row = uint32_t(g.value_row_base + row);
  return a;
}

hbm::DramAddress key_column_address(const LayoutGeometry& g, uint64_t slot, uint32_t dim) {
  const SlotAddress s = slot_address(g, slot);
  hbm::DramAddress a;
  a.pc = s.pc;
  a.sid = s.sid;
  a.bg = s.bg;
  a.bank = s.bank + dim / kDimsPerBank;
  a.row = s.row;
  a.column = dim % kDimsPerBank;
  return a;
}

hbm::DramAddress value_column_address(const LayoutGeometry& g, uint64_t slot, uint32_t bank_j,
                                      uint32_t half) {
  const SlotAddress s = slot_address(g, slot);
  hbm::DramAddress a;
  a.pc = s.pc;
  a.sid = s.sid;
  a.bg = s.bg;
  a.bank = s.bank + bank_j;
  a.row = s.value_row;
  a.column = s.value_column() + half;
  return a;
}

void block_layout(const uint8_t* labels, int count, const int* sizes, int clusters, uint64_t cursor,
                  int row_group_tokens, bool aligned, BlockLayout* out) {
  out->cluster_start.assign(size_t(clusters), 0);
  out->slot.assign(size_t(count), 0);
  for (int j = 0; j < clusters; ++j) {
    if (aligned)
      cursor = (cursor + uint64_t(row_group_tokens) - 1) / uint64_t(row_group_tokens) *
               uint64_t(row_group_tokens);
    out->cluster_start[size_t(j)] = cursor;
    for (int i = 0; i < count; ++i)
      if (labels[i] == j) out->slot[size_t(i)] = cursor++;
    if (int64_t(cursor - out->cluster_start[size_t(j)]) != sizes[j])
      throw std::logic_error("block_layout: cluster sizes do not match the labels");
  }
  out->end = cursor;
}

}  // namespace sparsepim::cmu
