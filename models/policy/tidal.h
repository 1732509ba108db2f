#pragma once
// TidalDecode (Yang et al. 2024, arXiv 2410.05076): a few token-selection layers run full
// attention and keep each query head's top-k positions; every other layer attends only the
// latest selection's positions. The hooks choose() and reuse() are what a composition replaces.
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "models/policy/policy.h"

namespace sparsepim::policy {

class TidalPolicy : public Policy {
 public:
  TidalPolicy(std::string name, int64_t budget, const PolicyParams& p, const ModelShape& m);
  void select(const StepInput& in, Selection* out) final;
  // The selection layers (ascending).
  const std::vector<int>& selection_layers() const { return selection_layers_; }

 protected:
  using Picks = std::vector<std::vector<uint32_t>>;  // per query head of the group
  // A selection layer: fill out (what this layer attends and its work) and picks (what later
  // layers reuse). TidalDecode: full attention here; picks = the current token and the top
  // B - 1 others by exact score.
  virtual void choose(const StepInput& in, Selection* out, Picks* picks);
  // Any other layer: attend from the latest picks of the same step (positions index the same
  // tokens in every layer). TidalDecode: exactly those positions.
  virtual void reuse(const StepInput& in, const Picks& picks, Selection* out);
  // The index-prediction unit's commands for head g (counts, and the data with in.record_ipu):
  // SELECT the best k of `pairs` scored positions (their positions: `positions`, needed only
  // with in.record_ipu; append: then n - 1), answer `selected`, stored for the later layers;
  // REUSE of the stored `picks` by a later layer.
  void unit_select(const StepInput& in, int g, uint32_t pairs,
                   const std::vector<uint32_t>& positions, uint32_t k, bool append,
                   const std::vector<uint32_t>& selected, SelectionWork* work) const;
  void unit_reuse(const StepInput& in, int g, const std::vector<uint32_t>& picks,
                  SelectionWork* work) const;

  PolicyParams p_;
  std::vector<float> rounded_;  // FP16-rounded scores (index_prediction.scores = fp16)

 private:
  std::vector<int> selection_layers_;
  // (selection layer, step, KV head) -> picks
  std::map<std::tuple<int, int64_t, int>, Picks> picks_;
  int source_ = -1;  // the selection layer whose picks the current layer reuses
};

}  // namespace sparsepim::policy
