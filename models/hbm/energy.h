#pragma once
// Energy observer: per-command energies derived from the per-bit constants of the memory
// config, plus background power over the simulated time. Components are kept apart so that a
// result can say where the energy went.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hbm/command_observer.h"
#include "hbm/memory_config.h"

namespace sparsepim::hbm {

struct EnergyBreakdown {
  double act_pre = 0;     // row activation and precharge
  double cell_rw = 0;     // cell array access of reads, writes and MACs
  double on_die = 0;      // column decoder -> BG mux -> global I/O
  double tsv = 0;         // core dies <-> base (buffer) die
  double interposer = 0;  // base die <-> host
  double pim_mac = 0;     // FP16 multiply-accumulates
  double refresh = 0;
  double background = 0;
  double total() const {
    return act_pre + cell_rw + on_die + tsv + interposer + pim_mac + refresh + background;
  }
  // Every component and "total", in pJ.
  nlohmann::json to_json() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : items()) j[k] = v;
    j["total"] = total();
    return j;
  }
  std::vector<std::pair<std::string, double>> items() const {
    return {{"act_pre", act_pre}, {"cell_rw", cell_rw},       {"on_die", on_die},
            {"tsv", tsv},         {"interposer", interposer}, {"pim_mac", pim_mac},
            {"refresh", refresh}, {"background", background}};
  }
};

class EnergyObserver : public CommandObserver {
 public:
  explicit EnergyObserver(const MemoryConfig& cfg);
  void on_command(const Command& c) override;
  void on_finish(uint64_t cycle) override;
  const EnergyBreakdown& pJ() const { return e_; }
  // Background power is charged from this cycle on (default 0: the whole run).
  void set_start(uint64_t cycle) { start_ = cycle; }

 private:
  MemoryConfig cfg_;
  EnergyBreakdown e_;
  double bits_per_burst_ = 0, act_ = 0, ref_ = 0, refpb_ = 0;
  uint64_t start_ = 0;
};

}  // namespace sparsepim::hbm
