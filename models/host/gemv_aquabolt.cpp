#include "host/gemv_aquabolt.h"
#include "host/alu_factory.h"
#include "host/gemv_common.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/errors.h"
#include "hbm/energy.h"
#include "hbm/pim_extension.h"
#include "hbm/stats.h"
#include "hbm/vcd_writer.h"
#include "pim/alu_backend.h"
#include "pim/fp16_alu.h"

namespace sparsepim::host {

using namespace sc_core;
using namespace tlm;
using hbm::DramAddress;
using hbm::MemoryConfig;
using hbm::PimOp;
using nlohmann::json;
using pim::AquaboltUnits;


pim::isa::Program aquabolt_gemv_program(uint32_t chunks, uint32_t blocks) {
  using namespace pim::isa;
  if (chunks == 0 || blocks == 0)
    throw std::invalid_argument("aquabolt GEMV program: need at least one chunk and one block");
  if (chunks > kMaxJumpCount || blocks > kMaxJumpCount + 1)
    throw std::invalid_argument("aquabolt GEMV program: loop counts beyond the JUMP field");
  constexpr bool kAam = true;
  Program p;
  // One pass over a row's 32 columns: GRF_B[col & 7] += bank[col] x scalar[field + (col >> 3)].
  auto pass = [&](Operand bank, Operand scalar) {
    const uint32_t at = p.here();
    p.mac(grf_b(0), bank, scalar, kAam);
    p.jump(at, 31);
  };
  // One chunk of 8 dimensions: 4 from the even bank, 4 from the odd bank of the same row.
  // Chunk 2i takes its multipliers from SRF_M, chunk 2i + 1 from SRF_A: one SRF load per pair.
  auto chunk = [&](bool srf_a_half) {
    pass(even_bank(), srf_a_half ? srf_a(0) : srf_m(0));
    pass(odd_bank(), srf_a_half ? srf_a(4) : srf_m(4));
  };
  // Chunk 0: the first column of each group (m = 0) starts its sum with a MUL.
  p.mul(grf_b(0), even_bank(), srf_m(0), kAam);  // columns 0-7
  p.jump(0, 7);
  p.mac(grf_b(0), even_bank(), srf_m(0), kAam);  // columns 8-31
  p.jump(2, 23);
  pass(odd_bank(), srf_m(4));
  if (chunks >= 2) chunk(true);  // chunk 1
  const uint32_t pairs = chunks >= 2 ? (chunks - 2) / 2 : 0;
  if (pairs) {  // chunks 2 .. : whole pairs
    const uint32_t loop = p.here();
    chunk(false);
    chunk(true);
    if (pairs > 1) p.jump(loop, pairs - 1);
  }
  if (chunks >= 3 && chunks % 2) chunk(false);  // the last, unpaired chunk
  const uint32_t out = p.here();  // the 8 sums to columns 8k .. 8k + 7 of the result row
  p.mov(even_bank(), grf_b(0), kAam);
  p.jump(out, 7);
  if (blocks > 1) p.jump(0, blocks - 1);  // next block
  p.exit();
  return p;
}

pim::isa::Program aquabolt_value_program(uint32_t n, uint32_t loads, uint32_t sets) {
  using namespace pim::isa;
  if (n == 0 || n > 8 || loads == 0 || sets == 0)
    throw std::invalid_argument(
        "aquabolt value program: need 1-8 dimensions per unit, a load and a set");
  if (loads > kMaxJumpCount + 1 || sets > kMaxJumpCount + 1)
    throw std::invalid_argument("aquabolt value program: loop counts beyond the JUMP field");
  constexpr bool kAam = true;
  const bool split = 8 * n > 32;  // the 8 diagonals do not fit one bank's row: 4 per bank
  Program p;
  // Diagonal delta: for j = 0 .. n-1 at columns c0 + j, GRF_B[j] += V x GRF_A[(j + delta) & 7].
  // With AAM the register index is field + (column & 7), so the fields subtract c0.
  for (uint32_t delta = 0; delta < 8; ++delta) {
    const uint32_t c0 = n * (split ? delta % 4 : delta);
    const uint32_t back = (8 - c0 % 8) % 8;
    const Operand bank = split && delta >= 4 ? odd_bank() : even_bank();
    const uint32_t at = p.here();
    p.mac(grf_b(uint8_t(back)), bank, grf_a(uint8_t((delta + back) % 8)), kAam);
    if (n > 1) p.jump(at, n - 1);
  }
  if (loads > 1) p.jump(0, loads - 1);  // next load (the host reloads GRF_A in between)
  const uint32_t out = p.here();        // GRF_B[0 .. n-1] to columns 8 (s % 4) .. of a result row
  p.mov(even_bank(), grf_b(0), kAam);
  if (n > 1) p.jump(out, n - 1);
  if (sets > 1) p.jump(0, sets - 1);  // next set of dimensions (the host zeroes GRF_B)
  p.exit();
  return p;
}

namespace {

// Where the keys, values and results live (gemv_aquabolt.h).
struct Layout {
  uint32_t P = 0, chunks = 0, slots = 0, max_blocks = 0, result_row_base = 0, result_rows = 0;
  std::vector<uint32_t> blocks;  // per pseudo-channel
  // Value pass.
  bool value = false;
  uint32_t D = 0, sets = 0, n = 0, loads_max = 0, value_row_base = 0, value_result_row_base = 0,
           value_rows_end = 0;
  bool split = false;           // diagonals 0-3 on the even bank, 4-7 on the odd bank of a row
  uint32_t columns = 0;         // MACAB columns per bank and value row (4n if split, else 8n)
  std::vector<uint32_t> loads;  // per pseudo-channel: 128-token probability loads per set

  Layout(const MemoryConfig& c, uint32_t tokens, uint32_t head_dim, bool value_pass) {
    const auto& o = c.org;
    if (head_dim == 0 || head_dim % 8)
      throw ConfigError("--head-dim must be a positive multiple of 8 on " + c.name +
                        " (chunks of 8 dimensions: 4 per bank of a pair)");
    if (o.columns != 32 || o.bytes_per_column != 32)
      throw ConfigError("the aquabolt GEMV layout needs rows of 32 columns of 32 B");
    P = o.pseudo_channels;
    chunks = head_dim / 8;
    slots = (tokens + kAquaboltTokensPerBlock - 1) / kAquaboltTokensPerBlock;
    blocks.resize(P);
    for (uint32_t p = 0; p < P; ++p) blocks[p] = (slots + P - 1 - p) / P;
    max_blocks = blocks[0];
    result_row_base = max_blocks * chunks;
    result_rows = (max_blocks + 3) / 4;
    value_row_base = value_rows_end = result_row_base + result_rows;
    value = value_pass;
    D = head_dim;
    if (value) {
      // D/8 dimensions per unit, in sets of at most 8 (the GRF_B accumulators), spread evenly.
      const uint32_t per_unit = head_dim / 8;
      sets = (per_unit + 7) / 8;
      n = (per_unit + sets - 1) / sets;
      split = 8 * n > 32;
      columns = split ? 4 * n : 8 * n;
      loads.assign(P, 0);
      for (uint32_t p = 0; p < P; ++p)
        for (uint32_t b = 0; b < blocks[p]; ++b) {
          const uint64_t first = uint64_t(slot(b, p)) * kAquaboltTokensPerBlock;
          loads[p] += uint32_t(std::min<uint64_t>(8, (tokens - first + 127) / 128));
        }
      loads_max = loads[0];
      value_result_row_base = value_row_base + sets * loads_max;
      value_rows_end = value_result_row_base + (sets + 3) / 4;
    }
    if (uint64_t(value_rows_end) > AquaboltUnits::kRowEnterAb ||
        max_blocks > pim::isa::kMaxJumpCount + 1)
      throw ConfigError(std::string("--rows: the keys") + (value ? " and values" : "") +
                        " do not fit below the reserved rows (0x17ff) of " + c.name);
  }
  uint32_t slot(uint32_t b, uint32_t p) const { return b * P + p; }
  uint32_t key_row(uint32_t b, uint32_t j) const { return b * chunks + j; }
  uint32_t result_row(uint32_t b) const { return result_row_base + b / 4; }
  uint32_t result_col(uint32_t b, uint32_t g) const { return 8 * (b % 4) + g; }
  static uint64_t token(uint32_t slot, uint32_t u, uint32_t g, uint32_t lane) {
    return uint64_t(slot) * kAquaboltTokensPerBlock + u * 128 + g * 16 + lane;
  }
  // Value pass: load L of pseudo-channel p holds tokens 128 (L % 8) .. of its block L / 8.
  uint64_t value_token(uint32_t p, uint32_t L, uint32_t k, uint32_t lane) const {
    return uint64_t(slot(L / 8, p)) * kAquaboltTokensPerBlock + (L % 8) * 128 + 16 * k + lane;
  }
  uint32_t value_row(uint32_t s, uint32_t L) const { return value_row_base + s * loads_max + L; }
  uint32_t value_result_row(uint32_t s) const { return value_result_row_base + s / 4; }
  uint32_t value_result_col(uint32_t s, uint32_t j) const { return 8 * (s % 4) + j; }
  uint32_t value_dim(uint32_t s, uint32_t u, uint32_t j) const { return (s * 8 + u) * n + j; }
  // The diagonal (delta) and accumulator (j) of column c of a value row in the even (odd) bank.
  void value_cell(bool odd, uint32_t c, uint32_t& delta, uint32_t& j) const {
    delta = c / n + (odd ? 4 : 0);
    j = c % n;
  }
  static DramAddress address(uint32_t pc, uint32_t bank, uint32_t row, uint32_t col) {
    DramAddress a;
    a.pc = pc;
    a.bg = bank / 4;
    a.bank = bank % 4;
    a.row = row;
    a.column = col;
    return a;
  }
};

class AquaboltHost : public sc_module {
 public:
  tlm_utils::simple_initiator_socket<AquaboltHost> socket;

  AquaboltHost(sc_module_name n, const GemvOptions& opt, const MemoryConfig& cfg,
               hbm::HbmChannel& ch, AquaboltUnits& units,
               std::vector<hbm::CommandObserver*> pass_observers, hbm::EnergyObserver& energy,
               std::function<void()> on_pass_start)
      : sc_module(n),
        socket("socket"),
        opt_(opt),
        cfg_(cfg),
        ch_(ch),
        units_(units),
        lay_(cfg, opt.tokens, opt.head_dim, opt.value_pass),
        pass_observers_(std::move(pass_observers)),
        energy_(energy),
        on_pass_start_(std::move(on_pass_start)) {
    socket.register_nb_transport_bw(this, &AquaboltHost::nb_transport_bw);
    SC_HAS_PROCESS(AquaboltHost);
    SC_THREAD(run);
  }

  std::vector<uint16_t> K, V, q;  // inputs (K, V: tokens x head_dim)
  std::vector<uint16_t> scores;   // results
  std::vector<uint16_t> p16;      // probabilities (FP32 softmax on the host, rounded to FP16)
  std::vector<uint16_t> output;   // p·V (head_dim)
  // Value pass: per pseudo-channel and dimension, the 16 lanes' partial sums as read back.
  std::vector<std::vector<uint16_t>> partial;
  uint64_t setup_cycles = 0, score_cycles = 0, value_cycles = 0, pass_start_cycle = 0;
  struct Phases {
    uint64_t mode = 0, load = 0, mac = 0, result = 0;
  } score_phases, value_phases;
  double pass_wall_s = 0;
  std::string error;
  std::vector<std::vector<uint32_t>> programs, value_programs;  // per pseudo-channel

 private:
  uint64_t now_cycle() const { return ch_.cycle_of(sc_time_stamp()); }

  void write(const DramAddress& a, const void* data) {
    uint8_t buf[32];
    std::memcpy(buf, data, 32);
    blocking_burst(socket, ch_.engine().mapper(), a, buf, true);
  }
  void read(const DramAddress& a, void* out) {
    uint8_t buf[32];
    blocking_burst(socket, ch_.engine().mapper(), a, buf, false);
    std::memcpy(out, buf, 32);
  }
  void run_ops(std::vector<PimOp> ops) { run_pim_ops(socket, std::move(ops)); }

  // Many reads in flight (AT base protocol), as a host controller streams them: the loosely
  // timed b_transport would wait for each read's data before sending the next.
  tlm_sync_enum nb_transport_bw(tlm_generic_payload& t, tlm_phase& phase, sc_time& delay) {
    if (phase == END_REQ) {
      at_request_open_ = false;
    } else if (phase == BEGIN_RESP) {
      if (!t.is_response_ok()) at_error_ = t.get_response_string();
      ++at_done_;
      phase = END_RESP;
      at_event_.notify(delay);
      return TLM_COMPLETED;
    }
    at_event_.notify(delay);
    return TLM_ACCEPTED;
  }
  // Reads into `data` (resized), or writes from it (16 FP16 lanes per burst).
  void stream(const std::vector<DramAddress>& addrs, std::vector<uint16_t>& data, bool write) {
    const size_t n = addrs.size();
    std::vector<tlm_generic_payload> ts(n);
    if (!write) data.assign(16 * n, 0);
    if (data.size() != 16 * n) throw std::logic_error("aquabolt GEMV: burst data size");
    for (size_t i = 0; i < n; ++i) {
      ts[i].set_command(write ? TLM_WRITE_COMMAND : TLM_READ_COMMAND);
      ts[i].set_address(ch_.engine().mapper().encode(addrs[i]));
      ts[i].set_data_ptr(reinterpret_cast<unsigned char*>(&data[16 * i]));
      ts[i].set_data_length(32);
      ts[i].set_streaming_width(32);
    }
    at_done_ = 0;
    at_error_.clear();
    size_t next = 0;
    while (at_done_ < n) {
      if (next < n && !at_request_open_) {
        tlm_phase ph = BEGIN_REQ;
        sc_time d = SC_ZERO_TIME;
        at_request_open_ = true;
        const tlm_sync_enum st = socket->nb_transport_fw(ts[next++], ph, d);
        if (st == TLM_COMPLETED)
          throw std::runtime_error(std::string(write ? "write" : "read") +
                                   " failed: " + ts[next - 1].get_response_string());
        if (st == TLM_UPDATED && ph == END_REQ) {
          at_request_open_ = false;
          if (d > SC_ZERO_TIME) wait(d);
        }
        continue;
      }
      wait(at_event_);
    }
    if (!at_error_.empty())
      throw std::runtime_error(std::string(write ? "write" : "read") + " failed: " + at_error_);
  }
  void read_many(const std::vector<DramAddress>& addrs, std::vector<uint16_t>& out) {
    stream(addrs, out, false);
  }

  void expect_mode(uint32_t p, AquaboltUnits::Mode m, const char* step) const {
    if (units_.mode(p) != m)
      throw std::logic_error(std::string("aquabolt GEMV: ") + step + ": pseudo-channel " +
                             std::to_string(p) + " is in " +
                             AquaboltUnits::mode_name(units_.mode(p)) + " mode, expected " +
                             AquaboltUnits::mode_name(m));
  }
  // SB -> AB: ACTs to row 0x17ff of banks 0, 1, 8, 9 (by reading column 0 there).
  void enter_ab(uint32_t p) {
    std::vector<DramAddress> addrs;
    for (uint32_t bank : AquaboltUnits::kEnterAbBanks)
      addrs.push_back(Layout::address(p, bank, AquaboltUnits::kRowEnterAb, 0));
    std::vector<uint16_t> ignored;
    read_many(addrs, ignored);
    expect_mode(p, AquaboltUnits::Mode::kAllBank, "enter AB");
  }
  // AB -> SB: open row 0x1fff in bank 0, then access another row of bank 0 (its PRE closes
  // 0x1fff). That access is the first result read (of `result_row`).
  void leave_ab(uint32_t p, uint32_t result_row) {
    uint8_t buf[32];
    read(Layout::address(p, 0, AquaboltUnits::kRowLeaveAb, 0), buf);
    read(Layout::address(p, 0, result_row, 0), buf);
    expect_mode(p, AquaboltUnits::Mode::kSingleBank, "leave AB");
  }
  void write_register(uint32_t p, uint32_t col, const void* data) {
    write(Layout::address(p, 0, AquaboltUnits::kRowRegisters, col), data);
  }
  void load_program(uint32_t p, const std::vector<uint32_t>& words) {
    for (size_t k = 0; k < words.size(); k += 8) {
      uint32_t slots[8] = {};
      std::copy(words.begin() + long(k), words.begin() + long(std::min(words.size(), k + 8)),
                slots);
      write_register(p, AquaboltUnits::kColCrf + uint32_t(k / 8), slots);
    }
  }
  void set_pim_mode(uint32_t p, bool on) {
    uint8_t ctl[32] = {};
    ctl[0] = on ? 1 : 0;
    write_register(p, AquaboltUnits::kColControl, ctl);
    expect_mode(p, on ? AquaboltUnits::Mode::kAllBankPim : AquaboltUnits::Mode::kAllBank,
                on ? "enter AB-PIM" : "leave AB-PIM");
  }

  void store_keys() {
    uint16_t lanes[16];
    for (uint32_t p = 0; p < lay_.P; ++p)
      for (uint32_t b = 0; b < lay_.blocks[p]; ++b)
        for (uint32_t j = 0; j < lay_.chunks; ++j)
          for (uint32_t bank = 0; bank < 16; ++bank)
            for (uint32_t col = 0; col < 32; ++col) {
              const uint32_t u = bank / 2, g = col % 8, m = col / 8;
              const uint32_t d = 8 * j + 4 * (bank % 2) + m;
              for (uint32_t l = 0; l < 16; ++l) {
                const uint64_t t = Layout::token(lay_.slot(b, p), u, g, l);
                lanes[l] = t < opt_.tokens ? K[t * opt_.head_dim + d] : 0;
              }
              write(Layout::address(p, bank, lay_.key_row(b, j), col), lanes);
            }
  }

  void score_pass() {
    std::vector<uint32_t> active;
    for (uint32_t p = 0; p < lay_.P; ++p)
      if (lay_.blocks[p]) active.push_back(p);
    uint64_t t = now_cycle();
    auto lap = [&](uint64_t& acc) {
      const uint64_t n = now_cycle();
      acc += n - t;
      t = n;
    };
    // Program and enter PIM mode.
    programs.assign(lay_.P, {});
    for (uint32_t p : active) {
      enter_ab(p);
      programs[p] = aquabolt_gemv_program(lay_.chunks, lay_.blocks[p]).words();
      load_program(p, programs[p]);
      set_pim_mode(p, true);
    }
    lap(score_phases.mode);
    // Blocks: the pseudo-channels with a block in this round, chunk by chunk.
    for (uint32_t b = 0; b < lay_.max_blocks; ++b) {
      std::vector<uint32_t> pcs;
      for (uint32_t p : active)
        if (b < lay_.blocks[p]) pcs.push_back(p);
      for (uint32_t j = 0; j < lay_.chunks; j += 2) {
        // SRF_M = q[8j .. 8j + 7] for chunk j, SRF_A = q[8j + 8 .. 8j + 15] for chunk j + 1.
        const uint32_t in_pair = std::min(2u, lay_.chunks - j);
        uint16_t srf[16] = {};
        std::memcpy(srf, &q[8 * j], 16 * in_pair);
        for (uint32_t p : pcs) write_register(p, AquaboltUnits::kColSrf, srf);
        lap(score_phases.load);
        std::vector<PimOp> ops;
        for (uint32_t p : pcs)
          for (uint32_t c = j; c < j + in_pair; ++c)
            for (int pass = 0; pass < 2; ++pass) {  // even bank, then odd bank: same row
              PimOp op;
              op.kind = PimOp::Kind::kMacRows;
              op.pc = p;
              op.row_first = lay_.key_row(b, c);
              op.row_count = 1;
              op.column_first = 0;
              op.columns = 32;
              ops.push_back(op);
            }
        run_ops(std::move(ops));
        lap(score_phases.mac);
      }
      std::vector<PimOp> moves;  // GRF_B[0..7] -> result row, columns 8 (b % 4) ..
      for (uint32_t p : pcs) {
        PimOp op;
        op.kind = PimOp::Kind::kMacRows;
        op.pc = p;
        op.row_first = lay_.result_row(b);
        op.row_count = 1;
        op.column_first = lay_.result_col(b, 0);
        op.columns = 8;
        moves.push_back(op);
      }
      run_ops(std::move(moves));
      lap(score_phases.mac);
    }
    // Back to SB and read the scores.
    for (uint32_t p : active) {
      set_pim_mode(p, false);
      leave_ab(p, lay_.result_row(0));
    }
    lap(score_phases.mode);
    scores.assign(opt_.tokens, 0);
    std::vector<DramAddress> addrs;
    std::vector<uint64_t> first_token;
    for (uint32_t p : active)
      for (uint32_t b = 0; b < lay_.blocks[p]; ++b)
        for (uint32_t u = 0; u < AquaboltUnits::kUnitsPerPc; ++u)
          for (uint32_t g = 0; g < 8; ++g) {
            addrs.push_back(Layout::address(p, 2 * u, lay_.result_row(b), lay_.result_col(b, g)));
            first_token.push_back(Layout::token(lay_.slot(b, p), u, g, 0));
          }
    std::vector<uint16_t> lanes;
    read_many(addrs, lanes);
    for (size_t i = 0; i < addrs.size(); ++i)
      for (uint32_t l = 0; l < 16; ++l)
        if (first_token[i] + l < opt_.tokens) scores[first_token[i] + l] = lanes[16 * i + l];
    lap(score_phases.result);
  }

  // Values transposed (lane = token), one row per (set, load): column c of the even (odd) bank
  // of unit u is diagonal delta, accumulator j (Layout::value_cell): dimension
  // value_dim(s, u, j) of token group (j + delta) & 7 of the load. Padding (tokens beyond the
  // last, dimensions beyond D) is zero.
  void store_values() {
    uint16_t lanes[16];
    for (uint32_t p = 0; p < lay_.P; ++p)
      for (uint32_t s = 0; s < lay_.sets; ++s)
        for (uint32_t L = 0; L < lay_.loads[p]; ++L)
          for (uint32_t bank = 0; bank < 16; ++bank) {
            const bool odd = bank % 2;
            if (odd && !lay_.split) continue;  // all 8 diagonals fit the even bank's row
            for (uint32_t col = 0; col < lay_.columns; ++col) {
              uint32_t delta, j;
              lay_.value_cell(odd, col, delta, j);
              const uint32_t d = lay_.value_dim(s, bank / 2, j);
              for (uint32_t l = 0; l < 16; ++l) {
                const uint64_t t = lay_.value_token(p, L, (j + delta) % 8, l);
                lanes[l] = t < opt_.tokens && d < lay_.D ? V[t * lay_.D + d] : 0;
              }
              write(Layout::address(p, bank, lay_.value_row(s, L), col), lanes);
            }
          }
  }

  // As the attacc path: softmax of the (FP16) scores / sqrt(D) in double, probabilities as FP32,
  // rounded to FP16 for the units.
  void softmax() {
    const double scale = 1.0 / std::sqrt(double(opt_.head_dim));
    double mx = -INFINITY;
    std::vector<double> x(opt_.tokens);
    for (uint32_t t = 0; t < opt_.tokens; ++t) {
      x[t] = pim::fp16_to_double(scores[t]) * scale;
      mx = std::max(mx, x[t]);
    }
    double sum = 0;
    for (double& v : x) sum += (v = std::exp(v - mx));
    p16.resize(opt_.tokens);
    for (uint32_t t = 0; t < opt_.tokens; ++t) p16[t] = pim::fp16_from_float(float(x[t] / sum));
  }

  void value_pass() {
    std::vector<uint32_t> active;
    for (uint32_t p = 0; p < lay_.P; ++p)
      if (lay_.loads[p]) active.push_back(p);
    uint64_t t = now_cycle();
    auto lap = [&](uint64_t& acc) {
      const uint64_t n = now_cycle();
      acc += n - t;
      t = n;
    };
    value_programs.assign(lay_.P, {});
    for (uint32_t p : active) {
      enter_ab(p);
      value_programs[p] = aquabolt_value_program(lay_.n, lay_.loads[p], lay_.sets).words();
      load_program(p, value_programs[p]);
      set_pim_mode(p, true);
    }
    lap(value_phases.mode);
    for (uint32_t s = 0; s < lay_.sets; ++s) {
      for (uint32_t L = 0; L < lay_.loads_max; ++L) {
        std::vector<uint32_t> pcs;
        for (uint32_t p : active)
          if (L < lay_.loads[p]) pcs.push_back(p);
        // GRF_A[k] = probabilities of token group k of the load (lane = token), broadcast to
        // the 8 units; at the start of a set also GRF_B[0 .. n-1] = 0 (the accumulators). The
        // bursts alternate between row 0x3fff of banks 0 and 8 (two bank groups: tCCD_S apart
        // instead of tCCD_L; in AB-PIM mode any bank's register window reaches every unit).
        std::vector<DramAddress> addrs;
        std::vector<uint16_t> data;
        for (uint32_t p : pcs) {
          auto reg = [&](uint32_t col) {
            addrs.push_back(
                Layout::address(p, addrs.size() % 2 ? 8 : 0, AquaboltUnits::kRowRegisters, col));
          };
          for (uint32_t k = 0; k < 8; ++k) {
            reg(AquaboltUnits::kColGrfA + k);
            for (uint32_t l = 0; l < 16; ++l) {
              const uint64_t tk = lay_.value_token(p, L, k, l);
              data.push_back(tk < opt_.tokens ? p16[tk] : 0);
            }
          }
          if (L == 0)
            for (uint32_t j = 0; j < lay_.n; ++j) {
              reg(AquaboltUnits::kColGrfB + j);
              data.insert(data.end(), 16, 0);
            }
        }
        stream(addrs, data, true);
        lap(value_phases.load);
        std::vector<PimOp> ops;
        for (uint32_t p : pcs)
          for (int bank = 0; bank < (lay_.split ? 2 : 1); ++bank) {  // even, then odd: same row
            PimOp op;
            op.kind = PimOp::Kind::kMacRows;
            op.pc = p;
            op.row_first = lay_.value_row(s, L);
            op.row_count = 1;
            op.column_first = 0;
            op.columns = lay_.columns;
            ops.push_back(op);
          }
        run_ops(std::move(ops));
        lap(value_phases.mac);
      }
      std::vector<PimOp> moves;  // GRF_B[0 .. n-1] -> result row, columns 8 (s % 4) ..
      for (uint32_t p : active) {
        PimOp op;
        op.kind = PimOp::Kind::kMacRows;
        op.pc = p;
        op.row_first = lay_.value_result_row(s);
        op.row_count = 1;
        op.column_first = lay_.value_result_col(s, 0);
        op.columns = lay_.n;
        moves.push_back(op);
      }
      run_ops(std::move(moves));
      lap(value_phases.mac);
    }
    for (uint32_t p : active) {
      set_pim_mode(p, false);
      leave_ab(p, lay_.value_result_row(0));
    }
    lap(value_phases.mode);
    // Every dimension's 16 lane partial sums, per pseudo-channel.
    partial.assign(lay_.P, std::vector<uint16_t>(size_t(lay_.D) * 16, 0));
    std::vector<DramAddress> addrs;
    std::vector<std::pair<uint32_t, uint32_t>> where;  // (pseudo-channel, dimension)
    for (uint32_t p : active)
      for (uint32_t s = 0; s < lay_.sets; ++s)
        for (uint32_t u = 0; u < AquaboltUnits::kUnitsPerPc; ++u)
          for (uint32_t j = 0; j < lay_.n; ++j) {
            const uint32_t d = lay_.value_dim(s, u, j);
            if (d >= lay_.D) continue;
            addrs.push_back(
                Layout::address(p, 2 * u, lay_.value_result_row(s), lay_.value_result_col(s, j)));
            where.emplace_back(p, d);
          }
    std::vector<uint16_t> lanes;
    read_many(addrs, lanes);
    for (size_t i = 0; i < addrs.size(); ++i)
      std::copy(&lanes[16 * i], &lanes[16 * i] + 16,
                &partial[where[i].first][16 * where[i].second]);
    lap(value_phases.result);
    // Host: per dimension, the lanes of pseudo-channel 0, then of pseudo-channel 1, ... in
    // order, FP16 additions (value_emulation does the same).
    output.assign(lay_.D, 0);
    for (uint32_t d = 0; d < lay_.D; ++d) {
      bool first = true;
      uint16_t acc = 0;
      for (uint32_t p : active)
        for (uint32_t l = 0; l < 16; ++l) {
          const uint16_t v = partial[p][16 * d + l];
          acc = first ? v : pim::fp16_add(acc, v);
          first = false;
        }
      output[d] = acc;
    }
  }

  void run() {
    try {
      const uint64_t t0 = now_cycle();
      store_keys();
      if (lay_.value) store_values();
      setup_cycles = now_cycle() - t0;
      ch_.engine().run_until(now_cycle());
      for (auto* o : pass_observers_) {
        ch_.add_observer(o);
        if (auto* v = dynamic_cast<hbm::VcdWriter*>(o)) v->set_origin(now_cycle());
      }
      energy_.set_start(now_cycle());
      pass_start_cycle = now_cycle();
      if (on_pass_start_) on_pass_start_();
      const auto w0 = std::chrono::steady_clock::now();
      score_pass();
      score_cycles = now_cycle() - pass_start_cycle;
      if (lay_.value) {
        softmax();  // on the host, no simulated time
        const uint64_t v0 = now_cycle();
        value_pass();
        value_cycles = now_cycle() - v0;
      }
      pass_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }

  const GemvOptions& opt_;
  const MemoryConfig& cfg_;
  hbm::HbmChannel& ch_;
  AquaboltUnits& units_;
  Layout lay_;
  std::vector<hbm::CommandObserver*> pass_observers_;
  hbm::EnergyObserver& energy_;
  std::function<void()> on_pass_start_;
  sc_event at_event_;
  bool at_request_open_ = false;
  size_t at_done_ = 0;
  std::string at_error_;
};

// The key bursts where the PIM layout puts them (a pseudo-channel without blocks is idle).
std::vector<uint64_t> key_addresses(const MemoryConfig& cfg, const Layout& lay) {
  const hbm::AddressMapper mapper(cfg);
  std::vector<uint64_t> addrs;
  for (uint32_t p = 0; p < lay.P; ++p)
    for (uint32_t b = 0; b < lay.blocks[p]; ++b)
      for (uint32_t j = 0; j < lay.chunks; ++j)
        for (uint32_t bank = 0; bank < 16; ++bank)
          for (uint32_t col = 0; col < 32; ++col)
            addrs.push_back(mapper.encode(Layout::address(p, bank, lay.key_row(b, j), col)));
  return addrs;
}

// The value bursts where the PIM layout puts them.
std::vector<uint64_t> value_addresses(const MemoryConfig& cfg, const Layout& lay) {
  const hbm::AddressMapper mapper(cfg);
  std::vector<uint64_t> addrs;
  for (uint32_t p = 0; p < lay.P; ++p)
    for (uint32_t s = 0; s < lay.sets; ++s)
      for (uint32_t L = 0; L < lay.loads[p]; ++L)
        for (uint32_t bank = 0; bank < 16; bank += lay.split ? 1 : 2)
          for (uint32_t col = 0; col < lay.columns; ++col)
            addrs.push_back(mapper.encode(Layout::address(p, bank, lay.value_row(s, L), col)));
  return addrs;
}

// Bit-exact emulation of the value pass without the memory system: per pseudo-channel, lane and
// dimension (unit u, accumulator j of set s), acc = +0, then for every load in order the 8
// diagonals in order: acc = MAC(acc, V[t][d], p[t]) for the token t of group (j + delta) & 7 in
// that lane (zeros for padding); the host then adds the lanes of pseudo-channel 0, 1, ... in
// order.
std::vector<uint16_t> value_emulation(const Layout& lay, uint32_t tokens,
                                      const std::vector<uint16_t>& V,
                                      const std::vector<uint16_t>& p16) {
  std::vector<uint16_t> out(lay.D, 0);
  for (uint32_t d = 0; d < lay.D; ++d) {
    const uint32_t j = d % lay.n;
    bool first = true;
    uint16_t total = 0;
    for (uint32_t p = 0; p < lay.P; ++p) {
      if (!lay.loads[p]) continue;
      for (uint32_t l = 0; l < 16; ++l) {
        uint16_t acc = 0;
        for (uint32_t L = 0; L < lay.loads[p]; ++L)
          for (uint32_t delta = 0; delta < 8; ++delta) {
            const uint64_t t = lay.value_token(p, L, (j + delta) % 8, l);
            acc = t < tokens ? pim::fp16_mac(acc, V[t * lay.D + d], p16[t])
                             : pim::fp16_mac(acc, 0, 0);
          }
        total = first ? acc : pim::fp16_add(total, acc);
        first = false;
      }
    }
    out[d] = total;
  }
  return out;
}

}  // namespace

json run_gemv_aquabolt(const GemvOptions& opt, const MemoryConfig& cfg) {
  if (cfg.pim.banks_per_unit != 2)
    throw ConfigError("memory '" + cfg.name + "': the aquabolt GEMV needs bank-pair PIM units");
  if (opt.tokens == 0) throw ConfigError("--rows must be positive");
  if (opt.pim_alu != "model" && opt.pim_alu != "rtl")
    throw ConfigError("--pim-alu: expected model or rtl, got '" + opt.pim_alu + "'");
  if (opt.acc_fp32)
    throw ConfigError("--acc-fp32: the " + cfg.name +
                      " units accumulate in FP16 (Samsung's part has no FP32 accumulators)");
  const Layout lay(cfg, opt.tokens, opt.head_dim, opt.value_pass);

  hbm::HbmChannel ch("channel", cfg);
  hbm::StatsObserver stats(cfg);
  hbm::EnergyObserver energy(cfg);
  std::vector<hbm::CommandObserver*> pass_observers{&stats, &energy};
  std::unique_ptr<hbm::VcdWriter> vcd = pass_vcd(opt, cfg);
  if (vcd) pass_observers.push_back(vcd.get());
  std::unique_ptr<pim::AluBackend> alu = make_alu_backend(opt.pim_alu, false, opt.vcd_rtl);
  AquaboltUnits units(cfg, 0, ch.store(), *alu);
  ch.add_observer(&units);  // the mode machine sees every command, setup included
  ch.engine().set_pim_executor(&units);
  ch.set_write_hook(&units);
  AquaboltHost host("host", opt, cfg, ch, units, pass_observers, energy,
                    rtl_trace_starter(opt, alu.get()));
  host.socket.bind(ch.socket);

  // Random inputs as in the attacc path (the same numbers for the same seed on both presets):
  // keys, values and query ~ N(0, 1), as FP16.
  random_gemv_inputs(opt, host.K, host.V, host.q);

  const auto w0 = std::chrono::steady_clock::now();
  sc_start();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  ch.finish();
  if (!host.error.empty()) throw std::runtime_error(host.error);
  const uint64_t pass_end = host.pass_start_cycle + host.score_cycles + host.value_cycles;
  energy.on_finish(pass_end);
  if (vcd) vcd->on_finish(pass_end);

  // Bit-exact emulation: per token, dimensions 0 .. D-1 in order; the first a MUL, then MACs
  // (round16(acc + round16(k x q))) — the order of the CRF program over the columns.
  const uint32_t D = opt.head_dim;
  bool exact = true;
  uint64_t mismatches = 0;
  for (uint32_t t = 0; t < opt.tokens; ++t) {
    uint16_t acc = pim::fp16_mul(host.K[size_t(t) * D], host.q[0]);
    for (uint32_t d = 1; d < D; ++d) acc = pim::fp16_mac(acc, host.K[size_t(t) * D + d], host.q[d]);
    if (acc != host.scores[t]) {
      exact = false;
      ++mismatches;
    }
  }
  // The value pass: every output bit against the emulation (from the same FP16 probabilities).
  uint64_t value_mismatches = 0;
  if (lay.value) {
    const std::vector<uint16_t> ref = value_emulation(lay, opt.tokens, host.V, host.p16);
    for (uint32_t d = 0; d < D; ++d) value_mismatches += ref[d] != host.output[d];
    exact &= value_mismatches == 0;
  }
  // FP64 reference: exact scores, softmax, output (as the attacc path).
  std::vector<double> sref(opt.tokens);
  double max_score_err = 0, max_score = 0, mx = -INFINITY;
  for (uint32_t t = 0; t < opt.tokens; ++t) {
    double s = 0;
    for (uint32_t d = 0; d < D; ++d)
      s += pim::fp16_to_double(host.K[size_t(t) * D + d]) * pim::fp16_to_double(host.q[d]);
    sref[t] = s;
    max_score_err = std::max(max_score_err, std::fabs(pim::fp16_to_double(host.scores[t]) - s));
    max_score = std::max(max_score, std::fabs(s));
    mx = std::max(mx, s / std::sqrt(double(D)));
  }
  double max_err = 0, max_ref = 0;
  if (lay.value) {
    double sum = 0;
    std::vector<double> pref(opt.tokens);
    for (uint32_t t = 0; t < opt.tokens; ++t)
      sum += (pref[t] = std::exp(sref[t] / std::sqrt(double(D)) - mx));
    for (uint32_t d = 0; d < D; ++d) {
      double o = 0;
      for (uint32_t t = 0; t < opt.tokens; ++t)
        o += pref[t] / sum * pim::fp16_to_double(host.V[size_t(t) * D + d]);
      max_err = std::max(max_err, std::fabs(pim::fp16_to_double(host.output[d]) - o));
      max_ref = std::max(max_ref, std::fabs(o));
    }
  }

  // Baselines: the same bursts at the same addresses, and the same number of bursts at
  // consecutive addresses (the default mapping spreads them over both pseudo-channels: the
  // channel's full normal-read bandwidth).
  auto spread_over_channel = [&](size_t bursts) {
    std::vector<uint64_t> a(bursts);
    for (size_t i = 0; i < a.size(); ++i) a[i] = i * cfg.org.bytes_per_column;
    return normal_read_cycles(cfg, a);
  };
  const std::vector<uint64_t> keys = key_addresses(cfg, lay);
  const uint64_t read_k = normal_read_cycles(cfg, keys);
  const uint64_t read_spread = spread_over_channel(keys.size());
  uint64_t read_v = 0, read_v_spread = 0;
  if (lay.value) {
    const std::vector<uint64_t> values = value_addresses(cfg, lay);
    read_v = normal_read_cycles(cfg, values);
    read_v_spread = spread_over_channel(values.size());
  }
  auto ratio = [](uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; };
  const double tck = cfg.timing.tCK_ns;
  auto phases = [](const AquaboltHost::Phases& ph, const char* loads) {
    return json{{"mode_changes_and_crf", ph.mode},
                {loads, ph.load},
                {"column_command_streams", ph.mac},
                {"result_reads", ph.result}};
  };
  auto listings = [](const std::vector<std::vector<uint32_t>>& programs) {
    json progs = json::array();
    for (const auto& w : programs)
      if (!w.empty()) progs.push_back(pim::isa::listing(w));
    return progs;
  };
  const uint64_t cycles = host.score_cycles + host.value_cycles;
  json j;
  j["memory"] = cfg.name;
  j["tokens"] = opt.tokens;
  j["head_dim"] = opt.head_dim;
  j["pim_alu"] = alu->name();
  j["accumulator"] = "fp16";
  j["seed"] = opt.seed;
  j["kernel"] = lay.value ? "aquabolt CRF score and value passes (docs/pim-isa.md)"
                          : "aquabolt CRF score pass (docs/pim-isa.md)";
  j["dram_rows_per_matrix"] = lay.result_row_base;
  j["cycles"] = cycles;
  j["simulated_ns"] = double(cycles) * tck;
  j["score_pass"] = {{"cycles", host.score_cycles},
                     {"ns", double(host.score_cycles) * tck},
                     {"breakdown_cycles", phases(host.score_phases, "srf_loads")}};
  if (lay.value)
    j["value_pass"] = {{"cycles", host.value_cycles},
                       {"ns", double(host.value_cycles) * tck},
                       {"breakdown_cycles", phases(host.value_phases, "probability_loads")},
                       {"dimension_sets", lay.sets},
                       {"dimensions_per_unit_and_set", lay.n},
                       {"dram_rows", lay.value_rows_end - lay.value_row_base},
                       {"crf_programs", listings(host.value_programs)}};
  else
    j["value_pass"] = {{"cycles", 0}, {"ns", 0.0}, {"note", "disabled (--no-value-pass)"}};
  j["setup_write_cycles"] = host.setup_cycles;
  j["commands"] = stats.commands_json();
  j["energy_pJ"] = energy.pJ().to_json();
  j["macs"] = units.macs();
  j["pim_units"] = {
      {"column_commands", units.column_commands()},
      {"instructions", units.instructions()},
      {"idle_unit_commands", units.idle_unit_commands()},
      {"register_writes", units.register_writes()},
      {"mode_changes", units.mode_changes()},
      {"pseudo_channels_used", uint32_t(std::count_if(lay.blocks.begin(), lay.blocks.end(),
                                                      [](uint32_t b) { return b > 0; }))}};
  j["crf_programs"] = listings(host.programs);  // score pass (value pass: value_pass above)
  j["bit_exact"] = exact;
  j["score_mismatches"] = mismatches;
  j["value_mismatches"] = value_mismatches;
  j["max_abs_error"] = max_err;
  j["max_abs_output"] = max_ref;
  j["max_abs_error_scores"] = max_score_err;
  j["max_abs_score"] = max_score;
  j["normal_read_cycles"] = {{"keys", read_k},
                             {"values", read_v},
                             {"keys_both_pseudo_channels", read_spread},
                             {"values_both_pseudo_channels", read_v_spread}};
  j["speedup_vs_normal_read"] = {
      {"score_pass", ratio(read_k, host.score_cycles)},
      {"value_pass", ratio(read_v, host.value_cycles)},
      {"score_pass_vs_both_pseudo_channels", ratio(read_spread, host.score_cycles)},
      {"value_pass_vs_both_pseudo_channels", ratio(read_v_spread, host.value_cycles)}};
  j["wall_s"] = wall;
  j["passes_wall_s"] = host.pass_wall_s;
  j["macs_per_wall_s"] = host.pass_wall_s > 0 ? double(units.macs()) / host.pass_wall_s : 0.0;
  ResultFingerprint fp;  // every result bit: scores, then outputs
  fp.add(host.scores);
  fp.add(host.output);
  j["result_fingerprint"] = fp.value();
  return j;
}

}  // namespace sparsepim::host
