#pragma once
// Peak resident set size of this process, in MB (Linux reports KiB).
#include <sys/resource.h>

namespace sparsepim {

inline double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}

}  // namespace sparsepim
