// dense: every token, every layer (the reference the others are measured against).
#include "models/policy/policies.h"
#include "models/policy/selection_util.h"

namespace sparsepim::policy {

namespace {
class DensePolicy : public Policy {
 public:
  explicit DensePolicy(int64_t budget) : Policy("dense", budget) {}
  void select(const StepInput& in, Selection* out) override { select_dense(in, out); }
};
}  // namespace

std::unique_ptr<Policy> make_dense(int64_t budget) {
  return std::make_unique<DensePolicy>(budget);
}

}  // namespace sparsepim::policy
