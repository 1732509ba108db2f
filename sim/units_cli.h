#pragma once
// `sparsepim units`: the cluster-mapping unit on key blocks and the index-prediction unit on
// decode histories, clocked and/or fast; cycle counts and agreement checks as JSON, optionally
// the units' waveforms (VCD).
#include <CLI/CLI.hpp>

namespace sparsepim {

struct UnitsCommand;
UnitsCommand* add_units_command(CLI::App& app);
// Runs the subcommand if it was parsed: its exit code, or -1 if it was not.
int run_units_command(UnitsCommand* cmd);

}  // namespace sparsepim
