#pragma once
// Constructors of the individual policies (make_policy dispatches by name) and the pieces tests
// check directly.
#include <memory>

#include "models/policy/policy.h"

namespace sparsepim::policy {

std::unique_ptr<Policy> make_dense(int64_t budget);
std::unique_ptr<Policy> make_topk(int64_t budget, const TopkParams& p);
std::unique_ptr<Policy> make_sparq(int64_t budget, const SparqParams& p);
std::unique_ptr<Policy> make_quest(int64_t budget, const QuestParams& p);
std::unique_ptr<Policy> make_starc(int64_t budget, const PolicyParams& p);
std::unique_ptr<Policy> make_tidal(int64_t budget, const PolicyParams& p, const ModelShape& m);
std::unique_ptr<Policy> make_lfps(int64_t budget, const PolicyParams& p);
std::unique_ptr<Policy> make_starc_tidal(int64_t budget, const PolicyParams& p,
                                         const ModelShape& m);
std::unique_ptr<Policy> make_starc_lfps(int64_t budget, const PolicyParams& p);

// SparQ's r for a head dimension.
int sparq_channels(const SparqParams& p, int head_dim);
// Quest's upper bound of q.k over a page with channel minima lo and maxima hi.
double quest_page_bound(const float* q, const float* lo, const float* hi, int d);

}  // namespace sparsepim::policy
