#pragma once
// The cluster-mapping unit (CMU): STARC's block k-means and the cluster-ordered, bank-aligned
// storage layout, in synthesizable-style SystemC (docs/units.md). One SC_CTHREAD on the rising
// clock edge with a synchronous active-high reset; an explicit FSM, one state step per cycle;
// sc_uint/sc_int/sc_bv datapaths; fixed-size register arrays; loops only over lanes, clusters
// and bits (static bounds); no heap, no floating point, no library containers.
//
// Per block: a command (the first free storage slot) and 64 x ceil(d/LANES) key beats of LANES
// FP16 elements come in over ready/valid handshakes; the result goes out as records:
//   64 x TOKEN     label, storage slot and its DRAM place (pseudo-channel, SID, bank group,
//                  first bank, key row, lane, value row), in token order
//    4 x CLUSTER   size and first slot
//   4C x CENTROID  LANES Q1.16 values of a centroid (C = ceil(d/LANES) chunks per centroid)
//    1 x DONE      iterations run and the next free slot (out_last = 1)
// The arithmetic is kmeans_hw.h's, bit for bit; the cycle count is cmu_model.h's formula.
#include <systemc>

#include "models/cmu/cmu_params.h"

namespace sparsepim::cmu {

template <int LANES>
class CmuUnit : public sc_core::sc_module {
 public:
  static_assert(LANES >= 1 && kMaxHeadDim % LANES == 0, "LANES must divide the head dimension");
  static constexpr int kMaxChunks = kMaxHeadDim / LANES;
  static_assert(kMaxChunks <= 16, "the chunk counter has 5 bits: LANES >= 8");

  template <int W>
  using uint_t = sc_dt::sc_uint<W>;
  template <int W>
  using int_t = sc_dt::sc_int<W>;
  template <typename T>
  using in = sc_core::sc_in<T>;
  template <typename T>
  using out = sc_core::sc_out<T>;

  in<bool> clk;
  in<bool> rst;  // synchronous, active high
  // Configuration registers, latched when a block command is accepted.
  in<uint_t<8>> cfg_head_dim;        // d, 1..128
  in<uint_t<5>> cfg_max_iterations;  // 1..16
  in<uint_t<48>> cfg_tolerance;      // converged when every squared move < this (Q1.16^2)
  in<bool> cfg_aligned;              // clusters start on row-group boundaries
  in<uint_t<3>> cfg_lg_bank_groups, cfg_lg_sids, cfg_lg_pcs, cfg_lg_token_groups;
  in<uint_t<3>> cfg_banks_per_token;  // ceil(d / 32)
  in<uint_t<32>> cfg_key_row_base, cfg_value_row_base;
  // Block command: the first free slot of the head's cluster region.
  in<bool> cmd_valid;
  out<bool> cmd_ready;
  in<uint_t<kSlotBits>> cmd_base_slot;
  // Keys: token-major, LANES FP16 elements per beat (lanes past d ignored).
  in<bool> key_valid;
  out<bool> key_ready;
  in<sc_dt::sc_bv<16 * LANES>> key_data;
  // Result records.
  out<bool> out_valid;
  in<bool> out_ready;
  out<uint_t<2>> out_kind;
  out<uint_t<8>> out_index;
  out<uint_t<2>> out_label;
  out<uint_t<kSlotBits>> out_slot;
  out<uint_t<4>> out_pc, out_sid, out_bg, out_bank, out_lane;
  out<uint_t<32>> out_row, out_value_row;
  out<uint_t<8>> out_count;
  out<sc_dt::sc_bv<kPointBits * LANES>> out_vec;
  out<bool> out_last;

  SC_HAS_PROCESS(CmuUnit);
  explicit CmuUnit(sc_core::sc_module_name name)
      : sc_core::sc_module(name),
        st_state("state"),
        st_token("token"),
        st_chunk("chunk"),
        st_iteration("iteration"),
        st_cycles("busy_cycles"),
        st_max_move("max_move") {
    // Reciprocal ROM for the means (elaboration-time constants).
    for (int n = 0; n <= kBlockTokens; ++n)
      recip_[n] = n ? ((uint64_t(1) << kRecipShift) + uint64_t(n) - 1) / uint64_t(n) : 0;
    SC_CTHREAD(run, clk.pos());
    reset_signal_is(rst, true);
  }

  // Observability for waveforms (written every cycle): FSM state, counters, the busy-cycle count
  // of the current block and the last iteration's largest squared centroid move.
  sc_core::sc_signal<uint_t<4>> st_state;
  sc_core::sc_signal<uint_t<7>> st_token;
  sc_core::sc_signal<uint_t<5>> st_chunk, st_iteration;
  sc_core::sc_signal<uint_t<32>> st_cycles;
  sc_core::sc_signal<uint_t<48>> st_max_move;

 private:
  // Storage.
  uint_t<16> key_mem_[kBlockTokens][kMaxHeadDim];     // the block's FP16 keys
  uint_t<6> key_len_[kBlockTokens];                   // largest element bit length per key
  int_t<kPointBits> pts_[kBlockTokens][kMaxHeadDim];  // normalised keys, Q1.16
  int_t<kPointBits> cen_[kClusters][kMaxHeadDim];     // centroids, Q1.16
  int_t<24> sum_[kClusters][kMaxHeadDim];             // per-cluster sums (64 x 2^16 < 2^23)
  uint_t<2> lab_[kBlockTokens];
  uint_t<7> size_[kClusters];
  int_t<48> cnorm_[kClusters], nnorm_[kClusters], dot_[kClusters];
  uint_t<48> move_[kClusters];
  uint_t<30> recip_[kBlockTokens + 1];  // ceil(2^29 / n)
  // Inverse square root: r, P = r^2 s, Q = r s (shift-and-add recurrence, one bit per cycle).
  uint_t<2 * kAlignBits + 7> ssq_;  // 128 squares of 17 bits: < 2^41
  uint_t<kInvSqrtBits> r_;
  sc_dt::sc_biguint<96> isq_p_, isq_q_;
  // Control.
  uint_t<4> state_;
  uint_t<7> tok_;
  uint_t<5> chunk_, bit_, iter_;
  uint_t<32> cycles_;
  uint_t<48> max_move_;
  // Latched configuration.
  uint_t<8> d_;
  uint_t<5> chunks_, max_it_;
  uint_t<48> tol_;
  bool aligned_ = true;
  uint_t<3> lg_bg_, lg_sid_, lg_pc_, lg_grp_, bpt_;
  uint_t<32> key_row_base_, value_row_base_;
  // Layout.
  uint_t<kSlotBits> base_, start_[kClusters], end_slot_;
  uint_t<7> cnt_[kClusters];
  // Handshake registers (what the ports show this cycle).
  bool cmd_ready_r_ = false, key_ready_r_ = false, out_valid_r_ = false;

  // ---------------------------------------------------------------------------------------
  void run() {
    reset_state();
    drive_status();
    wait();
    while (true) {
      step();
      drive_status();
      wait();
    }
  }

  void reset_state() {
    state_ = kStIdle;
    tok_ = 0;
    chunk_ = 0;
    bit_ = 0;
    iter_ = 0;
    cycles_ = 0;
    max_move_ = 0;
    cmd_ready_r_ = true;
    key_ready_r_ = false;
    out_valid_r_ = false;
    cmd_ready.write(true);
    key_ready.write(false);
    out_valid.write(false);
    out_kind.write(0);
    out_index.write(0);
    out_label.write(0);
    out_slot.write(0);
    out_pc.write(0);
    out_sid.write(0);
    out_bg.write(0);
    out_bank.write(0);
    out_lane.write(0);
    out_row.write(0);
    out_value_row.write(0);
    out_count.write(0);
    out_vec.write(sc_dt::sc_bv<kPointBits * LANES>());
    out_last.write(false);
  }

  void drive_status() {
    st_state.write(state_);
    st_token.write(tok_);
    st_chunk.write(chunk_);
    st_iteration.write(iter_);
    st_cycles.write(cycles_);
    st_max_move.write(max_move_);
  }

  // FP16 field helpers.
  static uint_t<11> significand(const uint_t<16>& h) {
    uint_t<11> m = h.range(9, 0);
    if (h.range(14, 10) != 0) m[10] = 1;
    return m;
  }
  static uint_t<6> exponent(const uint_t<16>& h) {  // max(field, 1)
    const uint_t<5> e = h.range(14, 10);
    return e == 0 ? uint_t<6>(1) : uint_t<6>(e);
  }
  static uint_t<6> bit_length(const uint_t<16>& h) {  // of the exact magnitude M << (E - 1)
    const uint_t<11> m = significand(h);
    uint_t<4> len = 0;
    for (int b = 0; b < 11; ++b)
      if (m[b]) len = b + 1;
    return len == 0 ? uint_t<6>(0) : uint_t<6>(exponent(h) - 1 + len);
  }
  // floor(|h| * 2^(17 - len)) in units of 2^-24, with len the key's largest bit length.
  static uint_t<kAlignBits> aligned(const uint_t<16>& h, const uint_t<6>& len) {
    const uint_t<11> m = significand(h);
    const int sh = int(exponent(h)) + (kAlignBits - 1) - int(len);
    const uint_t<64> wide = m;
    return sh >= 0 ? uint_t<kAlignBits>(wide << sh) : uint_t<kAlignBits>(wide >> (-sh));
  }

  // ---------------------------------------------------------------------------------------
  void step() {
    if (state_ != kStIdle) cycles_ = cycles_ + 1;
    switch (state_) {
      case kStIdle:
        if (cmd_valid.read() && cmd_ready_r_) accept();
        break;
      case kStLoad:
        if (key_valid.read() && key_ready_r_) load_beat();
        break;
      case kStSumSq:
        sum_squares();
        break;
      case kStInvSqrt:
        inv_sqrt_bit();
        break;
      case kStScale:
        scale();
        break;
      case kStInit:
        init_centroids();
        break;
      case kStAssign:
        assign();
        break;
      case kStUpdate:
        update();
        break;
      case kStCheck:
        check();
        break;
      case kStLayout:
        layout();
        break;
      default:
        if (out_valid_r_ && out_ready.read()) advance_output();
        break;
    }
  }

  void accept() {
    d_ = cfg_head_dim.read();
    chunks_ = (d_ + (LANES - 1)) / LANES;  // LANES is a constant: a shift when a power of two
    max_it_ = cfg_max_iterations.read();
    tol_ = cfg_tolerance.read();
    aligned_ = cfg_aligned.read();
    lg_bg_ = cfg_lg_bank_groups.read();
    lg_sid_ = cfg_lg_sids.read();
    lg_pc_ = cfg_lg_pcs.read();
    lg_grp_ = cfg_lg_token_groups.read();
    bpt_ = cfg_banks_per_token.read();
    key_row_base_ = cfg_key_row_base.read();
    value_row_base_ = cfg_value_row_base.read();
    base_ = cmd_base_slot.read();
    cycles_ = 1;
    iter_ = 0;
    max_move_ = 0;
    tok_ = 0;
    chunk_ = 0;
    state_ = kStLoad;
    set_cmd_ready(false);
    set_key_ready(true);
  }

  void load_beat() {
    const sc_dt::sc_bv<16 * LANES> beat = key_data.read();
    uint_t<6> len = chunk_ == 0 ? uint_t<6>(0) : key_len_[tok_];
    for (int l = 0; l < LANES; ++l) {
      const int idx = int(chunk_) * LANES + l;
      if (idx >= int(d_)) continue;
      const uint_t<16> h = beat.range(16 * l + 15, 16 * l).to_uint();
      key_mem_[tok_][idx] = h;
      const uint_t<6> bl = bit_length(h);
      if (bl > len) len = bl;
    }
    key_len_[tok_] = len;
    if (next_chunk()) {
      if (tok_ == kBlockTokens - 1) {
        tok_ = 0;
        ssq_ = 0;
        state_ = kStSumSq;
        set_key_ready(false);
      } else {
        tok_ = tok_ + 1;
      }
    }
  }

  // Advances chunk_; true when it wrapped (the last chunk of a token was just processed).
  bool next_chunk() {
    if (chunk_ == chunks_ - 1) {
      chunk_ = 0;
      return true;
    }
    chunk_ = chunk_ + 1;
    return false;
  }

  void sum_squares() {
    uint_t<2 * kAlignBits + 7> acc = ssq_;
    for (int l = 0; l < LANES; ++l) {
      const int idx = int(chunk_) * LANES + l;
      if (idx >= int(d_)) continue;
      const uint_t<kAlignBits> a = aligned(key_mem_[tok_][idx], key_len_[tok_]);
      acc += uint_t<2 * kAlignBits>(a * a);
    }
    ssq_ = acc;
    if (next_chunk()) {
      state_ = kStInvSqrt;
      bit_ = kInvSqrtBits - 1;
      r_ = 0;
      isq_p_ = 0;
      isq_q_ = 0;
    }
  }

  // r_new = r + 2^b is accepted when r_new^2 s = P + (Q << (b+1)) + (s << 2b) <= 2^80
  // (Q = r s < 2^65, so every term fits 96 bits).
  void inv_sqrt_bit() {
    const int b = int(bit_);
    const sc_dt::sc_biguint<96> s = uint64_t(ssq_);
    const sc_dt::sc_biguint<96> cand = isq_p_ + (isq_q_ << (b + 1)) + (s << (2 * b));
    sc_dt::sc_biguint<96> limit = 0;
    limit[2 * kInvSqrtP] = 1;
    if (cand <= limit) {
      isq_p_ = cand;
      isq_q_ = isq_q_ + (s << b);
      r_[b] = 1;
    }
    if (b == 0) {
      state_ = kStScale;
      chunk_ = 0;
    } else {
      bit_ = bit_ - 1;
    }
  }

  void scale() {
    for (int l = 0; l < LANES; ++l) {
      const int idx = int(chunk_) * LANES + l;
      if (idx >= int(d_)) continue;
      const uint_t<16> h = key_mem_[tok_][idx];
      const uint_t<kAlignBits> a = aligned(h, key_len_[tok_]);
      const uint_t<kAlignBits + kInvSqrtBits> prod = uint64_t(a) * uint64_t(r_);
      const int_t<kPointBits> y = int_t<kPointBits>(int64_t(prod >> kScaleShift));
      pts_[tok_][idx] = h[15] ? int_t<kPointBits>(-y) : y;
    }
    if (next_chunk()) {
      if (tok_ == kBlockTokens - 1) {
        tok_ = 0;
        state_ = kStInit;
        for (int j = 0; j < kClusters; ++j) cnorm_[j] = 0;
      } else {
        tok_ = tok_ + 1;
        ssq_ = 0;
        state_ = kStSumSq;
      }
    }
  }

  // Centroids = the first kClusters points; their squared norms for the first assignment.
  void init_centroids() {
    for (int j = 0; j < kClusters; ++j) {
      int_t<48> acc = cnorm_[j];
      for (int l = 0; l < LANES; ++l) {
        const int idx = int(chunk_) * LANES + l;
        if (idx >= int(d_)) continue;
        cen_[j][idx] = pts_[j][idx];
        acc += int64_t(pts_[j][idx]) * int64_t(pts_[j][idx]);
      }
      cnorm_[j] = acc;
    }
    if (next_chunk()) start_assign();
  }

  void start_assign() {
    state_ = kStAssign;
    tok_ = 0;
    chunk_ = 0;
    for (int j = 0; j < kClusters; ++j) {
      dot_[j] = 0;
      size_[j] = 0;
      for (int c = 0; c < kMaxHeadDim; ++c) sum_[j][c] = 0;
    }
  }

  // Cycle (t, c): dot products of token t with every centroid over chunk c, and token t-1 added
  // into its cluster's sums over chunk c (the label of t-1 is known by then). Token 64 is the
  // drain pass of the last token.
  void assign() {
    if (tok_ > 0) {
      const int prev = int(tok_) - 1;
      const int j = int(lab_[prev]);
      for (int l = 0; l < LANES; ++l) {
        const int idx = int(chunk_) * LANES + l;
        if (idx < int(d_)) sum_[j][idx] = sum_[j][idx] + pts_[prev][idx];
      }
    }
    if (tok_ < kBlockTokens) {
      for (int j = 0; j < kClusters; ++j) {
        int_t<48> acc = dot_[j];
        for (int l = 0; l < LANES; ++l) {
          const int idx = int(chunk_) * LANES + l;
          if (idx < int(d_)) acc += int64_t(pts_[tok_][idx]) * int64_t(cen_[j][idx]);
        }
        dot_[j] = acc;
      }
    }
    if (!next_chunk()) return;
    if (tok_ < kBlockTokens) {
      // argmin |c|^2 - 2 y.c, ties to the lower cluster.
      uint_t<2> best = 0;
      int_t<48> best_v = 0;
      for (int j = 0; j < kClusters; ++j) {
        const int_t<48> v = cnorm_[j] - 2 * dot_[j];
        if (j == 0 || v < best_v) {
          best_v = v;
          best = j;
        }
        dot_[j] = 0;
      }
      lab_[tok_] = best;
      size_[best] = size_[best] + 1;
      tok_ = tok_ + 1;
    } else {
      state_ = kStUpdate;
      for (int j = 0; j < kClusters; ++j) {
        move_[j] = 0;
        nnorm_[j] = 0;
      }
    }
  }

  // New centroid = rounded mean (reciprocal ROM multiply, exact for |S| < 2^23); squared move
  // and squared norm accumulated on the way. An empty cluster keeps its centroid.
  void update() {
    for (int j = 0; j < kClusters; ++j) {
      uint_t<48> mv = move_[j];
      int_t<48> nn = nnorm_[j];
      for (int l = 0; l < LANES; ++l) {
        const int idx = int(chunk_) * LANES + l;
        if (idx >= int(d_)) continue;
        const int_t<kPointBits> old = cen_[j][idx];
        int_t<kPointBits> nx = old;
        if (size_[j] != 0) {
          const int_t<24> s = sum_[j][idx];
          const uint_t<24> mag = s < 0 ? uint_t<24>(-int64_t(s)) : uint_t<24>(int64_t(s));
          const uint_t<24> x = mag + (size_[j] >> 1);
          const uint_t<54> prod = uint_t<54>(uint64_t(x) * uint64_t(recip_[size_[j]]));
          const int64_t q = int64_t(prod >> kRecipShift);
          nx = s < 0 ? int_t<kPointBits>(-q) : int_t<kPointBits>(q);
        }
        const int64_t diff = int64_t(nx) - int64_t(old);
        mv += uint64_t(diff * diff);
        nn += int64_t(nx) * int64_t(nx);
        cen_[j][idx] = nx;
      }
      move_[j] = mv;
      nnorm_[j] = nn;
    }
    if (next_chunk()) state_ = kStCheck;
  }

  void check() {
    uint_t<48> mx = 0;
    for (int j = 0; j < kClusters; ++j)
      if (move_[j] > mx) mx = move_[j];
    max_move_ = mx;
    iter_ = iter_ + 1;
    if (mx < tol_ || iter_ == max_it_) {
      state_ = kStLayout;
      return;
    }
    for (int j = 0; j < kClusters; ++j) cnorm_[j] = nnorm_[j];
    start_assign();
  }

  // Cluster j starts at the cursor (rounded up to a row group when aligned); members follow in
  // token order. Presents the first token record.
  void layout() {
    uint_t<kSlotBits> cursor = base_;
    for (int j = 0; j < kClusters; ++j) {
      if (aligned_) {
        cursor = cursor + (kRowGroupTokens - 1);
        cursor.range(kLaneBits - 1, 0) = 0;
      }
      start_[j] = cursor;
      cursor = cursor + size_[j];
      cnt_[j] = 0;
    }
    end_slot_ = cursor;
    tok_ = 0;
    state_ = kStOutToken;
    present_token();
  }

  void advance_output() {
    switch (state_) {
      case kStOutToken:
        if (tok_ == kBlockTokens - 1) {
          state_ = kStOutCluster;
          tok_ = 0;
          present_cluster();
        } else {
          tok_ = tok_ + 1;
          present_token();
        }
        break;
      case kStOutCluster:
        if (tok_ == kClusters - 1) {
          state_ = kStOutCentroid;
          tok_ = 0;
          chunk_ = 0;
          present_centroid();
        } else {
          tok_ = tok_ + 1;
          present_cluster();
        }
        break;
      case kStOutCentroid:
        if (next_chunk()) {
          if (tok_ == kClusters - 1) {
            state_ = kStOutDone;
            present_done();
            break;
          }
          tok_ = tok_ + 1;
        }
        present_centroid();
        break;
      default:  // kStOutDone: the block is finished
        state_ = kStIdle;
        set_out_valid(false);
        out_last.write(false);
        set_cmd_ready(true);
        break;
    }
  }

  void present_token() {
    const uint_t<2> j = lab_[tok_];
    const uint_t<kSlotBits> slot = start_[j] + cnt_[j];
    cnt_[j] = cnt_[j] + 1;
    // slot -> row group (16 tokens) -> slice (pseudo-channel, SID, bank group) -> token group
    // of banks in the bank group -> row: the order of models/host/gemv.cpp's Layout::token().
    const uint_t<kSlotBits> rg = slot >> kLaneBits;
    const int lg_slices = int(lg_bg_) + int(lg_sid_) + int(lg_pc_);
    const uint_t<kSlotBits> slice = rg & ((uint_t<kSlotBits>(1) << lg_slices) - 1);
    const uint_t<kSlotBits> grp = (rg >> lg_slices) & ((uint_t<kSlotBits>(1) << int(lg_grp_)) - 1);
    const uint_t<kSlotBits> row = rg >> (lg_slices + int(lg_grp_));
    out_kind.write(kRecToken);
    out_index.write(tok_);
    out_label.write(j);
    out_slot.write(slot);
    out_bg.write(slice & ((uint_t<kSlotBits>(1) << int(lg_bg_)) - 1));
    out_sid.write((slice >> int(lg_bg_)) & ((uint_t<kSlotBits>(1) << int(lg_sid_)) - 1));
    out_pc.write(slice >> (int(lg_bg_) + int(lg_sid_)));
    out_bank.write(grp * bpt_);
    out_lane.write(slot.range(kLaneBits - 1, 0));
    out_row.write(key_row_base_ + row);
    out_value_row.write(value_row_base_ + row);
    set_out_valid(true);
  }

  void present_cluster() {
    out_kind.write(kRecCluster);
    out_index.write(tok_);
    out_count.write(size_[tok_]);
    out_slot.write(start_[tok_]);
    set_out_valid(true);
  }

  void present_centroid() {
    sc_dt::sc_bv<kPointBits * LANES> v;
    for (int l = 0; l < LANES; ++l) {
      const int idx = int(chunk_) * LANES + l;
      const uint_t<kPointBits> bits =
          idx < int(d_) ? uint_t<kPointBits>(int64_t(cen_[tok_][idx])) : uint_t<kPointBits>(0);
      v.range(kPointBits * l + kPointBits - 1, kPointBits * l) = bits;
    }
    out_kind.write(kRecCentroid);
    out_index.write(tok_);
    out_count.write(chunk_);
    out_vec.write(v);
    set_out_valid(true);
  }

  void present_done() {
    out_kind.write(kRecDone);
    out_index.write(0);
    out_count.write(iter_);
    out_slot.write(end_slot_);
    out_last.write(true);
    set_out_valid(true);
  }

  void set_cmd_ready(bool v) {
    cmd_ready_r_ = v;
    cmd_ready.write(v);
  }
  void set_key_ready(bool v) {
    key_ready_r_ = v;
    key_ready.write(v);
  }
  void set_out_valid(bool v) {
    out_valid_r_ = v;
    out_valid.write(v);
  }
};

}  // namespace sparsepim::cmu
