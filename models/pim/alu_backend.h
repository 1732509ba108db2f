#pragma once
// The ALU behind the PIM units: the bit-exact C++ model or the Verilated RTL, one interface.
#include <cstddef>
#include <cstdint>
#include <string>

#include <systemc>

#include "pim/fp16_alu.h"

namespace sparsepim::pim {

inline constexpr int kLanes = 16;

// One ALU operation on all lanes: d[l] = op(a[l], b[l], c[l]).
struct AluBeat {
  AluOp op = AluOp::kNop;
  uint16_t a[kLanes] = {};
  uint16_t b[kLanes] = {};
  uint32_t c[kLanes] = {};
  uint32_t* d = nullptr;  // where the kLanes results go
};

class AluBackend {
 public:
  virtual ~AluBackend() = default;
  // Computes every beat; beats of one call are independent of each other. `at_ps` is the
  // simulated time of the command that asks (a clocked backend computes then, so that its
  // trace lines up with the command stream); 0 = now.
  virtual void run(AluBeat* beats, size_t n, uint64_t at_ps = 0) = 0;
  virtual bool acc_fp32() const = 0;
  virtual const char* name() const = 0;
  uint64_t beats() const { return beats_; }

 protected:
  uint64_t beats_ = 0;
};

// A backend with a trace of its own (the RTL): record it between start and end from now
// (end zero: until the end of the run).
class RtlTraceable {
 public:
  virtual ~RtlTraceable() = default;
  virtual void trace_window(const sc_core::sc_time& start, const sc_core::sc_time& end) = 0;
};

class ModelAlu : public AluBackend {
 public:
  explicit ModelAlu(bool acc_fp32) : acc_fp32_(acc_fp32) {}
  void run(AluBeat* beats, size_t n, uint64_t = 0) override {
    for (size_t i = 0; i < n; ++i) {
      AluBeat& bt = beats[i];
      for (int l = 0; l < kLanes; ++l)
        bt.d[l] = alu_lane(bt.op, bt.a[l], bt.b[l], bt.c[l], acc_fp32_);
    }
    beats_ += n;
  }
  bool acc_fp32() const override { return acc_fp32_; }
  const char* name() const override { return "model"; }

 private:
  bool acc_fp32_;
};

}  // namespace sparsepim::pim
