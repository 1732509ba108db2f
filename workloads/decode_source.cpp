#include "workloads/decode_source.h"

#include <algorithm>

#include "models/common/errors.h"

namespace sparsepim::workloads {

TraceSource::TraceSource(const std::string& dir, int64_t steps) : reader_(dir) {
  const int64_t T = reader_.info().shape.tokens;
  if (T < 2) throw InputError(dir + ": a trace needs at least 2 rows");
  if (steps > 0) {
    if (steps > T - 1)
      throw ConfigError("--steps " + std::to_string(steps) + " exceeds the trace's " +
                        std::to_string(T - 1) + " decode rows (" + std::to_string(T) +
                        " rows, the first has nothing to attend to but itself)");
    first_ = T - steps;
  } else {
    first_ = T > 64 ? 32 : 1;
  }
}

void TraceSource::kv(int layer, int kv_head, int64_t rows, float* k, float* v, float*) {
  const TraceShape s = shape();
  if (rows == s.tokens) {
    reader_.keys(layer, kv_head, k);
    reader_.values(layer, kv_head, v);
    return;
  }
  buf_.resize(size_t(s.tokens) * s.head_dim);
  reader_.keys(layer, kv_head, buf_.data());
  std::copy(buf_.begin(), buf_.begin() + rows * s.head_dim, k);
  reader_.values(layer, kv_head, buf_.data());
  std::copy(buf_.begin(), buf_.begin() + rows * s.head_dim, v);
}

void TraceSource::query(int layer, int q_head, int64_t row, float* q, float*) {
  reader_.query(layer, q_head, row, q);
}

nlohmann::json TraceSource::describe() {
  nlohmann::json j;
  j["trace"] = reader_.info().dir;
  j["dtype"] = npy_dtype_name(reader_.info().dtype);
  j["meta"] = reader_.info().meta;
  return j;
}

void check_workload_size(const ModelPreset& model, int64_t context, int64_t steps) {
  if (context <= 0)
    throw ConfigError("--context must be a positive number of tokens, got " +
                      std::to_string(context));
  if (steps <= 0)
    throw ConfigError("--steps must be a positive number of decode steps, got " +
                      std::to_string(steps));
  if (context + steps > model.max_context)
    throw ConfigError("context + steps (" + std::to_string(context) + " + " +
                      std::to_string(steps) + ") exceeds " + model.name + "'s max_context " +
                      std::to_string(model.max_context));
}

SyntheticSource::SyntheticSource(const ModelPreset& model, const SyntheticParams& params,
                                 uint64_t seed, int64_t context, int64_t steps)
    : gen_((check_workload_size(model, context, steps), model), params, seed),
      context_(context),
      steps_(steps) {}

TraceShape SyntheticSource::shape() const {
  const ModelPreset& m = gen_.model();
  TraceShape s;
  s.tokens = context_ + steps_;
  s.layers = m.layers;
  s.q_heads = m.q_heads;
  s.kv_heads = m.kv_heads;
  s.head_dim = m.head_dim;
  return s;
}

void SyntheticSource::kv(int layer, int kv_head, int64_t rows, float* k, float* v, float* k_pre) {
  gen_.keys_values(layer, kv_head, 0, rows, k, v, k_pre);
}

void SyntheticSource::query(int layer, int q_head, int64_t row, float* q, float* q_pre) {
  gen_.query(layer, q_head, row, q, q_pre);
}

nlohmann::json SyntheticSource::describe() {
  nlohmann::json j;
  j["model"] = gen_.model().name;
  j["model_file"] = gen_.model().source_file;
  j["params_file"] = gen_.params().source_file;
  j["context"] = context_;
  j["steps"] = steps_;
  j["seed"] = gen_.seed();
  return j;
}

}  // namespace sparsepim::workloads
