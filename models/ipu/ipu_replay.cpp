#include "models/ipu/ipu_replay.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>

#include <systemc>

#include "models/cmu/units_runner.h"
#include "models/common/errors.h"
#include "models/ipu/ipu_sim.h"
#include "workloads/npy.h"

namespace sparsepim::ipu {

using nlohmann::json;

void IpuReplay::add(const policy::StepInput& in, const policy::SelectionWork& work) {
  const int max_cap = supported_capacities().back();
  for (const auto& c : work.ipu) {
    auto base = [&](IpuOp op) {
      ReplayCommand r;
      r.position = in.position;
      r.layer = in.layer;
      r.seq = commands_.size();
      r.stream = {c.history_layer, c.q_head};
      r.command.op = op;
      r.command.n = uint32_t(in.n());
      return r;
    };
    auto unrecorded = [](const char* what) {
      throw std::logic_error(std::string("ipu replay: a ") + what +
                             " without its recorded data (StepInput::record_ipu)");
    };
    if (c.predict) {
      if (c.predicted.size() != c.candidates) unrecorded("PREDICT");
      ReplayCommand r = base(kOpPredict);
      r.expect = c.predicted;
      r.model_cycles = predict_cycles(c.history, c.candidates);
      commands_.push_back(std::move(r));
    }
    if (c.select) {
      if (c.pair_positions.size() != c.pairs || c.pair_scores.size() != c.pairs)
        unrecorded("SELECT");
      if (c.k > uint32_t(max_cap))
        throw ConfigError("--units clocked: layer " + std::to_string(in.layer) +
                          " asks the index-prediction "
                          "unit for the top " +
                          std::to_string(c.k) +
                          " positions, beyond its largest queue "
                          "capacity (" +
                          std::to_string(max_cap) +
                          " cells): the clocked unit cannot run that "
                          "SELECT; use --units fast, or a budget of at most " +
                          std::to_string(max_cap));
      ReplayCommand r = base(kOpSelect);
      r.command.k = c.k;
      r.command.store = true;
      r.command.append = c.append;
      r.command.pairs.resize(c.pairs);
      for (size_t i = 0; i < c.pairs; ++i)
        r.command.pairs[i] = {c.pair_positions[i], c.pair_scores[i]};
      r.expect = c.selected;
      r.model_cycles = select_cycles(c.pairs, c.k, c.append);
      commands_.push_back(std::move(r));
    }
    if (c.reuse) {
      if (c.reused_positions.size() != c.reused) unrecorded("REUSE");
      ReplayCommand r = base(kOpReuse);
      r.expect = c.reused_positions;
      r.model_cycles = reuse_cycles(c.reused);
      commands_.push_back(std::move(r));
    }
  }
}

namespace {

const char* op_name(IpuOp op) {
  return op == kOpPredict ? "PREDICT" : op == kOpSelect ? "SELECT" : "REUSE";
}

std::string describe(const ReplayCommand& r) {
  std::string s = "the step at token " + std::to_string(r.position) + ", layer " +
                  std::to_string(r.layer) + ", query head " + std::to_string(r.stream.second) +
                  " (history of layer " + std::to_string(r.stream.first) +
                  "): " + op_name(r.command.op);
  if (r.command.op == kOpSelect)
    s += " top " + std::to_string(r.command.k) + " of " + std::to_string(r.command.pairs.size()) +
         (r.command.append ? " + the current token" : "");
  return s;
}

// The first few positions in one list and not the other, both ways.
std::string difference(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want) {
  std::vector<uint32_t> a = got, b = want, only_a, only_b;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  auto list = [](const std::vector<uint32_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size() && i < 6; ++i) s += (i ? " " : "") + std::to_string(v[i]);
    return s + (v.size() > 6 ? " ...]" : "]");
  };
  std::string s = std::to_string(got.size()) + " positions against " + std::to_string(want.size()) +
                  "; only in the unit's " + list(only_a) + ", only in the library's " +
                  list(only_b);
  if (only_a.empty() && only_b.empty()) s += " (same set, other order)";
  return s;
}

// Whether `library` is a top-k of the SELECT's pairs under their FP16 scores as well, and differs
// from the unit's answer only in positions whose score is the tied k-th one.
bool fp16_tie(const IpuCommand& c, std::vector<uint32_t> library, std::vector<uint32_t> unit) {
  if (c.append) {
    if (library.empty() || unit.empty() || library.back() != c.n - 1 || unit.back() != c.n - 1)
      return false;
    library.pop_back();
    unit.pop_back();
  }
  const size_t kk = std::min<size_t>(c.k, c.pairs.size());
  if (library.size() != kk || unit.size() != kk) return false;
  std::vector<std::pair<uint32_t, float>> score;
  for (const auto& pr : c.pairs) score.push_back({pr.first, workloads::half_to_float(pr.second)});
  std::sort(score.begin(), score.end());
  auto score_of = [&](uint32_t p, float* out) {
    const auto it =
        std::lower_bound(score.begin(), score.end(), std::make_pair(p, -1e30f),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it == score.end() || it->first != p) return false;
    *out = it->second;
    return true;
  };
  std::sort(library.begin(), library.end());
  std::sort(unit.begin(), unit.end());
  if (std::adjacent_find(library.begin(), library.end()) != library.end()) return false;
  float lo = 0;
  bool first = true;
  for (uint32_t p : library) {
    float s;
    if (!score_of(p, &s)) return false;
    lo = first ? s : std::min(lo, s);
    first = false;
  }
  for (const auto& [p, s] : score)
    if (!std::binary_search(library.begin(), library.end(), p) && s > lo) return false;
  std::vector<uint32_t> diff;
  std::set_symmetric_difference(library.begin(), library.end(), unit.begin(), unit.end(),
                                std::back_inserter(diff));
  for (uint32_t p : diff) {
    float s;
    if (!score_of(p, &s) || s != lo) return false;
  }
  return !diff.empty();
}

}  // namespace

json replay_clocked(const IpuReplay& replay, const policy::PolicyParams& params, double period_ns) {
  using Key = std::tuple<int64_t, int, uint64_t>;  // decode order: step, layer, recording order
  const auto& cmds = replay.commands();
  auto order = [&](size_t i) { return Key{cmds[i].position, cmds[i].layer, cmds[i].seq}; };
  auto by_order = [&](size_t a, size_t b) { return order(a) < order(b); };
  std::map<std::pair<int, int>, std::vector<size_t>> by_stream;
  for (size_t i = 0; i < cmds.size(); ++i) by_stream[cmds[i].stream].push_back(i);
  struct Stream {
    std::vector<size_t> commands;
    uint64_t load = 0;
  };
  std::vector<Stream> streams;
  for (auto& [key, v] : by_stream) {
    Stream s;
    s.commands = std::move(v);
    for (size_t i : s.commands) s.load += cmds[i].model_cycles;
    streams.push_back(std::move(s));
  }
  // Longest stream first onto the least loaded bench with a free slot.
  const size_t n_benches = (streams.size() + kSimSlots - 1) / kSimSlots;
  std::vector<size_t> by_load(streams.size());
  for (size_t i = 0; i < by_load.size(); ++i) by_load[i] = i;
  std::stable_sort(by_load.begin(), by_load.end(),
                   [&](size_t a, size_t b) { return streams[a].load > streams[b].load; });
  std::vector<std::vector<size_t>> bench_streams(n_benches);
  std::vector<uint64_t> bench_load(n_benches, 0);
  for (size_t s : by_load) {
    size_t best = n_benches;
    for (size_t b = 0; b < n_benches; ++b)
      if (bench_streams[b].size() < size_t(kSimSlots) &&
          (best == n_benches || bench_load[b] < bench_load[best]))
        best = b;
    bench_streams[best].push_back(s);
    bench_load[best] += streams[s].load;
  }

  // Per bench: its commands in decode order (slot = the stream's place on the bench), the fast
  // mode's answers, and the SystemC bench.
  const sc_core::sc_time period(period_ns * 1000.0, sc_core::SC_PS);
  struct BenchRun {
    std::vector<size_t> index;  // into cmds
    std::vector<IpuAnswer> fast;
    std::unique_ptr<IpuBench> bench;
  };
  std::vector<BenchRun> runs(n_benches);
  std::vector<units::Bench> all;
  std::map<int, int> capacities;
  uint64_t max_cycles = 0;
  for (size_t b = 0; b < n_benches; ++b) {
    BenchRun& br = runs[b];
    std::map<size_t, uint32_t> slot_of;  // command -> slot
    uint32_t max_k = 0;
    for (size_t j = 0; j < bench_streams[b].size(); ++j)
      for (size_t i : streams[bench_streams[b][j]].commands) {
        br.index.push_back(i);
        slot_of[i] = uint32_t(j);
        if (cmds[i].command.op == kOpSelect) max_k = std::max(max_k, cmds[i].command.k);
      }
    std::sort(br.index.begin(), br.index.end(), by_order);
    int capacity = supported_capacities().back();
    for (int c : supported_capacities())
      if (uint32_t(c) >= max_k) {
        capacity = c;
        break;
      }
    ++capacities[capacity];
    IpuJob job;
    job.config = make_ipu_config(params, capacity);
    for (size_t i : br.index) {
      job.commands.push_back(cmds[i].command);
      job.commands.back().slot = slot_of[i];
    }
    IpuFast fast(job.config);
    uint64_t bound = 1000;
    for (const auto& c : job.commands) {
      br.fast.push_back(fast.run(c));
      bound += 2 * (br.fast.back().cycles + 10);
    }
    max_cycles = std::max(max_cycles, bound);
    br.bench = make_ipu_bench(("ipu_" + std::to_string(b)).c_str(), job, period);
    all.push_back(br.bench->as_bench());
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (!all.empty()) units::run_units(all, period, max_cycles, "");
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The checks, per stream in decode order (a bench's order keeps every stream's).
  uint64_t clocked_cycles = 0, model_cycles = 0;
  int64_t equal = 0, ties = 0, after_tie = 0, mismatches = 0, checked = 0;
  std::string first;
  std::map<std::pair<int, int>, bool> diverged;  // the unit's store differs from the library's
  auto mismatch = [&](const ReplayCommand& r, const std::string& what) {
    ++mismatches;
    if (first.empty()) first = describe(r) + ": " + what;
  };
  for (const BenchRun& br : runs) {
    const auto& clk = br.bench->answers();
    for (size_t j = 0; j < br.index.size(); ++j) {
      const ReplayCommand& r = cmds[br.index[j]];
      const IpuAnswer& a = clk[j];
      const IpuAnswer& f = br.fast[j];
      ++checked;
      clocked_cycles += a.cycles;
      model_cycles += r.model_cycles;
      if (a.positions != f.positions || a.cycles != f.cycles) {
        mismatch(r, "the clocked unit disagrees with its fast mode (" +
                        difference(a.positions, f.positions) + "; " + std::to_string(a.cycles) +
                        " cycles against " + std::to_string(f.cycles) + ")");
        continue;
      }
      bool& div = diverged[r.stream];
      const bool select = r.command.op == kOpSelect;
      if (div && !select) {
        ++after_tie;
        continue;
      }
      if (a.cycles != r.model_cycles)
        mismatch(r, std::to_string(a.cycles) + " cycles clocked, the cycle model charges " +
                        std::to_string(r.model_cycles));
      else if (a.positions == r.expect)
        ++equal;
      else if (select && fp16_tie(r.command, r.expect, a.positions))
        ++ties;
      else
        mismatch(r, "the clocked unit's answer differs from the policy library's: " +
                        difference(a.positions, r.expect));
      if (select) div = a.positions != r.expect;
    }
  }
  json capj = json::object();
  for (const auto& [c, n] : capacities) capj[std::to_string(c)] = n;
  return {{"commands", cmds.size()},
          {"checked", checked},
          {"streams", streams.size()},
          {"benches", n_benches},
          {"capacities", capj},
          {"clocked_cycles", clocked_cycles},
          {"model_cycles", model_cycles},
          {"equal_to_library", equal},
          {"fp16_ties", ties},
          {"after_fp16_tie", after_tie},
          {"mismatches", mismatches},
          {"first_mismatch", first},
          {"sim_wall_s", wall}};
}

void require_agreement(const json& verdict) {
  if (verdict.value("mismatches", int64_t(0)) == 0) return;
  throw std::runtime_error("the clocked index-prediction unit disagrees on " +
                           verdict["mismatches"].dump() + " of " + verdict["checked"].dump() +
                           " commands; first: " + verdict.value("first_mismatch", std::string()));
}

json units_report(const json& verdict, int64_t steps) {
  return {{"ipu_clocked_commands_checked", verdict["checked"]},
          {"ipu_clocked_cycles_per_step",
           verdict["clocked_cycles"].get<double>() / double(std::max<int64_t>(steps, 1))},
          {"ipu_clocked_equal_to_library", verdict["equal_to_library"]},
          {"ipu_clocked_fp16_ties", verdict["fp16_ties"]},
          {"ipu_clocked_after_fp16_tie", verdict["after_fp16_tie"]}};
}

}  // namespace sparsepim::ipu
