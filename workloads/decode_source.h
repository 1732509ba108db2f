#pragma once
// Where decode-step tensors come from: a trace directory or the synthetic generator. Both are
// read one (layer, KV head) at a time, so the statistics and the later system simulation hold
// one slice of the KV cache, never all of it.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "workloads/generator.h"
#include "workloads/trace.h"

namespace sparsepim::workloads {

class DecodeSource {
 public:
  virtual ~DecodeSource() = default;
  // tokens = rows of the KV cache after the last step.
  virtual TraceShape shape() const = 0;
  // Rows [first_step(), shape().tokens) are the decode steps; row t attends over rows 0..t.
  virtual int64_t first_step() const = 0;
  // Rows [0, rows) of one layer and KV head, [rows, head_dim] each; post-RoPE keys.
  // k_pre receives pre-RoPE keys when has_pre_rope(), else it is left alone (may be null).
  virtual void kv(int layer, int kv_head, int64_t rows, float* k, float* v, float* k_pre) = 0;
  virtual bool has_pre_rope() const = 0;
  // Query of row `row`, post-RoPE; q_pre as for kv.
  virtual void query(int layer, int q_head, int64_t row, float* q, float* q_pre) = 0;
  // The model preset when known (head patterns, outlier channels, TidalDecode layer).
  virtual const ModelPreset* model() const { return nullptr; }
  // The generator's role of a query head (head_role_letter), '?' when unknown.
  virtual char head_role(int /*layer*/, int /*q_head*/) { return '?'; }
  virtual nlohmann::json describe() = 0;
};

// A trace directory; the last `steps` rows are the decode steps (steps <= 0: all rows from 32
// on, or all rows but the first when T <= 32).
class TraceSource : public DecodeSource {
 public:
  TraceSource(const std::string& dir, int64_t steps);
  TraceShape shape() const override { return reader_.info().shape; }
  int64_t first_step() const override { return first_; }
  void kv(int layer, int kv_head, int64_t rows, float* k, float* v, float* k_pre) override;
  bool has_pre_rope() const override { return false; }
  void query(int layer, int q_head, int64_t row, float* q, float* q_pre) override;
  nlohmann::json describe() override;
  TraceReader& reader() { return reader_; }

 private:
  TraceReader reader_;
  int64_t first_ = 0;
  std::vector<float> buf_;
};

// The generator: a prompt of `context` tokens, then `steps` decode steps (rows context ..
// context+steps-1). ConfigError when context or steps are not positive or context + steps
// exceeds the model's max_context.
class SyntheticSource : public DecodeSource {
 public:
  SyntheticSource(const ModelPreset& model, const SyntheticParams& params, uint64_t seed,
                  int64_t context, int64_t steps);
  TraceShape shape() const override;
  int64_t first_step() const override { return context_; }
  void kv(int layer, int kv_head, int64_t rows, float* k, float* v, float* k_pre) override;
  bool has_pre_rope() const override { return true; }
  void query(int layer, int q_head, int64_t row, float* q, float* q_pre) override;
  const ModelPreset* model() const override { return &gen_.model(); }
  char head_role(int layer, int q_head) override {
    return head_role_letter(gen_.role(layer, q_head));
  }
  nlohmann::json describe() override;
  SyntheticGenerator& generator() { return gen_; }

 private:
  SyntheticGenerator gen_;
  int64_t context_, steps_;
};

// Checks context and steps against a model (shared by the source and the command line).
void check_workload_size(const ModelPreset& model, int64_t context, int64_t steps);

}  // namespace sparsepim::workloads
