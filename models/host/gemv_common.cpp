#include "host/gemv_common.h"

#include <algorithm>

#include "common/errors.h"

namespace sparsepim::host {

uint64_t normal_read_cycles(const hbm::MemoryConfig& cfg, std::vector<uint64_t> addrs) {
  hbm::ChannelEngine e(cfg, 0);
  struct Last : hbm::CompletionSink {
    uint64_t last = 0;
    void on_request_done(const hbm::Request&, uint64_t, uint64_t d) override {
      last = std::max(last, d);
    }
    void on_pim_done(const hbm::PimOp&, uint64_t) override {}
  } sink;
  e.set_sink(&sink);
  std::sort(addrs.begin(), addrs.end());
  uint64_t n = 0;
  for (const uint64_t addr : addrs) {
    while (!e.can_accept(addr, false)) e.step();
    e.enqueue({n++, addr, false, nullptr});
  }
  e.drain();
  return sink.last;
}

std::unique_ptr<hbm::VcdWriter> pass_vcd(const GemvOptions& opt, const hbm::MemoryConfig& cfg) {
  if (opt.vcd.empty()) {
    if (!opt.vcd_window.empty() && opt.vcd_rtl.empty())
      throw ConfigError("--vcd-window needs --vcd or --vcd-rtl");
    return nullptr;
  }
  auto vcd = std::make_unique<hbm::VcdWriter>(opt.vcd, cfg, opt.vcd_window);
  hbm::write_gtkwave_save(opt.vcd, cfg);
  return vcd;
}

}  // namespace sparsepim::host
