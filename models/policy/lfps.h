#pragma once
// LFPS-style index prediction: this step's top-k predicted from the previous step's, so the full
// key scan is skipped. The hooks predict(), refresh() and remember() are what a composition
// replaces.
#include <map>
#include <utility>
#include <vector>

#include "models/policy/policy_base.h"

namespace sparsepim::policy {

class LfpsPolicy : public SparsePolicy {
 public:
  LfpsPolicy(std::string name, int64_t budget, const PolicyParams& p, int dense_layers);

  // The candidates of a history (ascending, distinct, in [0, n)): each previous pick p as a
  // vertical hit, p + 1 as a slash hit (a fixed relative offset moves one token per step), both
  // with +-w neighbours, the sink tokens and the recent window.
  static void candidates(const std::vector<uint32_t>& history, int64_t n, const LfpsParams& p,
                         std::vector<uint32_t>* out);

  // Steps that ran a full refresh (for reports and tests).
  int64_t refreshes() const { return refreshes_; }
  int64_t predictions() const { return predictions_; }

 protected:
  void select_sparse(const StepInput& in, Selection* out) override;

  // Prediction for head g from its candidates: LFPS scores them exactly and keeps the best B.
  // Appends scanned positions to work->scanned.
  virtual void predict(const StepInput& in, int g, const std::vector<uint32_t>& cand,
                       std::vector<uint32_t>* positions, SelectionWork* work);
  // A full refresh: exact top-B over every key.
  virtual void refresh(const StepInput& in, int g, std::vector<uint32_t>* positions,
                       SelectionWork* work);
  // Whether the candidates are too few to fill the budget (then a fallback refresh): LFPS
  // compares their count with min_candidates_factor * B.
  virtual bool collapsed(const StepInput& in, const std::vector<uint32_t>& cand);
  // What the next step predicts from: LFPS keeps this step's picks.
  virtual void remember(const StepInput& in, int g, const std::vector<uint32_t>& positions,
                        std::vector<uint32_t>* history);
  // The index-prediction unit's SELECT that leaves `history` in its store (counts in call, and
  // the data with in.record_ipu). LFPS: the top B of the candidates (all n on a refresh).
  virtual void unit_select(const StepInput& in, int g, bool full,
                           const std::vector<uint32_t>& positions,
                           const std::vector<uint32_t>& history, SelectionWork::IpuCall* call);

  PolicyParams p_;
  bool scanned_all_ = false;    // a refresh of this step scanned every key
  std::vector<float> rounded_;  // FP16-rounded scores (index_prediction.scores = fp16)
  std::vector<uint32_t> cand_;

 private:
  struct History {
    int64_t step = -1;
    int64_t since_refresh = 0;
    std::vector<uint32_t> picks;
  };
  std::map<std::pair<int, int>, History> history_;  // (layer, query head)
  int64_t refreshes_ = 0, predictions_ = 0;
};

}  // namespace sparsepim::policy
