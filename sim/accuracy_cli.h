#pragma once
// `sparsepim accuracy`: policies x budgets on a trace or a generated workload.
#include <CLI/CLI.hpp>

namespace sparsepim {

struct AccuracyCommand;
AccuracyCommand* add_accuracy_command(CLI::App& app);
// Runs the subcommand if it was parsed: its exit code, or -1 if it was not.
int run_accuracy_command(AccuracyCommand* cmd);

}  // namespace sparsepim
