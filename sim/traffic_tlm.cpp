#include "traffic_tlm.h"

#include <deque>
#include <memory>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "hbm/hbm_channel.h"

namespace sparsepim {

using namespace sc_core;
using namespace tlm;

namespace {

// Payload pool: the initiator owns its payloads and recycles them when the target releases.
class PayloadPool : public tlm_mm_interface {
 public:
  tlm_generic_payload* get() {
    tlm_generic_payload* p;
    if (free_.empty()) {
      all_.push_back(std::make_unique<tlm_generic_payload>(this));
      data_.emplace_back(64, 0);
      p = all_.back().get();
      p->set_data_ptr(data_.back().data());
    } else {
      p = free_.back();
      free_.pop_back();
    }
    p->acquire();
    return p;
  }
  void free(tlm_generic_payload* p) override { free_.push_back(p); }

 private:
  std::deque<std::unique_ptr<tlm_generic_payload>> all_;
  std::deque<std::vector<unsigned char>> data_;
  std::vector<tlm_generic_payload*> free_;
};

class TrafficInitiator : public sc_module {
 public:
  tlm_utils::simple_initiator_socket<TrafficInitiator> socket;

  TrafficInitiator(sc_module_name n, const std::vector<TraceRequest>& reqs, uint32_t burst,
                   sc_time tck, uint32_t max_outstanding)
      : sc_module(n),
        socket("socket"),
        reqs_(reqs),
        burst_(burst),
        tck_(tck),
        max_out_(max_outstanding) {
    socket.register_nb_transport_bw(this, &TrafficInitiator::nb_transport_bw);
    SC_HAS_PROCESS(TrafficInitiator);
    SC_THREAD(run);
  }

  TlmTrafficResult result;

 private:
  void run() {
    for (const TraceRequest& r : reqs_) {
      if (r.has_arrival && tck_ * double(r.arrival) > sc_time_stamp())
        wait(tck_ * double(r.arrival) - sc_time_stamp());
      while (outstanding_ >= max_out_) wait(resp_event_);
      tlm_generic_payload* p = pool_.get();
      p->set_command(r.write ? TLM_WRITE_COMMAND : TLM_READ_COMMAND);
      p->set_address(r.addr - r.addr % burst_);
      p->set_data_length(burst_);
      p->set_streaming_width(burst_);
      p->set_byte_enable_ptr(nullptr);
      p->set_response_status(TLM_INCOMPLETE_RESPONSE);
      sent_at_[p] = sc_time_stamp();
      ++outstanding_;
      tlm_phase phase = BEGIN_REQ;
      sc_time delay = SC_ZERO_TIME;
      end_req_seen_ = false;
      const tlm_sync_enum s = socket->nb_transport_fw(*p, phase, delay);
      if (s == TLM_COMPLETED) {  // rejected at once (error response)
        ++result.errors;
        --outstanding_;
        p->release();
        continue;
      }
      if (s == TLM_UPDATED && phase == END_REQ) {
        if (delay > SC_ZERO_TIME) wait(delay);
      } else if (!end_req_seen_) {
        wait(end_req_event_);  // back-pressure: the target withholds END_REQ
      }
    }
    while (outstanding_ > 0) wait(resp_event_);
  }

  tlm_sync_enum nb_transport_bw(tlm_generic_payload& p, tlm_phase& phase, sc_time&) {
    if (phase == END_REQ) {
      end_req_seen_ = true;
      end_req_event_.notify(SC_ZERO_TIME);
      return TLM_ACCEPTED;
    }
    if (phase == BEGIN_RESP) {
      if (p.is_response_error()) ++result.errors;
      ++result.completed;
      result.latency_sum_cycles += (sc_time_stamp() - sent_at_[&p]) / tck_;
      result.end_cycle = uint64_t(sc_time_stamp() / tck_);
      --outstanding_;
      resp_event_.notify(SC_ZERO_TIME);
      p.release();
      phase = END_RESP;
      return TLM_COMPLETED;
    }
    return TLM_ACCEPTED;
  }

  const std::vector<TraceRequest>& reqs_;
  uint32_t burst_;
  sc_time tck_;
  uint32_t max_out_;
  uint32_t outstanding_ = 0;
  bool end_req_seen_ = false;
  sc_event end_req_event_, resp_event_;
  PayloadPool pool_;
  std::unordered_map<tlm_generic_payload*, sc_time> sent_at_;
};

}  // namespace

TlmTrafficResult run_traffic_tlm(const hbm::MemoryConfig& cfg,
                                 const std::vector<TraceRequest>& reqs,
                                 const std::vector<hbm::CommandObserver*>& observers,
                                 uint32_t max_outstanding) {
  hbm::HbmChannel channel("hbm_channel", cfg, 0);
  for (auto* o : observers) channel.add_observer(o);
  TrafficInitiator init("initiator", reqs, cfg.org.bytes_per_column, channel.time_of(1),
                        max_outstanding);
  init.socket.bind(channel.socket);
  sc_start();
  channel.finish();
  TlmTrafficResult r = init.result;
  r.end_cycle = std::max(r.end_cycle, channel.engine().last_command_cycle());
  return r;
}

}  // namespace sparsepim
