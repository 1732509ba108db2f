#include "models/policy/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

#include "models/policy/kmeans_hw.h"
#include "workloads/attention.h"

namespace sparsepim::policy {

ClusterStore::ClusterStore(const KmeansParams& km, int head_dim, int row_group_tokens, bool aligned)
    : km_(km), d_(head_dim), row_group_tokens_(row_group_tokens), aligned_(aligned) {}

void ClusterStore::extend(const float* keys, int64_t n) {
  const int bt = km_.block_tokens, k = km_.clusters;
  const int64_t pending = n / bt - blocks_;
  if (pending <= 0) return;
  // The blocks' k-means are independent: many pending blocks (a prompt) are split over two
  // threads. The results do not depend on the split.
  std::vector<uint8_t> labels(size_t(pending) * size_t(bt), 0);
  std::vector<float> cents(size_t(pending) * size_t(k) * size_t(d_));
  std::vector<int> sizes(size_t(pending) * size_t(k), 0);
  std::vector<uint8_t> iters(size_t(pending), 0);
  auto cluster = [&](int64_t lo, int64_t hi, KmeansScratch* scratch) {
    for (int64_t b = lo; b < hi; ++b) {
      const float* x = keys + (blocks_ + b) * bt * d_;
      uint8_t* lab = &labels[size_t(b) * size_t(bt)];
      float* cen = &cents[size_t(b) * size_t(k) * size_t(d_)];
      int* sz = &sizes[size_t(b) * size_t(k)];
      iters[size_t(b)] =
          uint8_t(km_.hardware_arithmetic ? hw::kmeans_block_float_io(x, bt, d_, km_, lab, cen, sz)
                                          : kmeans_block(x, bt, d_, km_, scratch, lab, cen, sz));
    }
  };
  if (pending >= 32 && std::thread::hardware_concurrency() >= 2) {
    KmeansScratch second;
    std::thread helper(cluster, pending / 2, pending, &second);
    cluster(0, pending / 2, &scratch_);
    helper.join();
  } else {
    cluster(0, pending, &scratch_);
  }
  // Storage, block by block: cluster by cluster, each cluster's tokens in position order; with
  // alignment every cluster starts on a row-group boundary.
  for (int64_t b = 0; b < pending; ++b, ++blocks_) {
    const int64_t first = blocks_ * bt;
    const int64_t c0 = int64_t(sizes_.size());
    centroids_.insert(centroids_.end(), cents.begin() + b * k * d_,
                      cents.begin() + (b + 1) * k * d_);
    iterations_.push_back(iters[size_t(b)]);
    cluster_of_.resize(size_t(first + bt));
    slot_of_.resize(size_t(first + bt));
    for (int j = 0; j < k; ++j) {
      const int64_t c = c0 + j;
      if (aligned_)
        region_slots_ =
            (region_slots_ + row_group_tokens_ - 1) / row_group_tokens_ * row_group_tokens_;
      sizes_.push_back(sizes[size_t(b) * size_t(k) + size_t(j)]);
      member_begin_.push_back(int64_t(members_.size()));
      cluster_slot_.push_back(region_slots_);
      for (int i = 0; i < bt; ++i)
        if (labels[size_t(b) * size_t(bt) + size_t(i)] == j) {
          const uint32_t p = uint32_t(first + i);
          members_.push_back(p);
          cluster_of_[p] = int32_t(c);
          slot_of_[p] = region_slots_++;
        }
    }
  }
}

void PageSummaries::extend(const float* keys, int64_t n) {
  for (int64_t p = tokens_; p < n; ++p) {
    const int64_t page = p / page_;
    const float* x = keys + p * d_;
    if (page >= pages_) {
      pages_ = page + 1;
      min_.insert(min_.end(), x, x + d_);
      max_.insert(max_.end(), x, x + d_);
      continue;
    }
    float* lo = &min_[size_t(page) * size_t(d_)];
    float* hi = &max_[size_t(page) * size_t(d_)];
    for (int c = 0; c < d_; ++c) {
      lo[c] = std::min(lo[c], x[c]);
      hi[c] = std::max(hi[c], x[c]);
    }
  }
  tokens_ = std::max(tokens_, n);
}

KvCache::KvCache(int layer, int kv_head, int head_dim, int64_t capacity, const float* keys,
                 const float* values)
    : layer_(layer),
      kv_head_(kv_head),
      d_(head_dim),
      capacity_(capacity),
      keys_(keys),
      values_(values) {
  if (head_dim < 1 || capacity < 1 || !keys) throw std::invalid_argument("KvCache: empty cache");
}

void KvCache::set_length(int64_t n) {
  if (n < n_ || n < 1 || n > capacity_)
    throw std::invalid_argument("KvCache::set_length: " + std::to_string(n) + " tokens (have " +
                                std::to_string(n_) + ", capacity " + std::to_string(capacity_) +
                                ")");
  n_ = n;
}

ClusterStore& KvCache::clusters(const KmeansParams& km, int row_group_tokens, bool aligned) {
  if (!clusters_) clusters_ = std::make_unique<ClusterStore>(km, d_, row_group_tokens, aligned);
  // The block the current token completes is clustered after this step (in memory, charged to
  // the step), so the current token is always among the unclustered recent tokens.
  clusters_->extend(keys_, n_ - 1);
  return *clusters_;
}

PageSummaries& KvCache::pages(int page_tokens) {
  if (!pages_) pages_ = std::make_unique<PageSummaries>(d_, page_tokens);
  if (pages_->page_tokens() != page_tokens)
    throw std::invalid_argument("KvCache::pages: page size changed");
  pages_->extend(keys_, n_);
  return *pages_;
}

void ScoreCache::reset(const float* queries, int group, const KvCache* cache) {
  queries_ = queries;
  group_ = group;
  cache_ = cache;
  n_ = cache->length();
  scores_.resize(size_t(group));
  valid_.assign(size_t(group), 0);
}

const float* ScoreCache::scores(int g) {
  if (!valid_[size_t(g)]) {
    auto& s = scores_[size_t(g)];
    s.resize(size_t(n_));
    const int d = cache_->head_dim();
    workloads::attention_scores_fp32(queries_ + int64_t(g) * d, cache_->keys(), n_, d, s.data());
    valid_[size_t(g)] = 1;
  }
  return scores_[size_t(g)].data();
}

}  // namespace sparsepim::policy
