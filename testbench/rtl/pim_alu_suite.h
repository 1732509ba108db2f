#pragma once
// Shared bodies of the PIM ALU RTL tests. Each test executable links exactly one verilated --cc
// model (Vpim_alu_cc: ACC_FP32=0, Vpim_alu_cc32: ACC_FP32=1) and one C++ model library
// (sparsepim_pim_model, or sparsepim_pim_model_mutant for the test of the test).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "host_fp_ref.h"
#include "pim/fp16_alu.h"
#include "pim_alu_harness.h"
#include "pim_alu_vectors.h"

namespace pim_alu_tb {

inline LaneRef model_ref(bool acc32) {
  return [acc32](uint8_t op, uint16_t a, uint16_t b, uint32_t c) {
    return sparsepim::pim::alu_lane(static_cast<sparsepim::pim::AluOp>(op), a, b, c, acc32);
  };
}
inline LaneRef host_ref(bool acc32) {
  return [acc32](uint8_t op, uint16_t a, uint16_t b, uint32_t c) {
    return host::lane(op, a, b, c, acc32);
  };
}

// Vectors per operation in the random tests (lane operations; 16 per beat).
inline constexpr uint64_t kRandomVectorsPerOp = uint64_t{1} << 22;  // 4 Mi

template <class V, int ACC_W>
Result run_vectors(Harness<V, ACC_W>& h, const std::vector<LaneVec>& vecs, const LaneRef& ref,
                   const StreamOptions& opt = {}) {
  const std::vector<Beat> beats = pack(vecs);
  size_t i = 0;
  return h.stream(beats.size(), [&](Beat& bt) { bt = beats[i++]; }, ref, opt);
}

// Hand-computed results (docs/pim-alu.md, IEEE 754): the RTL must produce them whatever the
// models say; the host oracle must agree with them too (it is checked here as well).
struct KnownAnswer {
  uint8_t op;
  uint16_t a, b;
  uint32_t c, d;
};

template <class V, int ACC_W>
void check_known_answers(const std::vector<KnownAnswer>& table) {
  constexpr bool acc32 = ACC_W == 32;
  std::map<std::tuple<uint8_t, uint16_t, uint16_t, uint32_t>, uint32_t> expect;
  std::vector<LaneVec> vecs;
  for (const auto& k : table) {
    expect[{k.op, k.a, k.b, k.c}] = k.d;
    vecs.push_back({k.op, k.a, k.b, k.c});
    EXPECT_EQ(host::lane(k.op, k.a, k.b, k.c, acc32), k.d)
        << "host oracle disagrees with the table: " << op_name(k.op) << std::hex << " a=0x" << k.a
        << " b=0x" << k.b << " c=0x" << k.c;
  }
  Harness<V, ACC_W> h;
  const Result r = run_vectors(h, vecs, [&](uint8_t op, uint16_t a, uint16_t b, uint32_t c) {
    return expect.at({op, a, b, c});
  });
  EXPECT_EQ(r.mismatches, 0u) << r.report(ACC_W);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(ACC_W);
  EXPECT_GE(r.lanes_checked, table.size());
}

// Directed corner cases against a reference; returns the result for the caller to judge.
template <class V, int ACC_W>
Result directed(const LaneRef& ref) {
  Harness<V, ACC_W> h;
  return run_vectors(h, directed_vectors(ACC_W == 32), ref);
}

// Random vectors of one operation against the model.
template <class V, int ACC_W>
Result random_op(uint8_t op, uint64_t vectors, const LaneRef& ref, uint64_t seed) {
  Harness<V, ACC_W> h;
  std::mt19937_64 rng(seed * 1000003u + op);
  return h.stream((vectors + kLanes - 1) / kLanes,
                  [&](Beat& bt) { random_beat(op, ACC_W == 32, rng, bt); }, ref);
}

// Mixed-operation random stream with random in_valid / out_ready (and optionally resets).
template <class V, int ACC_W>
Result random_mixed(uint64_t beats, const LaneRef& ref, const StreamOptions& opt) {
  Harness<V, ACC_W> h;
  std::mt19937_64 rng(opt.seed ^ 0x9E3779B97F4A7C15ull);
  return h.stream(beats,
                  [&](Beat& bt) { random_beat(static_cast<uint8_t>(rng() % 8), ACC_W == 32, rng, bt); },
                  ref, opt);
}

// With out_ready high: idle after reset, one beat per cycle, LATENCY cycles to the output.
template <class V, int ACC_W>
void check_throughput_and_latency() {
  Harness<V, ACC_W> h;
  V& d = h.dut();
  EXPECT_EQ(d.out_valid, 0) << "out_valid after reset";
  // Latency of one beat.
  d.in_valid = 1;
  d.in_op = kMov;
  d.out_ready = 1;
  d.clk = 0;
  d.eval();
  EXPECT_EQ(d.in_ready, 1);
  h.tick();
  d.in_valid = 0;
  int cycles = 1;
  while (true) {
    d.clk = 0;
    d.eval();
    if (d.out_valid) break;
    h.tick();
    ASSERT_LT(++cycles, 10) << "no output";
  }
  EXPECT_EQ(cycles, kLatency) << "cycles from the input handshake edge to out_valid";
  h.tick();
  // A full-rate stream: n beats in n + LATENCY cycles.
  std::mt19937_64 rng(3);
  const uint64_t n = 5000;
  const Result r = h.stream(n, [&](Beat& bt) { random_beat(static_cast<uint8_t>(rng() % 8), ACC_W == 32, rng, bt); },
                            model_ref(ACC_W == 32));
  EXPECT_EQ(r.beats_in, n);
  EXPECT_EQ(r.beats_out, n);
  EXPECT_EQ(r.cycles, n + kLatency);
  EXPECT_EQ(r.mismatches, 0u) << r.report(ACC_W);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(ACC_W);
}

// Reset with beats in flight and the output stalled: everything in flight is dropped, no stale
// beat appears afterwards, in_ready is low during reset, the next beats are correct.
template <class V, int ACC_W>
void check_reset_mid_stream() {
  Harness<V, ACC_W> h;
  V& d = h.dut();
  // Fill both stages with out_ready low.
  d.out_ready = 0;
  d.in_valid = 1;
  d.in_op = kAdd;
  for (int i = 0; i < 3; ++i) h.tick();
  d.clk = 0;
  d.eval();
  EXPECT_EQ(d.out_valid, 1);
  EXPECT_EQ(d.in_ready, 0) << "pipeline full, output stalled";
  d.rst_n = 0;
  d.eval();
  EXPECT_EQ(d.in_ready, 0) << "in_ready during reset";
  h.tick();
  d.rst_n = 1;
  d.in_valid = 0;
  d.out_ready = 1;
  d.eval();
  EXPECT_EQ(d.out_valid, 0) << "out_valid after reset";
  EXPECT_EQ(d.in_ready, 1);
  for (int i = 0; i < 4; ++i) {
    h.tick();
    d.clk = 0;
    d.eval();
    EXPECT_EQ(d.out_valid, 0) << "stale beat " << i << " cycles after reset";
  }
  // Streams with random resets, stalls and gaps: every beat that comes out is right and in order.
  StreamOptions opt;
  opt.p_valid = 0.8;
  opt.p_ready = 0.7;
  opt.p_reset = 0.01;
  opt.seed = 11;
  const Result r = random_mixed<V, ACC_W>(40000, model_ref(ACC_W == 32), opt);
  EXPECT_EQ(r.mismatches, 0u) << r.report(ACC_W);
  EXPECT_EQ(r.protocol_errors, 0u) << r.report(ACC_W);
  EXPECT_GT(r.beats_out, 20000u);
  EXPECT_LT(r.beats_out, r.beats_in) << "some beats must have been in flight at a reset";
}

}  // namespace pim_alu_tb
