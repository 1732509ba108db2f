#include "workload_cli.h"

namespace sparsepim {

struct WorkloadCommands {};

WorkloadCommands* add_workload_commands(CLI::App&) {
  static WorkloadCommands cmds;
  return &cmds;
}

int run_workload_commands(WorkloadCommands*) { return -1; }

}  // namespace sparsepim
