#include "workloads/npy.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "models/common/errors.h"

namespace sparsepim::workloads {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string k = string_literal();
      expect(':');
      if (k == "descr") {
        *descr = string_literal();
        have_descr = true;
      } else if (k == "fortran_order") {
        *fortran = bool_literal();
        have_order = true;
      } else if (k == "shape") {
        *shape = tuple_literal();
        have_shape = true;
      } else {
        bad("unexpected header key '" + k + "'");
      }
      skip_ws();
      if (peek() == ',') ++i_;
    }
    if (!have_descr || !have_order || !have_shape)
      bad("header lacks one of 'descr', 'fortran_order', 'shape'");
    skip_ws();
    if (i_ != s_.size()) bad("unexpected text after the header dict");
  }

 private:
  [[noreturn]] void bad(const std::string& what) {
    fail(path_, "malformed .npy header (" + what + "): " + s_);
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char peek() {
    skip_ws();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a string");
    ++i_;
    const size_t end = s_.find(q, i_);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool bool_literal() {
    skip_ws();
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  std::vector<int64_t> tuple_literal() {
    expect('(');
    std::vector<int64_t> out;
    while (true) {
      const char c = peek();
      if (c == ')') {
        ++i_;
        return out;
      }
      if (!std::isdigit(static_cast<unsigned char>(c))) bad("expected a dimension");
      int64_t v = 0;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        if (v > (int64_t(1) << 50)) bad("dimension too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs
      out.push_back(v);
      if (peek() == ',') ++i_;
    }
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot open: " + ec.message());
  return n;
}

void check_finite(const std::string& path, const float* v, uint64_t n, uint64_t first_index) {
  for (uint64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) {
      std::ostringstream os;
      os << (std::isnan(v[i]) ? "NaN" : "infinite value") << " at flat index " << first_index + i;
      fail(path, os.str());
    }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1) s.resize(s.size() - 2);
  if (shape.size() == 1) s.resize(s.size() - 1);
  return s + ")";
}

std::FILE* open_or_fail(const std::string& path, const char* mode) {
  std::FILE* f = std::fopen(path.c_str(), mode);
  if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno));
  return f;
}

}  // namespace

const char* npy_dtype_name(NpyDtype d) {
  switch (d) {
    case NpyDtype::kFloat32:
      return "float32";
    case NpyDtype::kFloat16:
      return "float16";
    case NpyDtype::kInt32:
      return "int32";
  }
  return "?";
}

size_t npy_dtype_size(NpyDtype d) {
  return d == NpyDtype::kFloat16 ? 2 : 4;
}

uint64_t NpyHeader::elements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= uint64_t(d);
  return n;
}

NpyHeader read_npy_header(const std::string& path) {
  const uint64_t size = file_size(path);
  std::FILE* f = open_or_fail(path, "rb");
  unsigned char pre[12];
  const size_t got = std::fread(pre, 1, sizeof pre, f);
  if (got < 10 || std::memcmp(pre, kMagic, kMagicLen) != 0) {
    std::fclose(f);
    fail(path, "not a .npy file (wrong magic; expected \\x93NUMPY)");
  }
  const int major = pre[6];
  uint64_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = uint64_t(pre[8]) | uint64_t(pre[9]) << 8;
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (got < 12) {
      std::fclose(f);
      fail(path, "truncated .npy header");
    }
    header_len = uint64_t(pre[8]) | uint64_t(pre[9]) << 8 | uint64_t(pre[10]) << 16 |
                 uint64_t(pre[11]) << 24;
    prefix = 12;
  } else {
    std::fclose(f);
    fail(path,
         "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(pre[7]));
  }
  if (prefix + header_len > size) {
    std::fclose(f);
    fail(path, "truncated .npy header");
  }
  std::string text(header_len, '\0');
  std::fseek(f, long(prefix), SEEK_SET);
  const size_t n = std::fread(text.data(), 1, header_len, f);
  std::fclose(f);
  if (n != header_len) fail(path, "truncated .npy header");

  std::string descr;
  bool fortran = false;
  NpyHeader h;
  HeaderParser(text, path).parse(&descr, &fortran, &h.shape);
  if (descr == "<f4")
    h.dtype = NpyDtype::kFloat32;
  else if (descr == "<f2")
    h.dtype = NpyDtype::kFloat16;
  else if (descr == "<i4")
    h.dtype = NpyDtype::kInt32;
  else
    fail(path,
         "unsupported dtype '" + descr + "' (supported: <f4 float32, <f2 float16, <i4 int32)");
  if (fortran) fail(path, "unsupported order: Fortran (column-major); only C order is supported");
  h.data_offset = prefix + header_len;
  const uint64_t need = h.elements() * npy_dtype_size(h.dtype);
  const uint64_t have = size - h.data_offset;
  if (have < need)
    fail(path, "truncated data: shape " + shape_text(h.shape) + " needs " + std::to_string(need) +
                   " bytes, the file holds " + std::to_string(have));
  if (have > need)
    fail(path, std::to_string(have - need) + " bytes of trailing data after shape " +
                   shape_text(h.shape));
  return h;
}

std::vector<float> read_npy_float(const std::string& path, NpyHeader* header) {
  NpyFloatReader r(path);
  std::vector<float> out(r.header().elements());
  // Read in chunks so that a NaN reports the right index and float16 needs a small buffer.
  const uint64_t chunk = 1 << 20;
  for (uint64_t i = 0; i < out.size(); i += chunk)
    r.read(i, std::min<uint64_t>(chunk, out.size() - i), out.data() + i);
  if (header) *header = r.header();
  return out;
}

std::vector<int32_t> read_npy_int32(const std::string& path, NpyHeader* header) {
  const NpyHeader h = read_npy_header(path);
  if (h.dtype != NpyDtype::kInt32)
    fail(path, std::string("expected int32 data, found ") + npy_dtype_name(h.dtype));
  std::vector<int32_t> out(h.elements());
  std::FILE* f = open_or_fail(path, "rb");
  std::fseek(f, long(h.data_offset), SEEK_SET);
  const size_t n = std::fread(out.data(), 4, out.size(), f);
  std::fclose(f);
  if (n != out.size()) fail(path, "truncated data");
  if (header) *header = h;
  return out;
}

NpyFloatReader::NpyFloatReader(const std::string& path)
    : path_(path), header_(read_npy_header(path)) {
  if (header_.dtype == NpyDtype::kInt32)
    fail(path, "expected float32 or float16 data, found int32");
  f_ = open_or_fail(path, "rb");
}

NpyFloatReader::~NpyFloatReader() {
  if (f_) std::fclose(f_);
}

void NpyFloatReader::read(uint64_t first, uint64_t count, float* out) {
  if (first + count > header_.elements()) fail(path_, "read beyond the end of the array");
  const size_t es = npy_dtype_size(header_.dtype);
  if (std::fseek(f_, long(header_.data_offset + first * es), SEEK_SET) != 0)
    fail(path_, "seek failed");
  size_t n;
  if (header_.dtype == NpyDtype::kFloat32) {
    n = std::fread(out, 4, count, f_);
  } else {
    half_buf_.resize(count);
    n = std::fread(half_buf_.data(), 2, count, f_);
    for (size_t i = 0; i < n; ++i) out[i] = half_to_float(half_buf_[i]);
  }
  if (n != count) fail(path_, "truncated data (short read)");
  check_finite(path_, out, count, first);
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data,
               NpyDtype dtype) {
  NpyWriter w(path, shape, dtype);
  uint64_t n = 1;
  for (int64_t d : shape) n *= uint64_t(d);
  w.append(data, n);
  w.close();
}

NpyWriter::NpyWriter(const std::string& path, const std::vector<int64_t>& shape, NpyDtype dtype)
    : path_(path), dtype_(dtype) {
  if (dtype == NpyDtype::kInt32) fail(path, "NpyWriter writes float arrays only");
  expected_ = 1;
  for (int64_t d : shape) {
    if (d < 0) fail(path, "negative dimension");
    expected_ *= uint64_t(d);
  }
  std::string dict = std::string("{'descr': '") + (dtype == NpyDtype::kFloat32 ? "<f4" : "<f2") +
                     "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // numpy pads the header with spaces to a multiple of 64 bytes and ends it with '\n'.
  const size_t total = kMagicLen + 4 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  f_ = open_or_fail(path, "wb");
  const uint16_t len = uint16_t(dict.size());
  const unsigned char pre[10] = {0x93,
                                 'N',
                                 'U',
                                 'M',
                                 'P',
                                 'Y',
                                 1,
                                 0,
                                 static_cast<unsigned char>(len & 0xff),
                                 static_cast<unsigned char>(len >> 8)};
  if (std::fwrite(pre, 1, 10, f_) != 10 ||
      std::fwrite(dict.data(), 1, dict.size(), f_) != dict.size())
    fail(path, "write failed");
}

NpyWriter::~NpyWriter() {
  if (f_) std::fclose(f_);
}

void NpyWriter::append(const float* data, uint64_t count) {
  if (!f_) fail(path_, "append after close");
  if (written_ + count > expected_) fail(path_, "more elements written than the shape holds");
  check_finite(path_, data, count, written_);
  size_t n;
  if (dtype_ == NpyDtype::kFloat32) {
    n = std::fwrite(data, 4, count, f_);
  } else {
    half_buf_.resize(count);
    for (uint64_t i = 0; i < count; ++i) {
      if (std::fabs(data[i]) > 65504.0f)
        fail(path_, "value " + std::to_string(data[i]) + " at flat index " +
                        std::to_string(written_ + i) + " exceeds the float16 range");
      half_buf_[i] = float_to_half(data[i]);
    }
    n = std::fwrite(half_buf_.data(), 2, count, f_);
  }
  if (n != count) fail(path_, "write failed (disk full?)");
  written_ += count;
}

void NpyWriter::close() {
  if (!f_) return;
  const bool ok = std::fclose(f_) == 0;
  f_ = nullptr;
  if (!ok) fail(path_, "write failed on close");
  if (written_ != expected_)
    fail(path_, "wrote " + std::to_string(written_) + " elements, the shape declares " +
                    std::to_string(expected_));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      uint32_t m = man;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = sign | uint32_t(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
  if (absx >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds to >= 65520: infinity
  if (absx < 0x38800000u) {                                 // below the smallest normal half
    if (absx < 0x33000000u) return sign;                    // below half the smallest subnormal
    const uint32_t e = absx >> 23;
    const uint32_t m = (absx & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - e;  // 14 + (113 - e) ... aligns m to the subnormal ulp 2^-24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1))) ++r;
    return uint16_t(sign | r);
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits (nearest even); a carry into the
  // exponent is correct rounding.
  uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
  const uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return uint16_t(sign | h);
}

}  // namespace sparsepim::workloads
