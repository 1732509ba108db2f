#pragma once
// What the GEMV drivers of both presets share: their random inputs and starting the RTL ALU's
// trace with the passes.
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include <systemc>

#include "hbm/vcd_writer.h"
#include "host/gemv.h"
#include "pim/alu_backend.h"
#include "pim/fp16_alu.h"

namespace sparsepim::host {

// Keys, values and query ~ N(0, 1) as FP16: the same numbers for the same seed on every preset.
inline void random_gemv_inputs(const GemvOptions& opt, std::vector<uint16_t>& K,
                               std::vector<uint16_t>& V, std::vector<uint16_t>& q) {
  std::mt19937_64 rng(opt.seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  const size_t n = size_t(opt.tokens) * opt.head_dim;
  K.resize(n);
  V.resize(n);
  q.resize(opt.head_dim);
  for (auto& x : K) x = pim::fp16_from_float(nd(rng));
  for (auto& x : V) x = pim::fp16_from_float(nd(rng));
  for (auto& x : q) x = pim::fp16_from_float(nd(rng));
}

// Called when the passes start: opens the RTL ALU's trace window (--vcd-rtl, --vcd-window).
inline std::function<void()> rtl_trace_starter(const GemvOptions& opt, pim::AluBackend* alu) {
  return [&opt, alu] {
    auto* rtl = dynamic_cast<pim::RtlTraceable*>(alu);
    if (opt.vcd_rtl.empty() || !rtl) return;
    const auto [lo, hi] = hbm::parse_window_ns(opt.vcd_window);
    rtl->trace_window(
        sc_core::sc_time(double(lo), sc_core::SC_PS),
        hi == ~uint64_t(0) ? sc_core::SC_ZERO_TIME : sc_core::sc_time(double(hi), sc_core::SC_PS));
  };
}

}  // namespace sparsepim::host
