#pragma once
// Runs the sparsepim binary (SPARSEPIM_BINARY, set by the test target) the way a user would.
#include <cstdio>
#include <memory>
#include <string>

#include <sys/wait.h>

namespace sparsepim::testing {

struct CmdResult {
  int code;         // exit code
  std::string out;  // stdout and stderr together
};

inline CmdResult run_cli(const std::string& args) {
  const std::string cmd = std::string(SPARSEPIM_BINARY) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  const int status = pclose(p.release());
  return {WEXITSTATUS(status), out};
}

}  // namespace sparsepim::testing
