// `sparsepim run` and the default job: decode steps through the PIM system under each policy; a
// comparison table, summary.json and summary.csv.
#include "run_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli_text.h"
#include "common/errors.h"
#include "host/decode_sim.h"
#include "models/policy/policy.h"

namespace sparsepim {

using nlohmann::json;

struct RunCommand {
  CLI::App* app = nullptr;
  host::DecodeOptions o;
  std::string policies = "dense,topk,sparq,quest,starc,tidal,lfps,starc+tidal,starc+lfps";
  std::string out_dir = "results";
  bool json_out = false;
  std::string replay;
};

namespace {

void print_table(const json& s) {
  const auto& c = s["config"];
  std::cout << "sparsepim run: " << c["model"].get<std::string>() << ", context " << c["context"]
            << ", " << c["steps"] << " steps, budget " << c["budget"] << ", "
            << c["memory"].get<std::string>() << " x " << c["stacks"] << " stack(s), "
            << c["channels"] << " channels\n\n";
  std::cout << std::left << std::setw(13) << "policy" << std::right << std::setw(12) << "latency_us"
            << std::setw(9) << "vs dense" << std::setw(12) << "energy_uJ" << std::setw(9)
            << "vs dense" << std::setw(9) << "recall" << std::setw(9) << "rel-L2" << std::setw(11)
            << "rowgrp/st" << std::setw(9) << "imbal" << std::setw(8) << "bw-util"
            << "\n";
  double dl = 0, de = 0;
  for (const auto& p : s["policies"])
    if (p["policy"] == "dense") {
      dl = p["latency_ns"]["total"];
      de = p["energy_pJ"]["total"];
    }
  for (const auto& p : s["policies"]) {
    const double l = p["latency_ns"]["total"], e = p["energy_pJ"]["total"];
    std::cout << std::left << std::setw(13) << p["policy"].get<std::string>() << std::right
              << std::setw(12) << cli::fixed(l / 1e3, 2) << std::setw(9)
              << (dl > 0 ? cli::fixed(100.0 * (l / dl - 1), 0) + "%" : "-") << std::setw(12)
              << cli::fixed(e / 1e6, 2) << std::setw(9)
              << (de > 0 ? cli::fixed(100.0 * (e / de - 1), 0) + "%" : "-") << std::setw(9)
              << cli::fixed(p["recall"], 4) << std::setw(9) << cli::fixed(p["rel_l2_error"], 4)
              << std::setw(11) << cli::fixed(p["row_groups_per_step"], 0) << std::setw(9)
              << cli::fixed(p["bank_imbalance"], 2) << std::setw(8)
              << cli::fixed(p["internal_bw_utilization"], 3) << "\n";
  }
  std::cout << "\nlatency and energy per decoded token (all layers); recall and row groups per "
               "KV head and layer\n";
}

void write_outputs(const json& s, const std::string& dir) {
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/summary.json");
    f << s.dump(2) << "\n";
    if (!f) throw ConfigError("cannot write " + dir + "/summary.json");
  }
  // One row per policy; every scalar and every latency/energy entry as its own column.
  std::vector<std::string> cols;
  const auto& first = s["policies"][0];
  for (auto& [k, v] : first.items()) {
    if (v.is_object()) {
      if (k == "commands") continue;
      for (auto& [k2, v2] : v.items()) cols.push_back(k + "." + k2);
    } else {
      cols.push_back(k);
    }
  }
  std::ofstream f(dir + "/summary.csv");
  for (size_t i = 0; i < cols.size(); ++i) f << (i ? "," : "") << cols[i];
  f << "\n";
  for (const auto& p : s["policies"]) {
    for (size_t i = 0; i < cols.size(); ++i) {
      const auto dot = cols[i].find('.');
      const json& v = dot == std::string::npos ? p[cols[i]]
                                               : p[cols[i].substr(0, dot)][cols[i].substr(dot + 1)];
      f << (i ? "," : "") << (v.is_string() ? v.get<std::string>() : v.dump());
    }
    f << "\n";
  }
  if (!f) throw ConfigError("cannot write " + dir + "/summary.csv");
}

int run(RunCommand& c) {
  c.o.replay = c.replay;
  c.o.policies = cli::split_list(c.policies);
  for (const auto& p : c.o.policies) {
    const auto& known = policy::policy_names();
    if (std::find(known.begin(), known.end(), p) == known.end())
      throw ConfigError("--policy: unknown policy '" + p + "'");
  }
  // The output directory must be writable before hours of simulation, not after.
  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec || !std::filesystem::is_directory(c.out_dir))
    throw ConfigError("--out " + c.out_dir + ": cannot create the output directory" +
                      (ec ? " (" + ec.message() + ")" : std::string()));
  const bool tty = !c.json_out && isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  if (tty)
    c.o.progress = [t0](const std::string& what, double f) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "\r[%-30s] %3.0f%% %5.0f s  %-28s",
                   std::string(size_t(f * 30), '#').c_str(), f * 100, s, what.c_str());
      std::fflush(stderr);
    };
  const json s = host::run_decode(c.o);
  if (tty) std::fprintf(stderr, "\n");
  write_outputs(s, c.out_dir);
  if (c.json_out) {
    std::cout << s.dump(2) << "\n";
  } else {
    print_table(s);
    std::cout << "\nwrote " << c.out_dir << "/summary.json and " << c.out_dir
              << "/summary.csv (wall " << cli::fixed(s["wall_s"], 1) << " s)\n";
  }
  for (const auto& p : s["policies"])
    if (p.value("timing_violations", uint64_t(0)) > 0) {
      std::cerr << "sparsepim: timing violation: " << p["timing_violations"]
                << " commands of policy " << p["policy"].get<std::string>()
                << " broke a timing rule (independent checker)\n";
      return 3;
    }
  return 0;
}

}  // namespace

RunCommand* add_run_command(CLI::App& app) {
  static RunCommand c;
  c.app = app.add_subcommand("run", "Decode steps through the PIM system under each policy");
  auto* a = c.app;
  a->add_option("--model", c.o.model, "model preset")->capture_default_str();
  a->add_option("--context", c.o.context, "prompt tokens")->capture_default_str();
  a->add_option("--budget", c.o.budget, "tokens per query head")->capture_default_str();
  a->add_option("--policy", c.policies, "policies, comma-separated")->capture_default_str();
  a->add_option("--steps", c.o.steps, "decode steps")->capture_default_str();
  a->add_option("--memory", c.o.memory, "memory preset")->capture_default_str();
  a->add_option("--set", c.o.memory_sets, "override a memory config value: section.key=value");
  a->add_option("--stacks", c.o.stacks, "HBM-PIM stacks")->capture_default_str();
  a->add_option("--seed", c.o.seed, "generator seed")->capture_default_str();
  a->add_option("--trace", c.o.trace, "real Q/K/V trace directory (with --model of its shape)");
  a->add_option("--replay", c.replay,
                "a per-step token-count table (STARC's artifact): its last --steps entries are "
                "every policy's budget at each step");
  a->add_option("--numerics", c.o.numerics, "fp32 | fp16")->capture_default_str();
  a->add_option("--pim-alu", c.o.pim_alu, "model | rtl")->capture_default_str();
  a->add_option("--units", c.o.units, "fast | clocked")->capture_default_str();
  a->add_option("--vcd", c.o.vcd,
                "waveforms of channel 0, one file per policy (FILE.<policy>.vcd)");
  a->add_option("--vcd-window", c.o.vcd_window, "START:END in ns: only this window");
  a->add_option("--params", c.o.params, "policy parameters")->capture_default_str();
  a->add_option("--policy-set", c.o.policy_sets, "override a policy parameter");
  a->add_option("--row-activation", c.o.row_activation,
                "auto (cheaper per pass) | lockstep (ACTAB rows) | slices (per-slice rounds)");
  a->add_option("--selection", c.o.selection,
                "buffer_die (top-k cost model) | ipu (the index-prediction unit's cycles)");
  a->add_option("--clustering", c.o.clustering,
                "in_memory (MACAB k-means) | cmu (keys read out, the cluster-mapping unit)");
  a->add_option("--host", c.o.host_config, "host and buffer-die config")->capture_default_str();
  a->add_option("--out", c.out_dir, "output directory")->capture_default_str();
  a->add_flag("--json", c.json_out, "print summary.json instead of the table");
  a->add_flag("--check-timing", c.o.check_timing,
              "run the independent timing checker on every channel (timing_violations)");
  return &c;
}

int run_default_job() {
  RunCommand c;
  c.policies = "dense,topk,quest,starc,tidal,lfps,starc+tidal,starc+lfps";
  c.o.steps = 4;
  std::cout << "sparsepim default job: `sparsepim run --model llama-3.1-8b --context 32768 "
               "--budget 1024 --memory attacc-hbm3-pim --steps 4 --policy "
            << c.policies << " --out results` (see `sparsepim --help`)\n\n";
  const int code = run(c);
  if (code != 0) return code;
  // The plot, when the system Python has matplotlib (scripts/setup.sh installs it).
  std::cout.flush();
  const std::string plot = std::string(SPARSEPIM_SOURCE_DIR) + "/scripts/plot_run.py";
  const std::string cmd =
      "/usr/bin/python3 " + plot + " " + c.out_dir + "/summary.json " + c.out_dir + "/summary.png";
  if (std::system(cmd.c_str()) != 0)
    std::cerr << "sparsepim: no plot (needs /usr/bin/python3 with matplotlib): " << cmd << "\n";
  return 0;
}

int run_run_command(RunCommand* c) {
  if (!c->app->parsed()) return -1;
  return run(*c);
}

}  // namespace sparsepim
