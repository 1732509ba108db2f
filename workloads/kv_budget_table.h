#pragma once
// Replay input for published selections: a text table with one non-negative integer per line,
// the number of KV tokens a method touches at each decode step (STARC's artifact
// kv_budget_<model>_<method>.txt). '#' starts a comment (whole line or after the number).
#include <cstdint>
#include <string>
#include <vector>

namespace sparsepim::workloads {

struct KvBudgetTable {
  std::string source;           // the file it was read from
  std::vector<int64_t> tokens;  // per decode step
  std::vector<int64_t> lines;   // the line each entry came from
  double mean() const;
  int64_t min() const;
  int64_t max() const;
};

// InputError with the file and line number for: a blank line, a non-numeric entry, a negative
// number, a number beyond 2^31, a file without any entry, or a file that cannot be read.
KvBudgetTable read_kv_budget_table(const std::string& path);
// The same from text already in memory (source names it in messages).
KvBudgetTable parse_kv_budget_table(const std::string& text, const std::string& source);

// InputError if a step touches more tokens than exist: step s of a decode that starts after a
// prompt of prompt_tokens has prompt_tokens + s + 1 tokens.
void check_budgets_fit_context(const KvBudgetTable& table, int64_t prompt_tokens);

}  // namespace sparsepim::workloads
