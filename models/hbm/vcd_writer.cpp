#include "hbm/vcd_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <tuple>

#include "common/errors.h"

namespace sparsepim::hbm {

namespace {
std::string vcd_id(uint32_t n) {  // printable identifiers '!'..'~'
  std::string s;
  do {
    s += char('!' + n % 94);
    n /= 94;
  } while (n);
  return s;
}
uint64_t parse_ns(const std::string& s, const std::string& what) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end || !(v >= 0))
    throw ConfigError("--vcd-window: bad " + what + " '" + s + "'");
  return uint64_t(std::llround(v * 1000.0));
}
}  // namespace

std::pair<uint64_t, uint64_t> parse_window_ns(const std::string& window) {
  uint64_t lo_ps = 0, hi_ps = ~uint64_t(0);
  if (!window.empty()) {
    const auto colon = window.find(':');
    if (colon == std::string::npos)
      throw ConfigError("--vcd-window: expected START:END in ns, got '" + window + "'");
    const std::string lo = window.substr(0, colon), hi = window.substr(colon + 1);
    if (!lo.empty()) lo_ps = parse_ns(lo, "start");
    if (!hi.empty()) hi_ps = parse_ns(hi, "end");
    if (hi_ps < lo_ps) throw ConfigError("--vcd-window: END before START");
  }
  return {lo_ps, hi_ps};
}

VcdWriter::VcdWriter(const std::string& path, const MemoryConfig& cfg, const std::string& window)
    : cfg_(cfg), tck_ps_(uint64_t(std::llround(cfg.timing.tCK_ns * 1000.0))) {
  std::tie(win_lo_, win_hi_) = parse_window_ns(window);
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) throw ConfigError("cannot write VCD '" + path + "': " + std::strerror(errno));
  const auto& o = cfg.org;
  const uint32_t bank_bits = 8, mask_bits = o.banks_per_pc();
  buf_ += "$date sparsepim $end\n$version sparsepim command-stream VCD $end\n$timescale 1ps $end\n";
  buf_ += "$scope module " + cfg.name + " $end\n";
  for (uint32_t ch = 0; ch < o.channels; ++ch) {
    buf_ += "$scope module ch" + std::to_string(ch) + " $end\n";
    for (uint32_t p = 0; p < o.pseudo_channels; ++p) {
      PcSignals s{};
      buf_ += "$scope module pc" + std::to_string(p) + " $end\n";
      auto decl = [&](uint32_t width, const char* name) {
        const uint32_t i = add_signal(width);
        buf_ += "$var wire " + std::to_string(width) + " " + sig_[i].id + " " + name + " $end\n";
        return i;
      };
      s.row_cmd = decl(8, "row_cmd");
      s.col_cmd = decl(8, "col_cmd");
      s.bank = decl(bank_bits, "bank");
      s.row = decl(32, "row");
      s.column = decl(8, "column");
      s.open_mask = decl(mask_bits, "open_rows");
      s.pim_busy = decl(1, "pim_busy");
      s.pim_mode = decl(2, "pim_mode");
      pcs_.push_back(s);
      open_.push_back(0);
      buf_ += "$upscope $end\n";
    }
    buf_ += "$upscope $end\n";
  }
  buf_ += "$upscope $end\n$enddefinitions $end\n";
}

uint32_t VcdWriter::add_signal(uint32_t width) {
  sig_.push_back({vcd_id(uint32_t(sig_.size())), width});
  return uint32_t(sig_.size() - 1);
}

VcdWriter::~VcdWriter() {
  if (f_) {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    std::fclose(f_);
  }
}

void VcdWriter::emit_time(uint64_t t) {
  if (t == last_time_) return;
  last_time_ = t;
  buf_ += "#" + std::to_string(t) + "\n";
}

void VcdWriter::set(uint32_t i, uint64_t value, uint64_t t) {
  Signal& s = sig_[i];
  if (s.value == value) return;
  s.value = value;
  if (!in_window(t)) return;
  if (!window_dumped_) {  // entering the window: every signal's current value first
    window_dumped_ = true;
    emit_time(t);
    buf_ += "$dumpvars\n";
    for (const Signal& x : sig_) {
      std::string bits;
      const uint64_t v = x.value == ~uint64_t(0) ? 0 : x.value;
      if (x.width == 1)
        bits = std::to_string(v & 1) + x.id + "\n";
      else {
        bits = "b";
        for (int k = int(x.width) - 1; k >= 0; --k) bits += ((v >> k) & 1) ? '1' : '0';
        bits += " " + x.id + "\n";
      }
      buf_ += bits;
    }
    buf_ += "$end\n";
    return;
  }
  emit_time(t);
  if (s.width == 1) {
    buf_ += char('0' + (value & 1));
    buf_ += s.id;
    buf_ += '\n';
  } else {
    buf_ += 'b';
    int top = 63 - __builtin_clzll(value | 1);
    for (int k = top; k >= 0; --k) buf_ += ((value >> k) & 1) ? '1' : '0';
    buf_ += ' ';
    buf_ += s.id;
    buf_ += '\n';
  }
  if (buf_.size() > (1 << 16)) {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }
}

void VcdWriter::advance_to(uint64_t t) {
  if (pending_.empty()) return;
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const Pending& a, const Pending& b) { return a.time_ps < b.time_ps; });
  size_t k = 0;
  for (; k < pending_.size() && pending_[k].time_ps < t; ++k)
    set(pending_[k].sig, pending_[k].value, pending_[k].time_ps);
  pending_.erase(pending_.begin(), pending_.begin() + long(k));
}

void VcdWriter::on_command(const Command& c) {
  const uint64_t t = c.cycle * tck_ps_;
  if (t > win_hi_ && pending_.empty()) return;
  advance_to(t + 1);  // returns-to-idle at or before t go first
  const auto& o = cfg_.org;
  const uint32_t per_pc = o.banks_per_pc();
  const uint32_t lo = c.scope_channel ? 0 : c.pc,
                 hi = c.scope_channel ? o.pseudo_channels : c.pc + 1;
  const uint32_t bank = (uint32_t(c.sid) * o.bank_groups + c.bg) * o.banks_per_group + c.bank;
  const uint64_t all = per_pc >= 64 ? ~uint64_t(0) : (uint64_t(1) << per_pc) - 1;
  for (uint32_t p = lo; p < hi; ++p) {
    const uint32_t k = c.channel * o.pseudo_channels + p;
    const PcSignals& s = pcs_[k];
    const bool row = is_row_command(c.cmd);
    set(row ? s.row_cmd : s.col_cmd, uint64_t(c.cmd) + 1, t);  // 0 = idle
    pending_.push_back({t + tck_ps_, row ? s.row_cmd : s.col_cmd, 0});
    set(s.bank, bank, t);
    if (c.cmd != Cmd::PRE && c.cmd != Cmd::PREA && c.cmd != Cmd::REF) set(s.row, c.row, t);
    if (!row) set(s.column, c.column, t);
    uint64_t& open = open_[k];
    switch (c.cmd) {
      case Cmd::ACT:
        open |= uint64_t(1) << bank;
        break;
      case Cmd::PRE:
        open &= ~(uint64_t(1) << bank);
        break;
      case Cmd::PREA:
        open = 0;
        set(s.pim_mode, kSingleBank, t);
        break;
      case Cmd::ACTAB:
        open = all;
        set(s.pim_mode, kAllBank, t);
        break;
      case Cmd::MACAB:
        set(s.pim_mode, kAllBankPim, t);
        set(s.pim_busy, 1, t);
        pending_.push_back({t + cfg_.timing.CCDAB * tck_ps_, s.pim_busy, 0});
        break;
      default:
        break;
    }
    set(s.open_mask, open, t);
  }
}

void VcdWriter::on_finish(uint64_t cycle) {
  advance_to(~uint64_t(0));
  const uint64_t end = (cycle + 1) * tck_ps_;
  if (last_time_ == ~uint64_t(0) || end > last_time_) emit_time(std::min(end, win_hi_));
  std::fwrite(buf_.data(), 1, buf_.size(), f_);
  buf_.clear();
  std::fflush(f_);
}

// A GTKWave save file next to the VCD: the first pseudo-channel's signals, command codes
// translated to names by scripts/gtkwave/commands.filter.
void write_gtkwave_save(const std::string& vcd_path, const MemoryConfig& cfg) {
  const std::string filters = config_dir() + "/../scripts/gtkwave/";
  std::ofstream f(vcd_path + ".gtkw");
  if (!f) throw ConfigError("cannot write " + vcd_path + ".gtkw");
  f << "[*] sparsepim: open with  gtkwave " << vcd_path << " " << vcd_path << ".gtkw\n";
  f << "[dumpfile] \"" << vcd_path << "\"\n[size] 1600 700\n";
  const std::string pc = cfg.name + ".ch0.pc0.";
  for (const char* cmd : {"row_cmd[7:0]", "col_cmd[7:0]"})
    f << "@2022\n^1 " << filters << "commands.filter\n" << pc << cmd << "\n";
  f << "@22\n" << pc << "bank[7:0]\n" << pc << "row[31:0]\n" << pc << "column[7:0]\n";
  f << pc << "open_rows[" << cfg.org.banks_per_pc() - 1 << ":0]\n";
  f << "@28\n" << pc << "pim_busy\n";
  f << "@2022\n^2 " << filters << "pim_mode.filter\n" << pc << "pim_mode[1:0]\n";
}

}  // namespace sparsepim::hbm
