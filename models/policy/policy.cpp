#include "models/policy/policy.h"

#include "models/common/errors.h"
#include "models/policy/policies.h"

namespace sparsepim::policy {

const std::vector<std::string>& policy_names() {
  static const std::vector<std::string> names = {
      "dense", "topk", "sparq", "quest", "starc", "tidal", "lfps", "starc+tidal", "starc+lfps"};
  return names;
}

std::unique_ptr<Policy> make_policy(const std::string& name, int64_t budget, const PolicyParams& p,
                                    const ModelShape& m) {
  if (budget < 1)
    throw ConfigError("budget must be at least 1 token, got " + std::to_string(budget));
  if (m.layers < 1 || m.q_heads < 1 || m.kv_heads < 1 || m.head_dim < 1 ||
      m.q_heads % m.kv_heads != 0)
    throw ConfigError("policy: impossible model shape");
  if (name == "dense") return make_dense(budget);
  if (name == "topk") return make_topk(budget, p.topk);
  if (name == "sparq") return make_sparq(budget, p.sparq);
  if (name == "quest") return make_quest(budget, p.quest);
  if (name == "starc") return make_starc(budget, p);
  if (name == "tidal") return make_tidal(budget, p, m);
  if (name == "lfps") return make_lfps(budget, p);
  if (name == "starc+tidal") return make_starc_tidal(budget, p, m);
  if (name == "starc+lfps") return make_starc_lfps(budget, p);
  std::string known;
  for (const auto& n : policy_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("unknown policy '" + name + "' (known: " + known + ")");
}

}  // namespace sparsepim::policy
