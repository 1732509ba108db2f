#pragma once
// An independent DRAM timing checker: re-derives every JEDEC-style rule from the command stream
// alone, as an explicit list of per-rule checks against a history of earlier commands (last ACT,
// PRE, RD, WR per bank; per bank group; per SID; per pseudo-channel; a ring of the last four ACTs
// for tFAW; the recent bursts on each data bus; the shared row-command bus of a channel).
//
// It deliberately shares no code with the engine's declarative rule table (timing_rules.h /
// timing_state.h): the two are separate derivations of DESIGN.md 2.2, and agreeing on millions of
// commands is the evidence that both are right.
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hbm/command_observer.h"
#include "hbm/dram_command.h"
#include "hbm/memory_config.h"

namespace sparsepim::hbm {

class TimingViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TimingChecker : public CommandObserver {
 public:
  // Every rule the checker knows, by the name that starts its violation message.
  enum class Rule : uint8_t {
    kOrder,          // commands of one channel arrive in non-decreasing cycle order
    kAddress,        // coordinates inside the organisation
    kRowBus,         // shared row-command bus of a channel: no overlap (ACT/ACTAB hold ACT_BUS)
    kColBus,         // column-command bus of a pseudo-channel: one command per cycle
    kDataBus,        // data bus of a pseudo-channel: bursts do not overlap
    kRTW,            // RD/MVSB -> WR/WRGB >= max(RTW, CL+BL+2-CWL)
    kActOpenBank,    // ACT to a bank whose row is open
    kColClosedBank,  // RD/WR to a closed bank; MACAB with no bank open or a closed bank in its mask
    kRowMismatch,    // RD/WR/MACAB to a row other than the open one
    kActabOpenBank,  // ACTAB with a bank of its scope open
    kRefOpenBank,    // REF / REFPB with a bank open
    kRCD_RD,         // ACT/ACTAB -> RD/MACAB, same bank (MACAB: every participating bank)
    kRCD_WR,         // ACT/ACTAB -> WR, same bank
    kRAS,            // ACT/ACTAB -> PRE/PREA, same bank
    kRC,             // ACT/ACTAB -> ACT/ACTAB (and -> REF/REFPB), same bank
    kRP,             // PRE/PREA -> ACT/ACTAB/REF/REFPB, same bank
    kRTP,            // RD/MACAB -> PRE/PREA, same bank (RTP_L)
    kWR,             // WR -> PRE/PREA, same bank: CWL+BL+WR (write recovery)
    kRRD_L,          // ACT -> ACT, same bank group
    kRRD_S,          // ACT -> ACT, same SID, other bank group
    kFAW,            // at most four ACTs per SID in any FAW window
    kCCD_L,          // data column commands, same bank group
    kCCD_S,          // data column commands, same SID, other bank group
    kCCD_R,          // data column commands, other SID of the same pseudo-channel
    kWTR_L,          // WR -> RD, same bank group: CWL+BL+WTR_L
    kWTR_S,          // WR -> RD, same SID, other bank group: CWL+BL+WTR_S
    kCCDAB,          // MACAB -> MACAB of overlapping scope
    kRFC,            // REF -> ACT/ACTAB/REF/REFPB in the refreshed pseudo-channel
    kRFC_PB,         // REFPB -> ACT/ACTAB of the refreshed bank
    kRREFD,          // REFPB -> REFPB and REFPB -> ACT of another bank, same SID
    kMacBanks,       // MACAB whose bank mask leaves out a bank of its scope with an open row
    kCount
  };
  static constexpr int kNumRules = static_cast<int>(Rule::kCount);
  static std::string_view rule_name(Rule r);

  // throw_on_first: throw TimingViolation at the first violation (used by `--check-timing`).
  explicit TimingChecker(const MemoryConfig& cfg, bool throw_on_first = false);

  void on_command(const Command& c) override;

  uint64_t commands_checked() const { return checked_; }
  uint64_t violations() const { return violations_; }
  uint64_t violations(Rule r) const { return per_rule_[static_cast<int>(r)]; }
  const std::vector<std::string>& messages() const { return messages_; }  // first 100

 private:
  static constexpr int64_t kNone = -(int64_t(1) << 60);  // "never happened": every gap is met
  static constexpr size_t kMaxMessages = 100;
  static constexpr uint32_t kBurstRing = 64;  // recent bursts kept per pseudo-channel

  struct BankHist {
    int64_t act = kNone, pre = kNone, rd = kNone, wr = kNone, refpb = kNone;
    Cmd act_cmd = Cmd::ACT, pre_cmd = Cmd::PRE, rd_cmd = Cmd::RD;
    bool open = false;
    uint32_t row = 0;
  };
  struct GroupHist {       // one bank group of one SID
    int64_t act = kNone;   // last ACT (not ACTAB)
    int64_t data = kNone;  // last RD/WR/WRGB/MVSB/MVGB
    int64_t wr = kNone;    // last WR
    Cmd data_cmd = Cmd::RD;
  };
  struct SidHist {
    std::array<int64_t, 4> faw{kNone, kNone, kNone, kNone};  // last four ACTs, ring
    uint32_t faw_pos = 0;
    int64_t refpb = kNone;  // last REFPB of this SID and its bank
    uint32_t refpb_bank = 0;
  };
  struct Burst {
    int64_t issue = kNone, start = kNone;
    Cmd cmd = Cmd::RD;
  };
  struct PcHist {
    int64_t col = kNone;  // last column command
    Cmd col_cmd = Cmd::RD;
    int64_t rd_dir = kNone;  // last RD/MVSB (read direction on the data bus)
    Cmd rd_dir_cmd = Cmd::RD;
    int64_t macab = kNone;  // last MACAB reaching this pseudo-channel
    int64_t ref = kNone;    // last REF reaching this pseudo-channel
    std::array<Burst, kBurstRing> bursts{};
    uint32_t burst_pos = 0;  // next slot to write
    uint32_t burst_count = 0;
  };
  struct ChannelHist {
    int64_t last_cycle = kNone;
    int64_t row_bus_free = kNone;  // first cycle the row-command bus is free
    int64_t row_bus_cmd_cycle = kNone;
    Cmd row_bus_cmd = Cmd::ACT;
    std::vector<PcHist> pcs;
    std::vector<SidHist> sids;      // [pc][sid]
    std::vector<GroupHist> groups;  // [pc][sid][bg]
    std::vector<BankHist> banks;    // [pc][sid][bg][bank]
  };

  // Where the history of one command lives.
  struct Where {
    ChannelHist* ch;
    uint32_t pc_lo, pc_hi;  // pseudo-channels reached
    uint32_t bank_index;    // single-bank commands: index within the pseudo-channel
  };

  // An earlier command that a rule measures from: its cycle, kind and (for all-bank checks)
  // the bank it was found in.
  struct Prior {
    int64_t cycle = kNone;
    Cmd cmd = Cmd::ACT;
    int32_t bank = -1;  // index within its pseudo-channel, -1 when irrelevant
    uint32_t pc = 0;
  };

  bool valid_address(const Command& c);
  // One gap rule: `c` must issue at least `need` cycles after `p`.
  void gap(Rule r, const Command& c, const Prior& p, int64_t need);
  void state_violation(Rule r, const Command& c, const std::string& detail);
  void report(Rule r, std::string msg);
  std::string describe(const Command& c) const;
  std::string describe_bank(uint32_t pc, int32_t bank) const;

  void check_row_bus(ChannelHist& ch, const Command& c);
  void check_col_bus(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi);
  void check_data_bus(PcHist& p, const Command& c, uint32_t pc);

  void on_act(ChannelHist& ch, const Command& c, uint32_t b);
  void on_pre(ChannelHist& ch, const Command& c, uint32_t b);
  void on_rd_wr(ChannelHist& ch, const Command& c, uint32_t b);
  void on_buffer_burst(ChannelHist& ch, const Command& c);
  void on_refpb(ChannelHist& ch, const Command& c, uint32_t b);
  void on_prea(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi);
  void on_actab(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi);
  void on_macab(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi);
  void on_ref(ChannelHist& ch, const Command& c, uint32_t pc_lo, uint32_t pc_hi);
  // Bank-group / SID / pseudo-channel spacing of a data column command (RD, WR, WRGB, MVSB,
  // MVGB) and the history it leaves.
  void check_data_column(ChannelHist& ch, const Command& c);
  void record_data_column(ChannelHist& ch, const Command& c);

  BankHist& bank(ChannelHist& ch, uint32_t pc, uint32_t b) {
    return ch.banks[pc * banks_per_pc_ + b];
  }
  GroupHist& group(ChannelHist& ch, uint32_t pc, uint32_t sid, uint32_t bg) {
    return ch.groups[(pc * org_.sids + sid) * org_.bank_groups + bg];
  }
  SidHist& sid_hist(ChannelHist& ch, uint32_t pc, uint32_t sid) {
    return ch.sids[pc * org_.sids + sid];
  }

  Organization org_;
  Timing t_;
  uint32_t banks_per_pc_;
  int64_t rtw_eff_;        // max(RTW, CL+BL+2-CWL)
  int64_t wr_to_pre_;      // CWL+BL+WR
  int64_t wtr_l_, wtr_s_;  // CWL+BL+WTR_L/S
  bool throw_on_first_;
  std::vector<ChannelHist> channels_;
  uint64_t checked_ = 0;
  uint64_t violations_ = 0;
  std::array<uint64_t, kNumRules> per_rule_{};
  std::vector<std::string> messages_;
};

}  // namespace sparsepim::hbm
