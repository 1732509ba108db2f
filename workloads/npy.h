#pragma once
// NumPy .npy files (format versions 1.0-3.0): little-endian float32, float16 and int32 arrays in
// C order. Reading validates the magic, the header, the dtype, the order and the data size, and
// converts to float32; writing produces version 1.0 files that numpy.load reads back.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sparsepim::workloads {

enum class NpyDtype { kFloat32, kFloat16, kInt32 };
const char* npy_dtype_name(NpyDtype d);  // "float32", "float16", "int32"
size_t npy_dtype_size(NpyDtype d);

struct NpyHeader {
  NpyDtype dtype = NpyDtype::kFloat32;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;  // bytes from the start of the file to the first element
  uint64_t elements() const;
};

// Reads and validates the header; InputError (naming the file) for a wrong magic, an unsupported
// version, dtype (anything but <f4, <f2, <i4) or Fortran order, a malformed header, or a file
// whose size does not match the shape (truncated or trailing data).
NpyHeader read_npy_header(const std::string& path);

// A whole float array (float16 widened to float32); InputError as above, and for NaN or
// infinite values (with the flat index of the first).
std::vector<float> read_npy_float(const std::string& path, NpyHeader* header = nullptr);
std::vector<int32_t> read_npy_int32(const std::string& path, NpyHeader* header = nullptr);

// Random access to the elements of an already validated float file without loading it all.
class NpyFloatReader {
 public:
  explicit NpyFloatReader(const std::string& path);
  ~NpyFloatReader();
  NpyFloatReader(const NpyFloatReader&) = delete;
  NpyFloatReader& operator=(const NpyFloatReader&) = delete;
  const NpyHeader& header() const { return header_; }
  // Reads count elements starting at flat index first into out (float32); InputError for NaN/Inf.
  void read(uint64_t first, uint64_t count, float* out);

 private:
  std::string path_;
  NpyHeader header_;
  std::FILE* f_ = nullptr;
  std::vector<uint16_t> half_buf_;
};

// Writes an array of the given shape from float32 data, in float32 or float16 (rounded to
// nearest even; values beyond the float16 range are an InputError rather than a silent Inf).
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data,
               NpyDtype dtype);

// Streaming writer: header first, then the elements in C order in as many calls as needed;
// close() checks that exactly the declared number was written.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, const std::vector<int64_t>& shape, NpyDtype dtype);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;
  void append(const float* data, uint64_t count);
  void close();

 private:
  std::string path_;
  NpyDtype dtype_;
  uint64_t expected_ = 0;
  uint64_t written_ = 0;
  std::FILE* f_ = nullptr;
  std::vector<uint16_t> half_buf_;
};

// IEEE binary16 conversion (exact widening; narrowing rounds to nearest even).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

}  // namespace sparsepim::workloads
