#pragma once
// The part every sparse policy shares: dense in its first layers and whenever the budget covers
// the whole context (a budget at or above the context means dense).
#include "models/policy/policy.h"
#include "models/policy/selection_util.h"

namespace sparsepim::policy {

class SparsePolicy : public Policy {
 public:
  void select(const StepInput& in, Selection* out) final {
    if (in.layer < dense_layers_ || budget_ >= in.n()) {
      select_dense(in, out);
      return;
    }
    out->clear(in.group);
    select_sparse(in, out);
    finish_fetch(out);
  }

 protected:
  SparsePolicy(std::string name, int64_t budget, int dense_layers)
      : Policy(std::move(name), budget), dense_layers_(dense_layers) {}
  // Fills out->positions (ascending, distinct, at most budget per head) and the work except
  // `fetched`, which is the union of the positions.
  virtual void select_sparse(const StepInput& in, Selection* out) = 0;
  int dense_layers_;
};

}  // namespace sparsepim::policy
