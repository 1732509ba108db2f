#pragma once
// A TLM-2.0 extension that turns one generic payload into a coarse PIM operation ("MACAB over
// rows r0..r1", "write 8 bursts into the GEMV buffers"). The channel expands it into all-bank
// commands with exact timing and answers once, when the last command is done.
#include <tlm>
#include <vector>

#include "hbm/channel_engine.h"

namespace sparsepim::hbm {

struct PimExtension : tlm::tlm_extension<PimExtension> {
  std::vector<PimOp> ops;   // run in order, back to back; the answer comes after the last
  uint64_t done_cycle = 0;  // filled by the channel

  PimExtension() = default;
  explicit PimExtension(const PimOp& o) : ops{o} {}
  explicit PimExtension(std::vector<PimOp> o) : ops(std::move(o)) {}
  tlm::tlm_extension_base* clone() const override { return new PimExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const PimExtension&>(other);
  }
};

}  // namespace sparsepim::hbm
