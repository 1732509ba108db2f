#include "workloads/trace.h"

#include <filesystem>
#include <fstream>

#include "models/common/errors.h"

namespace sparsepim::workloads {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t meta_int(const json& meta, const std::string& key, const std::string& path) {
  if (!meta.contains(key)) throw InputError(path + ": missing key '" + key + "'");
  const json& v = meta[key];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0)
    throw InputError(path + ": '" + key + "' must be a positive integer, got " + v.dump());
  return v.get<int64_t>();
}

}  // namespace

TraceInfo inspect_trace(const std::string& dir) {
  if (!fs::is_directory(dir)) throw InputError("trace directory '" + dir + "' does not exist");
  TraceInfo info;
  info.dir = dir;
  const std::string meta_path = (fs::path(dir) / "meta.json").string();
  {
    std::ifstream in(meta_path);
    if (!in) throw InputError(meta_path + ": missing (every trace needs a meta.json)");
    try {
      info.meta = json::parse(in);
    } catch (const json::parse_error& e) {
      throw InputError(meta_path + ": invalid JSON: " + e.what());
    }
    if (!info.meta.is_object()) throw InputError(meta_path + ": expected a JSON object");
  }
  TraceShape& s = info.shape;
  s.layers = int(meta_int(info.meta, "layers", meta_path));
  s.q_heads = int(meta_int(info.meta, "q_heads", meta_path));
  s.kv_heads = int(meta_int(info.meta, "kv_heads", meta_path));
  s.head_dim = int(meta_int(info.meta, "head_dim", meta_path));
  if (s.q_heads % s.kv_heads != 0)
    throw InputError(meta_path + ": q_heads (" + std::to_string(s.q_heads) +
                     ") is not a multiple of kv_heads (" + std::to_string(s.kv_heads) + ")");

  NpyHeader hq, hk, hv;
  const std::string pq = (fs::path(dir) / "q.npy").string();
  const std::string pk = (fs::path(dir) / "k.npy").string();
  const std::string pv = (fs::path(dir) / "v.npy").string();
  for (const auto& p : {pq, pk, pv})
    if (!fs::exists(p)) throw InputError(p + ": missing");
  hq = read_npy_header(pq);
  hk = read_npy_header(pk);
  hv = read_npy_header(pv);
  for (const auto* h : {&hq, &hk, &hv}) {
    const std::string& p = h == &hq ? pq : h == &hk ? pk : pv;
    if (h->dtype == NpyDtype::kInt32)
      throw InputError(p + ": unsupported dtype int32 (q, k, v must be float32 or float16)");
    if (h->shape.size() != 4)
      throw InputError(p + ": expected 4 dimensions [T, layers, heads, head_dim], got " +
                       shape_str(h->shape));
  }
  s.tokens = hq.shape[0];
  if (s.tokens < 1) throw InputError(pq + ": no rows");
  const std::vector<int64_t> want_q = {s.tokens, s.layers, s.q_heads, s.head_dim};
  const std::vector<int64_t> want_kv = {s.tokens, s.layers, s.kv_heads, s.head_dim};
  if (hq.shape != want_q)
    throw InputError(pq + ": shape " + shape_str(hq.shape) + " does not match meta.json (" +
                     shape_str(want_q) + " for T = " + std::to_string(s.tokens) + ")");
  if (hk.shape != want_kv)
    throw InputError(pk + ": shape " + shape_str(hk.shape) +
                     " does not match q.npy and meta.json (" + shape_str(want_kv) + ")");
  if (hv.shape != want_kv)
    throw InputError(pv + ": shape " + shape_str(hv.shape) + " does not match k.npy (" +
                     shape_str(want_kv) + ")");
  if (hk.dtype != hq.dtype || hv.dtype != hq.dtype)
    throw InputError(dir + ": q.npy, k.npy and v.npy have different dtypes (" +
                     npy_dtype_name(hq.dtype) + ", " + npy_dtype_name(hk.dtype) + ", " +
                     npy_dtype_name(hv.dtype) + ")");
  info.dtype = hq.dtype;
  if (info.meta.contains("steps") && meta_int(info.meta, "steps", meta_path) != s.tokens)
    throw InputError(meta_path + ": steps = " + info.meta["steps"].dump() + " but q.npy has " +
                     std::to_string(s.tokens) + " rows");
  if (info.meta.contains("dtype")) {
    const json& d = info.meta["dtype"];
    if (!d.is_string() || d.get<std::string>() != npy_dtype_name(info.dtype))
      throw InputError(meta_path + ": dtype " + d.dump() + " but the arrays are " +
                       npy_dtype_name(info.dtype));
  }
  const std::string pt = (fs::path(dir) / "tokens.npy").string();
  if (fs::exists(pt)) {
    const NpyHeader ht = read_npy_header(pt);
    if (ht.dtype != NpyDtype::kInt32 || ht.shape != std::vector<int64_t>{s.tokens})
      throw InputError(pt + ": expected int32 [" + std::to_string(s.tokens) + "], got " +
                       npy_dtype_name(ht.dtype) + " " + shape_str(ht.shape));
    info.has_tokens = true;
  }
  return info;
}

TraceReader::TraceReader(const std::string& dir) : info_(inspect_trace(dir)) {
  q_ = std::make_unique<NpyFloatReader>((fs::path(dir) / "q.npy").string());
  k_ = std::make_unique<NpyFloatReader>((fs::path(dir) / "k.npy").string());
  v_ = std::make_unique<NpyFloatReader>((fs::path(dir) / "v.npy").string());
}

void TraceReader::load_layer(int layer) {
  if (layer == cached_layer_) return;
  const TraceShape& s = info_.shape;
  if (layer < 0 || layer >= s.layers) throw InputError("layer out of range");
  const uint64_t row = uint64_t(s.kv_heads) * s.head_dim;
  k_slab_.resize(uint64_t(s.tokens) * row);
  v_slab_.resize(uint64_t(s.tokens) * row);
  for (int64_t t = 0; t < s.tokens; ++t) {
    const uint64_t first = (uint64_t(t) * s.layers + layer) * row;
    k_->read(first, row, k_slab_.data() + uint64_t(t) * row);
    v_->read(first, row, v_slab_.data() + uint64_t(t) * row);
  }
  cached_layer_ = layer;
}

void TraceReader::keys(int layer, int kv_head, float* out) {
  load_layer(layer);
  const TraceShape& s = info_.shape;
  const uint64_t row = uint64_t(s.kv_heads) * s.head_dim;
  for (int64_t t = 0; t < s.tokens; ++t)
    for (int c = 0; c < s.head_dim; ++c)
      out[uint64_t(t) * s.head_dim + c] =
          k_slab_[uint64_t(t) * row + uint64_t(kv_head) * s.head_dim + c];
}

void TraceReader::values(int layer, int kv_head, float* out) {
  load_layer(layer);
  const TraceShape& s = info_.shape;
  const uint64_t row = uint64_t(s.kv_heads) * s.head_dim;
  for (int64_t t = 0; t < s.tokens; ++t)
    for (int c = 0; c < s.head_dim; ++c)
      out[uint64_t(t) * s.head_dim + c] =
          v_slab_[uint64_t(t) * row + uint64_t(kv_head) * s.head_dim + c];
}

void TraceReader::query(int layer, int q_head, int64_t row, float* out) {
  const TraceShape& s = info_.shape;
  const uint64_t first =
      ((uint64_t(row) * s.layers + layer) * s.q_heads + uint64_t(q_head)) * s.head_dim;
  q_->read(first, uint64_t(s.head_dim), out);
}

void TraceReader::validate_all() {
  std::vector<float> buf(1 << 16);
  for (NpyFloatReader* r : {q_.get(), k_.get(), v_.get()}) {
    const uint64_t n = r->header().elements();
    for (uint64_t i = 0; i < n; i += buf.size())
      r->read(i, std::min<uint64_t>(buf.size(), n - i), buf.data());
  }
}

TraceWriter::TraceWriter(const std::string& dir, const TraceShape& shape, NpyDtype dtype, json meta)
    : dir_(dir), shape_(shape), dtype_(dtype), meta_(std::move(meta)) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw InputError("cannot create trace directory '" + dir + "': " + ec.message());
  const int64_t T = shape.tokens;
  q_ = std::make_unique<NpyWriter>(
      (fs::path(dir) / "q.npy").string(),
      std::vector<int64_t>{T, shape.layers, shape.q_heads, shape.head_dim}, dtype);
  k_ = std::make_unique<NpyWriter>(
      (fs::path(dir) / "k.npy").string(),
      std::vector<int64_t>{T, shape.layers, shape.kv_heads, shape.head_dim}, dtype);
  v_ = std::make_unique<NpyWriter>(
      (fs::path(dir) / "v.npy").string(),
      std::vector<int64_t>{T, shape.layers, shape.kv_heads, shape.head_dim}, dtype);
}

void TraceWriter::append_rows(const float* q, const float* k, const float* v, int64_t rows) {
  const uint64_t qn = uint64_t(rows) * shape_.layers * shape_.q_heads * shape_.head_dim;
  const uint64_t kn = uint64_t(rows) * shape_.layers * shape_.kv_heads * shape_.head_dim;
  q_->append(q, qn);
  k_->append(k, kn);
  v_->append(v, kn);
  rows_ += rows;
}

void TraceWriter::close() {
  q_->close();
  k_->close();
  v_->close();
  meta_["steps"] = shape_.tokens;
  meta_["layers"] = shape_.layers;
  meta_["q_heads"] = shape_.q_heads;
  meta_["kv_heads"] = shape_.kv_heads;
  meta_["head_dim"] = shape_.head_dim;
  meta_["dtype"] = npy_dtype_name(dtype_);
  const std::string p = (fs::path(dir_) / "meta.json").string();
  std::ofstream out(p);
  out << meta_.dump(1) << "\n";
  if (!out) throw InputError(p + ": write failed");
}

}  // namespace sparsepim::workloads
