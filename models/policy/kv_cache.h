#pragma once
// One layer's KV cache for one KV head, as the policies see it: the keys and values of tokens
// 0..n-1 and the metadata a memory system keeps beside them — STARC's clusters of every
// complete 64-token block (with the cluster-ordered storage layout) and Quest's per-page key
// minima and maxima. Metadata is a pure function of the keys, built incrementally as the cache
// grows and shared by every policy that reads it (so a run comparing several budgets clusters
// each block once).
#include <cstdint>
#include <memory>
#include <vector>

#include "models/policy/kmeans.h"
#include "models/policy/policy_params.h"

namespace sparsepim::policy {

// Storage slots (token-sized places in the row-group layout). Token order stores position p at
// slot p. STARC stores clustered tokens in cluster order from slot 0 on and keeps the tokens of
// the incomplete block in a staging area in token order, at kStagingSlotBase + p.
constexpr int64_t kStagingSlotBase = int64_t(1) << 40;

// STARC's clusters of one KV head: every complete block of block_tokens keys clustered on its
// own (old blocks are never re-clustered), tokens stored cluster by cluster.
class ClusterStore {
 public:
  ClusterStore(const KmeansParams& km, int head_dim, int row_group_tokens, bool aligned);
  ~ClusterStore();
  ClusterStore(const ClusterStore&) = delete;
  ClusterStore& operator=(const ClusterStore&) = delete;

  // Clusters every block that is complete within keys[0, n) and not clustered yet. Many
  // pending blocks (a prompt) are shared between the calling thread and a helper thread.
  void extend(const float* keys, int64_t n);
  // Starts extend(keys, n)'s k-means on the helper thread and returns at once (nothing to do
  // unless there are many pending blocks); the next extend, for n or more tokens, finishes it.
  // keys[0, n) must stay unchanged until then. The results do not depend on which thread
  // clusters which block.
  void start(const float* keys, int64_t n);

  int64_t clustered_tokens() const { return int64_t(blocks_) * km_.block_tokens; }
  int64_t clusters() const { return int64_t(sizes_.size()); }
  int block_tokens() const { return km_.block_tokens; }
  int clusters_per_block() const { return km_.clusters; }
  // Centroid of cluster c (head_dim floats, the k-means mean of L2-normalised keys).
  const float* centroid(int64_t c) const { return &centroids_[size_t(c) * size_t(d_)]; }
  int size(int64_t c) const { return sizes_[size_t(c)]; }
  // Positions of cluster c in storage order (ascending).
  const uint32_t* members(int64_t c) const { return &members_[size_t(member_begin_[size_t(c)])]; }
  // Cluster of a clustered position (p < clustered_tokens()).
  int64_t cluster_of(uint32_t p) const { return cluster_of_[p]; }
  // Storage slot of a position (clustered or staging).
  int64_t slot(uint32_t p) const {
    return int64_t(p) < clustered_tokens() ? slot_of_[p] : kStagingSlotBase + int64_t(p);
  }
  // First slot of cluster c and the slots the clustered region occupies (with alignment
  // padding): storage overhead = region_slots() / clustered_tokens().
  int64_t cluster_slot(int64_t c) const { return cluster_slot_[size_t(c)]; }
  int64_t region_slots() const { return region_slots_; }
  // Lloyd iterations each block took (1..max_iterations).
  const std::vector<uint8_t>& iterations() const { return iterations_; }

 private:
  KmeansParams km_;
  int d_;
  int row_group_tokens_;
  bool aligned_;
  int64_t blocks_ = 0;
  int64_t region_slots_ = 0;
  std::vector<float> centroids_;
  std::vector<int> sizes_;
  std::vector<int64_t> member_begin_;
  std::vector<uint32_t> members_;
  std::vector<int64_t> cluster_slot_;
  std::vector<int32_t> cluster_of_;
  std::vector<int64_t> slot_of_;
  std::vector<uint8_t> iterations_;
  KmeansScratch scratch_;
  struct Job;  // pending blocks being clustered
  std::unique_ptr<Job> job_;

  std::unique_ptr<Job> make_job(const float* keys, int64_t n) const;
  void finish(Job* job);
};

// Quest's page summaries: per page of page_tokens tokens, the channel-wise minimum and maximum
// of the keys (the last page partial while it fills).
class PageSummaries {
 public:
  PageSummaries(int head_dim, int page_tokens) : d_(head_dim), page_(page_tokens) {}
  void extend(const float* keys, int64_t n);
  int64_t pages() const { return pages_; }
  int page_tokens() const { return page_; }
  const float* min(int64_t page) const { return &min_[size_t(page) * size_t(d_)]; }
  const float* max(int64_t page) const { return &max_[size_t(page) * size_t(d_)]; }

 private:
  int d_, page_;
  int64_t tokens_ = 0, pages_ = 0;
  std::vector<float> min_, max_;
};

class KvCache {
 public:
  // keys and values: capacity rows of head_dim floats (post-RoPE keys), owned by the caller;
  // values may be null when no output is needed.
  KvCache(int layer, int kv_head, int head_dim, int64_t capacity, const float* keys,
          const float* values);

  int layer() const { return layer_; }
  int kv_head() const { return kv_head_; }
  int head_dim() const { return d_; }
  int64_t length() const { return n_; }
  // Tokens 0..n-1 are present (n only grows; 1 <= n <= capacity).
  void set_length(int64_t n);
  const float* keys() const { return keys_; }
  const float* values() const { return values_; }
  const float* key(int64_t p) const { return keys_ + p * d_; }

  // Metadata, brought up to length() on each call (clusters: the blocks complete before the
  // current token, which the step that completes a block clusters after its attention). The
  // parameters of the first call stay.
  ClusterStore& clusters(const KmeansParams& km, int row_group_tokens, bool aligned);
  PageSummaries& pages(int page_tokens);
  // Starts the clustering the next clusters() call needs on a helper thread, so that it runs
  // while the caller does other work (ClusterStore::start); same parameters as clusters().
  void prefetch_clusters(const KmeansParams& km, int row_group_tokens, bool aligned);

 private:
  int layer_, kv_head_, d_;
  int64_t capacity_, n_ = 0;
  const float* keys_;
  const float* values_;
  std::unique_ptr<ClusterStore> clusters_;
  std::unique_ptr<PageSummaries> pages_;
};

// Exact scores q.k/sqrt(d) of one step's group queries over the whole cache, FP32, computed on
// first use and shared by the policies of a run and by the reference.
class ScoreCache {
 public:
  void reset(const float* queries, int group, const KvCache* cache);
  const float* scores(int g);  // n floats

 private:
  const float* queries_ = nullptr;
  const KvCache* cache_ = nullptr;
  int group_ = 0;
  int64_t n_ = 0;
  std::vector<std::vector<float>> scores_;
  std::vector<char> valid_;
};

}  // namespace sparsepim::policy
