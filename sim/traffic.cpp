#include "traffic.h"

#include <sys/resource.h>

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "common/errors.h"
#include "hbm/channel_engine.h"
#include "hbm/command_trace.h"
#include "hbm/energy.h"
#include "hbm/memory_config.h"
#include "hbm/stats.h"
#include "hbm/timing_checker.h"
#include "traffic_tlm.h"

namespace sparsepim {

using namespace hbm;
using nlohmann::json;

std::vector<TraceRequest> parse_request_trace(const std::string& path, uint64_t capacity) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot open request trace '" + path + "'");
  std::vector<TraceRequest> out;
  std::string line;
  uint64_t lineno = 0, last_arrival = 0;
  auto fail = [&](const std::string& why) {
    throw InputError(path + ":" + std::to_string(lineno) + ": " + why + " in line '" + line + "'");
  };
  auto parse_u64 = [&](const std::string& tok, int base, const char* what) {
    if (tok.empty()) fail(std::string("missing ") + what);
    size_t pos = 0;
    uint64_t v = 0;
    try {
      if (tok[0] == '-') throw std::invalid_argument("negative");
      v = std::stoull(tok, &pos, base);
    } catch (const std::exception&) {
      fail(std::string("bad ") + what + " '" + tok + "'");
    }
    if (pos != tok.size()) fail(std::string("bad ") + what + " '" + tok + "'");
    return v;
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::string body = line.substr(0, line.find('#'));
    std::istringstream ss(body);
    std::vector<std::string> tok;
    for (std::string t; ss >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    TraceRequest r;
    size_t i = 0;
    if (tok.size() == 3) {
      r.arrival = parse_u64(tok[0], 10, "arrival cycle");
      r.has_arrival = true;
      if (r.arrival < last_arrival) fail("arrival cycles must not decrease");
      last_arrival = r.arrival;
      i = 1;
    } else if (tok.size() != 2) {
      fail("expected '[cycle] R|W address'");
    }
    if (tok[i] == "R" || tok[i] == "r")
      r.write = false;
    else if (tok[i] == "W" || tok[i] == "w")
      r.write = true;
    else
      fail("unknown operation '" + tok[i] + "' (R or W)");
    const std::string& a = tok[i + 1];
    const bool hex = a.size() > 2 && a[0] == '0' && (a[1] == 'x' || a[1] == 'X');
    r.addr = parse_u64(hex ? a.substr(2) : a, hex ? 16 : 10, "address");
    if (r.addr >= capacity) {
      std::ostringstream os;
      os << "address 0x" << std::hex << r.addr << " beyond the memory (capacity 0x" << capacity
         << ")";
      fail(os.str());
    }
    out.push_back(r);
  }
  if (in.bad()) throw InputError(path + ": read error");
  return out;
}

namespace {

class CountingSink : public CompletionSink {
 public:
  void on_request_done(const Request&, uint64_t arrival, uint64_t done) override {
    ++done_count;
    last_done = std::max(last_done, done);
    latency_sum += double(done - arrival);
  }
  void on_pim_done(const PimOp&, uint64_t done) override { last_done = std::max(last_done, done); }
  uint64_t done_count = 0, last_done = 0;
  double latency_sum = 0;
};

// Requests of one channel, generated lazily (patterns) or taken from a parsed trace.
class RequestSource {
 public:
  virtual ~RequestSource() = default;
  virtual bool next(TraceRequest& r) = 0;
};

class PatternSource : public RequestSource {
 public:
  PatternSource(bool stream, uint64_t count, uint64_t channel_base, uint64_t channel_bytes,
                uint32_t burst, double read_ratio, uint64_t seed)
      : stream_(stream),
        left_(count),
        base_(channel_base),
        columns_(channel_bytes / burst),
        burst_(burst),
        read_ratio_(read_ratio),
        rng_(seed) {}
  bool next(TraceRequest& r) override {
    if (!left_) return false;
    --left_;
    const uint64_t col = stream_ ? (i_++ % columns_)
                                 : std::uniform_int_distribution<uint64_t>(0, columns_ - 1)(rng_);
    r.addr = base_ + col * burst_;
    r.write =
        read_ratio_ < 1.0 && std::uniform_real_distribution<double>(0, 1)(rng_) >= read_ratio_;
    r.has_arrival = false;
    return true;
  }

 private:
  bool stream_;
  uint64_t left_, base_, columns_, burst_;
  double read_ratio_;
  std::mt19937_64 rng_;
  uint64_t i_ = 0;
};

class VectorSource : public RequestSource {
 public:
  explicit VectorSource(std::vector<TraceRequest> v) : v_(std::move(v)) {}
  bool next(TraceRequest& r) override {
    if (i_ == v_.size()) return false;
    r = v_[i_++];
    return true;
  }

 private:
  std::vector<TraceRequest> v_;
  size_t i_ = 0;
};

}  // namespace

json run_traffic(const TrafficOptions& opt) {
  std::vector<std::string> sets = opt.sets;
  if (opt.channels) sets.push_back("organization.channels=" + std::to_string(opt.channels));
  const MemoryConfig cfg = load_memory_config(opt.config, sets);
  if (opt.pattern != "stream" && opt.pattern != "random")
    throw ConfigError("--pattern: expected stream or random, got '" + opt.pattern + "'");
  if (!(opt.read_ratio >= 0.0 && opt.read_ratio <= 1.0))
    throw ConfigError("--read-ratio: must be within [0, 1]");
  if (opt.trace_file.empty() && opt.requests == 0)
    throw ConfigError("--requests: must be positive");

  const uint32_t C = cfg.org.channels;
  const uint64_t ch_bytes = cfg.org.bytes_per_channel();
  const uint32_t burst = cfg.org.bytes_per_column;
  AddressMapper mapper(cfg);

  // Split the work per channel: channels are independent, so each runs to completion alone.
  std::vector<std::unique_ptr<RequestSource>> sources(C);
  if (!opt.trace_file.empty()) {
    std::vector<std::vector<TraceRequest>> per(C);
    for (const auto& r : parse_request_trace(opt.trace_file, mapper.capacity()))
      per[mapper.decode(r.addr).channel].push_back(r);
    for (uint32_t c = 0; c < C; ++c) sources[c] = std::make_unique<VectorSource>(std::move(per[c]));
  } else {
    for (uint32_t c = 0; c < C; ++c) {
      const uint64_t n = opt.requests / C + (c < opt.requests % C ? 1 : 0);
      // The channel field is placed by the mapping; find this channel's base address.
      DramAddress base{};
      base.channel = c;
      const bool channel_is_msb = cfg.mapping.back().field == AddrField::kChannel;
      if (!channel_is_msb && C > 1)
        throw ConfigError(
            "traffic patterns over several channels need 'channel' as the most "
            "significant mapping field");
      sources[c] = std::make_unique<PatternSource>(opt.pattern == "stream", n, mapper.encode(base),
                                                   ch_bytes, burst, opt.read_ratio,
                                                   opt.seed * 0x9E3779B97F4A7C15ull + c);
    }
  }

  StatsObserver stats(cfg);
  EnergyObserver energy(cfg);
  std::unique_ptr<TimingChecker> checker;
  if (opt.check_timing) {
    std::vector<std::string> checker_sets = sets;
    checker_sets.insert(checker_sets.end(), opt.checker_sets.begin(), opt.checker_sets.end());
    checker = std::make_unique<TimingChecker>(load_memory_config(opt.config, checker_sets),
                                              /*throw_on_first=*/true);
  } else if (!opt.checker_sets.empty()) {
    throw ConfigError("--checker-set needs --check-timing");
  }
  std::unique_ptr<CommandTraceWriter> trace;
  if (!opt.command_trace.empty()) trace = std::make_unique<CommandTraceWriter>(opt.command_trace);

  CountingSink sink;
  uint64_t requests = 0, end_cycle = 0;
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.via_tlm) {
    if (C != 1) throw ConfigError("--tlm drives one channel; use --channels 1");
    std::vector<TraceRequest> reqs;
    for (TraceRequest r; sources[0]->next(r);) reqs.push_back(r);
    std::vector<CommandObserver*> obs;
    if (opt.stats) obs.push_back(&stats);
    if (opt.energy) obs.push_back(&energy);
    if (checker) obs.push_back(checker.get());
    if (trace) obs.push_back(trace.get());
    const TlmTrafficResult tr = run_traffic_tlm(cfg, reqs, obs);
    requests = tr.completed;
    end_cycle = tr.end_cycle;
    sink.latency_sum = tr.latency_sum_cycles;
    sink.done_count = tr.completed;
  } else {
    for (uint32_t c = 0; c < C; ++c) {
      ChannelEngine engine(cfg, c);
      if (opt.stats) engine.add_observer(&stats);
      if (opt.energy) engine.add_observer(&energy);
      if (checker) engine.add_observer(checker.get());
      if (trace) engine.add_observer(trace.get());
      engine.set_sink(&sink);
      sink.last_done = 0;
      for (TraceRequest r; sources[c]->next(r);) {
        if (r.has_arrival && r.arrival > engine.now()) engine.run_until(r.arrival - 1);
        while (!engine.can_accept(r.addr, r.write)) engine.step();
        engine.enqueue({requests, r.addr, r.write, nullptr});
        ++requests;
      }
      engine.drain();
      const uint64_t end = std::max(sink.last_done, engine.last_command_cycle());
      engine.finish(end);
      end_cycle = std::max(end_cycle, end);
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (opt.energy && !opt.via_tlm) energy.on_finish(end_cycle);  // background over the whole run

  const double sim_ns = double(end_cycle) * cfg.timing.tCK_ns;
  const uint64_t bytes = requests * burst;
  json j;
  j["config"] = cfg.name;
  j["channels"] = C;
  j["source"] = opt.trace_file.empty() ? opt.pattern : opt.trace_file;
  j["via"] = opt.via_tlm ? "tlm_at" : "engine";
  j["simulated_ns"] = sim_ns;
  j["requests"] = requests;
  j["bytes"] = bytes;
  j["bandwidth_GBps"] = sim_ns > 0 ? double(bytes) / sim_ns : 0.0;
  j["peak_bandwidth_GBps"] = cfg.peak_channel_GBps() * C;
  j["avg_latency_ns"] =
      sink.done_count ? sink.latency_sum / sink.done_count * cfg.timing.tCK_ns : 0.0;
  if (opt.stats) {
    j["row_hits"] = stats.row_hits;
    j["row_misses"] = stats.row_misses;
    j["row_conflicts"] = stats.row_conflicts;
    j["commands"] = stats.commands_json();
    j["total_commands"] = stats.total_commands();
  }
  if (opt.energy) {
    j["energy_pJ"] = energy.pJ().to_json();
    j["energy_pJ_per_bit"] = bytes ? energy.pJ().total() / (8.0 * double(bytes)) : 0.0;
  }
  if (checker) {
    j["timing_checked_commands"] = checker->commands_checked();
    j["timing_violations"] = checker->violations();
  }
  j["wall_s"] = wall;
  j["requests_per_wall_s"] = wall > 0 ? double(requests) / wall : 0.0;
  if (opt.stats) j["commands_per_wall_s"] = wall > 0 ? double(stats.total_commands()) / wall : 0.0;
  j["peak_rss_MB"] = peak_rss_mb();
  return j;
}

}  // namespace sparsepim
