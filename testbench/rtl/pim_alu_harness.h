#pragma once
// Plain C++ harness around a verilated --cc PIM ALU (Vpim_alu_cc / Vpim_alu_cc32): drives the
// elastic valid/ready interface one clock at a time, keeps the accepted beats in order and
// checks every output beat, lane by lane, against a reference function of one lane.
//
// Protocol checks made on every cycle: an output beat with no beat in flight (duplication), an
// out_op that is not the op of the oldest beat in flight (reordering / loss), in_ready high
// while rst_n is low; at the end of a stream every accepted beat must have come out.
#include <verilated.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace pim_alu_tb {

inline constexpr int kLanes = 16;
inline constexpr int kLatency = 2;  // pim_alu LATENCY

enum Op : uint8_t { kNop = 0, kAdd = 1, kMul = 2, kMac = 3, kMad = 4, kMov = 5, kFill = 6, kRes7 = 7 };
inline const char* op_name(unsigned op) {
  static const char* const names[] = {"NOP", "ADD", "MUL", "MAC", "MAD", "MOV", "FILL", "RES7"};
  return names[op & 7];
}

struct Beat {
  uint8_t op = 0;
  uint16_t a[kLanes] = {};
  uint16_t b[kLanes] = {};
  uint32_t c[kLanes] = {};  // only the low 16 bits reach an FP16-accumulator ALU
};

// One lane of the reference: result in the low ACC_W bits.
using LaneRef = std::function<uint32_t(uint8_t op, uint16_t a, uint16_t b, uint32_t c)>;

struct Mismatch {
  uint8_t op;
  uint16_t a, b;
  uint32_t c, rtl, ref;
};

struct Result {
  uint64_t beats_in = 0, beats_out = 0, lanes_checked = 0, mismatches = 0, protocol_errors = 0;
  uint64_t cycles = 0;
  uint64_t mismatches_by_op[8] = {};
  std::vector<Mismatch> first;  // the first few mismatches of each op, for the failure message
  std::vector<std::string> protocol;
  void merge(const Result& r) {
    beats_in += r.beats_in;
    beats_out += r.beats_out;
    lanes_checked += r.lanes_checked;
    mismatches += r.mismatches;
    protocol_errors += r.protocol_errors;
    cycles += r.cycles;
    for (int i = 0; i < 8; ++i) mismatches_by_op[i] += r.mismatches_by_op[i];
    for (const auto& m : r.first)
      if (first.size() < 24) first.push_back(m);
    for (const auto& p : r.protocol)
      if (protocol.size() < 20) protocol.push_back(p);
  }
  std::string report(int acc_w) const {
    std::string s;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "beats in %llu out %llu, lanes checked %llu, mismatches %llu, protocol errors %llu\n",
                  static_cast<unsigned long long>(beats_in), static_cast<unsigned long long>(beats_out),
                  static_cast<unsigned long long>(lanes_checked),
                  static_cast<unsigned long long>(mismatches),
                  static_cast<unsigned long long>(protocol_errors));
    s += buf;
    if (mismatches > 0) {
      s += "  mismatches by op:";
      for (unsigned i = 0; i < 8; ++i)
        s += std::string(" ") + op_name(i) + "=" + std::to_string(mismatches_by_op[i]);
      s += "\n";
    }
    for (const auto& m : first) {
      std::snprintf(buf, sizeof buf, "  %s a=0x%04X b=0x%04X c=0x%0*X: rtl=0x%0*X ref=0x%0*X\n",
                    op_name(m.op), m.a, m.b, acc_w / 4, m.c, acc_w / 4, m.rtl, acc_w / 4, m.ref);
      s += buf;
    }
    for (const auto& p : protocol) s += "  protocol: " + p + "\n";
    return s;
  }
};

// Stream options: probabilities per cycle that the source offers a beat / the sink is ready,
// and optional resets in the middle of the stream.
struct StreamOptions {
  double p_valid = 1.0;
  double p_ready = 1.0;
  double p_reset = 0.0;  // per cycle, start a reset of 1..3 cycles
  uint64_t seed = 1;
};

template <class V, int ACC_W>
class Harness {
 public:
  static_assert(ACC_W == 16 || ACC_W == 32);

  Harness() : ctx_(std::make_unique<VerilatedContext>()) {
    ctx_->randReset(0);
    dut_ = std::make_unique<V>(ctx_.get(), "pim_alu");
    dut_->clk = 0;
    dut_->rst_n = 0;
    dut_->in_valid = 0;
    dut_->out_ready = 0;
    dut_->eval();
    reset(2);
  }
  ~Harness() { dut_->final(); }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  V& dut() { return *dut_; }

  // Hold rst_n low for `cycles` clock edges; in-flight beats are lost by design.
  void reset(int cycles) {
    dut_->rst_n = 0;
    dut_->in_valid = 0;
    for (int i = 0; i < cycles; ++i) tick();
    dut_->rst_n = 1;
    inflight_.clear();
  }

  // One rising edge with the inputs as currently driven.
  void tick() {
    dut_->clk = 0;
    dut_->eval();
    dut_->clk = 1;
    dut_->eval();
  }

  // Stream `n` beats made by `gen` through the ALU and check them with `ref`. Returns the
  // counters; with p_valid = p_ready = 1 and no reset the stream takes n + kLatency cycles.
  Result stream(uint64_t n, const std::function<void(Beat&)>& gen, const LaneRef& ref,
                const StreamOptions& opt = {}) {
    Result res;
    std::mt19937_64 rng(opt.seed);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    Beat cur;
    bool have_cur = false;  // a generated beat waits to be accepted
    bool offered = false;   // it was offered last cycle (valid stays high until accepted)
    uint64_t generated = 0;
    int reset_left = 0;
    // Generous bound on the stream length: a stuck pipeline fails instead of hanging.
    const double per_beat = 1.0 / std::max(1e-3, opt.p_valid * opt.p_ready);
    const auto max_cycles = static_cast<uint64_t>(256.0 + 16.0 * per_beat * static_cast<double>(n));

    while (true) {
      if (!have_cur && generated < n) {
        gen(cur);
        ++generated;
        have_cur = true;
        offered = false;
      }
      if (reset_left == 0 && opt.p_reset > 0 && u01(rng) < opt.p_reset)
        reset_left = 1 + static_cast<int>(rng() % 3);
      const bool in_reset = reset_left > 0;
      const bool valid = have_cur && (offered || u01(rng) < opt.p_valid);
      if (valid)
        drive(cur);
      else
        drive_garbage(rng);
      dut_->in_valid = valid;
      dut_->out_ready = u01(rng) < opt.p_ready;
      dut_->rst_n = !in_reset;
      dut_->clk = 0;
      dut_->eval();

      const bool in_fire = valid && dut_->in_ready;
      const bool out_fire = dut_->out_valid && dut_->out_ready;
      if (in_reset && dut_->in_ready) protocol(res, "in_ready high while rst_n is low");
      if (out_fire) check_output(res, ref);
      if (in_fire) {
        inflight_.push_back(cur);
        ++res.beats_in;
        have_cur = false;
        offered = false;
      } else {
        offered = valid;
      }
      dut_->clk = 1;
      dut_->eval();
      ++res.cycles;

      if (in_reset) {
        inflight_.clear();  // whatever was in the pipe is discarded
        if (--reset_left == 0 && dut_->out_valid) protocol(res, "out_valid high after reset");
      }
      if (generated == n && !have_cur && inflight_.empty() && reset_left == 0) break;
      if (res.cycles > max_cycles) {
        protocol(res, "stream did not drain: " + std::to_string(inflight_.size()) + " beats stuck");
        break;
      }
    }
    dut_->in_valid = 0;
    dut_->out_ready = 1;
    dut_->rst_n = 1;
    return res;
  }

 private:
  static void protocol(Result& res, const std::string& what) {
    ++res.protocol_errors;
    if (res.protocol.size() < 20) res.protocol.push_back(what);
  }

  void set16(VlWide<kLanes / 2>& w, int lane, uint16_t v) {
    uint32_t& word = w[lane / 2];
    const int sh = 16 * (lane % 2);
    word = (word & ~(0xFFFFu << sh)) | (static_cast<uint32_t>(v) << sh);
  }
  template <class W>
  void set_c(W& w, int lane, uint32_t v) {
    if constexpr (ACC_W == 32) {
      w[lane] = v;
    } else {
      set16(w, lane, static_cast<uint16_t>(v));
    }
  }
  template <class W>
  uint32_t get_d(const W& w, int lane) const {
    if constexpr (ACC_W == 32) {
      return w[lane];
    } else {
      return (w[lane / 2] >> (16 * (lane % 2))) & 0xFFFFu;
    }
  }

  void drive(const Beat& bt) {
    dut_->in_op = bt.op;
    for (int l = 0; l < kLanes; ++l) {
      set16(dut_->in_a, l, bt.a[l]);
      set16(dut_->in_b, l, bt.b[l]);
      set_c(dut_->in_c, l, bt.c[l]);
    }
  }
  // Bus contents while in_valid is low must not matter.
  void drive_garbage(std::mt19937_64& rng) {
    dut_->in_op = static_cast<uint8_t>(rng() & 7);
    for (int w = 0; w < kLanes / 2; ++w) {
      dut_->in_a[w] = static_cast<uint32_t>(rng());
      dut_->in_b[w] = static_cast<uint32_t>(rng());
    }
    for (int w = 0; w < kLanes * ACC_W / 32; ++w) dut_->in_c[w] = static_cast<uint32_t>(rng());
  }

  void check_output(Result& res, const LaneRef& ref) {
    ++res.beats_out;
    if (inflight_.empty()) {
      protocol(res, "output beat with no beat in flight (duplicated beat)");
      return;
    }
    const Beat bt = inflight_.front();
    inflight_.pop_front();
    if (dut_->out_op != bt.op) {
      protocol(res, std::string("out_op ") + op_name(dut_->out_op) + " but expected " +
                        op_name(bt.op) + " (lost or reordered beat)");
    }
    const uint32_t mask = ACC_W == 32 ? 0xFFFFFFFFu : 0xFFFFu;
    for (int l = 0; l < kLanes; ++l) {
      const uint32_t c = bt.c[l] & mask;
      const uint32_t want = ref(bt.op, bt.a[l], bt.b[l], c) & mask;
      const uint32_t got = get_d(dut_->out_d, l);
      ++res.lanes_checked;
      if (got != want) {
        ++res.mismatches;
        ++res.mismatches_by_op[bt.op & 7];
        if (res.mismatches_by_op[bt.op & 7] <= 3 && res.first.size() < 24)  // 3 per op at most
          res.first.push_back({bt.op, bt.a[l], bt.b[l], c, got, want});
      }
    }
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> dut_;
  std::deque<Beat> inflight_;
};

}  // namespace pim_alu_tb
