// The index-prediction unit's replay of a decode run (models/ipu/ipu_replay.h, `sparsepim run
// --units clocked`): the commands the policy library records for LFPS, TidalDecode and the
// compositions run through the clocked unit and agree with the library command by command (and
// with the cycle model the run charges); with FP32 scores only FP16 ties differ; a corrupted
// expectation is caught; k beyond every queue capacity is refused.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "fork_sim.h"
#include "models/common/errors.h"
#include "models/common/json_in_child.h"
#include "models/ipu/ipu_model.h"
#include "models/ipu/ipu_replay.h"
#include "models/policy/accuracy.h"
#include "workloads/decode_source.h"
#include "workloads/model_preset.h"
#include "workloads/npy.h"
#include "workloads/synthetic_config.h"

using namespace sparsepim;
using nlohmann::json;
using sparsepim::testing::run_in_child;

namespace {

const std::vector<std::string> kPolicies = {"lfps", "tidal", "starc+lfps", "starc+tidal"};
constexpr double kPeriodNs = 0.769;

// One policy's recorded commands, with the counts the run charges computed independently from
// the calls.
struct Recorded {
  ipu::IpuReplay replay;
  int64_t commands = 0;  // PREDICT + SELECT + REUSE flags over the calls
  uint64_t cycles = 0;   // call_cycles over the calls
};

// stories260K shapes (5 layers, 8/4 heads, d = 8), 300-token prompt, 20 steps (LFPS refreshes at
// the first step and every 16), budget 16: the library records every selection's commands.
std::map<std::string, Recorded> record(const std::vector<std::string>& overrides) {
  const auto model = workloads::load_model_preset("stories260k");
  workloads::SyntheticSource src(model, workloads::load_synthetic_params("synthetic"), 5, 300, 20);
  policy::AccuracyOptions o;
  o.policies = kPolicies;
  o.budgets = {16};
  o.params = policy::load_policy_params("default", overrides);
  o.model = {model.layers, model.q_heads, model.kv_heads, model.head_dim,
             model.profile.tidal_reselection_layer};
  o.record_ipu = true;
  std::map<std::string, Recorded> out;
  o.on_selection = [&](size_t, const policy::Policy& pol, const policy::StepInput& in,
                       const policy::Selection& sel, policy::KvCache&) {
    Recorded& r = out[pol.name()];
    r.replay.add(in, sel.work);
    for (const auto& c : sel.work.ipu) {
      r.commands += int64_t(c.predict) + int64_t(c.select) + int64_t(c.reuse);
      r.cycles += ipu::call_cycles(c);
    }
  };
  policy::evaluate_accuracy(src, o);
  return out;
}

std::string expect_eq(const json& a, const json& b, const std::string& what) {
  return a == b ? "" : what + ": " + a.dump() + " != " + b.dump() + "\n";
}

}  // namespace

TEST(IpuReplay, Fp16ScoresEveryCommandEqualsTheLibrary) {
  // The library ranks the FP16 scores the unit receives: every answer and every cycle count of
  // the clocked unit equals the library's choice and the run's cycle model.
  const auto rec = record({"index_prediction.scores=fp16"});
  for (const auto& name : kPolicies) {
    const Recorded& r = rec.at(name);
    EXPECT_GT(r.commands, 400) << name;
    EXPECT_TRUE(run_in_child([&] {
      const json v =
          ipu::replay_clocked(r.replay, policy::load_policy_params("default"), kPeriodNs);
      std::string e;
      e += expect_eq(v["commands"], r.commands, name + " commands");
      e += expect_eq(v["checked"], r.commands, name + " checked");
      e += expect_eq(v["equal_to_library"], r.commands, name + " equal");
      e += expect_eq(v["fp16_ties"], 0, name + " ties");
      e += expect_eq(v["mismatches"], 0, name + " mismatches " + v["first_mismatch"].dump());
      e += expect_eq(v["clocked_cycles"], r.cycles, name + " clocked cycles");
      e += expect_eq(v["model_cycles"], r.cycles, name + " model cycles");
      // 4 KV heads x 2 query heads over 3 sparse layers (LFPS), 2 selection layers (TidalDecode).
      const int streams = name == "lfps" || name == "starc+lfps" ? 3 * 8 : 2 * 8;
      e += expect_eq(v["streams"], streams, name + " streams");
      e += expect_eq(v["capacities"], json{{"64", (streams + 7) / 8}}, name + " capacities");
      return e;
    })) << name;
  }
}

TEST(IpuReplay, FloatScoresDifferOnlyByFp16Ties) {
  // The library ranks FP32 scores (the default): a SELECT may keep another of the positions tied
  // at the k-th FP16 score; everything else agrees, and SELECT cycles never depend on it.
  const auto rec = record({});
  int64_t ties = 0;
  for (const auto& name : kPolicies) {
    const Recorded& r = rec.at(name);
    const json v = json_in_child(  // one SystemC simulation per process
        [&] {
          return ipu::replay_clocked(r.replay, policy::load_policy_params("default"), kPeriodNs);
        },
        name);
    EXPECT_EQ(v["mismatches"], 0) << name << ": " << v["first_mismatch"];
    EXPECT_EQ(v["checked"], r.commands) << name;
    EXPECT_EQ(v["equal_to_library"].get<int64_t>() + v["fp16_ties"].get<int64_t>() +
                  v["after_fp16_tie"].get<int64_t>(),
              r.commands)
        << name;
    ties += v["fp16_ties"].get<int64_t>();
  }
  EXPECT_GT(ties, 0) << "no FP16 tie at all: the tie path was not exercised";
}

TEST(IpuReplay, ACorruptedExpectationIsAMismatch) {
  // The check is not vacuous: one wrong position in the library's SELECT answer, one in a
  // PREDICT's candidates, or one cycle more in the model, and the replay reports exactly that
  // command (and require_agreement throws, as `sparsepim run` then does).
  const auto rec = record({"index_prediction.scores=fp16"});
  struct Case {
    std::string policy;
    ipu::IpuOp op;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{{"lfps", ipu::kOpSelect, "differs from the policy"},
                                         {"starc+lfps", ipu::kOpPredict, "differs from the policy"},
                                         {"tidal", ipu::kOpReuse, "the cycle model charges"}}) {
    ipu::IpuReplay replay = rec.at(c.policy).replay;
    auto& cmds = replay.commands();
    size_t victim = cmds.size();
    for (size_t i = cmds.size() / 2; i < cmds.size() && victim == cmds.size(); ++i)
      if (cmds[i].command.op == c.op && !cmds[i].expect.empty()) victim = i;
    ASSERT_LT(victim, cmds.size()) << c.policy;
    if (c.op == ipu::kOpReuse)
      cmds[victim].model_cycles += 1;
    else
      cmds[victim].expect.back() += 100000;  // a position no cache of 320 tokens holds
    EXPECT_TRUE(run_in_child([&] {
      const json v = ipu::replay_clocked(replay, policy::load_policy_params("default"), kPeriodNs);
      std::string e = expect_eq(v["mismatches"], 1, c.policy + " mismatches");
      const std::string first = v["first_mismatch"].get<std::string>();
      if (first.find(c.message) == std::string::npos ||
          first.find("layer " + std::to_string(cmds[victim].layer)) == std::string::npos)
        e += "first mismatch: " + first + "\n";
      try {
        ipu::require_agreement(v);
        e += "require_agreement did not throw\n";
      } catch (const std::runtime_error& x) {
        if (std::string(x.what()).find("disagrees on 1 of") == std::string::npos)
          e += std::string("message: ") + x.what() + "\n";
      }
      return e;
    })) << c.policy;
  }
}

TEST(IpuReplay, TiesAreTiesAndNothingElse) {
  // Hand-made SELECTs (k = 2 of 4 pairs; scores 3, 2, 2, 1 in FP16) on three streams: the
  // library's answer {0, 1} equals the unit's; {0, 2} keeps the other tied position (an FP16 tie,
  // and the stream's next PREDICT then reads another history); {0, 3} drops a better position (a
  // mismatch).
  ipu::IpuReplay replay;
  auto select = [&](int head, std::vector<uint32_t> expect) {
    ipu::ReplayCommand r;
    r.position = 9;
    r.stream = {2, head};
    r.seq = replay.commands().size();
    r.command.op = ipu::kOpSelect;
    r.command.n = 10;
    r.command.k = 2;
    r.command.store = true;
    const float s[4] = {3, 2, 2, 1};
    for (uint32_t p = 0; p < 4; ++p) r.command.pairs.push_back({p, workloads::float_to_half(s[p])});
    r.expect = std::move(expect);
    r.model_cycles = ipu::select_cycles(4, 2, false);
    replay.commands().push_back(r);
  };
  select(0, {0, 1});
  select(1, {0, 2});
  select(2, {0, 3});
  ipu::ReplayCommand p;
  p.position = 10;
  p.stream = {2, 1};
  p.seq = replay.commands().size();
  p.command.op = ipu::kOpPredict;
  p.command.n = 11;
  p.expect = {0, 1, 2, 3};  // what the library's history {0, 2} would give: not what is stored
  replay.commands().push_back(p);
  EXPECT_TRUE(run_in_child([&] {
    policy::PolicyParams pp = policy::load_policy_params("default");
    pp.lfps.expansion = 0;
    pp.lfps.sinks = 0;
    pp.lfps.recent_window = 0;
    const json v = ipu::replay_clocked(replay, pp, kPeriodNs);
    std::string e;
    e += expect_eq(v["equal_to_library"], 1, "equal");
    e += expect_eq(v["fp16_ties"], 1, "ties");
    e += expect_eq(v["after_fp16_tie"], 1, "after a tie");
    e += expect_eq(v["mismatches"], 1, "mismatches");
    if (v["first_mismatch"].get<std::string>().find("query head 2") == std::string::npos)
      e += "first mismatch: " + v["first_mismatch"].get<std::string>() + "\n";
    return e;
  }));
}

TEST(IpuReplay, RefusesWhatTheUnitCannotRun) {
  policy::StepInput in;
  in.position = 1999;
  in.layer = 2;
  policy::SelectionWork w;
  policy::SelectionWork::IpuCall c;
  c.select = true;
  c.pairs = 1;
  c.k = 1025;
  c.pair_positions = {7};
  c.pair_scores = {0};
  c.selected = {7};
  w.ipu.push_back(c);
  ipu::IpuReplay r;
  try {
    r.add(in, w);
    ADD_FAILURE() << "k = 1025 accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("largest queue capacity (1024 cells)"), std::string::npos)
        << e.what();
  }
  w.ipu[0].k = 1024;
  r.add(in, w);
  EXPECT_EQ(r.size(), 1u);
  w.ipu[0].pair_positions.clear();  // counts without the data: not recorded
  EXPECT_THROW(r.add(in, w), std::logic_error);
}
