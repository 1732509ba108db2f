#pragma once
// A memory device and its controller, as loaded from configs/memory/*.json. Every value comes
// from the JSON file (which names its sources); nothing here has a default that silently
// stands in for a missing key.
#include <cstdint>
#include <string>
#include <vector>

namespace sparsepim::hbm {

struct Organization {
  uint32_t channels = 0;         // independent channels simulated
  uint32_t pseudo_channels = 0;  // per channel; they share the row-command bus
  uint32_t sids = 0;             // stack IDs (ranks) per pseudo-channel
  uint32_t bank_groups = 0;      // per SID
  uint32_t banks_per_group = 0;
  uint32_t rows = 0;              // per bank
  uint32_t columns = 0;           // per row, in access units of bytes_per_column
  uint32_t bytes_per_column = 0;  // bytes moved by one RD/WR burst (and one MACAB per bank)

  uint32_t banks_per_sid() const { return bank_groups * banks_per_group; }
  uint32_t banks_per_pc() const { return sids * banks_per_sid(); }
  uint32_t banks_per_channel() const { return pseudo_channels * banks_per_pc(); }
  uint64_t row_bytes() const { return uint64_t(columns) * bytes_per_column; }
  uint64_t bytes_per_channel() const { return row_bytes() * rows * banks_per_channel(); }
  uint64_t capacity_bytes() const { return bytes_per_channel() * channels; }
};

// All values in clock cycles of tCK_ns unless the name says otherwise.
struct Timing {
  double tCK_ns = 0;
  uint32_t BL = 0;  // data-bus cycles of one burst
  uint32_t CL = 0, CWL = 0;
  uint32_t RCD_RD = 0, RCD_WR = 0, RP = 0, RAS = 0, RC = 0, WR = 0;
  uint32_t RTP_S = 0, RTP_L = 0;
  uint32_t CCD_S = 0, CCD_L = 0, CCD_R = 0;  // CCD_R: column to column on a different SID
  uint32_t RRD_S = 0, RRD_L = 0, FAW = 0;
  uint32_t WTR_S = 0, WTR_L = 0, RTW = 0;
  uint32_t RFC = 0, RFC_PB = 0, REFI = 0, REFI_PB = 0, RREFD = 0;
  uint32_t ACT_BUS = 0;  // cycles an ACT holds the shared row-command bus
  uint32_t CCDAB = 0;    // MACAB to MACAB (all-bank PIM), under the power limit
};

enum class PimScope : uint8_t { kNone, kPseudoChannel, kChannel };

struct PimConfig {
  PimScope scope = PimScope::kNone;  // which banks one all-bank command reaches
  uint32_t lanes = 0;                // FP16 lanes per PIM unit
  uint32_t banks_per_unit = 0;       // 1: one unit per bank (AttAcc); 2: per bank pair (Samsung)
  // Query vectors a unit holds in its GEMV buffer and applies to each column a MACAB reads, one
  // per unit cycle before the next MACAB (so at most CCDAB): the queries of a GQA group share
  // the key/value reads. 1 = one query per MACAB.
  uint32_t query_slots = 1;
};

// Energy constants (pJ per bit moved unless the name says otherwise).
struct EnergyConfig {
  double act_pre_pJ_per_bit = 0;          // per bit of the row opened by ACT (+ its PRE)
  double cell_rw_pJ_per_bit = 0;          // cell array <-> sense amps, per bit read or written
  double coldec_to_bgmux_pJ_per_bit = 0;  // column decoder -> bank-group mux
  double bgmux_to_gio_pJ_per_bit = 0;     // bank-group mux -> global I/O
  double tsv_pJ_per_bit = 0;              // through-silicon vias, core die <-> base die
  double interposer_pJ_per_bit = 0;       // base die <-> host over the interposer
  double pim_mac_pJ_per_op = 0;           // one FP16 multiply-accumulate
  double background_mW_per_pc = 0;        // standby power per pseudo-channel
  double refresh_window_ms = 0;           // every row refreshed once per window
};

enum class PagePolicy : uint8_t { kOpen, kClosed };
enum class RefreshMode : uint8_t { kAllBank, kPerBank, kOff };

struct ControllerConfig {
  uint32_t read_queue = 0;   // entries per pseudo-channel
  uint32_t write_queue = 0;  // entries per pseudo-channel
  uint32_t write_high_watermark = 0;
  uint32_t write_low_watermark = 0;
  uint32_t age_cap_cycles = 0;  // a request older than this is served before row hits
  PagePolicy page_policy = PagePolicy::kOpen;
  RefreshMode refresh = RefreshMode::kAllBank;
};

// One entry of the address mapping, from the least significant address bit upwards.
enum class AddrField : uint8_t {
  kOffset,
  kColumn,
  kBank,
  kBankGroup,
  kSid,
  kPseudoChannel,
  kRow,
  kChannel
};
struct AddrSlice {
  AddrField field;
  uint32_t bits;
};

struct MemoryConfig {
  std::string name;
  std::string source_file;
  Organization org;
  Timing timing;
  PimConfig pim;
  EnergyConfig energy;
  ControllerConfig controller;
  std::vector<AddrSlice> mapping;  // LSB first

  double clock_GHz() const { return 1.0 / timing.tCK_ns; }
  // Peak data-bus bandwidth of one channel (all pseudo-channels), GB/s.
  double peak_channel_GBps() const {
    return double(org.pseudo_channels) * org.bytes_per_column / (timing.BL * timing.tCK_ns);
  }
};

// Loads a preset name (configs/memory/<name>.json) or a file path, applies `overrides`
// ("section.key=value"), validates everything and throws ConfigError with a clear message.
MemoryConfig load_memory_config(const std::string& preset_or_path,
                                const std::vector<std::string>& overrides = {});

// Names of the shipped presets.
std::vector<std::string> memory_preset_names();

// Directory holding configs/ (the build's source tree, or $SPARSEPIM_CONFIG_DIR).
std::string config_dir();

}  // namespace sparsepim::hbm
