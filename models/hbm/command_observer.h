#pragma once
// Observers subscribe to the one command stream of an engine. With none attached the engine
// pays one empty-vector check per command.
#include <cstdint>

#include "hbm/dram_command.h"

namespace sparsepim::hbm {

class CommandObserver {
 public:
  virtual ~CommandObserver() = default;
  virtual void on_command(const Command& c) = 0;
  // The simulation of this channel ended at `cycle` (for background energy, busy fractions).
  virtual void on_finish(uint64_t /*cycle*/) {}
};

}  // namespace sparsepim::hbm
