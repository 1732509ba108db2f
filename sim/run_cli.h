#pragma once
// `sparsepim run`: the decode simulation (models/host/decode_sim.h).
#include <CLI/CLI.hpp>

namespace sparsepim {

struct RunCommand;
RunCommand* add_run_command(CLI::App& app);
// Runs the subcommand if parsed: its exit code, or -1 if it was not.
int run_run_command(RunCommand* cmd);
// The default job (no subcommand): Llama-3.1-8B, 32K, budget 1024, every policy.
int run_default_job();

}  // namespace sparsepim
