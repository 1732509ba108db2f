#pragma once
// Helpers of the workload tests: where the shared data lives, scratch directories, hand-made
// .npy files (to build every kind of broken input), and running the sparsepim binary.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#ifdef SPARSEPIM_BINARY
#include "cli_runner.h"
#endif

namespace wltest {

namespace fs = std::filesystem;

// ../shared next to the repository (README: "It sits at ../shared from the project's root").
inline std::string shared_dir() {
  return (fs::path(SPARSEPIM_SOURCE_DIR) / ".." / "shared").lexically_normal().string();
}
inline std::string shared_trace(int seed) {
  return shared_dir() + "/traces/stories260k-seed" + std::to_string(seed);
}

// A fresh, empty directory under the test temp dir.
inline std::string scratch_dir(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("sparsepim_wl_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// Writes a .npy file with an arbitrary header dict (padded like numpy) and raw payload bytes.
inline void write_raw_npy(const std::string& path, const std::string& dict, const void* data,
                          size_t bytes, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  const size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY", 6);
  out.put(char(major));
  out.put(0);
  const uint32_t len = uint32_t(header.size());
  out.put(char(len & 0xff));
  out.put(char((len >> 8) & 0xff));
  if (major != 1) {
    out.put(char((len >> 16) & 0xff));
    out.put(char((len >> 24) & 0xff));
  }
  out.write(header.data(), std::streamsize(header.size()));
  if (bytes) out.write(static_cast<const char*>(data), std::streamsize(bytes));
}

inline std::string shape_dict(const std::string& descr, const std::vector<int64_t>& shape,
                              bool fortran = false) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += std::to_string(shape[i]) + (i + 1 < shape.size() ? ", " : "");
  if (shape.size() == 1) s += ",";
  s += ")";
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + s + ", }";
}

#ifdef SPARSEPIM_BINARY
using sparsepim::testing::CmdResult;
using sparsepim::testing::run_cli;
#endif

}  // namespace wltest
