#pragma once
// Random inputs for the hardware-unit tests: FP16 key blocks of several kinds and LFPS / Tidal
// command sequences whose expected answers the tests compute independently.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "models/cmu/cmu_params.h"
#include "workloads/npy.h"

namespace sparsepim::testing {

// One block of kBlockTokens FP16 keys of d dimensions. Kinds: 0 i.i.d. Gaussian; 1 four
// clusters plus noise; 2 a wide dynamic range (subnormals to 2^15); 3 degenerate (zero keys,
// repeated keys, so clusters can run empty).
inline std::vector<uint16_t> random_block(std::mt19937_64& rng, int d, int kind) {
  const int n = cmu::kBlockTokens;
  std::vector<float> x(size_t(n) * size_t(d));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  const float scale = std::ldexp(1.0f, int(rng() % 9) - 4);
  if (kind == 1) {
    std::vector<float> centers(size_t(4) * size_t(d));
    for (auto& c : centers) c = nd(rng);
    for (int t = 0; t < n; ++t) {
      const size_t c = rng() % 4;
      for (int i = 0; i < d; ++i)
        x[size_t(t) * size_t(d) + size_t(i)] =
            scale * (centers[c * size_t(d) + size_t(i)] + 0.3f * nd(rng));
    }
  } else if (kind == 2) {
    for (auto& v : x) v = nd(rng) * std::ldexp(1.0f, int(rng() % 36) - 22);
  } else {
    for (auto& v : x) v = scale * nd(rng);
  }
  if (kind == 3) {
    for (int t = 0; t < n; ++t) {
      const uint32_t r = uint32_t(rng() % 8);
      float* row = &x[size_t(t) * size_t(d)];
      if (r == 0) std::fill(row, row + d, 0.0f);
      if (r == 1 || r == 2) std::copy(&x[0], &x[size_t(d)], row);  // a copy of key 0
    }
  }
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    h[i] = workloads::float_to_half(std::max(-60000.0f, std::min(60000.0f, x[i])));
  return h;
}

inline std::vector<float> to_float(const std::vector<uint16_t>& h) {
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i) f[i] = workloads::half_to_float(h[i]);
  return f;
}

}  // namespace sparsepim::testing
