#pragma once
// A scanner for the synthesizable style of the hardware units (models/cmu/cmu_unit.h,
// models/ipu/ipu_unit.h and their *_params.h): what an HLS flow would reject or turn into
// something else than the modelled hardware. Comments and string literals are ignored.
//
//   floating point      float, double
//   heap                new, delete, malloc/calloc/realloc/free
//   library             std:: anything (containers, strings, algorithms); includes other than
//                       <systemc>, <cstdint> and the units' own *_params.h
//   processes           SC_THREAD, SC_METHOD (the units use SC_CTHREAD only)
//   control flow        goto, do, exceptions, while other than the process's while (true);
//                       every for loop `for (int i = A; i OP B; ++i|--i|i++|i--)` with A and B
//                       compile-time constants (literals, kName or NAME constants, + - * /)
#include <algorithm>
#include <regex>
#include <string>
#include <vector>

namespace sparsepim::testing {

// Blanks comments and string/char literals (keeping line breaks).
inline std::string strip_comments_and_strings(const std::string& s) {
  std::string out = s;
  size_t i = 0;
  while (i < out.size()) {
    if (out.compare(i, 2, "//") == 0) {
      while (i < out.size() && out[i] != '\n') out[i++] = ' ';
    } else if (out.compare(i, 2, "/*") == 0) {
      while (i < out.size() && out.compare(i, 2, "*/") != 0) {
        if (out[i] != '\n') out[i] = ' ';
        ++i;
      }
      for (int k = 0; k < 2 && i < out.size(); ++k) out[i++] = ' ';
    } else if (out[i] == '"' || out[i] == '\'') {
      const char q = out[i];
      bool include_path = false;
      if (q == '"') {  // keep #include "..." paths
        const size_t line = out.rfind('\n', i);
        const std::string head = out.substr(line == std::string::npos ? 0 : line + 1,
                                            i - (line == std::string::npos ? 0 : line + 1));
        include_path = head.find("#include") != std::string::npos;
      }
      ++i;
      while (i < out.size() && out[i] != q) {
        if (out[i] == '\\') {
          if (!include_path) out[i] = ' ';
          ++i;
        }
        if (i < out.size() && !include_path) out[i] = ' ';
        ++i;
      }
      ++i;
    } else {
      ++i;
    }
  }
  return out;
}

inline bool constant_expression(const std::string& e) {
  static const std::regex token(R"(\s*(\d+|k[A-Z]\w*|[A-Z][A-Z0-9_]*|[-+*/()])\s*)");
  std::string rest = e;
  std::smatch m;
  while (!rest.empty()) {
    if (!std::regex_search(rest, m, token, std::regex_constants::match_continuous)) return false;
    rest = m.suffix();
  }
  return !e.empty();
}

// Findings (one line each, "line N: what"); empty when the source keeps the style.
inline std::vector<std::string> scan_unit_source(const std::string& source) {
  const std::string s = strip_comments_and_strings(source);
  std::vector<std::string> found;
  auto line_of = [&](size_t pos) {
    return 1 + size_t(std::count(s.begin(), s.begin() + long(pos), '\n'));
  };
  struct Rule {
    const char* pattern;
    const char* what;
  };
  static const Rule rules[] = {
      {R"(\b(float|double)\b)", "floating point"},
      {R"(\b(new|delete)\b)", "heap allocation"},
      {R"(\b(malloc|calloc|realloc|free)\s*\()", "heap allocation"},
      {R"(\bstd\s*::)", "standard library"},
      {R"(#\s*include\s*<(?!(systemc|cstdint)>))", "include of a library header"},
      {R"(#\s*include\s*"(?!models/(cmu|ipu)/\w+_params\.h"))", "include of a non-unit header"},
      {R"(\b(SC_THREAD|SC_METHOD)\b)", "process other than SC_CTHREAD"},
      {R"(\b(goto|do|throw|try|catch)\b)", "unbounded or exceptional control flow"},
      {R"(\bwhile\b(?!\s*\(\s*true\s*\)))", "data-dependent while loop"},
  };
  for (const Rule& r : rules) {
    const std::regex re(r.pattern);
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
      found.push_back("line " + std::to_string(line_of(size_t(it->position()))) + ": " + r.what +
                      " (" + it->str() + ")");
  }
  // for loops: a header of the bounded form, with constant start and bound.
  static const std::regex for_kw(R"(\bfor\s*\()");
  static const std::regex header(
      R"(^\s*int\s+(\w+)\s*=\s*([^;]+);\s*(\w+)\s*(<=|>=|<|>)\s*([^;]+);\s*(\+\+|--)?\s*(\w+)\s*(\+\+|--)?\s*$)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), for_kw); it != std::sregex_iterator();
       ++it) {
    size_t i = size_t(it->position() + it->length()), depth = 1;
    const size_t start = i;
    while (i < s.size() && depth) {
      if (s[i] == '(') ++depth;
      if (s[i] == ')') --depth;
      ++i;
    }
    const std::string h = s.substr(start, i - start - 1);
    std::smatch m;
    const bool ok = std::regex_match(h, m, header) && m[1] == m[3] && m[1] == m[7] &&
                    (m[6].length() > 0) != (m[8].length() > 0) && constant_expression(m[2].str()) &&
                    constant_expression(m[5].str());
    if (!ok)
      found.push_back("line " + std::to_string(line_of(size_t(it->position()))) +
                      ": loop without compile-time bounds (for (" + h + "))");
  }
  return found;
}

}  // namespace sparsepim::testing
