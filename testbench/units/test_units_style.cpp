// The hardware units keep the synthesizable style (style_scan.h): their sources are scanned,
// and the scanner is shown to catch each forbidden construct and to ignore comments and strings.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "style_scan.h"

using sparsepim::testing::scan_unit_source;

namespace {

std::string read(const std::string& rel) {
  std::ifstream f(std::string(SPARSEPIM_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

TEST(UnitStyle, UnitSourcesKeepTheSynthesizableStyle) {
  for (const char* f : {"models/cmu/cmu_unit.h", "models/cmu/cmu_params.h", "models/ipu/ipu_unit.h",
                        "models/ipu/ipu_params.h"}) {
    const std::string src = read(f);
    ASSERT_GT(src.size(), 500u) << f;
    const auto found = scan_unit_source(src);
    EXPECT_TRUE(found.empty()) << f << ":\n" << joined(found);
  }
  for (const char* f : {"models/cmu/cmu_unit.h", "models/ipu/ipu_unit.h"}) {
    const std::string src = read(f);
    EXPECT_NE(src.find("SC_CTHREAD("), std::string::npos) << f;
    EXPECT_NE(src.find("reset_signal_is("), std::string::npos) << f;
  }
}

TEST(UnitStyle, ScannerCatchesEachForbiddenConstruct) {
  const char* bad[] = {
      "std::vector<int> v;",
      "float x = 0;",
      "double y;",
      "int* p = new int[4];",
      "delete p;",
      "void* q = malloc(4);",
      "#include <vector>",
      "#include \"models/policy/kmeans.h\"",
      "SC_THREAD(run);",
      "SC_METHOD(m);",
      "while (valid) { wait(); }",
      "do { wait(); } while (x);",
      "for (int i = 0; i < n; ++i) {}",
      "for (int i = 0; i < d_; ++i) {}",
      "for (int i = start; i < kMax; ++i) {}",
      "for (int i = 0; i < kMax; ++j) {}",
      "for (auto& x : y) {}",
      "for (;;) {}",
      "throw 1;",
      "goto end;",
  };
  for (const char* b : bad) EXPECT_FALSE(scan_unit_source(b).empty()) << b;
}

TEST(UnitStyle, ScannerIgnoresCommentsAndStrings) {
  const std::string ok =
      "// float std::vector new while (x)\n"
      "/* double\n malloc( */ const char* s = \"std::vector<float>\";\n"
      "#include <systemc>\n#include \"models/cmu/cmu_params.h\"\n"
      "for (int i = 0; i < kMaxHeadDim; ++i) {}\n"
      "for (int i = CAP - 1; i >= 0; --i) {}\n"
      "for (int l = 0; l < LANES * 2; l++) {}\n"
      "while (true) { wait(); }\n";
  EXPECT_TRUE(scan_unit_source(ok).empty()) << joined(scan_unit_source(ok));
}

}  // namespace
