#pragma once
// The arithmetic of the AttAcc attention dataflow for one query head, bit for bit, without the
// memory system: what the per-bank PIM units (gemv_units) and the buffer die compute. `sparsepim
// gemv` checks the units against it (bit_exact); the decode simulation's FP16 numerics use it.
//
// Scores: each bank holds 32 of the head's dimensions; its unit multiplies-accumulates them from
// zero, column by column; the buffer die adds the banks' partial sums in bank order.
// Softmax on the buffer die: FP64 exponentials of the scaled scores, probabilities rounded to
// FP32 and then FP16 (they go back into the banks' buffers).
// Output: per slice, the bank units accumulate p x v over their rows in MAC order (row by row,
// the 16 tokens of a row in lane order); the buffer die adds the slices' partial outputs in slice
// order. Accumulators are FP16, or FP32 with acc_fp32 (the ALU's ACC_FP32 parameter).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparsepim::pim {

// Accumulator-format score of one token: k and q are head_dim FP16 values.
uint32_t attacc_score(const uint16_t* k, const uint16_t* q, uint32_t head_dim, bool acc_fp32);

// FP16 probabilities of n accumulator-format scores.
void attacc_softmax(const uint32_t* scores, uint32_t n, uint32_t head_dim, bool acc_fp32,
                    uint16_t* p16);

// The output (head_dim accumulator-format values). slice_tokens[s]: the tokens slice s MACs over,
// 16 per row in lane order (-1: an empty lane); p16_of(t) and v_of(t) give a token's probability
// and value row (FP16, token-major).
template <class P, class V>
void attacc_output(const std::vector<std::vector<int64_t>>& slice_tokens, uint32_t head_dim,
                   bool acc_fp32, P p16_of, V v_of, uint32_t* out);

uint32_t attacc_acc_add(uint32_t a, uint32_t b, bool acc_fp32);
uint32_t attacc_mac(uint32_t acc, uint16_t a, uint16_t b, bool acc_fp32);

template <class P, class V>
void attacc_output(const std::vector<std::vector<int64_t>>& slice_tokens, uint32_t head_dim,
                   bool acc_fp32, P p16_of, V v_of, uint32_t* out) {
  for (uint32_t d = 0; d < head_dim; ++d) {
    const uint32_t j = d / 32, h = (d / 16) % 2, l = d % 16;
    uint32_t total = 0;
    bool first = true;
    for (const auto& tokens : slice_tokens) {
      uint32_t acc = 0;
      for (std::size_t r = 0; r + 16 <= tokens.size(); r += 16)
        for (uint32_t c = h; c < 32; c += 2) {
          const int64_t t = tokens[r + c / 2];
          acc = t < 0 ? attacc_mac(acc, 0, 0, acc_fp32)
                      : attacc_mac(acc, v_of(t)[32 * j + 16 * h + l], p16_of(t), acc_fp32);
        }
      total = first ? acc : attacc_acc_add(total, acc, acc_fp32);
      first = false;
    }
    out[d] = total;
  }
}

}  // namespace sparsepim::pim
