#pragma once
// What the GEMV drivers of both presets share: their random inputs, the blocking transactions of
// the host thread, and starting the RTL ALU's trace with the passes.
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include <systemc>
#include <tlm>

#include "hbm/channel_engine.h"
#include "hbm/pim_extension.h"

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

// Cycles to read these bursts through the normal read path of a fresh channel of `cfg`: in
// address order (the default mapping interleaves pseudo-channels and bank groups there, so this
// is the normal path at its best, a stream), queues full.
uint64_t normal_read_cycles(const hbm::MemoryConfig& cfg, std::vector<uint64_t> addrs);

// The --vcd writer of the passes (nullptr without --vcd), with its GTKWave save file; rejects
// a window with nothing to apply it to.
std::unique_ptr<hbm::VcdWriter> pass_vcd(const GemvOptions& opt, const hbm::MemoryConfig& cfg);

// A hash of result bits (FNV-1a over 4 bytes per value), to compare runs and ALUs.
class ResultFingerprint {
 public:
  template <class Vec>
  void add(const Vec& values) {
    for (const uint32_t v : values)
      for (int k = 0; k < 4; ++k) h_ = (h_ ^ ((v >> (8 * k)) & 0xFF)) * 1099511628211ull;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 1469598103934665603ull;
};

// A loosely timed transaction from the calling thread: waits out its annotated delay; an error
// response throws.
template <class Socket>
void blocking_transport(Socket& socket, tlm::tlm_generic_payload& t) {
  sc_core::sc_time d = sc_core::SC_ZERO_TIME;
  socket->b_transport(t, d);
  if (!t.is_response_ok())
    throw std::runtime_error("transaction failed: " + t.get_response_string());
  sc_core::wait(d);
}

// One 32 B burst to or from `buf` at DRAM address `a`.
template <class Socket>
void blocking_burst(Socket& socket, const hbm::AddressMapper& mapper, const hbm::DramAddress& a,
                    uint8_t* buf, bool write) {
  tlm::tlm_generic_payload t;
  t.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  t.set_address(mapper.encode(a));
  t.set_data_ptr(buf);
  t.set_data_length(32);
  t.set_streaming_width(32);
  blocking_transport(socket, t);
}

// Several PIM ops as one transaction (they run back to back); returns when the last is done.
template <class Socket>
void run_pim_ops(Socket& socket, std::vector<hbm::PimOp> ops) {
  tlm::tlm_generic_payload t;
  hbm::PimExtension ext(std::move(ops));
  t.set_extension(&ext);
  t.set_command(tlm::TLM_READ_COMMAND);
  t.set_data_length(0);
  // The payload must not keep (and later delete) the stack extension, also on an exception.
  struct Detach {
    tlm::tlm_generic_payload& t;
    hbm::PimExtension* e;
    ~Detach() { t.clear_extension(e); }
  } detach{t, &ext};
  blocking_transport(socket, t);
}

}  // namespace sparsepim::host
