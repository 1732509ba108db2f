#include "hbm/energy.h"

#include <cmath>

namespace sparsepim::hbm {

EnergyObserver::EnergyObserver(const MemoryConfig& cfg) : cfg_(cfg) {
  const auto& en = cfg.energy;
  const auto& o = cfg.org;
  bits_per_burst_ = 8.0 * o.bytes_per_column;
  act_ = en.act_pre_pJ_per_bit * 8.0 * double(o.row_bytes());
  // A refresh command refreshes rows/REFs-per-window rows in every bank it reaches (an
  // activation and precharge each); the window and REFI come from the config.
  const double refs_per_window = en.refresh_window_ms * 1e6 / (cfg.timing.REFI * cfg.timing.tCK_ns);
  const double rows_per_ref = std::ceil(o.rows / refs_per_window);
  ref_ = rows_per_ref * o.banks_per_pc() * act_;
  const double refs_pb_per_window =
      en.refresh_window_ms * 1e6 / (cfg.timing.REFI_PB * cfg.timing.tCK_ns) / o.banks_per_pc();
  refpb_ = std::ceil(o.rows / refs_pb_per_window) * act_;
}

void EnergyObserver::on_command(const Command& c) {
  const auto& en = cfg_.energy;
  const double b = bits_per_burst_;
  switch (c.cmd) {
    case Cmd::ACT:  // one bank's row (also the per-slice activations of a PIM pass)
      e_.act_pre += act_;
      break;
    case Cmd::ACTAB:
      e_.act_pre +=
          act_ * (c.scope_channel ? cfg_.org.banks_per_channel() : cfg_.org.banks_per_pc());
      break;
    case Cmd::RD:
    case Cmd::WR:
      e_.cell_rw += b * en.cell_rw_pJ_per_bit;
      e_.on_die += b * (en.coldec_to_bgmux_pJ_per_bit + en.bgmux_to_gio_pJ_per_bit);
      e_.tsv += b * en.tsv_pJ_per_bit;
      e_.interposer += b * en.interposer_pJ_per_bit;
      break;
    case Cmd::MACAB: {
      // Every participating bank (a bank with an open row: all of the scope after ACTAB, the
      // activated slices' banks in a per-slice round) has one column read by its PIM unit, which
      // does `lanes` MACs on it per buffered query; a unit serves banks_per_unit banks, one per
      // MACAB.
      const uint32_t scope =
          c.scope_channel ? cfg_.org.banks_per_channel() : cfg_.org.banks_per_pc();
      const double units = double(mac_bank_count(c, scope)) / cfg_.pim.banks_per_unit;
      e_.cell_rw += units * b * en.cell_rw_pJ_per_bit;
      e_.on_die += units * b * en.coldec_to_bgmux_pJ_per_bit;
      e_.pim_mac += units * cfg_.pim.lanes * c.queries * en.pim_mac_pJ_per_op;
      break;
    }
    case Cmd::WRGB:  // host -> interposer -> base die -> TSV -> global I/O -> GEMV buffers
      e_.interposer += b * en.interposer_pJ_per_bit;
      e_.tsv += b * en.tsv_pJ_per_bit;
      e_.on_die += b * en.bgmux_to_gio_pJ_per_bit;
      break;
    case Cmd::MVSB:  // PIM units -> global I/O -> TSV -> buffer die
    case Cmd::MVGB:  // buffer die -> TSV -> global I/O -> GEMV buffers
      e_.tsv += b * en.tsv_pJ_per_bit;
      e_.on_die += b * en.bgmux_to_gio_pJ_per_bit;
      break;
    case Cmd::REF:
      e_.refresh += ref_;
      break;
    case Cmd::REFPB:
      e_.refresh += refpb_;
      break;
    case Cmd::PRE:
    case Cmd::PREA:
      break;  // charged with the activation (act_pre constant covers the pair)
    case Cmd::kCount:
      break;
  }
}

void EnergyObserver::on_finish(uint64_t cycle) {
  // mW x ns = pJ; background power of every pseudo-channel of every simulated channel, which all
  // stay powered until the last one finishes.
  const double ns = double(cycle > start_ ? cycle - start_ : 0) * cfg_.timing.tCK_ns;
  e_.background =
      cfg_.energy.background_mW_per_pc * cfg_.org.pseudo_channels * cfg_.org.channels * ns;
}

}  // namespace sparsepim::hbm
