// sparsepim — command-line entry point.
//   sparsepim                 the default job (for now: the memory benchmark table)
//   sparsepim traffic ...     a request stream against a memory config, one JSON object out
//   sparsepim bench [--json]  the memory benchmark of docs/performance.md
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>

#include "accuracy_cli.h"
#include "common/errors.h"
#include "common/json_in_child.h"
#include "hbm/timing_checker.h"
#include "host/gemv.h"
#include "run_cli.h"
#include "traffic.h"
#include "units_cli.h"
#include "workload_cli.h"

using nlohmann::json;
using sparsepim::TrafficOptions;

namespace {

int run_bench(bool as_json, uint64_t requests) {
  struct Case {
    const char* config;
    const char* pattern;
    bool tlm;
  };
  const Case cases[] = {{"hbm2", "stream", false}, {"hbm2", "random", false},
                        {"hbm3", "stream", false}, {"hbm3", "random", false},
                        {"hbm2", "stream", true},  {"hbm2", "random", true}};
  json all = json::array();
  if (!as_json) {
    std::printf(
        "sparsepim memory benchmark: %llu reads of 32 B per case, one channel, refresh on,\n"
        "open page, FR-FCFS; statistics and energy on, timing checker and trace off.\n\n",
        static_cast<unsigned long long>(requests));
    std::printf("%-6s %-7s %-7s %10s %9s %8s %13s %13s %9s\n", "memory", "pattern", "path", "GB/s",
                "% peak", "hit rate", "requests/s", "commands/s", "RSS MB");
  }
  for (const Case& c : cases) {
    TrafficOptions o;
    o.config = c.config;
    o.pattern = c.pattern;
    o.requests = requests;
    o.via_tlm = c.tlm;
    json r = sparsepim::json_in_child([&] { return sparsepim::run_traffic(o); },
                                      "benchmark case failed");
    all.push_back(r);
    if (!as_json) {
      const double hits = r["row_hits"].get<double>();
      const double total = hits + r["row_misses"].get<double>() + r["row_conflicts"].get<double>();
      std::printf(
          "%-6s %-7s %-7s %10.2f %8.1f%% %7.1f%% %13.0f %13.0f %9.1f\n", c.config, c.pattern,
          c.tlm ? "tlm-at" : "engine", r["bandwidth_GBps"].get<double>(),
          100.0 * r["bandwidth_GBps"].get<double>() / r["peak_bandwidth_GBps"].get<double>(),
          100.0 * hits / total, r["requests_per_wall_s"].get<double>(),
          r["commands_per_wall_s"].get<double>(), r["peak_rss_MB"].get<double>());
      std::fflush(stdout);
    }
  }
  // The PIM path: MACs per second through the C++ ALU model and through the Verilated RTL.
  if (!as_json)
    std::printf(
        "\nPIM GEMV (attacc-hbm3-pim, one head, 8192 tokens x 128, score and value pass):\n"
        "%-6s %10s %12s %14s %14s %9s\n",
        "ALU", "bit exact", "cycles", "MACs", "MACs/s", "RSS MB");
  for (const char* alu : {"model", "rtl"}) {
    sparsepim::host::GemvOptions g;
    g.tokens = 8192;
    g.pim_alu = alu;
    json r;
    try {
      r = sparsepim::json_in_child(
          [&] {
            json x = sparsepim::host::run_gemv(g);
            x["peak_rss_MB"] = sparsepim::peak_rss_mb();
            return x;
          },
          "benchmark case failed");
    } catch (const std::exception& e) {
      if (!as_json) std::printf("%-6s not available: %s\n", alu, e.what());
      continue;
    }
    all.push_back(r);
    if (!as_json)
      std::printf("%-6s %10s %12llu %14llu %14.0f %9.1f\n", alu,
                  r["bit_exact"].get<bool>() ? "yes" : "NO",
                  static_cast<unsigned long long>(r["cycles"].get<uint64_t>()),
                  static_cast<unsigned long long>(r["macs"].get<uint64_t>()),
                  r["macs_per_wall_s"].get<double>(), r["peak_rss_MB"].get<double>());
  }
  if (as_json) std::cout << all.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sparsepim: an HBM processing-in-memory model for sparse-attention LLM decoding"};
  app.require_subcommand(0, 1);

  TrafficOptions t;
  auto* traffic = app.add_subcommand(
      "traffic", "Run a request stream against a memory config; prints one JSON object");
  traffic->add_option("--config", t.config, "memory preset name or JSON file")
      ->capture_default_str();
  traffic->add_option("--set", t.sets, "override a config value: section.key=value (repeatable)");
  traffic->add_option("--channels", t.channels, "number of channels (default: as configured)");
  traffic->add_option("--pattern", t.pattern, "stream | random")->capture_default_str();
  traffic->add_option("--requests", t.requests, "number of requests")->capture_default_str();
  traffic->add_option("--seed", t.seed, "random seed")->capture_default_str();
  traffic->add_option("--read-ratio", t.read_ratio, "share of reads, 0..1")->capture_default_str();
  traffic->add_option("--trace", t.trace_file,
                      "request trace: lines '[cycle] R|W address', '#' comments");
  traffic->add_flag("--check-timing", t.check_timing,
                    "run the independent timing checker; fail at the first violation");
  traffic->add_option("--checker-set", t.checker_sets,
                      "check the command stream against a device differing by section.key=value "
                      "(e.g. a stricter part); repeatable");
  traffic->add_option("--command-trace", t.command_trace, "write every DRAM command to this file");
  traffic->add_flag("--tlm", t.via_tlm, "drive the channel through its TLM-2.0 AT socket");
  bool no_stats = false;
  traffic->add_flag("--no-stats", no_stats, "statistics and energy off (raw engine speed)");

  sparsepim::host::GemvOptions g;
  auto* gemv = app.add_subcommand(
      "gemv", "Attention GEMVs of one head through the PIM units; prints one JSON object");
  gemv->add_option("--memory", g.memory, "memory preset with PIM units")->capture_default_str();
  gemv->add_option("--set", g.sets,
                   "override a memory config value: section.key=value (repeatable)");
  gemv->add_option("--rows", g.tokens, "rows of K and V (tokens)")->capture_default_str();
  gemv->add_option("--head-dim", g.head_dim, "head dimension (multiple of 32)")
      ->capture_default_str();
  gemv->add_option("--pim-alu", g.pim_alu, "model | rtl")->capture_default_str();
  gemv->add_flag("--acc-fp32", g.acc_fp32, "FP32 accumulators (default FP16, as Samsung's part)");
  gemv->add_flag("!--no-value-pass", g.value_pass, "score pass only");
  gemv->add_option("--seed", g.seed, "random seed for K, V and q")->capture_default_str();
  gemv->add_option("--vcd", g.vcd, "write command, bank and PIM-unit waveforms here");
  gemv->add_option("--vcd-rtl", g.vcd_rtl, "write the ALU RTL's own trace here (--pim-alu rtl)");
  gemv->add_option("--vcd-window", g.vcd_window,
                   "START:END in ns: only this window goes to the VCD files");

  bool bench_json = false;
  uint64_t bench_requests = 1000000;
  auto* bench = app.add_subcommand("bench", "Memory benchmark: bandwidth and simulation speed");
  bench->add_flag("--json", bench_json, "print JSON");
  bench->add_option("--requests", bench_requests, "requests per case")->capture_default_str();

  sparsepim::WorkloadCommands* workload_cmds = sparsepim::add_workload_commands(app);
  sparsepim::AccuracyCommand* accuracy_cmd = sparsepim::add_accuracy_command(app);
  sparsepim::RunCommand* run_cmd = sparsepim::add_run_command(app);
  sparsepim::UnitsCommand* units_cmd = sparsepim::add_units_command(app);

  CLI11_PARSE(app, argc, argv);
  try {
    if (const int code = sparsepim::run_workload_commands(workload_cmds); code >= 0) return code;
    if (const int code = sparsepim::run_accuracy_command(accuracy_cmd); code >= 0) return code;
    if (const int code = sparsepim::run_run_command(run_cmd); code >= 0) return code;
    if (const int code = sparsepim::run_units_command(units_cmd); code >= 0) return code;
    if (traffic->parsed()) {
      if (no_stats) t.stats = t.energy = false;
      std::cout << sparsepim::run_traffic(t).dump(2) << "\n";
      return 0;
    }
    if (bench->parsed()) return run_bench(bench_json, bench_requests);
    if (gemv->parsed()) {
      std::cout << sparsepim::host::run_gemv(g).dump(2) << "\n";
      return 0;
    }
    // The default job: the decode simulation of every policy (README quick start).
    return sparsepim::run_default_job();
  } catch (const sparsepim::hbm::TimingViolation& e) {
    std::cerr << "sparsepim: timing violation: " << e.what() << "\n";
    return 3;
  } catch (const sparsepim::ConfigError& e) {
    std::cerr << "sparsepim: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const sparsepim::InputError& e) {
    std::cerr << "sparsepim: input error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sparsepim: error: " << e.what() << "\n";
    return 1;
  }
}

// libsystemc references sc_main; this program has its own main() and starts SystemC
// simulations itself (sc_start), so sc_main is never the entry point.
extern "C" int sc_main(int, char**) {
  std::fprintf(stderr, "sparsepim: sc_main is not an entry point\n");
  return 1;
}
