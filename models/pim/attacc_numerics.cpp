#include "pim/attacc_numerics.h"

#include <cmath>
#include <vector>

#include "pim/fp16_alu.h"

namespace sparsepim::pim {

uint32_t attacc_acc_add(uint32_t a, uint32_t b, bool acc_fp32) {
  return acc_fp32 ? fp32_bits(fp32_from_bits(a) + fp32_from_bits(b))
                  : uint32_t(fp16_add(uint16_t(a), uint16_t(b)));
}

uint32_t attacc_mac(uint32_t acc, uint16_t a, uint16_t b, bool acc_fp32) {
  return alu_lane(AluOp::kMac, a, b, acc, acc_fp32);
}

uint32_t attacc_score(const uint16_t* k, const uint16_t* q, uint32_t head_dim, bool acc_fp32) {
  uint32_t score = 0;
  for (uint32_t j = 0; j < head_dim / 32; ++j) {
    uint32_t acc = 0;
    for (uint32_t col = 0; col < 32; ++col)
      acc = attacc_mac(acc, k[32 * j + col], q[32 * j + col], acc_fp32);
    score = j == 0 ? acc : attacc_acc_add(score, acc, acc_fp32);
  }
  return score;
}

void attacc_softmax(const uint32_t* scores, uint32_t n, uint32_t head_dim, bool acc_fp32,
                    uint16_t* p16) {
  const double scale = 1.0 / std::sqrt(double(head_dim));
  double mx = -INFINITY;
  std::vector<double> x(n);
  for (uint32_t t = 0; t < n; ++t) {
    x[t] = (acc_fp32 ? double(fp32_from_bits(scores[t])) : fp16_to_double(uint16_t(scores[t]))) *
           scale;
    mx = std::max(mx, x[t]);
  }
  double sum = 0;
  for (double& v : x) sum += (v = std::exp(v - mx));
  for (uint32_t t = 0; t < n; ++t) p16[t] = fp16_from_float(float(x[t] / sum));
}

}  // namespace sparsepim::pim
