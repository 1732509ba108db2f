#include "models/policy/kmeans.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>

#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#define SPARSEPIM_KMEANS_AVX2 1
#endif

namespace sparsepim::policy {
namespace {

// The inner loops, each in plain C++, SSE2 and AVX2 with the same results bit for bit:
//
//   sqnorms  dot_fp32(row, row) of several rows (the keys' lengths, the centroids' norms).
//   dots     dot_fp32(point i, centroid j) for every point and the listed centroids.
//            dot_fp32 keeps eight interleaved FP32 partial sums (partial u takes channels u,
//            u + 8, ...), reduces them as ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7)) and
//            adds that to the plain FP32 sum of the head_dim % 8 tail channels. The vector
//            versions hold the eight partials of a dot product in vector lanes (two SSE2
//            registers or one AVX2 register) and reduce them in that same order, several dot
//            products at a time; no sum's order changes.
//   mean     a cluster's mean: FP64 sums over the members in position order, divided by the
//            member count and rounded to float; each channel's sum on its own lane.
//   moved    four clusters' squared moves, sum over channels in order of (nx[r] - c[r])^2 in
//            FP64; the four sums side by side on the lanes (loads transposed).
//
// Every operation is an IEEE add, multiply, divide or conversion in round-to-nearest (no FMA:
// the AVX2 functions do not enable it), so each version computes exactly what the plain loops
// compute. kernels() picks the widest one the CPU has.
using DotsFn = void (*)(const float* pts, int count, int d, const float* cents, const int* which,
                        int nw, int k, float* dots);
using MeanFn = void (*)(const float* pts, int d, const int* members, int n, float* out);
using SqnormsFn = void (*)(const float* const* rows, int n, int d, float* out);
using MovedFn = void (*)(const float* const* c, const float* const* nx, int d, double* m2);

// Channels [from, d) of the mean, one by one.
void mean_from(const float* pts, int d, const int* members, int n, int from, float* out) {
  for (int c = from; c < d; ++c) {
    double acc = 0.0;
    for (int m = 0; m < n; ++m) acc += double(pts[int64_t(members[m]) * d + c]);
    out[c] = float(acc / n);
  }
}

void sqnorms_portable(const float* const* rows, int n, int d, float* out) {
  for (int t = 0; t < n; ++t) out[t] = dot_fp32(rows[t], rows[t], d);
}

void dots_portable(const float* pts, int count, int d, const float* cents, const int* which,
                   int nw, int k, float* dots) {
  for (int i = 0; i < count; ++i)
    for (int t = 0; t < nw; ++t)
      dots[int64_t(i) * k + which[t]] =
          dot_fp32(pts + int64_t(i) * d, cents + int64_t(which[t]) * d, d);
}

void mean_portable(const float* pts, int d, const int* members, int n, float* out) {
  mean_from(pts, d, members, n, 0, out);
}

// From channel `from` on, one by one.
void moved_from(const float* const* c, const float* const* nx, int d, int from, double* m2) {
  double m0 = m2[0], m1 = m2[1], m2_ = m2[2], m3 = m2[3];
  for (int r = from; r < d; ++r) {
    const double d0 = double(nx[0][r]) - double(c[0][r]);
    const double d1 = double(nx[1][r]) - double(c[1][r]);
    const double d2 = double(nx[2][r]) - double(c[2][r]);
    const double d3 = double(nx[3][r]) - double(c[3][r]);
    m0 += d0 * d0;
    m1 += d1 * d1;
    m2_ += d2 * d2;
    m3 += d3 * d3;
  }
  m2[0] = m0;
  m2[1] = m1;
  m2[2] = m2_;
  m2[3] = m3;
}

void moved_portable(const float* const* c, const float* const* nx, int d, double* m2) {
  for (int u = 0; u < 4; ++u) m2[u] = 0;
  moved_from(c, nx, d, 0, m2);
}

// The tail channels (head_dim % 8) of one dot product, as dot_fp32 sums them.
inline float tail_dot(const float* x, const float* c, int from, int d) {
  float s = 0;
  for (int r = from; r < d; ++r) s += x[r] * c[r];
  return s;
}

#if defined(__SSE2__)
// N (1..4) dot products x[t].c[t] (Shared: x[0] for every t): partials 0-3 in lo[t], 4-7 in
// hi[t].
template <int N, bool Shared>
inline void dots_sse2_n(const float* const* x, const float* const* c, int d, float* out) {
  __m128 lo[4], hi[4];
  for (int t = 0; t < 4; ++t) lo[t] = hi[t] = _mm_setzero_ps();
  int ch = 0;
  for (; ch + 8 <= d; ch += 8) {
    const __m128 xl = _mm_loadu_ps(x[0] + ch), xh = _mm_loadu_ps(x[0] + ch + 4);
    for (int t = 0; t < N; ++t) {
      const __m128 yl = Shared || t == 0 ? xl : _mm_loadu_ps(x[t] + ch);
      const __m128 yh = Shared || t == 0 ? xh : _mm_loadu_ps(x[t] + ch + 4);
      lo[t] = _mm_add_ps(lo[t], _mm_mul_ps(yl, _mm_loadu_ps(c[t] + ch)));
      hi[t] = _mm_add_ps(hi[t], _mm_mul_ps(yh, _mm_loadu_ps(c[t] + ch + 4)));
    }
  }
  // b[t] = (p0 + p4, p1 + p5, p2 + p6, p3 + p7); transposed, lane t of (r0 + r1) + (r2 + r3) is
  // ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7)) of dot t.
  __m128 b0 = _mm_add_ps(lo[0], hi[0]), b1 = _mm_add_ps(lo[1], hi[1]);
  __m128 b2 = _mm_add_ps(lo[2], hi[2]), b3 = _mm_add_ps(lo[3], hi[3]);
  _MM_TRANSPOSE4_PS(b0, b1, b2, b3);
  const __m128 r = _mm_add_ps(_mm_add_ps(b0, b1), _mm_add_ps(b2, b3));
  float tail[4] = {0, 0, 0, 0}, sum[4];
  for (int t = 0; t < N; ++t) tail[t] = tail_dot(x[Shared ? 0 : t], c[t], ch, d);
  _mm_storeu_ps(sum, _mm_add_ps(_mm_loadu_ps(tail), r));
  for (int t = 0; t < N; ++t) out[t] = sum[t];
}

void dots_sse2(const float* pts, int count, int d, const float* cents, const int* which, int nw,
               int k, float* dots) {
  for (int i = 0; i < count; ++i) {
    const float* x = pts + int64_t(i) * d;
    float* row = dots + int64_t(i) * k;
    for (int t = 0; t < nw; t += 4) {
      const float* c[4];
      const int n = std::min(4, nw - t);
      for (int u = 0; u < n; ++u) c[u] = cents + int64_t(which[t + u]) * d;
      float out[4];
      switch (n) {
        case 4: dots_sse2_n<4, true>(&x, c, d, out); break;
        case 3: dots_sse2_n<3, true>(&x, c, d, out); break;
        case 2: dots_sse2_n<2, true>(&x, c, d, out); break;
        default: dots_sse2_n<1, true>(&x, c, d, out); break;
      }
      for (int u = 0; u < n; ++u) row[which[t + u]] = out[u];
    }
  }
}

void sqnorms_sse2(const float* const* rows, int n, int d, float* out) {
  int t = 0;
  for (; t + 4 <= n; t += 4) dots_sse2_n<4, false>(rows + t, rows + t, d, out + t);
  for (; t < n; ++t) dots_sse2_n<1, false>(rows + t, rows + t, d, out + t);
}

// Channels [from, d): 16 per pass (8 registers of two FP64 sums), the rest one by one.
void mean_sse2_from(const float* pts, int d, const int* members, int n, int from, float* out) {
  const __m128d nn = _mm_set1_pd(double(n));
  int ch = from;
  for (; ch + 16 <= d; ch += 16) {
    __m128d acc[8];
    for (int v = 0; v < 8; ++v) acc[v] = _mm_setzero_pd();
    for (int m = 0; m < n; ++m) {
      const float* x = pts + int64_t(members[m]) * d + ch;
      for (int v = 0; v < 4; ++v) {
        const __m128 f = _mm_loadu_ps(x + 4 * v);
        acc[2 * v] = _mm_add_pd(acc[2 * v], _mm_cvtps_pd(f));
        acc[2 * v + 1] = _mm_add_pd(acc[2 * v + 1], _mm_cvtps_pd(_mm_movehl_ps(f, f)));
      }
    }
    for (int v = 0; v < 4; ++v) {
      const __m128 a = _mm_cvtpd_ps(_mm_div_pd(acc[2 * v], nn));
      const __m128 b = _mm_cvtpd_ps(_mm_div_pd(acc[2 * v + 1], nn));
      _mm_storeu_ps(out + ch + 4 * v, _mm_movelh_ps(a, b));
    }
  }
  mean_from(pts, d, members, n, ch, out);
}

void mean_sse2(const float* pts, int d, const int* members, int n, float* out) {
  mean_sse2_from(pts, d, members, n, 0, out);
}

// Four channels per pass: after the transposition a[q] holds channel r + q of clusters 0-3.
void moved_sse2(const float* const* c, const float* const* nx, int d, double* m2) {
  __m128d m01 = _mm_setzero_pd(), m23 = _mm_setzero_pd();
  int r = 0;
  for (; r + 4 <= d; r += 4) {
    __m128 a0 = _mm_loadu_ps(nx[0] + r), a1 = _mm_loadu_ps(nx[1] + r);
    __m128 a2 = _mm_loadu_ps(nx[2] + r), a3 = _mm_loadu_ps(nx[3] + r);
    __m128 b0 = _mm_loadu_ps(c[0] + r), b1 = _mm_loadu_ps(c[1] + r);
    __m128 b2 = _mm_loadu_ps(c[2] + r), b3 = _mm_loadu_ps(c[3] + r);
    _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
    _MM_TRANSPOSE4_PS(b0, b1, b2, b3);
    const __m128 a[4] = {a0, a1, a2, a3}, b[4] = {b0, b1, b2, b3};
    for (int q = 0; q < 4; ++q) {
      const __m128d d01 = _mm_sub_pd(_mm_cvtps_pd(a[q]), _mm_cvtps_pd(b[q]));
      const __m128d d23 = _mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(a[q], a[q])),
                                     _mm_cvtps_pd(_mm_movehl_ps(b[q], b[q])));
      m01 = _mm_add_pd(m01, _mm_mul_pd(d01, d01));
      m23 = _mm_add_pd(m23, _mm_mul_pd(d23, d23));
    }
  }
  _mm_storeu_pd(m2, m01);
  _mm_storeu_pd(m2 + 2, m23);
  moved_from(c, nx, d, r, m2);
}
#endif  // __SSE2__

#if SPARSEPIM_KMEANS_AVX2
// Lane t of the result: dot product t from its eight partial sums acc[t] (as in dots_sse2_n:
// (p0 + p4, ..., p3 + p7) transposed, then (r0 + r1) + (r2 + r3)), plus tail[t].
__attribute__((target("avx2"))) inline __m128 reduce4_avx2(const __m256* acc, const float* tail) {
  __m128 b[4];
  for (int t = 0; t < 4; ++t)
    b[t] = _mm_add_ps(_mm256_castps256_ps128(acc[t]), _mm256_extractf128_ps(acc[t], 1));
  _MM_TRANSPOSE4_PS(b[0], b[1], b[2], b[3]);
  const __m128 r = _mm_add_ps(_mm_add_ps(b[0], b[1]), _mm_add_ps(b[2], b[3]));
  return _mm_add_ps(_mm_loadu_ps(tail), r);
}

// The dot products of P (1..2) points x[p] with N (1..4) centroids c[t], the eight partial sums
// of each in one 256-bit register: out[p * 4 + t].
template <int P, int N>
__attribute__((target("avx2"))) inline void dots_avx2_pn(const float* const* x,
                                                         const float* const* c, int d,
                                                         float* out) {
  __m256 acc[P][4];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < 4; ++t) acc[p][t] = _mm256_setzero_ps();
  int ch = 0;
  for (; ch + 8 <= d; ch += 8) {
    __m256 xv[P];
    for (int p = 0; p < P; ++p) xv[p] = _mm256_loadu_ps(x[p] + ch);
    for (int t = 0; t < N; ++t) {
      const __m256 cv = _mm256_loadu_ps(c[t] + ch);
      for (int p = 0; p < P; ++p) acc[p][t] = _mm256_add_ps(acc[p][t], _mm256_mul_ps(xv[p], cv));
    }
  }
  for (int p = 0; p < P; ++p) {
    float tail[4] = {0, 0, 0, 0};
    for (int t = 0; t < N; ++t) tail[t] = tail_dot(x[p], c[t], ch, d);
    _mm_storeu_ps(out + 4 * p, reduce4_avx2(acc[p], tail));
  }
}

template <int P>
__attribute__((target("avx2"))) inline void dots_avx2_p(const float* const* x,
                                                        const float* const* c, int n, int d,
                                                        float* out) {
  switch (n) {
    case 4: dots_avx2_pn<P, 4>(x, c, d, out); break;
    case 3: dots_avx2_pn<P, 3>(x, c, d, out); break;
    case 2: dots_avx2_pn<P, 2>(x, c, d, out); break;
    default: dots_avx2_pn<P, 1>(x, c, d, out); break;
  }
}

__attribute__((target("avx2"))) void sqnorms_avx2(const float* const* rows, int n, int d,
                                                  float* out) {
  for (int t = 0; t < n; t += 4) {
    const int m = std::min(4, n - t);
    __m256 acc[4];
    for (int u = 0; u < 4; ++u) acc[u] = _mm256_setzero_ps();
    int ch = 0;
    for (; ch + 8 <= d; ch += 8)
      for (int u = 0; u < m; ++u) {
        const __m256 v = _mm256_loadu_ps(rows[t + u] + ch);
        acc[u] = _mm256_add_ps(acc[u], _mm256_mul_ps(v, v));
      }
    float tail[4] = {0, 0, 0, 0}, sum[4];
    for (int u = 0; u < m; ++u) tail[u] = tail_dot(rows[t + u], rows[t + u], ch, d);
    _mm_storeu_ps(sum, reduce4_avx2(acc, tail));
    for (int u = 0; u < m; ++u) out[t + u] = sum[u];
  }
}

// Two points at a time (eight independent sums in flight for four centroids).
__attribute__((target("avx2"))) void dots_avx2(const float* pts, int count, int d,
                                               const float* cents, const int* which, int nw,
                                               int k, float* dots) {
  for (int i = 0; i < count; i += 2) {
    const int np = std::min(2, count - i);
    const float* x[2] = {pts + int64_t(i) * d, pts + int64_t(i + np - 1) * d};
    for (int t = 0; t < nw; t += 4) {
      const float* c[4];
      const int n = std::min(4, nw - t);
      for (int u = 0; u < n; ++u) c[u] = cents + int64_t(which[t + u]) * d;
      float out[8];
      if (np == 2)
        dots_avx2_p<2>(x, c, n, d, out);
      else
        dots_avx2_p<1>(x, c, n, d, out);
      for (int p = 0; p < np; ++p)
        for (int u = 0; u < n; ++u) dots[int64_t(i + p) * k + which[t + u]] = out[4 * p + u];
    }
  }
}

// 32 channels per pass (8 registers of four FP64 sums), then 16, then one by one.
__attribute__((target("avx2"))) void mean_avx2(const float* pts, int d, const int* members,
                                               int n, float* out) {
  const __m256d nn = _mm256_set1_pd(double(n));
  int ch = 0;
  for (; ch + 32 <= d; ch += 32) {
    __m256d acc[8];
    for (int v = 0; v < 8; ++v) acc[v] = _mm256_setzero_pd();
    for (int m = 0; m < n; ++m) {
      const float* x = pts + int64_t(members[m]) * d + ch;
      for (int v = 0; v < 8; ++v)
        acc[v] = _mm256_add_pd(acc[v], _mm256_cvtps_pd(_mm_loadu_ps(x + 4 * v)));
    }
    for (int v = 0; v < 8; ++v)
      _mm_storeu_ps(out + ch + 4 * v, _mm256_cvtpd_ps(_mm256_div_pd(acc[v], nn)));
  }
  mean_sse2_from(pts, d, members, n, ch, out);
}

__attribute__((target("avx2"))) void moved_avx2(const float* const* c, const float* const* nx,
                                                int d, double* m2) {
  __m256d m = _mm256_setzero_pd();
  int r = 0;
  for (; r + 4 <= d; r += 4) {
    __m128 a0 = _mm_loadu_ps(nx[0] + r), a1 = _mm_loadu_ps(nx[1] + r);
    __m128 a2 = _mm_loadu_ps(nx[2] + r), a3 = _mm_loadu_ps(nx[3] + r);
    __m128 b0 = _mm_loadu_ps(c[0] + r), b1 = _mm_loadu_ps(c[1] + r);
    __m128 b2 = _mm_loadu_ps(c[2] + r), b3 = _mm_loadu_ps(c[3] + r);
    _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
    _MM_TRANSPOSE4_PS(b0, b1, b2, b3);
    const __m128 a[4] = {a0, a1, a2, a3}, b[4] = {b0, b1, b2, b3};
    for (int q = 0; q < 4; ++q) {
      const __m256d diff = _mm256_sub_pd(_mm256_cvtps_pd(a[q]), _mm256_cvtps_pd(b[q]));
      m = _mm256_add_pd(m, _mm256_mul_pd(diff, diff));
    }
  }
  _mm256_storeu_pd(m2, m);
  moved_from(c, nx, d, r, m2);
}
#endif  // SPARSEPIM_KMEANS_AVX2

struct Kernels {
  SqnormsFn sqnorms;
  DotsFn dots;
  MeanFn mean;
  MovedFn moved;
};

std::atomic<int> g_max_level{2};

Kernels kernels() {
  const int level = g_max_level.load(std::memory_order_relaxed);
#if SPARSEPIM_KMEANS_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2 && level >= 2) return {sqnorms_avx2, dots_avx2, mean_avx2, moved_avx2};
#endif
#if defined(__SSE2__)
  if (level >= 1) return {sqnorms_sse2, dots_sse2, mean_sse2, moved_sse2};
#endif
  return {sqnorms_portable, dots_portable, mean_portable, moved_portable};
}

}  // namespace

void set_kmeans_simd_level(int level) { g_max_level.store(level); }

int kmeans_block(const float* keys, int count, int d, const KmeansParams& p, KmeansScratch* s,
                 uint8_t* labels, float* centroids, int* sizes) {
  const int k = p.clusters;
  if (count < k || k < 1 || k > 255)
    throw std::invalid_argument("kmeans_block: need 1 <= clusters <= min(count, 255)");
  const Kernels kern = kernels();
  const size_t sd = size_t(d), sk = size_t(k);
  s->points.resize(size_t(count) * sd);
  s->rows.resize(std::max(size_t(count), sk));
  s->lengths2.resize(size_t(count));
  for (int i = 0; i < count; ++i) s->rows[size_t(i)] = keys + int64_t(i) * d;
  kern.sqnorms(s->rows.data(), count, d, s->lengths2.data());
  for (int i = 0; i < count; ++i) {
    const float* x = keys + int64_t(i) * d;
    const float n2 = s->lengths2[size_t(i)];
    const float inv = n2 > 0 ? 1.0f / std::sqrt(n2) : 0.0f;
    float* y = &s->points[size_t(i) * sd];
    for (int c = 0; c < d; ++c) y[c] = x[c] * inv;
  }
  const float* pts = s->points.data();
  s->centroids.assign(pts, pts + sk * sd);
  s->next.resize(sk * sd);
  s->norms2.resize(sk);
  s->dots.resize(size_t(count) * sk);
  s->members.resize(size_t(count));
  s->first.resize(sk + 1);
  s->stale.resize(sk);
  s->changed.resize(sk);
  for (int j = 0; j < k; ++j) s->stale[size_t(j)] = j;
  int nstale = k;
  const double tol2 = p.tolerance * p.tolerance;
  int it = 0;
  while (it < p.max_iterations) {
    ++it;
    // Assign: argmin |x - c|^2 = argmin (|c|^2 - 2 x.c), ties to the lower cluster. Only the
    // centroids that changed since the last iteration (`stale`) get new norms and dot products:
    // for the others, recomputing them would give the same values.
    for (int t = 0; t < nstale; ++t)
      s->rows[size_t(t)] = &s->centroids[size_t(s->stale[size_t(t)]) * sd];
    float fresh[256];
    kern.sqnorms(s->rows.data(), nstale, d, fresh);
    for (int t = 0; t < nstale; ++t) s->norms2[size_t(s->stale[size_t(t)])] = fresh[t];
    kern.dots(pts, count, d, s->centroids.data(), s->stale.data(), nstale, k, s->dots.data());
    // changed[j]: cluster j gained or lost a member (every cluster in the first iteration).
    std::fill(s->changed.begin(), s->changed.end(), uint8_t(it == 1));
    for (int j = 0; j < k; ++j) sizes[j] = 0;
    for (int i = 0; i < count; ++i) {
      const float* dots = &s->dots[size_t(i) * sk];
      int best = 0;
      float best_v = 0;
      for (int j = 0; j < k; ++j) {
        const float v = s->norms2[size_t(j)] - 2.0f * dots[j];
        if (j == 0 || v < best_v) {
          best_v = v;
          best = j;
        }
      }
      if (it > 1 && labels[i] != best) s->changed[labels[i]] = s->changed[size_t(best)] = 1;
      labels[i] = uint8_t(best);
      ++sizes[best];
    }
    // The members of each cluster in position order: members[first[j], first[j] + sizes[j]).
    s->first[0] = 0;
    for (int j = 0; j < k; ++j) s->first[size_t(j) + 1] = s->first[size_t(j)] + sizes[j];
    for (int i = 0; i < count; ++i) s->members[size_t(s->first[labels[i]]++)] = i;
    for (int j = k; j > 0; --j) s->first[size_t(j)] = s->first[size_t(j) - 1];
    s->first[0] = 0;
    // Update: the mean of each cluster; an empty cluster keeps its centroid. So does a cluster
    // whose members did not change: its centroid is already the mean of those members, summed
    // in the same order (it moves by 0).
    nstale = 0;
    for (int j = 0; j < k; ++j) {
      const float* c = &s->centroids[size_t(j) * sd];
      float* nx = &s->next[size_t(j) * sd];
      if (!s->changed[size_t(j)] || sizes[j] == 0) {
        std::copy(c, c + d, nx);
        continue;
      }
      s->stale[size_t(nstale++)] = j;
      kern.mean(pts, d, &s->members[size_t(s->first[size_t(j)])], sizes[j], nx);
    }
    // The largest squared move, each cluster's sum over the channels in order (four clusters at
    // a time; a short group repeats its first cluster).
    double moved2 = 0;
    for (int t = 0; t < nstale; t += 4) {
      const float *c[4], *nx[4];
      for (int u = 0; u < 4; ++u) {
        const size_t j = size_t(s->stale[size_t(t + (t + u < nstale ? u : 0))]);
        c[u] = &s->centroids[j * sd];
        nx[u] = &s->next[j * sd];
      }
      double m2[4];
      kern.moved(c, nx, d, m2);
      for (const double m : m2) moved2 = std::max(moved2, m);
    }
    s->centroids.swap(s->next);
    if (moved2 < tol2) break;
  }
  std::copy(s->centroids.begin(), s->centroids.end(), centroids);
  return it;
}

}  // namespace sparsepim::policy
