#pragma once
// Trace directories (../shared/README.md): q.npy [T, layers, q_heads, head_dim],
// k.npy and v.npy [T, layers, kv_heads, head_dim] (post-RoPE q and k; row t = the vectors of
// token t), optional tokens.npy int32 [T], and meta.json with the shapes and provenance.
// Decode step t attends with q[t] over k[0..t], v[0..t].
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/npy.h"

namespace sparsepim::workloads {

struct TraceShape {
  int64_t tokens = 0;
  int layers = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
};

struct TraceInfo {
  std::string dir;
  TraceShape shape;
  NpyDtype dtype = NpyDtype::kFloat32;
  bool has_tokens = false;
  nlohmann::json meta;
};

// Checks a trace directory without reading the data: the three files and meta.json exist, the
// headers are valid (see read_npy_header), the shapes agree with each other and with meta.json
// (layers, q_heads, kv_heads, head_dim, and steps = T and dtype when given), q_heads is a
// multiple of kv_heads. InputError naming the file and the mismatch.
TraceInfo inspect_trace(const std::string& dir);

// Reads a validated trace layer by layer: the K and V of one layer are read once (one
// contiguous read per token) and served per KV head; queries are read per row. Every value is
// checked for NaN/Inf as it is read.
class TraceReader {
 public:
  explicit TraceReader(const std::string& dir);
  const TraceInfo& info() const { return info_; }
  // [T, head_dim] of one layer and KV head, rows 0..T-1.
  void keys(int layer, int kv_head, float* out);
  void values(int layer, int kv_head, float* out);
  // [head_dim] query of one layer, query head and row.
  void query(int layer, int q_head, int64_t row, float* out);
  // Reads every value of the three arrays (the NaN/Inf check of the whole trace).
  void validate_all();

 private:
  void load_layer(int layer);
  TraceInfo info_;
  std::unique_ptr<NpyFloatReader> q_, k_, v_;
  int cached_layer_ = -1;
  std::vector<float> k_slab_, v_slab_;  // [T, kv_heads, head_dim] of cached_layer_
};

// Writes a trace directory row by row: append_rows takes n consecutive rows of q
// [n, layers, q_heads, d], k and v [n, layers, kv_heads, d]; close() checks the row count and
// writes meta.json (the given provenance plus the shape keys).
class TraceWriter {
 public:
  TraceWriter(const std::string& dir, const TraceShape& shape, NpyDtype dtype, nlohmann::json meta);
  void append_rows(const float* q, const float* k, const float* v, int64_t rows);
  void close();

 private:
  std::string dir_;
  TraceShape shape_;
  NpyDtype dtype_;
  nlohmann::json meta_;
  std::unique_ptr<NpyWriter> q_, k_, v_;
  int64_t rows_ = 0;
};

}  // namespace sparsepim::workloads
