#pragma once
// `sparsepim workload` and `sparsepim stats` (the workload generator and trace statistics).
#include <CLI/CLI.hpp>

namespace sparsepim {

struct WorkloadCommands;
// Registers the subcommands on `app`; returns a handle for run_workload_commands.
WorkloadCommands* add_workload_commands(CLI::App& app);
// Runs whichever of the subcommands was parsed: its exit code, or -1 if none was.
int run_workload_commands(WorkloadCommands* cmds);

}  // namespace sparsepim
