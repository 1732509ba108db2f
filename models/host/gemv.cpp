#include "host/gemv.h"
#include "host/alu_factory.h"
#include "host/gemv_common.h"
#include "pim/attacc_numerics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "common/errors.h"
#include "hbm/energy.h"
#include "hbm/hbm_channel.h"
#include "hbm/stats.h"
#include "hbm/vcd_writer.h"
#include "host/gemv_aquabolt.h"
#include "pim/alu_backend.h"
#include "pim/fp16_alu.h"
#include "pim/gemv_units.h"
#include "pim/pim_data.h"

namespace sparsepim::host {

using namespace sc_core;
using namespace tlm;
using hbm::Cmd;
using hbm::DramAddress;
using hbm::MemoryConfig;
using hbm::PimOp;
using nlohmann::json;
using pim::PimData;

namespace {

// Where each token's key and value elements live (DESIGN.md 2.3). A slice is one (pseudo-channel,
// SID, bank group); a head dimension of D = 32 x bpt is spread over bpt banks of a bank group
// (32 dimensions each). Keys are stored transposed: a column holds one dimension of 16 tokens
// (lane = token). Values are stored token-major: a column holds 16 dimensions of one token, two
// columns per token. One DRAM row of every bank thus holds 16 tokens per token group.
struct Layout {
  uint32_t slices, banks_per_group, bpt, groups, tokens_per_row, key_rows, value_row_base;
  const hbm::MemoryConfig* cfg;

  Layout(const MemoryConfig& c, uint32_t tokens, uint32_t head_dim) : cfg(&c) {
    const auto& o = c.org;
    slices = o.pseudo_channels * o.sids * o.bank_groups;
    banks_per_group = o.banks_per_group;
    if (head_dim == 0 || head_dim % 32 || head_dim / 32 > banks_per_group)
      throw ConfigError("--head-dim must be a multiple of 32 up to " +
                        std::to_string(32 * banks_per_group));
    if (o.columns != 32 || o.bytes_per_column != 32)
      throw ConfigError("the GEMV layout needs rows of 32 columns of 32 B");
    bpt = head_dim / 32;
    groups = banks_per_group / bpt;
    tokens_per_row = 16 * slices * groups;
    key_rows = (tokens + tokens_per_row - 1) / tokens_per_row;
    value_row_base = key_rows;
    if (2 * key_rows > o.rows) throw ConfigError("--rows: the matrices do not fit the banks");
  }
  uint32_t bank_in_channel(uint32_t slice, uint32_t group, uint32_t j) const {
    return slice * banks_per_group + group * bpt + j;
  }
  // Token of (row, slice, group, lane).
  uint64_t token(uint32_t r, uint32_t s, uint32_t g, uint32_t lane) const {
    return uint64_t(r) * tokens_per_row + (uint64_t(g) * slices + s) * 16 + lane;
  }
  DramAddress address(uint32_t slice, uint32_t bank_in_group, uint32_t row, uint32_t column) const {
    const auto& o = cfg->org;
    DramAddress a;
    a.bg = slice % o.bank_groups;
    a.sid = (slice / o.bank_groups) % o.sids;
    a.pc = slice / (o.bank_groups * o.sids);
    a.bank = bank_in_group;
    a.row = row;
    a.column = column;
    return a;
  }
};

class GemvHost : public sc_module {
 public:
  tlm_utils::simple_initiator_socket<GemvHost> socket;

  GemvHost(sc_module_name n, const GemvOptions& opt, const MemoryConfig& cfg, hbm::HbmChannel& ch,
           std::vector<hbm::CommandObserver*> pass_observers, hbm::EnergyObserver& energy,
           std::function<void()> on_pass_start)
      : sc_module(n),
        socket("socket"),
        opt_(opt),
        cfg_(cfg),
        ch_(ch),
        lay_(cfg, opt.tokens, opt.head_dim),
        pass_observers_(std::move(pass_observers)),
        energy_(energy),
        on_pass_start_(std::move(on_pass_start)) {
    SC_HAS_PROCESS(GemvHost);
    SC_THREAD(run);
  }

  // Inputs
  std::vector<uint16_t> K, V, q;  // K, V: tokens x head_dim
  // Results
  std::vector<uint32_t> scores;  // per token, accumulator format
  std::vector<uint16_t> p16;
  std::vector<uint32_t> out;  // head_dim, accumulator format
  uint64_t setup_cycles = 0, score_cycles = 0, value_cycles = 0, pass_start_cycle = 0;
  std::string error;

 private:
  uint64_t now_cycle() const { return ch_.cycle_of(sc_time_stamp()); }

  void write_burst(const DramAddress& a, const uint16_t* lanes) {
    uint8_t buf[32];
    std::memcpy(buf, lanes, 32);
    blocking_burst(socket, ch_.engine().mapper(), a, buf, true);
  }
  void run_ops(std::vector<PimOp> ops) { run_pim_ops(socket, std::move(ops)); }

  uint16_t k_at(uint64_t t, uint32_t d) const {
    return t < opt_.tokens ? K[t * opt_.head_dim + d] : 0;
  }
  uint16_t v_at(uint64_t t, uint32_t d) const {
    return t < opt_.tokens ? V[t * opt_.head_dim + d] : 0;
  }

  void store_matrices() {
    uint16_t lanes[16];
    for (uint32_t r = 0; r < lay_.key_rows; ++r)
      for (uint32_t s = 0; s < lay_.slices; ++s)
        for (uint32_t g = 0; g < lay_.groups; ++g)
          for (uint32_t j = 0; j < lay_.bpt; ++j)
            for (uint32_t col = 0; col < 32; ++col) {
              for (uint32_t l = 0; l < 16; ++l)
                lanes[l] = k_at(lay_.token(r, s, g, l), 32 * j + col);
              write_burst(lay_.address(s, g * lay_.bpt + j, r, col), lanes);
              if (opt_.value_pass) {
                const uint32_t h = col % 2, tl = col / 2;
                for (uint32_t l = 0; l < 16; ++l)
                  lanes[l] = v_at(lay_.token(r, s, g, tl), 32 * j + 16 * h + l);
                write_burst(lay_.address(s, g * lay_.bpt + j, lay_.value_row_base + r, col), lanes);
              }
            }
  }

  uint32_t acc_add(uint32_t a, uint32_t b) const {
    return opt_.acc_fp32 ? pim::fp32_bits(pim::fp32_from_bits(a) + pim::fp32_from_bits(b))
                         : pim::fp16_add(uint16_t(a), uint16_t(b));
  }
  // Reads lane l of a moved register from an MVSB result (bursts in source order).
  uint32_t moved_lane(const PimData& d, uint32_t reg_index, uint32_t lane) const {
    if (opt_.acc_fp32) {
      uint32_t v;
      std::memcpy(&v, d.out.data() + 64 * reg_index + 4 * lane, 4);
      return v;
    }
    uint16_t h;
    std::memcpy(&h, d.out.data() + 32 * reg_index + 2 * lane, 2);
    return h;
  }
  void add_mvsb(PimOp& op, PimData& d, uint32_t bank, uint32_t reg) const {
    for (uint32_t part = 0; part < (opt_.acc_fp32 ? 2u : 1u); ++part) {
      d.source.push_back(PimData::mvsb_source(bank, reg, part));
      ++op.columns;
    }
  }

  void score_pass() {
    const uint32_t banks = cfg_.org.banks_per_channel();
    std::vector<PimOp> ops;
    // The query: bank j of every token group gets dimensions 32j .. 32j + 31.
    auto qdata = std::make_unique<PimData>();
    PimOp w;
    w.kind = PimOp::Kind::kWriteBuffer;
    for (uint32_t j = 0; j < lay_.bpt; ++j)
      for (uint32_t h = 0; h < 2; ++h) {
        uint64_t mask = 0;
        for (uint32_t b = 0; b < banks; ++b)
          if ((b % lay_.banks_per_group) % lay_.bpt == j) mask |= uint64_t(1) << b;
        qdata->add_burst(&q[32 * j + 16 * h], mask, uint8_t(h));
        ++w.columns;
      }
    w.data = qdata.get();
    ops.push_back(w);
    std::vector<std::unique_ptr<PimData>> moves;
    for (uint32_t r = 0; r < lay_.key_rows; ++r) {
      PimOp mac;
      mac.kind = PimOp::Kind::kMacRows;
      mac.row_first = r;
      mac.row_count = 1;
      mac.columns = 32;
      ops.push_back(mac);  // data == nullptr: one accumulator
      auto mv = std::make_unique<PimData>();
      PimOp m;
      m.kind = PimOp::Kind::kMoveToBufferDie;
      for (uint32_t b = 0; b < banks; ++b) add_mvsb(m, *mv, b, 0);
      m.data = mv.get();
      ops.push_back(m);
      moves.push_back(std::move(mv));
    }
    const uint64_t t0 = now_cycle();
    run_ops(std::move(ops));
    score_cycles = now_cycle() - t0;
    // Buffer die: add the bpt partial dot products of each token, in bank order.
    scores.assign(opt_.tokens, 0);
    for (uint32_t r = 0; r < lay_.key_rows; ++r)
      for (uint32_t s = 0; s < lay_.slices; ++s)
        for (uint32_t g = 0; g < lay_.groups; ++g)
          for (uint32_t l = 0; l < 16; ++l) {
            const uint64_t t = lay_.token(r, s, g, l);
            if (t >= opt_.tokens) continue;
            uint32_t acc = moved_lane(*moves[r], lay_.bank_in_channel(s, g, 0), l);
            for (uint32_t j = 1; j < lay_.bpt; ++j)
              acc = acc_add(acc, moved_lane(*moves[r], lay_.bank_in_channel(s, g, j), l));
            scores[t] = acc;
          }
  }

  void softmax() {
    p16.resize(opt_.tokens);
    pim::attacc_softmax(scores.data(), opt_.tokens, opt_.head_dim, opt_.acc_fp32, p16.data());
  }

  void value_pass() {
    const uint32_t banks = cfg_.org.banks_per_channel();
    std::vector<PimOp> ops;
    std::vector<std::unique_ptr<PimData>> bufs;
    auto macdata = std::make_unique<PimData>();
    macdata->accumulators = 2;
    for (uint32_t r = 0; r < lay_.key_rows; ++r) {
      // Probabilities into the buffers: entry c of a bank = p of its token group's token c / 2.
      auto pd = std::make_unique<PimData>();
      PimOp m;
      m.kind = PimOp::Kind::kMoveToBanks;
      for (uint32_t s = 0; s < lay_.slices; ++s)
        for (uint32_t g = 0; g < lay_.groups; ++g)
          for (uint32_t h = 0; h < 2; ++h) {
            uint16_t e[16];
            for (uint32_t i = 0; i < 16; ++i) {
              const uint64_t t = lay_.token(r, s, g, (16 * h + i) / 2);
              e[i] = t < opt_.tokens ? p16[t] : 0;
            }
            uint64_t mask = 0;
            for (uint32_t j = 0; j < lay_.bpt; ++j)
              mask |= uint64_t(1) << lay_.bank_in_channel(s, g, j);
            pd->add_burst(e, mask, uint8_t(h));
            ++m.columns;
          }
      m.data = pd.get();
      ops.push_back(m);
      bufs.push_back(std::move(pd));
      PimOp mac;
      mac.kind = PimOp::Kind::kMacRows;
      mac.row_first = lay_.value_row_base + r;
      mac.row_count = 1;
      mac.columns = 32;
      mac.data = macdata.get();  // two accumulators: column parity = which 16 dimensions
      ops.push_back(mac);
    }
    auto mv = std::make_unique<PimData>();
    PimOp m;
    m.kind = PimOp::Kind::kMoveToBufferDie;
    for (uint32_t b = 0; b < banks; ++b)
      for (uint32_t reg = 0; reg < 2; ++reg) add_mvsb(m, *mv, b, reg);
    m.data = mv.get();
    ops.push_back(m);
    const uint64_t t0 = now_cycle();
    run_ops(std::move(ops));
    value_cycles = now_cycle() - t0;
    // Buffer die: add the partial outputs of every token group, in slice and group order.
    out.assign(opt_.head_dim, 0);
    for (uint32_t j = 0; j < lay_.bpt; ++j)
      for (uint32_t h = 0; h < 2; ++h)
        for (uint32_t l = 0; l < 16; ++l) {
          uint32_t acc = 0;
          bool first = true;
          for (uint32_t s = 0; s < lay_.slices; ++s)
            for (uint32_t g = 0; g < lay_.groups; ++g) {
              const uint32_t v = moved_lane(*mv, 2 * lay_.bank_in_channel(s, g, j) + h, l);
              acc = first ? v : acc_add(acc, v);
              first = false;
            }
          out[32 * j + 16 * h + l] = acc;
        }
  }

  void run() {
    try {
      const uint64_t t0 = now_cycle();
      store_matrices();
      setup_cycles = now_cycle() - t0;
      // Statistics, energy and waveforms cover the GEMV passes, not the setup writes.
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
      softmax();
      if (opt_.value_pass) value_pass();
      pass_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }

  const GemvOptions& opt_;
  const MemoryConfig& cfg_;
  hbm::HbmChannel& ch_;
  Layout lay_;
  std::vector<hbm::CommandObserver*> pass_observers_;
  hbm::EnergyObserver& energy_;
  std::function<void()> on_pass_start_;

 public:
  double pass_wall_s = 0;
};

// The bursts the layout stores one matrix in (keys from row 0, values from value_row_base).
std::vector<uint64_t> matrix_addresses(const MemoryConfig& cfg, const Layout& lay,
                                       uint32_t row_base) {
  const hbm::AddressMapper mapper(cfg);
  std::vector<uint64_t> addrs;
  for (uint32_t r = 0; r < lay.key_rows; ++r)
    for (uint32_t s = 0; s < lay.slices; ++s)
      for (uint32_t g = 0; g < lay.groups; ++g)
        for (uint32_t j = 0; j < lay.bpt; ++j)
          for (uint32_t col = 0; col < 32; ++col)
            addrs.push_back(mapper.encode(lay.address(s, g * lay.bpt + j, row_base + r, col)));
  return addrs;
}

}  // namespace

json run_gemv(const GemvOptions& opt) {
  const MemoryConfig cfg = hbm::load_memory_config(opt.memory, opt.sets);
  if (cfg.pim.scope == hbm::PimScope::kNone)
    throw ConfigError("memory '" + cfg.name + "' has no PIM units");
  if (cfg.pim.banks_per_unit == 2) return run_gemv_aquabolt(opt, cfg);  // Samsung-style units
  if (cfg.pim.banks_per_unit != 1)
    throw ConfigError("memory '" + cfg.name +
                      "': GEMV units need one PIM unit per bank (attacc-style); "
                      "the bank-pair units of " +
                      cfg.name + " are programmed through their CRF");
  if (opt.tokens == 0) throw ConfigError("--rows must be positive");
  if (opt.pim_alu != "model" && opt.pim_alu != "rtl")
    throw ConfigError("--pim-alu: expected model or rtl, got '" + opt.pim_alu + "'");
  const Layout lay(cfg, opt.tokens, opt.head_dim);

  hbm::HbmChannel ch("channel", cfg);
  hbm::StatsObserver stats(cfg);
  hbm::EnergyObserver energy(cfg);
  std::vector<hbm::CommandObserver*> pass_observers{&stats, &energy};
  std::unique_ptr<hbm::VcdWriter> vcd = pass_vcd(opt, cfg);
  if (vcd) pass_observers.push_back(vcd.get());
  std::unique_ptr<pim::AluBackend> alu = make_alu_backend(opt.pim_alu, opt.acc_fp32, opt.vcd_rtl);
  pim::GemvUnits units(cfg, 0, ch.store(), *alu);
  ch.engine().set_pim_executor(&units);
  GemvHost host("host", opt, cfg, ch, pass_observers, energy, rtl_trace_starter(opt, alu.get()));
  host.socket.bind(ch.socket);

  // Random inputs: keys and values ~ N(0, 1), query ~ N(0, 1), as FP16.
  random_gemv_inputs(opt, host.K, host.V, host.q);

  const auto w0 = std::chrono::steady_clock::now();
  sc_start();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  ch.finish();
  if (!host.error.empty()) throw std::runtime_error(host.error);
  const uint64_t pass_end = host.pass_start_cycle + host.score_cycles + host.value_cycles;
  energy.on_finish(pass_end);
  if (vcd) vcd->on_finish(pass_end);

  // Bit-exact emulation of the same arithmetic, without the memory system.
  const uint32_t D = opt.head_dim;
  bool exact = true;
  for (uint32_t t = 0; t < opt.tokens; ++t)
    exact &=
        pim::attacc_score(&host.K[size_t(t) * D], host.q.data(), D, opt.acc_fp32) == host.scores[t];
  if (opt.value_pass) {
    std::vector<std::vector<int64_t>> slice_tokens;  // per (slice, token group), MAC order
    for (uint32_t s = 0; s < lay.slices; ++s)
      for (uint32_t g = 0; g < lay.groups; ++g) {
        std::vector<int64_t> tokens;
        for (uint32_t r = 0; r < lay.key_rows; ++r)
          for (uint32_t lane = 0; lane < 16; ++lane) {
            const uint64_t t = lay.token(r, s, g, lane);
            tokens.push_back(t < opt.tokens ? int64_t(t) : -1);
          }
        slice_tokens.push_back(std::move(tokens));
      }
    std::vector<uint32_t> out(D);
    pim::attacc_output(
        slice_tokens, D, opt.acc_fp32, [&](int64_t t) { return host.p16[size_t(t)]; },
        [&](int64_t t) { return &host.V[size_t(t) * D]; }, out.data());
    for (uint32_t d = 0; d < D; ++d) exact &= out[d] == host.out[d];
  }

  // FP64 reference: exact scores, softmax, output.
  auto to_double = [&](uint32_t v) {
    return opt.acc_fp32 ? double(pim::fp32_from_bits(v)) : pim::fp16_to_double(uint16_t(v));
  };
  std::vector<double> sref(opt.tokens);
  double max_score_err = 0, mx = -INFINITY;
  for (uint32_t t = 0; t < opt.tokens; ++t) {
    double s = 0;
    for (uint32_t d = 0; d < D; ++d)
      s += pim::fp16_to_double(host.K[size_t(t) * D + d]) * pim::fp16_to_double(host.q[d]);
    sref[t] = s;
    max_score_err = std::max(max_score_err, std::fabs(to_double(host.scores[t]) - s));
    mx = std::max(mx, s / std::sqrt(double(D)));
  }
  double sum = 0;
  std::vector<double> pref(opt.tokens);
  for (uint32_t t = 0; t < opt.tokens; ++t)
    sum += (pref[t] = std::exp(sref[t] / std::sqrt(double(D)) - mx));
  double max_err = 0, max_ref = 0;
  if (opt.value_pass)
    for (uint32_t d = 0; d < D; ++d) {
      double o = 0;
      for (uint32_t t = 0; t < opt.tokens; ++t)
        o += pref[t] / sum * pim::fp16_to_double(host.V[size_t(t) * D + d]);
      max_err = std::max(max_err, std::fabs(to_double(host.out[d]) - o));
      max_ref = std::max(max_ref, std::fabs(o));
    }

  const uint64_t read_k = normal_read_cycles(cfg, matrix_addresses(cfg, lay, 0));
  const uint64_t read_v =
      opt.value_pass ? normal_read_cycles(cfg, matrix_addresses(cfg, lay, lay.value_row_base)) : 0;
  const double tck = cfg.timing.tCK_ns;
  json j;
  j["memory"] = cfg.name;
  j["tokens"] = opt.tokens;
  j["head_dim"] = opt.head_dim;
  j["pim_alu"] = alu->name();
  j["accumulator"] = opt.acc_fp32 ? "fp32" : "fp16";
  j["seed"] = opt.seed;
  j["dram_rows_per_matrix"] = lay.key_rows;
  j["cycles"] = host.score_cycles + host.value_cycles;
  j["simulated_ns"] = double(host.score_cycles + host.value_cycles) * tck;
  j["score_pass"] = {{"cycles", host.score_cycles}, {"ns", host.score_cycles * tck}};
  j["value_pass"] = {{"cycles", host.value_cycles}, {"ns", host.value_cycles * tck}};
  j["setup_write_cycles"] = host.setup_cycles;
  j["commands"] = stats.commands_json();
  j["energy_pJ"] = energy.pJ().to_json();
  j["macs"] = units.macs();
  j["bit_exact"] = exact;
  j["max_abs_error"] = max_err;
  j["max_abs_output"] = max_ref;
  j["max_abs_error_scores"] = max_score_err;
  j["normal_read_cycles"] = {{"keys", read_k}, {"values", read_v}};
  j["speedup_vs_normal_read"] = {
      {"score_pass", host.score_cycles ? double(read_k) / host.score_cycles : 0.0},
      {"value_pass", host.value_cycles ? double(read_v) / host.value_cycles : 0.0}};
  j["wall_s"] = wall;
  j["passes_wall_s"] = host.pass_wall_s;
  j["macs_per_wall_s"] = host.pass_wall_s > 0 ? double(units.macs()) / host.pass_wall_s : 0.0;
  ResultFingerprint fp;  // every result bit: scores, then outputs
  fp.add(host.scores);
  fp.add(host.out);
  j["result_fingerprint"] = fp.value();
  return j;
}

}  // namespace sparsepim::host
