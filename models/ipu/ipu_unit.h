#pragma once
// The index-prediction unit (IPU): LFPS candidate generation from the previous step's
// selection, TidalDecode's position store for reuse by later layers, and a streaming top-k
// selector, in synthesizable-style SystemC (docs/units.md). One SC_CTHREAD on the rising clock
// edge with a synchronous active-high reset; an explicit FSM, one state step per cycle;
// sc_uint datapaths; fixed-size register arrays; loops only over queue cells (static bounds); no
// heap, no floating point, no library containers.
//
//   SLOTS x (CAP + 1) position store: each slot holds one selection in ascending order (an LFPS
//                     history of a (layer, query head), or a TidalDecode selection)
//   PREDICT slot n    streams the LFPS candidates of the slot's history for a cache of n
//                     tokens: each stored p as [p - w, p + 1 + w] (vertical, slash +1, +-w),
//                     the sinks [0, sinks) and the window [n - window, n), clipped to [0, n),
//                     merged in ascending order without duplicates (LfpsPolicy::candidates)
//   SELECT k m        takes m (position, FP16 score) pairs, one per cycle, into a CAP-cell
//                     shift-register insertion queue ordered by (score, lower position first);
//                     the best min(k, m) move into a second queue ordered by position and stream
//                     out ascending (top_k_of); optionally followed by n-1 and stored in a slot
//   REUSE slot        streams a slot's positions
// Every answer ends with an end beat (out_end = 1). Scores are FP16 bit patterns compared as
// ordered integers (-0 = +0; NaN outside the contract).
#include <systemc>

#include "models/ipu/ipu_params.h"

namespace sparsepim::ipu {

template <int SLOTS, int CAP>
class IpuUnit : public sc_core::sc_module {
 public:
  static_assert(SLOTS >= 1 && SLOTS <= (1 << kSlotIdBits), "slot ids have 8 bits");
  static_assert(CAP >= 1 && CAP + 1 < (1 << kCountBits), "k has 16 bits");

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
  // LFPS parameters (latched when a command is accepted).
  in<uint_t<kParamBits>> cfg_expansion, cfg_sinks, cfg_window;
  // Commands.
  in<bool> cmd_valid;
  out<bool> cmd_ready;
  in<uint_t<2>> cmd_op;
  in<uint_t<kSlotIdBits>> cmd_slot;
  in<uint_t<kPosBits>> cmd_n;    // tokens in the cache (predict; select with append)
  in<uint_t<kCountBits>> cmd_k;  // select: k <= CAP
  in<uint_t<kPosBits>> cmd_m;    // select: pairs that follow
  in<bool> cmd_store, cmd_append;
  // (position, score) pairs.
  in<bool> in_valid;
  out<bool> in_ready;
  in<uint_t<kPosBits>> in_pos;
  in<uint_t<16>> in_score;
  // Positions out.
  out<bool> out_valid;
  in<bool> out_ready;
  out<uint_t<kPosBits>> out_pos;
  out<bool> out_end;

  // Observability for waveforms (written every cycle).
  sc_core::sc_signal<uint_t<4>> st_state;
  sc_core::sc_signal<uint_t<32>> st_cycles;        // busy cycles of the current command
  sc_core::sc_signal<uint_t<32>> st_count;         // pairs taken / positions sent
  sc_core::sc_signal<uint_t<kCountBits>> st_fill;  // occupied cells of the score queue

  SC_HAS_PROCESS(IpuUnit);
  explicit IpuUnit(sc_core::sc_module_name name)
      : sc_core::sc_module(name),
        st_state("state"),
        st_cycles("busy_cycles"),
        st_count("count"),
        st_fill("queue_fill") {
    SC_CTHREAD(run, clk.pos());
    reset_signal_is(rst, true);
  }

 private:
  // Position store.
  uint_t<kPosBits> mem_[SLOTS][CAP + 1];
  uint_t<kCountBits> stored_[SLOTS];
  // Score queue: key = {ordered score (16 bits), ~position (32 bits)}, best first.
  uint_t<16 + kPosBits> sq_key_[CAP];
  bool sq_valid_[CAP];
  // Position queue: ascending positions.
  uint_t<kPosBits> pq_pos_[CAP];
  bool pq_valid_[CAP];
  // Control.
  uint_t<4> state_;
  uint_t<2> op_;
  uint_t<kSlotIdBits> slot_;
  uint_t<kPosBits> n_, m_, cnt_;
  uint_t<kCountBits> k_, kept_, hcount_, hidx_, fill_;
  uint_t<kParamBits> w_, sinks_, window_;
  bool store_ = false, append_ = false, sinks_done_ = false, recent_done_ = false;
  int_t<kPosBits + 2> cur_, e_, end_, recent_lo_;
  uint_t<32> cycles_;
  bool cmd_ready_r_ = false, in_ready_r_ = false, out_valid_r_ = false;

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
    state_ = kIpIdle;
    cycles_ = 0;
    cnt_ = 0;
    fill_ = 0;
    for (int s = 0; s < SLOTS; ++s) stored_[s] = 0;
    for (int i = 0; i < CAP; ++i) {
      sq_valid_[i] = false;
      pq_valid_[i] = false;
    }
    set_cmd_ready(true);
    set_in_ready(false);
    set_out_valid(false);
    out_pos.write(0);
    out_end.write(false);
  }

  void drive_status() {
    st_state.write(state_);
    st_cycles.write(cycles_);
    st_count.write(cnt_);
    st_fill.write(fill_);
  }

  void step() {
    if (state_ != kIpIdle) cycles_ = cycles_ + 1;
    const bool sent = out_valid_r_ && out_ready.read();
    switch (state_) {
      case kIpIdle:
        if (cmd_valid.read() && cmd_ready_r_) accept();
        break;
      case kIpFetch:
        fetch();
        break;
      case kIpEmit:
        if (sent) emit_next();
        break;
      case kIpInsert:
        if (in_valid.read() && in_ready_r_) take_pair();
        break;
      case kIpTransfer:
        transfer();
        break;
      case kIpOutput:
        if (sent) output_next();
        break;
      case kIpAppend:
        if (sent) {
          if (store_) mem_[slot_][cnt_] = n_ - 1;
          cnt_ = cnt_ + 1;
          present_end();
        }
        break;
      case kIpReuse:
        if (sent) {
          cnt_ = cnt_ + 1;
          if (cnt_ < hcount_)
            present(mem_[slot_][cnt_]);
          else
            present_end();
        }
        break;
      default:  // kIpEnd
        if (sent) {
          if (op_ == kOpSelect && store_) stored_[slot_] = cnt_;
          set_out_valid(false);
          out_end.write(false);
          state_ = kIpIdle;
          set_cmd_ready(true);
        }
        break;
    }
  }

  void accept() {
    op_ = cmd_op.read();
    slot_ = cmd_slot.read();
    n_ = cmd_n.read();
    k_ = cmd_k.read();
    m_ = cmd_m.read();
    store_ = cmd_store.read();
    append_ = cmd_append.read();
    w_ = cfg_expansion.read();
    sinks_ = cfg_sinks.read();
    window_ = cfg_window.read();
    cycles_ = 1;
    cnt_ = 0;
    set_cmd_ready(false);
    if (op_ == kOpPredict) {
      hcount_ = stored_[slot_];
      hidx_ = 0;
      sinks_done_ = false;
      recent_done_ = false;
      cur_ = 0;
      const int_t<kPosBits + 2> lo = int64_t(n_) - int64_t(window_);
      recent_lo_ = lo < 0 ? int_t<kPosBits + 2>(0) : lo;
      state_ = kIpFetch;
    } else if (op_ == kOpSelect) {
      for (int i = 0; i < CAP; ++i) {
        sq_valid_[i] = false;
        pq_valid_[i] = false;
      }
      fill_ = 0;
      if (m_ != 0) {
        state_ = kIpInsert;
        set_in_ready(true);
      } else {
        after_insert();
      }
    } else {
      hcount_ = stored_[slot_];
      if (hcount_ != 0) {
        state_ = kIpReuse;
        present(mem_[slot_][0]);
      } else {
        present_end();
      }
    }
  }

  // ---- PREDICT --------------------------------------------------------------------------
  int_t<kPosBits + 2> history_lo(const uint_t<kCountBits>& i) const {
    const int_t<kPosBits + 2> lo = int64_t(mem_[slot_][i]) - int64_t(w_);
    return lo < 0 ? int_t<kPosBits + 2>(0) : lo;
  }

  // Next interval in ascending order of its first position: the sinks, then the history
  // entries (ascending) with the recent window merged in where it belongs.
  void fetch() {
    int_t<kPosBits + 2> lo = 0, hi = -1;
    const int_t<kPosBits + 2> last = int64_t(n_) - 1;
    if (!sinks_done_) {
      sinks_done_ = true;
      hi = (uint64_t(sinks_) < uint64_t(n_) ? int64_t(sinks_) : int64_t(n_)) - 1;
    } else if (hidx_ < hcount_ && (recent_done_ || history_lo(hidx_) <= recent_lo_)) {
      lo = history_lo(hidx_);
      const int_t<kPosBits + 2> top = int64_t(mem_[slot_][hidx_]) + 1 + int64_t(w_);
      hi = top < last ? top : last;
      hidx_ = hidx_ + 1;
    } else if (!recent_done_) {
      recent_done_ = true;
      lo = recent_lo_;
      hi = last;
    } else {
      present_end();
      return;
    }
    if (cur_ > lo) lo = cur_;
    if (lo <= hi) {
      e_ = lo;
      end_ = hi;
      state_ = kIpEmit;
      present(uint_t<kPosBits>(int64_t(lo)));
    }
  }

  void emit_next() {
    cnt_ = cnt_ + 1;
    cur_ = e_ + 1;
    if (e_ < end_) {
      e_ = e_ + 1;
      present(uint_t<kPosBits>(int64_t(e_)));
    } else {
      set_out_valid(false);
      state_ = kIpFetch;
    }
  }

  // ---- SELECT ---------------------------------------------------------------------------
  static uint_t<16> order_key(const uint_t<16>& h) {
    if (h == 0x8000) return 0x8000;  // -0 ranks as +0
    return h[15] ? uint_t<16>(~h) : uint_t<16>(h | 0x8000);
  }

  void take_pair() {
    uint_t<16 + kPosBits> x = order_key(in_score.read());
    x = (x << kPosBits) | uint_t<kPosBits>(~in_pos.read());
    // Shift-register insertion: cells the new pair beats move one place down, the first of
    // them takes the pair; what falls off cell k-1 is dropped.
    bool beats[CAP];
    for (int i = 0; i < CAP; ++i) beats[i] = i < int(k_) && (!sq_valid_[i] || x > sq_key_[i]);
    for (int i = CAP - 1; i >= 0; --i) {
      if (!beats[i]) continue;
      if (i > 0 && beats[i - 1]) {
        sq_key_[i] = sq_key_[i - 1];
        sq_valid_[i] = sq_valid_[i - 1];
      } else {
        sq_key_[i] = x;
        sq_valid_[i] = true;
      }
    }
    if (fill_ < k_) fill_ = fill_ + 1;
    cnt_ = cnt_ + 1;
    if (cnt_ == m_) {
      set_in_ready(false);
      after_insert();
    }
  }

  void after_insert() {
    kept_ = uint64_t(k_) < uint64_t(m_) ? uint64_t(k_) : uint64_t(m_);
    cnt_ = 0;
    if (kept_ != 0)
      state_ = kIpTransfer;
    else
      output_tail();
  }

  // One survivor per cycle from the head of the score queue into the position queue.
  void transfer() {
    const uint_t<kPosBits> p = ~uint_t<kPosBits>(sq_key_[0].range(kPosBits - 1, 0));
    for (int i = 0; i < CAP - 1; ++i) {
      sq_key_[i] = sq_key_[i + 1];
      sq_valid_[i] = sq_valid_[i + 1];
    }
    sq_valid_[CAP - 1] = false;
    fill_ = fill_ - 1;
    bool beats[CAP];
    for (int i = 0; i < CAP; ++i) beats[i] = !pq_valid_[i] || p < pq_pos_[i];
    for (int i = CAP - 1; i >= 0; --i) {
      if (!beats[i]) continue;
      if (i > 0 && beats[i - 1]) {
        pq_pos_[i] = pq_pos_[i - 1];
        pq_valid_[i] = pq_valid_[i - 1];
      } else {
        pq_pos_[i] = p;
        pq_valid_[i] = true;
      }
    }
    cnt_ = cnt_ + 1;
    if (cnt_ == kept_) {
      cnt_ = 0;
      state_ = kIpOutput;
      present(pq_pos_[0]);
    }
  }

  void output_next() {
    if (store_) mem_[slot_][cnt_] = pq_pos_[0];
    for (int i = 0; i < CAP - 1; ++i) {
      pq_pos_[i] = pq_pos_[i + 1];
      pq_valid_[i] = pq_valid_[i + 1];
    }
    pq_valid_[CAP - 1] = false;
    cnt_ = cnt_ + 1;
    if (cnt_ < kept_)
      present(pq_pos_[0]);
    else
      output_tail();
  }

  void output_tail() {
    if (append_) {
      state_ = kIpAppend;
      present(n_ - 1);
    } else {
      present_end();
    }
  }

  // ---- handshakes -----------------------------------------------------------------------
  void present(const uint_t<kPosBits>& p) {
    out_pos.write(p);
    out_end.write(false);
    set_out_valid(true);
  }
  void present_end() {
    state_ = kIpEnd;
    out_pos.write(0);
    out_end.write(true);
    set_out_valid(true);
  }
  void set_cmd_ready(bool v) {
    cmd_ready_r_ = v;
    cmd_ready.write(v);
  }
  void set_in_ready(bool v) {
    in_ready_r_ = v;
    in_ready.write(v);
  }
  void set_out_valid(bool v) {
    out_valid_r_ = v;
    out_valid.write(v);
  }
};

}  // namespace sparsepim::ipu
