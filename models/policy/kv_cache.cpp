#include "models/policy/kv_cache.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

#include "models/policy/kmeans_hw.h"
#include "workloads/attention.h"

namespace sparsepim::policy {

// The k-means of blocks [first, first + pending) of keys: a shared counter hands out blocks
// to the threads that work on it (the helper, once started, and the caller of extend).
struct ClusterStore::Job {
  const float* keys = nullptr;
  int64_t n = 0, first = 0, pending = 0;
  std::vector<uint8_t> labels;
  std::vector<float> cents;
  std::vector<int> sizes;
  std::vector<uint8_t> iters;
  std::atomic<int64_t> next{0};
  std::thread helper;
  KmeansScratch helper_scratch;
  std::exception_ptr helper_error;

  void work(const ClusterStore& store, KmeansScratch* scratch) {
    const KmeansParams& km = store.km_;
    const int bt = km.block_tokens, k = km.clusters, d = store.d_;
    for (int64_t b; (b = next.fetch_add(1, std::memory_order_relaxed)) < pending;) {
      const float* x = keys + (first + b) * bt * d;
      uint8_t* lab = &labels[size_t(b) * size_t(bt)];
      float* cen = &cents[size_t(b) * size_t(k) * size_t(d)];
      int* sz = &sizes[size_t(b) * size_t(k)];
      iters[size_t(b)] =
          uint8_t(km.hardware_arithmetic ? hw::kmeans_block_float_io(x, bt, d, km, lab, cen, sz)
                                         : kmeans_block(x, bt, d, km, scratch, lab, cen, sz));
    }
  }
  void join() {
    if (helper.joinable()) helper.join();
  }
};

ClusterStore::ClusterStore(const KmeansParams& km, int head_dim, int row_group_tokens, bool aligned)
    : km_(km), d_(head_dim), row_group_tokens_(row_group_tokens), aligned_(aligned) {}

ClusterStore::~ClusterStore() {
  if (job_) {
    job_->next.store(job_->pending);  // hand out no more blocks
    job_->join();
  }
}

std::unique_ptr<ClusterStore::Job> ClusterStore::make_job(const float* keys, int64_t n) const {
  const int bt = km_.block_tokens, k = km_.clusters;
  auto job = std::make_unique<Job>();
  job->keys = keys;
  job->n = n;
  job->first = blocks_;
  job->pending = std::max<int64_t>(n / bt - blocks_, 0);
  job->labels.assign(size_t(job->pending) * size_t(bt), 0);
  job->cents.resize(size_t(job->pending) * size_t(k) * size_t(d_));
  job->sizes.assign(size_t(job->pending) * size_t(k), 0);
  job->iters.assign(size_t(job->pending), 0);
  return job;
}

void ClusterStore::start(const float* keys, int64_t n) {
  // A helper thread pays off for many blocks (a prompt), not for the block of a decode step.
  if (job_ || n / km_.block_tokens - blocks_ < 32 || std::thread::hardware_concurrency() < 2)
    return;
  job_ = make_job(keys, n);
  Job* job = job_.get();
  job->helper = std::thread([this, job] {
    try {
      job->work(*this, &job->helper_scratch);
    } catch (...) {
      job->helper_error = std::current_exception();
      job->next.store(job->pending);
    }
  });
}

void ClusterStore::extend(const float* keys, int64_t n) {
  if (job_ && job_->n > n)
    throw std::logic_error("ClusterStore::extend: fewer tokens than the started clustering");
  if (job_ && (job_->keys != keys || job_->n != n)) finish(job_.get());  // started for fewer
  if (!job_) {
    if (n / km_.block_tokens <= blocks_) return;
    start(keys, n);
    if (!job_) job_ = make_job(keys, n);  // few blocks: this thread alone
  }
  finish(job_.get());
}

// Clusters the job's remaining blocks on this thread, waits for the helper and appends the
// blocks to the storage: block by block, cluster by cluster, each cluster's tokens in position
// order; with alignment every cluster starts on a row-group boundary.
void ClusterStore::finish(Job* job) {
  std::unique_ptr<Job> owned = std::move(job_);
  try {
    job->work(*this, &scratch_);
  } catch (...) {
    job->next.store(job->pending);
    job->join();
    throw;
  }
  job->join();
  if (job->helper_error) std::rethrow_exception(job->helper_error);
  const int bt = km_.block_tokens, k = km_.clusters;
  for (int64_t b = 0; b < job->pending; ++b, ++blocks_) {
    const int64_t first = blocks_ * bt;
    const int64_t c0 = int64_t(sizes_.size());
    centroids_.insert(centroids_.end(), job->cents.begin() + b * k * d_,
                      job->cents.begin() + (b + 1) * k * d_);
    iterations_.push_back(job->iters[size_t(b)]);
    cluster_of_.resize(size_t(first + bt));
    slot_of_.resize(size_t(first + bt));
    for (int j = 0; j < k; ++j) {
      const int64_t c = c0 + j;
      if (aligned_)
        region_slots_ =
            (region_slots_ + row_group_tokens_ - 1) / row_group_tokens_ * row_group_tokens_;
      sizes_.push_back(job->sizes[size_t(b) * size_t(k) + size_t(j)]);
      member_begin_.push_back(int64_t(members_.size()));
      cluster_slot_.push_back(region_slots_);
      for (int i = 0; i < bt; ++i)
        if (job->labels[size_t(b) * size_t(bt) + size_t(i)] == j) {
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

void KvCache::prefetch_clusters(const KmeansParams& km, int row_group_tokens, bool aligned) {
  if (!clusters_) clusters_ = std::make_unique<ClusterStore>(km, d_, row_group_tokens, aligned);
  clusters_->start(keys_, n_ - 1);
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
