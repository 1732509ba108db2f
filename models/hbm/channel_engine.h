#pragma once
// One HBM channel: a controller per pseudo-channel (read/write queues, FR-FCFS with row-hit
// priority and an age cap, open or closed page, write drain, refresh) and a command multiplexer
// that lets the pseudo-channels share the row-command bus. Plain C++, event driven: every step
// computes the earliest cycle at which any command can legally issue and jumps there.
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <vector>

#include "hbm/address_mapping.h"
#include "hbm/command_observer.h"
#include "hbm/memory_config.h"
#include "hbm/timing_state.h"

namespace sparsepim::pim {
struct PimData;  // the operands and results of a PIM op (models/pim/pim_data.h)
}

namespace sparsepim::hbm {

inline constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

struct Request {
  uint64_t tag = 0;  // the caller's identifier, handed back on completion
  uint64_t addr = 0;
  bool write = false;
  void* user = nullptr;
};

// One activation of a per-slice MAC round: `row` in every bank of bank group `bg` of SID `sid`
// of pseudo-channel `pc` — one "slice" of the AttAcc layout, so a row group (16 tokens) when the
// slice's banks hold one key split four ways.
struct SliceRow {
  uint32_t pc = 0, sid = 0, bg = 0, row = 0;
};

// The rounds of a kMacRowGroups op: round r activates acts[begin[r] .. begin[r + 1]), at most one
// row per slice. Immutable once built and shared by every copy of the op (engine queue, TLM
// extensions and their clones).
struct MacRounds {
  std::vector<SliceRow> acts;
  std::vector<uint32_t> begin{0};  // rounds() + 1 offsets into acts
  uint32_t rounds() const { return begin.empty() ? 0 : uint32_t(begin.size() - 1); }
  uint32_t round_size(uint32_t r) const { return begin[r + 1] - begin[r]; }
};

// Rounds exactly as given (each inner vector is one round).
std::shared_ptr<const MacRounds> make_mac_rounds(const std::vector<std::vector<SliceRow>>& rounds);
// Balanced row streams: rows[s] lists the rows slice s must MAC over, slice s = (pc * sids + sid)
// * bank_groups + bg (the AttAcc layout's slice order); round k activates the k-th row of every
// slice that has more than k rows, so rounds = max over slices of rows[s].size(). Throws
// std::out_of_range for more slices than the organisation has.
std::shared_ptr<const MacRounds> balanced_mac_rounds(
    const Organization& org, const std::vector<std::vector<uint32_t>>& rows);

// A coarse PIM operation, expanded by the engine into commands with exact timing.
struct PimOp {
  enum class Kind : uint8_t {
    kMacRows,          // for each row: ACTAB, `columns` x MACAB (spaced by CCDAB), PREA
    kWriteBuffer,      // `columns` x WRGB bursts
    kMoveToBufferDie,  // `columns` x MVSB bursts
    kMoveToBanks,      // `columns` x MVGB bursts
    // Per-slice activation: for each round of `rounds`, a single-bank ACT to every bank of every
    // slice of the round (JEDEC ACTs: tRRD_S/L, tFAW, the row bus, tRC, tRP apply), then
    // `columns` x MACAB over the scope (each computes in the banks with an open row), then PREA.
    kMacRowGroups,
  };
  Kind kind = Kind::kMacRows;
  uint32_t pc = 0;         // the pseudo-channel, when the PIM scope is one pseudo-channel
  uint32_t row_first = 0;  // kMacRows: rows row_first .. row_first + row_count - 1
  uint32_t row_count = 0;
  uint32_t columns = 0;  // MACABs per row or round, or bursts
  // kMacRows / kMacRowGroups: MACABs address columns column_first .. column_first + columns - 1
  uint32_t column_first = 0;
  std::shared_ptr<const MacRounds> rounds;  // kMacRowGroups only
  // kMacRows: the banks of the scope whose units compute on each MACAB (the Command's
  // bank_mask; the ACTAB still opens the row everywhere). kMacRowGroups: the opened banks.
  uint64_t mac_mask = ~uint64_t(0);
  // MAC ops: buffered queries each MACAB's column is applied to (1 .. pim.query_slots).
  uint8_t queries = 1;
  uint64_t tag = 0;
  void* user = nullptr;
  pim::PimData* data = nullptr;  // functional operands; timing never looks at it
};

// Carries out the data side of PIM commands (the PIM units). Called for every PIM command as it
// issues (the single-bank ACTs of a kMacRowGroups op included), after the observers; `index` is
// the burst (WRGB/MVSB/MVGB) or column (MACAB) number within the op, the round for an ACT.
class PimExecutor {
 public:
  virtual ~PimExecutor() = default;
  virtual void on_pim_command(const Command& c, const PimOp& op, uint32_t index) = 0;
};

class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  // The request's data burst ends at `done_cycle` (known when its column command issues);
  // `arrival_cycle` is when the engine accepted it.
  virtual void on_request_done(const Request& r, uint64_t arrival_cycle, uint64_t done_cycle) = 0;
  virtual void on_pim_done(const PimOp& op, uint64_t done_cycle) = 0;
};

class ChannelEngine {
 public:
  ChannelEngine(const MemoryConfig& cfg, uint32_t channel_id);

  void add_observer(CommandObserver* o) { observers_.push_back(o); }
  void set_sink(CompletionSink* s) { sink_ = s; }
  void set_pim_executor(PimExecutor* e) { pim_exec_ = e; }
  const MemoryConfig& config() const { return cfg_; }
  const AddressMapper& mapper() const { return mapper_; }
  uint32_t channel_id() const { return channel_id_; }

  // Queue space for a request to this address (the address must be in range).
  bool can_accept(uint64_t addr, bool write) const;
  // Enqueues at the engine's current cycle. Throws std::out_of_range for an address outside
  // the channel (callers turn that into TLM_ADDRESS_ERROR_RESPONSE).
  void enqueue(const Request& r);
  void enqueue_pim(const PimOp& op);
  // Throws std::invalid_argument / std::out_of_range for an op this memory cannot run.
  void check_pim(const PimOp& op) const;

  // Issues every command whose cycle is <= limit. With a finite limit the engine then stands at
  // limit + 1: later arrivals cannot change what was decided before them.
  void run_until(uint64_t limit);
  // Issues exactly one command (the next one); false when there is no pending work.
  bool step();
  // Issues everything pending (requests and PIM ops); refresh continues only while work remains.
  void drain() { run_until(kNever); }
  // Cycle of the next command that pending work needs (kNever when idle). Refresh alone does not
  // count: it is issued retroactively when the engine catches up.
  uint64_t next_work_cycle();

  uint64_t now() const { return now_; }
  bool pim_pending() const {
    for (const auto& l : lanes_)
      if (!l.queue.empty()) return true;
    return false;
  }
  uint64_t last_command_cycle() const { return last_cycle_; }
  bool idle() const;
  uint64_t pending_requests() const;
  // Tells observers the simulation ended at `cycle` (>= last command).
  void finish(uint64_t cycle);

 private:
  struct Entry {
    Request req;
    DramAddress a;
    uint64_t seq = 0;
    uint64_t arrival = 0;
    int32_t next = -1;  // next entry of the same bank and direction, in arrival order
  };
  struct BankList {
    int32_t head = -1, tail = -1;
  };
  struct Bank {
    int64_t open_row = -1;
    RowOutcome next_outcome = RowOutcome::kMiss;  // what the first access after ACT counts as
    bool closed_by_conflict = false;
    // The FR-FCFS choice for this bank (which request, which command) only changes when its
    // queue or its open row changes; the cycle is asked afresh each time.
    bool choice_valid = false;
    bool choice_writes = false;
    Cmd choice_cmd = Cmd::ACT;
    int32_t choice_entry = -1;  // -1: nothing may go (waits for a PIM op)
    uint64_t choice_seq = 0;
  };
  struct Choice {
    int32_t entry;
    Cmd cmd;
    uint64_t seq;
  };
  struct Candidate {
    uint64_t cycle = kNever;
    Cmd cmd = Cmd::ACT;
    int32_t entry = -1;  // request served (-1 for refresh / policy precharges)
    uint32_t bank = 0;   // bank index within the pseudo-channel
    bool valid = false;
    bool incremental_ok = false;  // a new request may be merged in without a full recompute
    uint64_t seq = kNever;        // priority of a request candidate: oldest first
  };
  struct PseudoChannel {
    std::vector<BankList> reads, writes;
    uint64_t read_mask = 0, write_mask = 0;  // banks with pending reads / writes
    uint64_t open_mask = 0;                  // banks with an open row
    uint32_t nreads = 0, nwrites = 0;
    bool draining = false;
    std::vector<Bank> banks;
    uint64_t refresh_due = kNever;
    uint32_t refresh_bank = 0;  // per-bank refresh: next bank in round robin
    Candidate cand;
  };
  // kAct: the ACTAB of a kMacRows row; kActBanks: the single-bank ACTs of a kMacRowGroups round.
  enum class PimPhase : uint8_t { kIdle, kAct, kActBanks, kMac, kPre, kBurst };

  bool issue_next();              // issues the next command of any kind, refresh included
  uint64_t next_command_cycle();  // cycle of that command (kNever if none)
  BankCoord coord(uint32_t pc, uint32_t bank) const;
  uint32_t bank_index(const DramAddress& a) const {
    return (a.sid * cfg_.org.bank_groups + a.bg) * cfg_.org.banks_per_group + a.bank;
  }
  const Candidate& candidate(uint32_t pc);
  Candidate compute_candidate(uint32_t pc);
  Candidate refresh_candidate(uint32_t pc);
  void consider_bank(uint32_t pc, uint32_t bank, bool writes, bool force_head, uint64_t barrier,
                     Candidate& best, uint64_t& best_seq, bool& best_cas);
  Choice choose(uint32_t pc, uint32_t bank, bool writes, bool force_head, uint64_t barrier) const;
  uint64_t barrier_for(uint32_t pc) const;
  void invalidate_choices() {
    for (auto& p : pcs_)
      for (auto& b : p.banks) b.choice_valid = false;
  }
  bool pim_blocks(uint32_t pc) const;
  void check_row_groups(const PimOp& op) const;
  bool pim_candidate(uint32_t lane, uint64_t& cycle, Cmd& cmd);
  void execute_pim(uint32_t lane, uint64_t cycle, Cmd cmd);
  void execute(uint32_t pc, const Candidate& c);
  void emit(const Command& c);
  void invalidate_all() {
    for (auto& p : pcs_) p.cand.valid = false;
  }
  void invalidate_row_candidates(uint32_t except_pc, uint64_t bus_free);
  void unlink(uint32_t pc, bool write, uint32_t bank, int32_t entry);
  void set_now(uint64_t t);
  uint64_t refresh_interval() const;

  MemoryConfig cfg_;
  uint32_t channel_id_;
  AddressMapper mapper_;
  TimingState ts_;
  std::vector<PseudoChannel> pcs_;
  std::vector<BankCoord> coords_;  // per (pc, bank)
  std::vector<BankNodes> nodes_;   // per (pc, bank)
  std::vector<Entry> entries_;
  std::vector<int32_t> free_;
  uint64_t seq_ = 0;
  uint64_t now_ = 0;
  uint64_t last_cycle_ = 0;
  std::vector<CommandObserver*> observers_;
  CompletionSink* sink_ = nullptr;
  PimExecutor* pim_exec_ = nullptr;

  // PIM operations run in arrival order within their scope; normal requests of the scope that
  // arrived after a PIM op wait for it. One lane for a channel-wide PIM scope, one per
  // pseudo-channel otherwise (the pseudo-channels' units then work in parallel).
  struct PimLane {
    std::deque<std::pair<PimOp, uint64_t>> queue;  // op and its sequence number
    PimPhase phase = PimPhase::kIdle;
    uint32_t row = 0, col = 0;
    uint32_t rr = 0;  // round robin over (pc, bank group) for buffer bursts
    // kMacRowGroups: the current round, per slice of the round the banks activated so far
    // (sized once to the slices of the scope), the ACTs still to issue, the slice chosen for the
    // next ACT, and the banks of the scope opened in this round (the MACABs' bank mask).
    uint32_t round = 0;
    std::vector<uint8_t> activated;
    uint32_t acts_left = 0;
    uint32_t pick = 0;
    uint64_t mac_mask = 0;
  };
  void begin_round(PimLane& L, const PimOp& op, uint32_t round);
  std::vector<PimLane> lanes_;
  uint32_t lane_of(uint32_t pc) const { return cfg_.pim.scope == PimScope::kChannel ? 0 : pc; }
};

}  // namespace sparsepim::hbm
