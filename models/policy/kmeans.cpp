#include "models/policy/kmeans.h"

#include <cmath>
#include <stdexcept>

namespace sparsepim::policy {

int kmeans_block(const float* keys, int count, int d, const KmeansParams& p, KmeansScratch* s,
                 uint8_t* labels, float* centroids, int* sizes) {
  const int k = p.clusters;
  if (count < k || k < 1 || k > 255)
    throw std::invalid_argument("kmeans_block: need 1 <= clusters <= min(count, 255)");
  s->points.resize(size_t(count) * size_t(d));
  for (int i = 0; i < count; ++i) {
    const float* x = keys + int64_t(i) * d;
    const float n2 = dot_fp32(x, x, d);
    const float inv = n2 > 0 ? 1.0f / std::sqrt(n2) : 0.0f;
    float* y = &s->points[size_t(i) * size_t(d)];
    for (int c = 0; c < d; ++c) y[c] = x[c] * inv;
  }
  s->centroids.assign(s->points.begin(), s->points.begin() + int64_t(k) * d);
  s->next.resize(size_t(k) * size_t(d));
  s->sums.resize(size_t(k) * size_t(d));
  s->norms2.resize(size_t(k));
  const double tol2 = p.tolerance * p.tolerance;
  int it = 0;
  while (it < p.max_iterations) {
    ++it;
    // Assign: argmin |x - c|^2 = argmin (|c|^2 - 2 x.c), ties to the lower cluster.
    for (int j = 0; j < k; ++j) {
      const float* c = &s->centroids[size_t(j) * size_t(d)];
      s->norms2[size_t(j)] = dot_fp32(c, c, d);
    }
    for (int i = 0; i < count; ++i) {
      const float* x = &s->points[size_t(i) * size_t(d)];
      int best = 0;
      float best_v = 0;
      for (int j = 0; j < k; ++j) {
        const float v =
            s->norms2[size_t(j)] - 2.0f * dot_fp32(x, &s->centroids[size_t(j) * size_t(d)], d);
        if (j == 0 || v < best_v) {
          best_v = v;
          best = j;
        }
      }
      labels[i] = uint8_t(best);
    }
    // Update: the mean of each cluster; an empty cluster keeps its centroid.
    std::fill(s->sums.begin(), s->sums.end(), 0.0);
    for (int j = 0; j < k; ++j) sizes[j] = 0;
    for (int i = 0; i < count; ++i) {
      const int j = labels[i];
      ++sizes[j];
      const float* x = &s->points[size_t(i) * size_t(d)];
      double* acc = &s->sums[size_t(j) * size_t(d)];
      for (int c = 0; c < d; ++c) acc[c] += double(x[c]);
    }
    double moved2 = 0;
    for (int j = 0; j < k; ++j) {
      float* c = &s->centroids[size_t(j) * size_t(d)];
      float* nx = &s->next[size_t(j) * size_t(d)];
      double m2 = 0;
      for (int ch = 0; ch < d; ++ch) {
        nx[ch] = sizes[j] ? float(s->sums[size_t(j) * size_t(d) + size_t(ch)] / sizes[j]) : c[ch];
        const double diff = double(nx[ch]) - double(c[ch]);
        m2 += diff * diff;
      }
      moved2 = std::max(moved2, m2);
    }
    s->centroids.swap(s->next);
    if (moved2 < tol2) break;
  }
  std::copy(s->centroids.begin(), s->centroids.end(), centroids);
  return it;
}

}  // namespace sparsepim::policy
