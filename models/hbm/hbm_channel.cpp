#include "hbm/hbm_channel.h"

#include <cmath>
#include <cstring>
#include <string>

#include "common/errors.h"

namespace sparsepim::hbm {

using namespace sc_core;
using namespace tlm;

HbmChannel::HbmChannel(sc_module_name name, const MemoryConfig& cfg, uint32_t channel_id)
    : sc_module(name), socket("socket"), engine_(cfg, channel_id), store_(cfg.org) {
  // Engine cycles <-> SystemC time: tCK must be a whole number of time-resolution units.
  const double res_s = sc_get_time_resolution().to_seconds();
  const double units = cfg.timing.tCK_ns * 1e-9 / res_s;
  tck_ps_ = uint64_t(std::llround(units));
  if (tck_ps_ == 0 || std::fabs(units - double(tck_ps_)) > 1e-6 * units)
    throw ConfigError("tCK " + std::to_string(cfg.timing.tCK_ns) +
                      " ns is not a whole number of SystemC time-resolution units");
  socket.register_b_transport(this, &HbmChannel::b_transport);
  socket.register_nb_transport_fw(this, &HbmChannel::nb_transport_fw);
  socket.register_transport_dbg(this, &HbmChannel::transport_dbg);
  engine_.set_sink(this);
  SC_HAS_PROCESS(HbmChannel);
  SC_METHOD(wake);
  sensitive << wake_event_;
  dont_initialize();
}

bool HbmChannel::validate(tlm_generic_payload& trans) const {
  if (trans.get_extension<PimExtension>()) return true;  // checked by the engine on accept
  const auto& o = engine_.config().org;
  const uint64_t addr = trans.get_address();
  const uint64_t len = trans.get_data_length();
  if (trans.get_command() == TLM_IGNORE_COMMAND) {
    trans.set_response_status(TLM_COMMAND_ERROR_RESPONSE);
    return false;
  }
  // In range, and in this channel (the whole transaction).
  if (len == 0 || !engine_.mapper().in_range(addr) || !engine_.mapper().in_range(addr + len - 1) ||
      engine_.mapper().decode(addr).channel != engine_.channel_id()) {
    trans.set_response_status(TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_byte_enable_ptr()) {
    trans.set_response_status(TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  // One transaction = one burst: it may not cross a column (burst) boundary.
  if ((addr % o.bytes_per_column) + len > o.bytes_per_column || trans.get_streaming_width() < len) {
    trans.set_response_status(TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  return true;
}

void HbmChannel::functional_access(tlm_generic_payload& trans) {
  if (trans.get_extension<PimExtension>()) return;
  const uint64_t addr = trans.get_address();
  const DramAddress a = engine_.mapper().decode(addr);
  const uint32_t offset = uint32_t(addr % engine_.config().org.bytes_per_column);
  if (trans.is_read()) {
    store_.read(a, offset, trans.get_data_ptr(), trans.get_data_length());
  } else if (!write_hook_ || !write_hook_->on_functional_write(a, offset, trans.get_data_ptr(),
                                                               trans.get_data_length())) {
    store_.write(a, offset, trans.get_data_ptr(), trans.get_data_length());
  }
}

unsigned HbmChannel::transport_dbg(tlm_generic_payload& trans) {
  if (!validate(trans)) return 0;
  functional_access(trans);
  trans.set_response_status(TLM_OK_RESPONSE);
  return trans.get_data_length();
}

void HbmChannel::accept(tlm_generic_payload& trans) {
  if (auto* ext = trans.get_extension<PimExtension>()) {
    if (ext->ops.empty()) throw std::invalid_argument("PIM transaction without operations");
    for (const PimOp& op : ext->ops) engine_.check_pim(op);  // all or nothing
    for (PimOp op : ext->ops) {
      op.user = &trans;
      engine_.enqueue_pim(op);
    }
    pim_left_[&trans] = ext->ops.size();
  } else {
    engine_.enqueue({trans.get_address(), trans.get_address(), trans.is_write(), &trans});
  }
}

void HbmChannel::b_transport(tlm_generic_payload& trans, sc_time& delay) {
  if (!validate(trans)) return;
  const uint64_t arrival = cycle_of(sc_time_stamp() + delay);
  if (arrival > engine_.now()) engine_.run_until(arrival - 1);
  const bool pim = trans.get_extension<PimExtension>() != nullptr;
  if (!pim) {
    while (!engine_.can_accept(trans.get_address(), trans.is_write())) engine_.step();
  }
  functional_access(trans);
  blocking_ = &trans;
  blocking_finished_ = false;
  try {
    accept(trans);
  } catch (const std::out_of_range&) {
    blocking_ = nullptr;
    trans.set_response_status(TLM_ADDRESS_ERROR_RESPONSE);
    return;
  } catch (const std::invalid_argument&) {
    blocking_ = nullptr;
    trans.set_response_status(TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  // Loosely timed: run ahead until this transaction is done.
  while (!blocking_finished_ && engine_.step()) {
  }
  blocking_ = nullptr;
  if (!blocking_finished_)
    SC_REPORT_FATAL(name(), "engine idle before a blocking request finished");
  if (auto* ext = trans.get_extension<PimExtension>()) ext->done_cycle = blocking_done_;
  last_response_cycle_ = std::max(last_response_cycle_, blocking_done_);
  // Something clocked underneath (the RTL ALU) may have let SystemC time advance inside this
  // call; it must not have gone past the transaction's own end.
  if (time_of(blocking_done_) < sc_time_stamp())
    SC_REPORT_FATAL(name(), "simulated time passed the end of a blocking transaction");
  delay = time_of(blocking_done_) - sc_time_stamp();
  trans.set_response_status(TLM_OK_RESPONSE);
  ++responses_sent_;
  schedule_wake();
}

tlm_sync_enum HbmChannel::nb_transport_fw(tlm_generic_payload& trans, tlm_phase& phase,
                                          sc_time& delay) {
  if (phase == BEGIN_REQ) {
    if (!validate(trans)) return TLM_COMPLETED;  // the error status is the whole response
    const bool pim = trans.get_extension<PimExtension>() != nullptr;
    const uint64_t arrival = cycle_of(sc_time_stamp() + delay);
    if (arrival > engine_.now()) engine_.run_until(arrival - 1);
    functional_access(trans);
    if (trans.has_mm()) trans.acquire();
    if (!pim && !engine_.can_accept(trans.get_address(), trans.is_write())) {
      waiting_req_ = &trans;  // END_REQ withheld: the initiator may not send another request
      schedule_wake();
      return TLM_ACCEPTED;
    }
    try {
      accept(trans);
    } catch (const std::exception&) {
      if (trans.has_mm()) trans.release();
      trans.set_response_status(pim ? TLM_COMMAND_ERROR_RESPONSE : TLM_ADDRESS_ERROR_RESPONSE);
      return TLM_COMPLETED;
    }
    trans.set_response_status(TLM_OK_RESPONSE);
    phase = END_REQ;
    const sc_time at = time_of(engine_.now());
    delay = at > sc_time_stamp() + delay ? at - sc_time_stamp() : delay;
    schedule_wake();
    return TLM_UPDATED;
  }
  if (phase == END_RESP) {
    if (&trans != resp_in_flight_)
      SC_REPORT_ERROR(name(), "END_RESP for a transaction not in flight");
    resp_in_flight_ = nullptr;
    if (trans.has_mm()) trans.release();
    send_next_response();
    schedule_wake();
    return TLM_COMPLETED;
  }
  SC_REPORT_ERROR(name(), (std::string("unexpected phase ") + phase.get_name()).c_str());
  return TLM_COMPLETED;
}

void HbmChannel::on_request_done(const Request& r, uint64_t, uint64_t done_cycle) {
  auto* trans = static_cast<tlm_generic_payload*>(r.user);
  if (trans == blocking_) {
    blocking_finished_ = true;
    blocking_done_ = done_cycle;
    return;
  }
  done_.push({done_cycle, order_++, trans});
}

void HbmChannel::on_pim_done(const PimOp& op, uint64_t done_cycle) {
  auto* trans = static_cast<tlm_generic_payload*>(op.user);
  if (--pim_left_[trans] > 0) return;
  pim_left_.erase(trans);
  if (auto* ext = trans->get_extension<PimExtension>()) ext->done_cycle = done_cycle;
  if (trans == blocking_) {
    blocking_finished_ = true;
    blocking_done_ = done_cycle;
    return;
  }
  done_.push({done_cycle, order_++, trans});
}

void HbmChannel::send_next_response() {
  const uint64_t now = cycle_of(sc_time_stamp());
  while (!resp_in_flight_ && !done_.empty() && done_.top().cycle <= now) {
    tlm_generic_payload* trans = done_.top().trans;
    done_.pop();
    tlm_phase phase = BEGIN_RESP;
    sc_time delay = SC_ZERO_TIME;
    ++responses_sent_;
    last_response_cycle_ = std::max(last_response_cycle_, now);
    const tlm_sync_enum s = socket->nb_transport_bw(*trans, phase, delay);
    if (s == TLM_COMPLETED || (s == TLM_UPDATED && phase == END_RESP)) {
      if (trans->has_mm()) trans->release();
    } else {
      resp_in_flight_ = trans;
    }
  }
}

void HbmChannel::wake() {
  ++wakeups_;
  const uint64_t now = cycle_of(sc_time_stamp());
  if (now > 0) engine_.run_until(now - 1);
  if (waiting_req_) {
    // The withheld request enters as soon as the controller has room.
    engine_.run_until(now);
    tlm_generic_payload* trans = waiting_req_;
    if (engine_.can_accept(trans->get_address(), trans->is_write())) {
      waiting_req_ = nullptr;
      accept(*trans);
      trans->set_response_status(TLM_OK_RESPONSE);
      tlm_phase phase = END_REQ;
      sc_time delay = SC_ZERO_TIME;
      socket->nb_transport_bw(*trans, phase, delay);
    }
  }
  send_next_response();
  schedule_wake();
}

void HbmChannel::schedule_wake() {
  const uint64_t now = cycle_of(sc_time_stamp());
  uint64_t next = kNever;
  if (!done_.empty() && !resp_in_flight_) next = done_.top().cycle;
  const uint64_t work = engine_.next_work_cycle();
  if (work != kNever) {
    const auto& t = engine_.config().timing;
    // No response can be due before the next command plus the shortest column latency.
    const uint64_t lower_bound =
        waiting_req_ || engine_.pim_pending() ? work + 1 : work + std::min(t.CL, t.CWL) + t.BL;
    next = std::min(next, lower_bound);
  }
  if (next == kNever) return;
  if (next <= now) next = now + 1;
  wake_event_.notify(time_of(next) - sc_time_stamp());
}

}  // namespace sparsepim::hbm
