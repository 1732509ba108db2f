// tidal: TidalDecode's position-persistent sparse attention. Layers 0-1 dense; layer 2 and the
// re-selection layer (13 for Llama-3.x, 7 for Llama-2-7B) attend fully and select per query head
// (the current token always kept, counting toward the budget); the layers after each reuse its
// positions in their own caches. Under GQA the KV rows fetched are the union over the group.
#include "models/policy/tidal.h"

#include <algorithm>
#include <numeric>

#include "models/common/errors.h"
#include "models/policy/policies.h"
#include "models/policy/selection_util.h"

namespace sparsepim::policy {

TidalPolicy::TidalPolicy(std::string name, int64_t budget, const PolicyParams& p,
                         const ModelShape& m)
    : Policy(std::move(name), budget), p_(p) {
  const TidalParams& t = p.tidal;
  const int re = t.reselection_layer == 0 ? m.tidal_reselection_layer : t.reselection_layer;
  if (t.selection_layer < t.dense_layers || t.selection_layer >= m.layers)
    throw ConfigError("tidal: selection layer " + std::to_string(t.selection_layer) +
                      " must lie in [dense_layers, layers) = [" + std::to_string(t.dense_layers) +
                      ", " + std::to_string(m.layers) + ")");
  selection_layers_.push_back(t.selection_layer);
  if (re > 0) {
    if (re <= t.selection_layer || re >= m.layers)
      throw ConfigError("tidal: re-selection layer " + std::to_string(re) +
                        " must lie after the selection layer " + std::to_string(t.selection_layer) +
                        " and before the model's " + std::to_string(m.layers) + " layers");
    selection_layers_.push_back(re);
  } else if (t.reselection_layer == 0 && m.tidal_reselection_layer == 0) {
    throw ConfigError(
        "tidal: the model names no re-selection layer; set tidal.reselection_layer (a layer, or "
        "-1 for none)");
  }
}

void TidalPolicy::select(const StepInput& in, Selection* out) {
  if (in.layer < p_.tidal.dense_layers || budget_ >= in.n()) {
    select_dense(in, out);
    return;
  }
  int source = -1;
  for (int s : selection_layers_)
    if (s <= in.layer) source = s;
  if (source < 0) {  // between the dense layers and the first selection layer
    select_dense(in, out);
    return;
  }
  if (source == in.layer) {
    Picks picks;
    choose(in, out, &picks);
    // Kept for every step: layer-major callers read them after all steps of this layer.
    picks_[{in.layer, in.position, in.kv_head}] = std::move(picks);
    return;
  }
  const auto it = picks_.find({source, in.position, in.kv_head});
  if (it == picks_.end())
    throw std::logic_error("tidal: layer " + std::to_string(in.layer) + " of step " +
                           std::to_string(in.position) + " before its selection layer " +
                           std::to_string(source));
  out->clear(in.group);
  source_ = source;
  reuse(in, it->second, out);
  int64_t history = 0;
  for (const auto& h : it->second) history += int64_t(h.size());
  out->work.history_positions = history;
  finish_fetch(out);
}

void TidalPolicy::choose(const StepInput& in, Selection* out, Picks* picks) {
  select_dense(in, out);
  out->work.scanned = out->work.fetched;
  out->work.key_channels = in.cache->head_dim();
  const int64_t n = in.n();
  picks->assign(size_t(in.group), {});
  std::vector<uint32_t> others;
  if (in.record_ipu) {
    others.resize(size_t(n - 1));
    std::iota(others.begin(), others.end(), 0u);
  }
  for (int g = 0; g < in.group; ++g) {
    auto& pk = (*picks)[size_t(g)];
    // The others, then the current token.
    top_k_all(unit_scores(in, g, p_.index_prediction.fp16_scores, &rounded_), n - 1, budget_ - 1,
              &pk);
    pk.push_back(uint32_t(n - 1));
    // The unit's top-k over the scores, the current token after.
    unit_select(in, g, uint32_t(n - 1), others, uint32_t(budget_ - 1), true, pk, &out->work);
  }
}

void TidalPolicy::reuse(const StepInput& in, const Picks& picks, Selection* out) {
  out->positions = picks;
  for (int g = 0; g < in.group; ++g) unit_reuse(in, g, picks[size_t(g)], &out->work);
}

void TidalPolicy::unit_select(const StepInput& in, int g, uint32_t pairs,
                              const std::vector<uint32_t>& positions, uint32_t k, bool append,
                              const std::vector<uint32_t>& selected, SelectionWork* work) const {
  SelectionWork::IpuCall call;
  call.select = true;
  call.pairs = pairs;
  call.k = k;
  call.append = append;
  call.q_head = in.first_q_head + g;
  call.history_layer = in.layer;
  if (in.record_ipu) {
    record_pairs(in, g, positions, &call);
    call.selected = selected;
  }
  work->ipu.push_back(std::move(call));
}

void TidalPolicy::unit_reuse(const StepInput& in, int g, const std::vector<uint32_t>& picks,
                             SelectionWork* work) const {
  SelectionWork::IpuCall call;
  call.reuse = true;
  call.reused = uint32_t(picks.size());
  call.q_head = in.first_q_head + g;
  call.history_layer = source_;
  if (in.record_ipu) call.reused_positions = picks;
  work->ipu.push_back(std::move(call));
}

std::unique_ptr<Policy> make_tidal(int64_t budget, const PolicyParams& p, const ModelShape& m) {
  return std::make_unique<TidalPolicy>("tidal", budget, p, m);
}

}  // namespace sparsepim::policy
