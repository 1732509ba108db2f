#pragma once
// `sparsepim traffic`: a request stream against a memory config, with statistics, energy and
// optionally the independent timing checker and a command trace.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/peak_rss.h"

namespace sparsepim {

struct TrafficOptions {
  std::string config = "hbm2";     // preset name or JSON file
  std::vector<std::string> sets;   // --set section.key=value
  uint32_t channels = 0;           // 0: as configured
  std::string pattern = "stream";  // stream | random (ignored with a trace)
  uint64_t requests = 1000000;
  uint64_t seed = 1;
  double read_ratio = 1.0;
  std::string trace_file;     // request trace instead of a pattern
  bool check_timing = false;  // run the independent checker; fail at the first violation
  std::vector<std::string> checker_sets;  // check against a device that differs by these values
  std::string command_trace;              // write every command here
  bool stats = true;
  bool energy = true;
  bool via_tlm = false;  // drive the channel through its TLM-2.0 AT socket
};

struct TraceRequest {
  uint64_t arrival = 0;  // cycle; 0 = as soon as the queue accepts it
  uint64_t addr = 0;
  bool write = false;
  bool has_arrival = false;
};

// Parses a request trace: one request per line, "R 0x1f40" or "W 0x1f40", optionally preceded
// by an arrival cycle ("120 R 0x1f40"); '#' starts a comment. Throws InputError with the line
// number on malformed input or an address at or beyond `capacity`.
std::vector<TraceRequest> parse_request_trace(const std::string& path, uint64_t capacity);

// Runs the traffic and returns the result object printed by `sparsepim traffic`.
nlohmann::json run_traffic(const TrafficOptions& opt);

// Peak resident set size of this process, MB.

}  // namespace sparsepim
