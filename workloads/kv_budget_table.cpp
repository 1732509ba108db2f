#include "workloads/kv_budget_table.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <numeric>
#include <sstream>

#include "models/common/errors.h"

namespace sparsepim::workloads {

double KvBudgetTable::mean() const {
  if (tokens.empty()) return 0.0;
  return double(std::accumulate(tokens.begin(), tokens.end(), int64_t(0))) / double(tokens.size());
}
int64_t KvBudgetTable::min() const {
  return *std::min_element(tokens.begin(), tokens.end());
}
int64_t KvBudgetTable::max() const {
  return *std::max_element(tokens.begin(), tokens.end());
}

KvBudgetTable parse_kv_budget_table(const std::string& text, const std::string& source) {
  KvBudgetTable t;
  t.source = source;
  std::istringstream in(text);
  std::string line;
  int64_t line_no = 0;
  auto bad = [&](const std::string& what) {
    throw InputError(source + ":" + std::to_string(line_no) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    std::string body = line.substr(0, line.find('#'));
    const bool had_comment = body.size() != line.size();
    const auto first = body.find_first_not_of(" \t");
    if (first == std::string::npos) {
      if (had_comment) continue;  // a comment line
      bad("empty line (expected one integer per line)");
    }
    const auto last = body.find_last_not_of(" \t");
    body = body.substr(first, last - first + 1);
    size_t i = 0;
    if (body[0] == '+') i = 1;
    if (body[0] == '-') {
      bool digits = body.size() > 1 && std::all_of(body.begin() + 1, body.end(), [](char c) {
                      return std::isdigit(static_cast<unsigned char>(c));
                    });
      bad(digits ? "negative token count '" + body + "'" : "not an integer: '" + body + "'");
    }
    if (i == body.size()) bad("not an integer: '" + body + "'");
    int64_t v = 0;
    for (; i < body.size(); ++i) {
      const char c = body[i];
      if (!std::isdigit(static_cast<unsigned char>(c))) bad("not an integer: '" + body + "'");
      v = v * 10 + (c - '0');
      if (v > (int64_t(1) << 31)) bad("token count out of range: '" + body + "'");
    }
    t.tokens.push_back(v);
    t.lines.push_back(line_no);
  }
  if (t.tokens.empty()) throw InputError(source + ": no entries (expected one integer per line)");
  return t;
}

KvBudgetTable read_kv_budget_table(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open KV budget table '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_kv_budget_table(ss.str(), path);
}

void check_budgets_fit_context(const KvBudgetTable& table, int64_t prompt_tokens) {
  for (size_t s = 0; s < table.tokens.size(); ++s) {
    const int64_t available = prompt_tokens + int64_t(s) + 1;
    if (table.tokens[s] > available)
      throw InputError(
          table.source + ":" +
          std::to_string(table.lines.empty() ? int64_t(s + 1) : table.lines[s]) + ": step " +
          std::to_string(s) + " touches " + std::to_string(table.tokens[s]) + " tokens but only " +
          std::to_string(available) + " exist (prompt " + std::to_string(prompt_tokens) + ")");
  }
}

}  // namespace sparsepim::workloads
