#pragma once
// Small text helpers the command-line front ends share.
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

namespace sparsepim::cli {

// "a,b,,c" -> {"a", "b", "c"}.
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// A number with `prec` decimals.
inline std::string fixed(double v, int prec) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(prec) << v;
  return os.str();
}

}  // namespace sparsepim::cli
