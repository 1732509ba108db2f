// lfps: index prediction from vertical and slash patterns (DESIGN.md 3). Candidates are the
// previous step's top-k positions (vertical), the same shifted by +1 (slash), +-w neighbours of
// both, the sinks and a recent window; only candidates are scored exactly and the best B kept.
// A full exact top-k runs every refresh_interval steps, when a head has no history for the
// previous step, or when fewer than min_candidates_factor * B candidates are found. Defaults and
// why: configs/policies/default.json and docs/accuracy.md.
#include "models/policy/lfps.h"

#include <algorithm>
#include <numeric>

#include "models/policy/policies.h"

namespace sparsepim::policy {

LfpsPolicy::LfpsPolicy(std::string name, int64_t budget, const PolicyParams& p, int dense_layers)
    : SparsePolicy(std::move(name), budget, dense_layers), p_(p) {}

void LfpsPolicy::candidates(const std::vector<uint32_t>& history, int64_t n, const LfpsParams& p,
                            std::vector<uint32_t>* out) {
  out->clear();
  const int64_t w = p.expansion;
  for (uint32_t h : history) {
    const int64_t lo = std::max<int64_t>(0, int64_t(h) - w);
    const int64_t hi = std::min<int64_t>(n - 1, int64_t(h) + 1 + w);
    for (int64_t j = lo; j <= hi; ++j) out->push_back(uint32_t(j));
  }
  for (int64_t j = 0; j < std::min<int64_t>(p.sinks, n); ++j) out->push_back(uint32_t(j));
  for (int64_t j = std::max<int64_t>(0, n - p.recent_window); j < n; ++j)
    out->push_back(uint32_t(j));
  sort_unique(out);
}

void LfpsPolicy::select_sparse(const StepInput& in, Selection* out) {
  const int64_t n = in.n();
  scanned_all_ = false;
  for (int g = 0; g < in.group; ++g) {
    History& h = history_[{in.layer, in.first_q_head + g}];
    bool full = h.step != in.position - 1 ||
                (p_.lfps.refresh_interval > 0 && h.since_refresh + 1 >= p_.lfps.refresh_interval);
    SelectionWork::IpuCall call;
    call.q_head = in.first_q_head + g;
    call.history_layer = in.layer;
    if (!full) {
      candidates(h.picks, n, p_.lfps, &cand_);
      // The unit's PREDICT (also when its candidates then prove too few).
      call.predict = true;
      call.history = uint32_t(h.picks.size());
      call.candidates = uint32_t(cand_.size());
      if (in.record_ipu) call.predicted = cand_;
      full = collapsed(in, cand_);
    }
    auto& pos = out->positions[size_t(g)];
    if (full) {
      refresh(in, g, &pos, &out->work);
      h.since_refresh = 0;
      ++refreshes_;
    } else {
      out->work.history_positions += int64_t(h.picks.size());
      predict(in, g, cand_, &pos, &out->work);
      ++h.since_refresh;
      ++predictions_;
    }
    remember(in, g, pos, &h.picks);
    unit_select(in, g, full, pos, h.picks, &call);
    out->work.ipu.push_back(std::move(call));
    h.step = in.position;
  }
  if (scanned_all_) {
    out->work.scanned.resize(size_t(n));
    std::iota(out->work.scanned.begin(), out->work.scanned.end(), 0u);
  } else {
    sort_unique(&out->work.scanned);
  }
  if (!out->work.scanned.empty()) out->work.key_channels = in.cache->head_dim();
}

void LfpsPolicy::predict(const StepInput& in, int g, const std::vector<uint32_t>& cand,
                         std::vector<uint32_t>* positions, SelectionWork* work) {
  top_k_of(unit_scores(in, g, p_.index_prediction.fp16_scores, &rounded_), cand, budget_,
           positions);
  work->scanned.insert(work->scanned.end(), cand.begin(), cand.end());
}

bool LfpsPolicy::collapsed(const StepInput&, const std::vector<uint32_t>& cand) {
  return double(cand.size()) < p_.lfps.min_candidates_factor * double(budget_);
}

void LfpsPolicy::refresh(const StepInput& in, int g, std::vector<uint32_t>* positions,
                         SelectionWork*) {
  top_k_all(unit_scores(in, g, p_.index_prediction.fp16_scores, &rounded_), in.n(), budget_,
            positions);
  scanned_all_ = true;
}

void LfpsPolicy::unit_select(const StepInput& in, int g, bool full, const std::vector<uint32_t>&,
                             const std::vector<uint32_t>& history, SelectionWork::IpuCall* call) {
  call->select = true;
  call->pairs = uint32_t(full ? in.n() : int64_t(cand_.size()));
  call->k = uint32_t(budget_);
  if (!in.record_ipu) return;
  if (full) {
    std::vector<uint32_t> all(size_t(in.n()));
    std::iota(all.begin(), all.end(), 0u);
    record_pairs(in, g, all, call);
  } else {
    record_pairs(in, g, cand_, call);
  }
  call->selected = history;
}

void LfpsPolicy::remember(const StepInput&, int, const std::vector<uint32_t>& positions,
                          std::vector<uint32_t>* history) {
  *history = positions;
}

std::unique_ptr<Policy> make_lfps(int64_t budget, const PolicyParams& p) {
  return std::make_unique<LfpsPolicy>("lfps", budget, p, p.lfps.dense_layers);
}

}  // namespace sparsepim::policy
