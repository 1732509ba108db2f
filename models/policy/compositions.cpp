// Compositions none of the papers evaluated (DESIGN.md 3), each a few lines on the hooks of
// TidalDecode and LFPS and STARC's cluster picker:
//  - starc+tidal: the selection layers pick clusters by centroid score (no full scan anywhere);
//    the other layers map those positions to their own clusters (position -> cluster) and take
//    the clusters with the most hits whole. The index-prediction unit keeps the picks: a SELECT
//    of all of them (k = their count) stores them, the later layers REUSE them.
//  - starc+lfps: the history (the best attended tokens of the previous step) predicts clusters:
//    LFPS candidates mapped to clusters, taken whole by hits; refresh = a STARC step. The unit
//    PREDICTs the candidates and SELECTs the history (the best of the attended tokens) into its
//    store.
#include <algorithm>
#include <cmath>

#include "models/policy/lfps.h"
#include "models/policy/policies.h"
#include "models/policy/starc.h"
#include "models/policy/tidal.h"

namespace sparsepim::policy {

namespace {

void centroid_work(const StepInput& in, int64_t items, SelectionWork* w) {
  w->metadata_items += items;
  w->metadata_bytes += items * in.cache->head_dim() * 2;  // FP16 centroids
}

class StarcTidal : public TidalPolicy {
 public:
  StarcTidal(int64_t budget, const PolicyParams& p, const ModelShape& m)
      : TidalPolicy("starc+tidal", budget, p, m) {}
  bool cluster_layout() const override { return true; }

 protected:
  void choose(const StepInput& in, Selection* out, Picks* picks) override {
    const ClusterStore& store = starc_store(in, p_);
    out->clear(in.group);
    for (int g = 0; g < in.group; ++g)
      picker_.by_centroid(in, store, g, budget_, &out->positions[size_t(g)]);
    centroid_work(in, store.clusters(), &out->work);
    finish_fetch(out);
    *picks = out->positions;
    // Into the index-prediction unit's store: every pick kept (k = their count), with the
    // scores the attention computes for them.
    for (int g = 0; g < in.group; ++g) {
      const auto& pk = (*picks)[size_t(g)];
      unit_select(in, g, uint32_t(pk.size()), pk, uint32_t(pk.size()), false, pk, &out->work);
    }
  }
  void reuse(const StepInput& in, const Picks& picks, Selection* out) override {
    // The positions come from the index-prediction unit's store.
    for (int g = 0; g < in.group; ++g) unit_reuse(in, g, picks[size_t(g)], &out->work);
    const ClusterStore& store = starc_store(in, p_);
    for (int g = 0; g < in.group; ++g)
      picker_.by_votes(in, store, g, budget_, picks[size_t(g)], &out->positions[size_t(g)]);
  }

 private:
  ClusterPicker picker_;
};

class StarcLfps : public LfpsPolicy {
 public:
  // Dense layers as STARC's: its clusters are what this policy selects.
  StarcLfps(int64_t budget, const PolicyParams& p)
      : LfpsPolicy("starc+lfps", budget, p, p.starc.dense_layers) {}
  bool cluster_layout() const override { return true; }

 protected:
  void predict(const StepInput& in, int g, const std::vector<uint32_t>& cand,
               std::vector<uint32_t>* positions, SelectionWork* work) override {
    const int64_t scored = picker_.by_votes(in, starc_store(in, p_), g, budget_, cand, positions);
    centroid_work(in, scored, work);
  }
  void refresh(const StepInput& in, int g, std::vector<uint32_t>* positions,
               SelectionWork* work) override {
    const ClusterStore& store = starc_store(in, p_);
    picker_.by_centroid(in, store, g, budget_, positions);
    centroid_work(in, store.clusters(), work);
  }
  // Too few when the candidate clusters and the recent tokens cannot fill the budget.
  bool collapsed(const StepInput& in, const std::vector<uint32_t>& cand) override {
    const ClusterStore& store = starc_store(in, p_);
    std::vector<char> hit(size_t(store.clusters()), 0);
    int64_t tokens = in.n() - store.clustered_tokens();
    for (uint32_t p : cand)
      if (int64_t(p) < store.clustered_tokens()) {
        const int64_t c = store.cluster_of(p);
        if (!hit[size_t(c)]) tokens += store.size(c);
        hit[size_t(c)] = 1;
      }
    return double(tokens) < p_.lfps.min_candidates_factor * double(budget_);
  }
  void remember(const StepInput& in, int g, const std::vector<uint32_t>& positions,
                std::vector<uint32_t>* history) override {
    top_k_of(unit_scores(in, g, p_.index_prediction.fp16_scores, &rounded_), positions, keep(),
             history);
  }
  // The unit ranks the attended positions and stores the best as the history.
  void unit_select(const StepInput& in, int g, bool, const std::vector<uint32_t>& positions,
                   const std::vector<uint32_t>& history, SelectionWork::IpuCall* call) override {
    call->select = true;
    call->pairs = uint32_t(positions.size());
    call->k = uint32_t(keep());
    if (!in.record_ipu) return;
    record_pairs(in, g, positions, call);
    call->selected = history;
  }
  int64_t keep() const {
    return std::max<int64_t>(1, std::llround(p_.starc_lfps.history_fraction * double(budget_)));
  }

 private:
  ClusterPicker picker_;
};

}  // namespace

std::unique_ptr<Policy> make_starc_tidal(int64_t budget, const PolicyParams& p,
                                         const ModelShape& m) {
  return std::make_unique<StarcTidal>(budget, p, m);
}

std::unique_ptr<Policy> make_starc_lfps(int64_t budget, const PolicyParams& p) {
  return std::make_unique<StarcLfps>(budget, p);
}

}  // namespace sparsepim::policy
