#pragma once
// HbmChannel: one HBM channel behind a TLM-2.0 target socket. The plain-C++ ChannelEngine does
// the timing; this module only converts between SystemC time and engine cycles, and wakes up
// once per response (not once per DRAM command): between wake-ups the engine catches up on the
// commands whose cycles have passed, which is exact because an arrival always makes it catch up
// to the arrival cycle first.
//
// Protocol: b_transport (annotated delay; the engine runs ahead to the request's completion, so
// it works with a quantum keeper) and the AT base protocol (BEGIN_REQ/END_REQ/BEGIN_RESP/END_RESP,
// many outstanding requests, back-pressure by withholding END_REQ while the controller queue is
// full). A payload carrying a PimExtension is a coarse PIM operation.
#include <cstdint>
#include <queue>
#include <unordered_map>
#include <vector>

#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "hbm/bank_store.h"
#include "hbm/channel_engine.h"
#include "hbm/pim_extension.h"

namespace sparsepim::hbm {

// Sees every functional write before the bank store does (PIM units with memory-mapped
// registers: Samsung's reserved rows). Returns true when it consumed the write.
class FunctionalWriteHook {
 public:
  virtual ~FunctionalWriteHook() = default;
  virtual bool on_functional_write(const DramAddress& a, uint32_t offset, const uint8_t* data,
                                   uint32_t len) = 0;
};

class HbmChannel : public sc_core::sc_module, public CompletionSink {
 public:
  tlm_utils::simple_target_socket<HbmChannel> socket;

  HbmChannel(sc_core::sc_module_name name, const MemoryConfig& cfg, uint32_t channel_id = 0);

  ChannelEngine& engine() { return engine_; }
  BankStore& store() { return store_; }
  void add_observer(CommandObserver* o) { engine_.add_observer(o); }
  void set_write_hook(FunctionalWriteHook* h) { write_hook_ = h; }
  // Tells observers the run ended (call after sc_start returns).
  void finish() { engine_.finish(std::max(engine_.last_command_cycle(), last_response_cycle_)); }
  uint64_t cycle_of(const sc_core::sc_time& t) const { return uint64_t(t.value() / tck_ps_); }
  sc_core::sc_time time_of(uint64_t cycle) const {
    return sc_core::sc_time::from_value(cycle * tck_ps_);
  }
  uint64_t responses_sent() const { return responses_sent_; }
  uint64_t wakeups() const { return wakeups_; }  // SystemC process activations of this channel

  // CompletionSink
  void on_request_done(const Request& r, uint64_t arrival, uint64_t done_cycle) override;
  void on_pim_done(const PimOp& op, uint64_t done_cycle) override;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);

  // Checks address, length and byte enables; sets the response status on failure.
  bool validate(tlm::tlm_generic_payload& trans) const;
  void functional_access(tlm::tlm_generic_payload& trans);
  void accept(tlm::tlm_generic_payload& trans);  // into the engine, at the engine's cycle
  void wake();                                   // SC_METHOD
  void schedule_wake();
  void send_next_response();

  struct Pending {
    uint64_t cycle;
    uint64_t order;
    tlm::tlm_generic_payload* trans;
    bool operator>(const Pending& o) const {
      return cycle != o.cycle ? cycle > o.cycle : order > o.order;
    }
  };

  ChannelEngine engine_;
  uint64_t tck_ps_;
  sc_core::sc_event wake_event_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> done_;
  uint64_t order_ = 0;
  tlm::tlm_generic_payload* waiting_req_ = nullptr;     // BEGIN_REQ held back (queue full)
  tlm::tlm_generic_payload* resp_in_flight_ = nullptr;  // BEGIN_RESP sent, END_RESP pending
  tlm::tlm_generic_payload* blocking_ = nullptr;        // the b_transport in progress
  uint64_t blocking_done_ = 0;
  bool blocking_finished_ = false;
  uint64_t last_response_cycle_ = 0;
  uint64_t responses_sent_ = 0;
  uint64_t wakeups_ = 0;
  BankStore store_;  // functional contents, shared with the PIM units
  FunctionalWriteHook* write_hook_ = nullptr;
  std::unordered_map<tlm::tlm_generic_payload*, size_t> pim_left_;  // ops not yet done
};

}  // namespace sparsepim::hbm
