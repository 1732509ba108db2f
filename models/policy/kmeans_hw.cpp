#include "models/policy/kmeans_hw.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "workloads/npy.h"

namespace sparsepim::policy::hw {

__extension__ typedef unsigned __int128 u128;

uint64_t fp16_magnitude(uint16_t h) {
  const uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const uint64_t sig = e ? (0x400u | m) : m;
  return sig << (std::max<uint32_t>(e, 1) - 1);
}

int bit_length(uint64_t x) {
  return x ? 64 - __builtin_clzll(x) : 0;
}

uint32_t inv_sqrt(uint64_t s) {
  const u128 limit = u128(1) << (2 * kInvSqrtP);
  uint32_t r = 0;
  for (int b = kInvSqrtBits - 1; b >= 0; --b) {
    const uint32_t t = r | (uint32_t(1) << b);
    if (u128(t) * t * s <= limit) r = t;
  }
  return r;
}

void normalise_key(const uint16_t* x, int d, int32_t* y) {
  int lmax = 0;
  for (int c = 0; c < d; ++c) lmax = std::max(lmax, bit_length(fp16_magnitude(x[c])));
  std::vector<uint64_t> a(size_t(d), 0);
  uint64_t s = 0;
  for (int c = 0; c < d; ++c) {
    const uint64_t m = fp16_magnitude(x[c]);
    a[size_t(c)] = lmax >= kAlignBits ? m >> (lmax - kAlignBits) : m << (kAlignBits - lmax);
    s += a[size_t(c)] * a[size_t(c)];
  }
  const uint64_t r = inv_sqrt(s);
  for (int c = 0; c < d; ++c) {
    const int32_t v = int32_t((a[size_t(c)] * r) >> kScaleShift);
    y[c] = (x[c] & 0x8000) ? -v : v;
  }
}

uint64_t tolerance_threshold(double tolerance) {
  if (!(tolerance >= 0) || tolerance > 1e4)
    throw std::invalid_argument("tolerance_threshold: tolerance out of range");
  return uint64_t(std::ceil(tolerance * tolerance * std::ldexp(1.0, 2 * kFracBits)));
}

int32_t rounded_mean(int64_t s, int n) {
  const int64_t q = (std::abs(s) + n / 2) / n;
  return int32_t(s < 0 ? -q : q);
}

int kmeans_block(const uint16_t* keys, int count, int d, int k, int max_iterations,
                 uint64_t threshold, uint8_t* labels, int32_t* centroids, int* sizes) {
  if (count < k || k < 1 || k > 255 || d < 1 || max_iterations < 1)
    throw std::invalid_argument("hw::kmeans_block: need 1 <= clusters <= min(count, 255)");
  const size_t D = size_t(d);
  std::vector<int32_t> pts(size_t(count) * D);
  std::vector<int64_t> sums(size_t(k) * D), norms(static_cast<size_t>(k));
  for (int i = 0; i < count; ++i) normalise_key(keys + size_t(i) * D, d, &pts[size_t(i) * D]);
  std::copy(pts.begin(), pts.begin() + int64_t(k) * d, centroids);
  auto dot = [D](const int32_t* a, const int32_t* b) {
    int64_t s = 0;
    for (size_t c = 0; c < D; ++c) s += int64_t(a[c]) * b[c];
    return s;
  };
  int it = 0;
  while (it < max_iterations) {
    ++it;
    for (int j = 0; j < k; ++j)
      norms[size_t(j)] = dot(&centroids[size_t(j) * D], &centroids[size_t(j) * D]);
    for (int i = 0; i < count; ++i) {
      const int32_t* y = &pts[size_t(i) * D];
      int best = 0;
      int64_t best_v = 0;
      for (int j = 0; j < k; ++j) {
        const int64_t v = norms[size_t(j)] - 2 * dot(y, &centroids[size_t(j) * D]);
        if (j == 0 || v < best_v) {
          best_v = v;
          best = j;
        }
      }
      labels[i] = uint8_t(best);
    }
    std::fill(sums.begin(), sums.end(), 0);
    std::fill(sizes, sizes + k, 0);
    for (int i = 0; i < count; ++i) {
      const int j = labels[i];
      ++sizes[j];
      for (size_t c = 0; c < D; ++c) sums[size_t(j) * D + c] += pts[size_t(i) * D + c];
    }
    uint64_t moved = 0;
    for (int j = 0; j < k; ++j) {
      uint64_t m2 = 0;
      for (size_t c = 0; c < D; ++c) {
        int32_t& cj = centroids[size_t(j) * D + c];
        const int32_t nx = sizes[j] ? rounded_mean(sums[size_t(j) * D + c], sizes[j]) : cj;
        const int64_t diff = int64_t(nx) - cj;
        m2 += uint64_t(diff * diff);
        cj = nx;
      }
      moved = std::max(moved, m2);
    }
    if (moved < threshold) break;
  }
  return it;
}

int kmeans_block_float_io(const float* keys, int count, int d, const KmeansParams& p,
                          uint8_t* labels, float* centroids, int* sizes) {
  std::vector<uint16_t> h(size_t(count) * size_t(d));
  for (size_t i = 0; i < h.size(); ++i) h[i] = workloads::float_to_half(keys[i]);
  std::vector<int32_t> c(size_t(p.clusters) * size_t(d));
  const int it = kmeans_block(h.data(), count, d, p.clusters, p.max_iterations,
                              tolerance_threshold(p.tolerance), labels, c.data(), sizes);
  for (size_t i = 0; i < c.size(); ++i) centroids[i] = float(c[i]) / float(kOne);
  return it;
}

}  // namespace sparsepim::policy::hw
