// NumPy files and trace directories: the four shared traces load with their known shapes and
// properties; float32/float16 round trips; every malformed input is rejected with a message
// that names the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/common/errors.h"
#include "workload_test_util.h"
#include "workloads/calibration_stats.h"
#include "workloads/npy.h"
#include "workloads/trace.h"

using namespace sparsepim;
using namespace sparsepim::workloads;
using nlohmann::json;
using wltest::scratch_dir;
using wltest::shape_dict;
using wltest::write_raw_npy;

namespace {

// Expects fn to throw InputError whose message contains every fragment.
template <typename F>
void expect_input_error(F fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    for (const auto& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
          << "message '" << e.what() << "' lacks '" << f << "'";
  }
}

// A small valid trace (T=6, 2 layers, 4 q heads, 2 kv heads, d=4) with values i * 0.01.
std::string make_trace(const std::string& name, NpyDtype dtype = NpyDtype::kFloat32) {
  const std::string dir = scratch_dir(name);
  TraceShape s{6, 2, 4, 2, 4};
  TraceWriter w(dir, s, dtype, json{{"model", "test"}});
  std::vector<float> q(2 * 4 * 4), k(2 * 2 * 4), v(2 * 2 * 4);
  for (int64_t t = 0; t < 6; ++t) {
    for (size_t i = 0; i < q.size(); ++i) q[i] = float(t * 100 + int64_t(i)) * 0.01f;
    for (size_t i = 0; i < k.size(); ++i) k[i] = float(t * 50 + int64_t(i)) * -0.01f;
    for (size_t i = 0; i < v.size(); ++i) v[i] = float(t * 7 + int64_t(i)) * 0.1f;
    w.append_rows(q.data(), k.data(), v.data(), 1);
  }
  w.close();
  return dir;
}

}  // namespace

// The four shared traces: shapes per meta.json, every value finite, and the known attention
// property of this small model: most of the mass on the last 32 tokens (66-92 % per layer),
// almost no attention sink.
TEST(SharedTraces, LoadWithKnownShapesAndProperties) {
  for (int seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::string dir = wltest::shared_trace(seed);
    const TraceInfo info = inspect_trace(dir);
    EXPECT_EQ(info.shape.tokens, 512);
    EXPECT_EQ(info.shape.layers, 5);
    EXPECT_EQ(info.shape.q_heads, 8);
    EXPECT_EQ(info.shape.kv_heads, 4);
    EXPECT_EQ(info.shape.head_dim, 8);
    EXPECT_EQ(info.dtype, NpyDtype::kFloat32);
    EXPECT_TRUE(info.has_tokens);
    EXPECT_EQ(info.meta["seed"], seed);
    NpyHeader h = read_npy_header(dir + "/q.npy");
    EXPECT_EQ(h.shape, (std::vector<int64_t>{512, 5, 8, 8}));
    h = read_npy_header(dir + "/k.npy");
    EXPECT_EQ(h.shape, (std::vector<int64_t>{512, 5, 4, 8}));
    TraceReader r(dir);
    r.validate_all();  // throws on NaN/Inf

    TraceSource src(dir, 0);
    EXPECT_EQ(src.first_step(), 32);
    StatsOptions o;
    o.recall_k = 8;
    o.overlap_k = 4;
    o.tidal_k = 4;
    const json st = compute_calibration_stats(src, o);
    EXPECT_TRUE(st["finite"].get<bool>());
    const double mean = st["last_window_mass"]["mean"];
    EXPECT_GT(mean, 0.75);
    EXPECT_LT(mean, 0.90);
    for (const auto& x : st["last_window_mass"]["per_layer"]) {
      EXPECT_GT(x.get<double>(), 0.60);
      EXPECT_LT(x.get<double>(), 0.95);
    }
    EXPECT_LT(st["sink_mass"]["mean"].get<double>(), 0.05);
    EXPECT_EQ(st["decode_steps"]["count"], 480);
  }
}

TEST(Npy, RoundTripFloat32ExactAndFloat16WithinHalfPrecision) {
  const std::string dir = scratch_dir("npy_roundtrip");
  std::vector<float> x;
  for (int i = 0; i < 3 * 5 * 7; ++i) x.push_back(std::sin(float(i)) * float(i % 11) * 37.5f);
  x[3] = 0.0f;
  x[4] = -0.0f;
  x[5] = 65504.0f;
  x[6] = 6.0e-8f;  // float16 subnormal
  const std::vector<int64_t> shape = {3, 5, 7};
  write_npy(dir + "/a.npy", shape, x.data(), NpyDtype::kFloat32);
  write_npy(dir + "/b.npy", shape, x.data(), NpyDtype::kFloat16);
  NpyHeader ha, hb;
  const auto a = read_npy_float(dir + "/a.npy", &ha);
  const auto b = read_npy_float(dir + "/b.npy", &hb);
  EXPECT_EQ(ha.shape, shape);
  EXPECT_EQ(hb.shape, shape);
  EXPECT_EQ(ha.dtype, NpyDtype::kFloat32);
  EXPECT_EQ(hb.dtype, NpyDtype::kFloat16);
  ASSERT_EQ(a.size(), x.size());
  EXPECT_EQ(std::memcmp(a.data(), x.data(), x.size() * 4), 0);
  for (size_t i = 0; i < x.size(); ++i) {
    // Round to nearest: within half an ulp of float16 (2^-11 relative), subnormals absolute.
    EXPECT_LE(std::fabs(b[i] - x[i]), std::max(std::fabs(x[i]) * 0x1p-11f, 0x1p-25f)) << i;
  }
  // The header is what numpy writes: version 1.0, 64-byte aligned data.
  EXPECT_EQ(ha.data_offset % 64, 0u);
  // Versions 2.0 and 3.0 (4-byte header length) read too.
  write_raw_npy(dir + "/v2.npy", shape_dict("<f4", {2}), x.data(), 8, 2);
  EXPECT_EQ(read_npy_float(dir + "/v2.npy").size(), 2u);
}

// Every float16 value widens exactly and narrows back to itself; known encodings.
TEST(Npy, HalfConversionIsExactAndRoundsToNearestEven) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << std::hex << h;
  }
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(0x1p-24f), 0x0001);         // smallest subnormal
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);         // tie to even: 0
  EXPECT_EQ(float_to_half(0x1.8p-24f), 0x0002);       // 1.5 ulp: tie to even (2)
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3c00);  // halfway 1 and 1+2^-10: even (1)
  EXPECT_EQ(float_to_half(1.0f + 0x1.8p-11f), 0x3c01);
  EXPECT_EQ(float_to_half(0.1f), 0x2e66);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // rounds past the largest finite: infinity
}

TEST(Npy, RejectsMalformedFiles) {
  const std::string dir = scratch_dir("npy_bad");
  const float data[4] = {1, 2, 3, 4};
  {
    std::ofstream(dir + "/magic.npy") << "NOTNUMPY....";
    expect_input_error([&] { read_npy_header(dir + "/magic.npy"); }, {"magic.npy", "wrong magic"});
  }
  write_raw_npy(dir + "/f8.npy", shape_dict("<f8", {2}), data, 16);
  expect_input_error([&] { read_npy_header(dir + "/f8.npy"); }, {"unsupported dtype '<f8'"});
  write_raw_npy(dir + "/be.npy", shape_dict(">f4", {4}), data, 16);
  expect_input_error([&] { read_npy_header(dir + "/be.npy"); }, {"unsupported dtype '>f4'"});
  write_raw_npy(dir + "/fortran.npy", shape_dict("<f4", {2, 2}, true), data, 16);
  expect_input_error([&] { read_npy_header(dir + "/fortran.npy"); }, {"Fortran"});
  write_raw_npy(dir + "/short.npy", shape_dict("<f4", {5}), data, 16);
  expect_input_error([&] { read_npy_header(dir + "/short.npy"); }, {"truncated data", "20 bytes"});
  write_raw_npy(dir + "/long.npy", shape_dict("<f4", {3}), data, 16);
  expect_input_error([&] { read_npy_header(dir + "/long.npy"); }, {"4 bytes of trailing data"});
  write_raw_npy(dir + "/hdr.npy", "{'descr': '<f4', 'shape': (4,), }", data, 16);
  expect_input_error([&] { read_npy_header(dir + "/hdr.npy"); }, {"malformed .npy header"});
  write_raw_npy(dir + "/ver.npy", shape_dict("<f4", {4}), data, 16, 9);
  expect_input_error([&] { read_npy_header(dir + "/ver.npy"); },
                     {"unsupported .npy format version 9"});
  const float nan_data[4] = {1, std::numeric_limits<float>::quiet_NaN(), 3, 4};
  write_raw_npy(dir + "/nan.npy", shape_dict("<f4", {4}), nan_data, 16);
  expect_input_error([&] { read_npy_float(dir + "/nan.npy"); }, {"NaN at flat index 1"});
  const float inf_data[4] = {1, 2, 3, -std::numeric_limits<float>::infinity()};
  write_raw_npy(dir + "/inf.npy", shape_dict("<f4", {4}), inf_data, 16);
  expect_input_error([&] { read_npy_float(dir + "/inf.npy"); }, {"infinite value at flat index 3"});
  const uint16_t half_inf[2] = {0x3c00, 0x7c00};
  write_raw_npy(dir + "/hinf.npy", shape_dict("<f2", {2}), half_inf, 4);
  expect_input_error([&] { read_npy_float(dir + "/hinf.npy"); },
                     {"infinite value at flat index 1"});
  expect_input_error([&] { read_npy_header(dir + "/missing.npy"); },
                     {"missing.npy", "cannot open"});
  // Writing refuses NaN and values beyond float16.
  expect_input_error([&] { write_npy(dir + "/w.npy", {4}, nan_data, NpyDtype::kFloat32); },
                     {"NaN"});
  const float big[1] = {70000.0f};
  expect_input_error([&] { write_npy(dir + "/w16.npy", {1}, big, NpyDtype::kFloat16); },
                     {"exceeds the float16 range"});
}

TEST(Trace, WriteReadRoundTripFloat32AndFloat16) {
  for (NpyDtype dt : {NpyDtype::kFloat32, NpyDtype::kFloat16}) {
    const std::string dir = make_trace(std::string("rt_") + npy_dtype_name(dt), dt);
    const TraceInfo info = inspect_trace(dir);
    EXPECT_EQ(info.shape.tokens, 6);
    EXPECT_EQ(info.dtype, dt);
    EXPECT_EQ(info.meta["dtype"], npy_dtype_name(dt));
    EXPECT_EQ(info.meta["model"], "test");
    TraceReader r(dir);
    std::vector<float> k(6 * 4), q(4);
    r.keys(1, 1, k.data());
    // Row t, layer 1, kv head 1, channel c sits at flat index (1*2+1)*4+c of the row.
    const float tol = dt == NpyDtype::kFloat32 ? 0.0f : 0.01f;
    for (int t = 0; t < 6; ++t)
      for (int c = 0; c < 4; ++c)
        EXPECT_NEAR(k[size_t(t * 4 + c)], float(t * 50 + 12 + c) * -0.01f, tol + 1e-7f);
    r.query(0, 3, 5, q.data());
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR(q[size_t(c)], float(500 + 12 + c) * 0.01f, tol * 5 + 1e-6f);
  }
}

TEST(Trace, RejectsInconsistentDirectories) {
  // Shape of k disagrees with q (different T).
  {
    const std::string dir = make_trace("bad_t");
    std::vector<float> z(5 * 2 * 2 * 4, 0.0f);
    write_raw_npy(dir + "/k.npy", shape_dict("<f4", {5, 2, 2, 4}), z.data(), z.size() * 4);
    expect_input_error([&] { inspect_trace(dir); }, {"k.npy", "[5, 2, 2, 4]", "does not match"});
  }
  // v has another head count.
  {
    const std::string dir = make_trace("bad_v");
    std::vector<float> z(6 * 2 * 3 * 4, 0.0f);
    write_raw_npy(dir + "/v.npy", shape_dict("<f4", {6, 2, 3, 4}), z.data(), z.size() * 4);
    expect_input_error([&] { inspect_trace(dir); }, {"v.npy", "does not match"});
  }
  // meta.json disagrees with the arrays.
  for (const auto& [key, value, frag] : std::vector<std::tuple<std::string, json, std::string>>{
           {"layers", 3, "q.npy"},
           {"steps", 7, "steps = 7"},
           {"dtype", "float16", "dtype \"float16\""},
           {"q_heads", 3, "not a multiple"},
           {"head_dim", -1, "positive integer"}}) {
    const std::string dir = make_trace("bad_meta_" + key);
    json meta = json::parse(std::ifstream(dir + "/meta.json"));
    meta[key] = value;
    std::ofstream(dir + "/meta.json") << meta.dump();
    expect_input_error([&] { inspect_trace(dir); }, {frag});
  }
  // Missing pieces.
  {
    const std::string dir = make_trace("no_meta");
    std::filesystem::remove(dir + "/meta.json");
    expect_input_error([&] { inspect_trace(dir); }, {"meta.json", "missing"});
    const std::string dir2 = make_trace("no_v");
    std::filesystem::remove(dir2 + "/v.npy");
    expect_input_error([&] { inspect_trace(dir2); }, {"v.npy: missing"});
    expect_input_error([&] { inspect_trace(dir + "/nowhere"); }, {"does not exist"});
    const std::string dir3 = make_trace("bad_json");
    std::ofstream(dir3 + "/meta.json") << "{not json";
    expect_input_error([&] { inspect_trace(dir3); }, {"invalid JSON"});
  }
  // Mixed dtypes, a 3-D array, a NaN inside the data (found when read).
  {
    const std::string dir = make_trace("mixed");
    std::vector<uint16_t> z(6 * 2 * 2 * 4, 0);
    write_raw_npy(dir + "/v.npy", shape_dict("<f2", {6, 2, 2, 4}), z.data(), z.size() * 2);
    expect_input_error([&] { inspect_trace(dir); }, {"different dtypes"});
    const std::string dir2 = make_trace("threed");
    std::vector<float> y(6 * 2 * 8, 0.0f);
    write_raw_npy(dir2 + "/v.npy", shape_dict("<f4", {6, 2, 8}), y.data(), y.size() * 4);
    expect_input_error([&] { inspect_trace(dir2); }, {"4 dimensions"});
    const std::string dir3 = make_trace("nan");
    std::vector<float> x(6 * 2 * 2 * 4, 0.5f);
    x[77] = std::numeric_limits<float>::quiet_NaN();
    write_raw_npy(dir3 + "/k.npy", shape_dict("<f4", {6, 2, 2, 4}), x.data(), x.size() * 4);
    TraceReader r(dir3);
    expect_input_error([&] { r.validate_all(); }, {"k.npy", "NaN at flat index 77"});
    std::vector<float> buf(6 * 4);
    expect_input_error([&] { r.keys(1, 0, buf.data()); }, {"NaN"});  // index 77: row 4, layer 1
    // A truncated q.npy.
    const std::string dir4 = make_trace("trunc");
    std::filesystem::resize_file(dir4 + "/q.npy", std::filesystem::file_size(dir4 + "/q.npy") - 3);
    expect_input_error([&] { inspect_trace(dir4); }, {"q.npy", "truncated data"});
  }
}
