// HbmChannel behind TLM-2.0: the AT base protocol with many outstanding requests and
// back-pressure, b_transport with a quantum keeper, error responses, functional data, the PIM
// extension, and one SystemC activation per transaction. Every simulation runs in a forked child
// (one elaboration per process).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <sstream>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>
#include <systemc>
#include <tlm>

#include "fork_sim.h"
#include "hbm/hbm_channel.h"
#include "hbm/memory_config.h"

using namespace sc_core;
using namespace tlm;
using namespace sparsepim::hbm;
using sparsepim::testing::run_in_child;

namespace {

#define CHECK_OR_RETURN(cond, msg)    \
  do {                                \
    if (!(cond)) {                    \
      std::ostringstream os_;         \
      os_ << __LINE__ << ": " << msg; \
      return os_.str();               \
    }                                 \
  } while (0)

// An AT initiator: up to `max_out` requests in flight, END_REQ respected, every response
// checked against the request it belongs to.
class AtInitiator : public sc_module, public tlm_mm_interface {
 public:
  tlm_utils::simple_initiator_socket<AtInitiator> socket;
  struct Req {
    uint64_t addr;
    bool write;
    unsigned char fill;
  };
  std::vector<Req> reqs;
  uint32_t max_out = 64;
  bool late_end_resp = false;  // answer BEGIN_RESP with TLM_ACCEPTED and END_RESP 3 ns later
  // Results
  uint64_t responses = 0, accepted_later = 0, errors = 0, max_in_flight = 0, data_mismatches = 0;
  std::vector<sc_time> sent, answered;
  std::string protocol_error;

  explicit AtInitiator(sc_module_name n) : sc_module(n), socket("socket") {
    socket.register_nb_transport_bw(this, &AtInitiator::nb_bw);
    SC_HAS_PROCESS(AtInitiator);
    SC_THREAD(run);
    SC_THREAD(end_resp_thread);
  }
  void free(tlm_generic_payload*) override {}

 private:
  struct Slot {
    tlm_generic_payload p;
    unsigned char data[32];
    size_t index;
    bool answered = false;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::map<tlm_generic_payload*, Slot*> by_payload_;
  uint32_t in_flight_ = 0;
  bool end_req_ = false;
  sc_event end_req_ev_, resp_ev_;
  std::map<uint64_t, unsigned char> written_;
  tlm_generic_payload* pending_end_resp_ = nullptr;
  sc_event end_resp_ev_;

  void end_resp_thread() {
    for (;;) {
      wait(end_resp_ev_);
      wait(3, SC_NS);
      tlm_generic_payload* p = pending_end_resp_;
      pending_end_resp_ = nullptr;
      tlm_phase ph = END_RESP;
      sc_time d = SC_ZERO_TIME;
      if (socket->nb_transport_fw(*p, ph, d) != TLM_COMPLETED)
        protocol_error = "END_RESP not completed by the target";
    }
  }

  void run() {
    sent.resize(reqs.size());
    answered.resize(reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
      while (in_flight_ >= max_out) wait(resp_ev_);
      auto s = std::make_unique<Slot>();
      s->index = i;
      s->p.set_mm(this);
      s->p.acquire();
      s->p.set_command(reqs[i].write ? TLM_WRITE_COMMAND : TLM_READ_COMMAND);
      s->p.set_address(reqs[i].addr);
      s->p.set_data_ptr(s->data);
      s->p.set_data_length(32);
      s->p.set_streaming_width(32);
      std::fill(std::begin(s->data), std::end(s->data), reqs[i].write ? reqs[i].fill : 0xEE);
      if (reqs[i].write) written_[reqs[i].addr] = reqs[i].fill;
      by_payload_[&s->p] = s.get();
      sent[i] = sc_time_stamp();
      ++in_flight_;
      max_in_flight = std::max<uint64_t>(max_in_flight, in_flight_);
      tlm_phase ph = BEGIN_REQ;
      sc_time d = SC_ZERO_TIME;
      end_req_ = false;
      tlm_generic_payload& p = s->p;
      slots_.push_back(std::move(s));
      const tlm_sync_enum st = socket->nb_transport_fw(p, ph, d);
      if (st == TLM_COMPLETED) {
        ++errors;
        --in_flight_;
        continue;
      }
      if (st == TLM_UPDATED && ph == END_REQ) {
        if (d > SC_ZERO_TIME) wait(d);
      } else if (st == TLM_ACCEPTED) {
        ++accepted_later;
        if (!end_req_) wait(end_req_ev_);
      } else {
        protocol_error = "unexpected return to BEGIN_REQ";
      }
    }
    while (in_flight_) wait(resp_ev_);
  }

  tlm_sync_enum nb_bw(tlm_generic_payload& p, tlm_phase& ph, sc_time&) {
    if (ph == END_REQ) {
      end_req_ = true;
      end_req_ev_.notify(SC_ZERO_TIME);
      return TLM_ACCEPTED;
    }
    if (ph != BEGIN_RESP) {
      protocol_error = "unexpected phase on the backward path";
      return TLM_COMPLETED;
    }
    Slot* s = by_payload_.at(&p);
    if (s->answered) protocol_error = "a transaction answered twice";
    s->answered = true;
    answered[s->index] = sc_time_stamp();
    ++responses;
    --in_flight_;
    if (p.is_response_error()) ++errors;
    resp_ev_.notify(SC_ZERO_TIME);
    if (late_end_resp) {
      if (pending_end_resp_) protocol_error = "BEGIN_RESP while the previous END_RESP is pending";
      pending_end_resp_ = &p;
      end_resp_ev_.notify(SC_ZERO_TIME);
      return TLM_ACCEPTED;
    }
    ph = END_RESP;
    return TLM_COMPLETED;
  }
};

}  // namespace

TEST(HbmChannelTlm, ManyOutstandingWithBackPressure) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("hbm2");
    HbmChannel ch("channel", cfg);
    AtInitiator init("init");
    init.socket.bind(ch.socket);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 3000; ++i)
      init.reqs.push_back({(rng() % ch.engine().mapper().capacity()) & ~uint64_t(31), i % 4 == 0,
                           static_cast<unsigned char>(i)});
    sc_start();
    CHECK_OR_RETURN(init.protocol_error.empty(), init.protocol_error);
    CHECK_OR_RETURN(init.responses == 3000, "responses " << init.responses);
    CHECK_OR_RETURN(init.errors == 0, "errors " << init.errors);
    // The controller queues hold 32 reads + 32 writes per pseudo-channel: with 64 requests in
    // flight some BEGIN_REQs must wait for END_REQ.
    CHECK_OR_RETURN(init.max_in_flight == 64, "max in flight " << init.max_in_flight);
    CHECK_OR_RETURN(init.accepted_later > 0, "no back-pressure seen");
    // Nothing answers faster than a row hit: CL + burst = 19 ns on hbm2.
    for (size_t i = 0; i < init.sent.size(); ++i)
      CHECK_OR_RETURN(
          init.answered[i] - init.sent[i] >= sc_time(init.reqs[i].write ? 9 : 19, SC_NS),
          "request " << i << " answered after " << (init.answered[i] - init.sent[i]));
    return std::string();
  }));
}

// The initiator takes 3 ns to send END_RESP: the channel must hold every further BEGIN_RESP
// until then (response exclusion) and still deliver everything.
TEST(HbmChannelTlm, EndRespExclusion) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("hbm2");
    HbmChannel ch("channel", cfg);
    AtInitiator init("init");
    init.late_end_resp = true;
    init.socket.bind(ch.socket);
    for (int i = 0; i < 2000; ++i) init.reqs.push_back({uint64_t(i) * 32, i % 5 == 0, 1});
    sc_start();
    CHECK_OR_RETURN(init.protocol_error.empty(), init.protocol_error);
    CHECK_OR_RETURN(init.responses == 2000, "responses " << init.responses);
    // At most one response per 3 ns: 2000 responses take at least 6 us.
    CHECK_OR_RETURN(sc_time_stamp() >= sc_time(5997, SC_NS), "ended at " << sc_time_stamp());
    return std::string();
  }));
}

TEST(HbmChannelTlm, OneActivationPerTransaction) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("hbm2");
    HbmChannel ch("channel", cfg);
    AtInitiator init("init");
    init.max_out = 16;  // below the queue depth: no back-pressure wake-ups
    init.socket.bind(ch.socket);
    for (int i = 0; i < 20000; ++i) init.reqs.push_back({uint64_t(i) * 32, false, 0});
    sc_start();
    CHECK_OR_RETURN(init.responses == 20000, "responses " << init.responses);
    CHECK_OR_RETURN(ch.wakeups() <= 20000 + 100,
                    "channel woke " << ch.wakeups() << " times for 20000 transactions");
    return std::string();
  }));
}

TEST(HbmChannelTlm, DataWrittenIsReadBack) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("hbm3");
    HbmChannel ch("channel", cfg);
    struct Init : sc_module {
      tlm_utils::simple_initiator_socket<Init> socket{"socket"};
      std::string result = "did not run";
      explicit Init(sc_module_name n) : sc_module(n) {
        SC_HAS_PROCESS(Init);
        SC_THREAD(run);
      }
      void run() {
        tlm_generic_payload p;
        unsigned char buf[32];
        sc_time d = SC_ZERO_TIME;
        for (int i = 0; i < 100; ++i) {
          for (int k = 0; k < 32; ++k) buf[k] = static_cast<unsigned char>(i * 7 + k);
          p.set_command(TLM_WRITE_COMMAND);
          p.set_address(uint64_t(i) * 4096 + 64);
          p.set_data_ptr(buf);
          p.set_data_length(32);
          p.set_streaming_width(32);
          p.set_byte_enable_ptr(nullptr);
          socket->b_transport(p, d);
          if (!p.is_response_ok()) {
            result = "write failed";
            return;
          }
        }
        for (int i = 0; i < 100; ++i) {
          p.set_command(TLM_READ_COMMAND);
          p.set_address(uint64_t(i) * 4096 + 64);
          socket->b_transport(p, d);
          for (int k = 0; k < 32; ++k)
            if (buf[k] != static_cast<unsigned char>(i * 7 + k)) {
              result = "read back wrong data at " + std::to_string(i);
              return;
            }
        }
        result.clear();
      }
    } init("init");
    init.socket.bind(ch.socket);
    sc_start();
    return init.result;
  }));
}

TEST(HbmChannelTlm, ErrorResponses) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("hbm2");
    HbmChannel ch("channel", cfg);
    struct Init : sc_module {
      tlm_utils::simple_initiator_socket<Init> socket{"socket"};
      uint64_t capacity = 0;
      std::string result = "did not run";
      explicit Init(sc_module_name n) : sc_module(n) {
        socket.register_nb_transport_bw(this, &Init::bw);
        SC_HAS_PROCESS(Init);
        SC_THREAD(run);
      }
      tlm_sync_enum bw(tlm_generic_payload&, tlm_phase&, sc_time&) { return TLM_COMPLETED; }
      tlm_response_status b(uint64_t addr, unsigned len, unsigned char* be = nullptr) {
        tlm_generic_payload p;
        unsigned char buf[64] = {};
        p.set_command(TLM_READ_COMMAND);
        p.set_address(addr);
        p.set_data_ptr(buf);
        p.set_data_length(len);
        p.set_streaming_width(len);
        p.set_byte_enable_ptr(be);
        p.set_byte_enable_length(be ? len : 0);
        sc_time d = SC_ZERO_TIME;
        socket->b_transport(p, d);
        return p.get_response_status();
      }
      void run() {
        if (b(capacity, 32) != TLM_ADDRESS_ERROR_RESPONSE)
          return void(result = "b_transport beyond capacity");
        if (b(capacity - 16, 32) != TLM_ADDRESS_ERROR_RESPONSE)
          return void(result = "straddling the end");
        if (b(16, 32) != TLM_BURST_ERROR_RESPONSE) return void(result = "crossing a burst");
        unsigned char be[32];
        if (b(0, 32, be) != TLM_BYTE_ENABLE_ERROR_RESPONSE) return void(result = "byte enables");
        if (b(0, 32) != TLM_OK_RESPONSE) return void(result = "a good read failed");
        // The AT path answers an out-of-range BEGIN_REQ at once.
        tlm_generic_payload p;
        unsigned char buf[32];
        p.set_command(TLM_WRITE_COMMAND);
        p.set_address(capacity + 1024);
        p.set_data_ptr(buf);
        p.set_data_length(32);
        p.set_streaming_width(32);
        tlm_phase ph = BEGIN_REQ;
        sc_time d = SC_ZERO_TIME;
        if (socket->nb_transport_fw(p, ph, d) != TLM_COMPLETED ||
            p.get_response_status() != TLM_ADDRESS_ERROR_RESPONSE)
          return void(result = "nb_transport beyond capacity");
        result.clear();
      }
    } init("init");
    init.capacity = ch.engine().mapper().capacity();
    init.socket.bind(ch.socket);
    sc_start();
    return init.result;
  }));
}

TEST(HbmChannelTlm, BlockingTransportWithQuantumKeeper) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("hbm2");
    HbmChannel ch("channel", cfg);
    struct Init : sc_module {
      tlm_utils::simple_initiator_socket<Init> socket{"socket"};
      std::vector<sc_time> delays;
      explicit Init(sc_module_name n) : sc_module(n) {
        SC_HAS_PROCESS(Init);
        SC_THREAD(run);
      }
      void run() {
        tlm_utils::tlm_quantumkeeper qk;
        qk.set_global_quantum(sc_time(1, SC_US));
        qk.reset();
        tlm_generic_payload p;
        unsigned char buf[32];
        p.set_data_ptr(buf);
        p.set_data_length(32);
        p.set_streaming_width(32);
        p.set_command(TLM_READ_COMMAND);
        for (int i = 0; i < 3; ++i) {
          p.set_address(uint64_t(i) * 256);  // same bank, same row, next column
          sc_time d = qk.get_local_time();
          const sc_time before = d;
          socket->b_transport(p, d);
          delays.push_back(d - before);
          qk.set(d);
          if (qk.need_sync()) qk.sync();
        }
      }
    } init("init");
    init.socket.bind(ch.socket);
    sc_start();
    // Idle read: tRCD_RD 12 + CL 17 + burst 2 = 31 ns; then row hits: CL + burst = 19 ns each.
    CHECK_OR_RETURN(init.delays.size() == 3, "ran " << init.delays.size());
    CHECK_OR_RETURN(init.delays[0] == sc_time(31, SC_NS), "first " << init.delays[0]);
    CHECK_OR_RETURN(init.delays[1] == sc_time(19, SC_NS), "second " << init.delays[1]);
    CHECK_OR_RETURN(init.delays[2] == sc_time(19, SC_NS), "third " << init.delays[2]);
    return std::string();
  }));
}

TEST(HbmChannelTlm, PimExtensionIsOneTransaction) {
  EXPECT_TRUE(run_in_child([] {
    const MemoryConfig cfg = load_memory_config("attacc-hbm3-pim", {"controller.refresh=off"});
    HbmChannel ch("channel", cfg);
    struct Init : sc_module {
      tlm_utils::simple_initiator_socket<Init> socket{"socket"};
      sc_time b_delay, nb_answer;
      tlm_response_status bad = TLM_OK_RESPONSE;
      sc_event resp;
      explicit Init(sc_module_name n) : sc_module(n) {
        socket.register_nb_transport_bw(this, &Init::bw);
        SC_HAS_PROCESS(Init);
        SC_THREAD(run);
      }
      tlm_sync_enum bw(tlm_generic_payload&, tlm_phase& ph, sc_time&) {
        if (ph == BEGIN_RESP) {
          nb_answer = sc_time_stamp();
          resp.notify();
          ph = END_RESP;
          return TLM_COMPLETED;
        }
        return TLM_ACCEPTED;
      }
      void run() {
        PimOp op;
        op.kind = PimOp::Kind::kMacRows;
        op.row_first = 100;
        op.row_count = 2;
        op.columns = 32;
        tlm_generic_payload p;
        PimExtension ext(op);
        p.set_extension(&ext);
        p.set_command(TLM_READ_COMMAND);
        p.set_data_length(0);
        sc_time d = SC_ZERO_TIME;
        socket->b_transport(p, d);
        b_delay = d;
        wait(d);
        // The same operation over the AT path, from here.
        const sc_time start = sc_time_stamp();
        tlm_phase ph = BEGIN_REQ;
        sc_time d2 = SC_ZERO_TIME;
        socket->nb_transport_fw(p, ph, d2);
        wait(resp);
        nb_answer -= start;
        // An op outside the bank is refused.
        PimOp bad_op;
        bad_op.row_first = 16383;
        bad_op.row_count = 4;
        bad_op.columns = 1;
        PimExtension bad_ext(std::vector<PimOp>{op, bad_op});  // refused as a whole
        tlm_generic_payload q;
        q.set_extension(&bad_ext);
        q.set_command(TLM_READ_COMMAND);
        sc_time d3 = SC_ZERO_TIME;
        socket->b_transport(q, d3);
        bad = q.get_response_status();
        q.clear_extension(&bad_ext);
        p.clear_extension(&ext);
      }
    } init("init");
    init.socket.bind(ch.socket);
    sc_start();
    // Hand-computed (see EnginePim.MacRowsTiming): done at cycle 446, tCK 0.769 ns.
    const sc_time expect = sc_time(446 * 769, SC_PS);
    CHECK_OR_RETURN(init.b_delay == expect, "b_transport delay " << init.b_delay);
    // Back to back from an idle channel: the first ACTAB waits tRC/tRP after the last PREA.
    CHECK_OR_RETURN(init.nb_answer >= expect - sc_time(1, SC_NS) &&
                        init.nb_answer <= expect + sc_time(20, SC_NS),
                    "nb answer after " << init.nb_answer);
    CHECK_OR_RETURN(init.bad == TLM_ADDRESS_ERROR_RESPONSE, "bad op status " << init.bad);
    return std::string();
  }));
}
