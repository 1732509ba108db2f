#pragma once
// A SystemC kernel can elaborate and run only once per process. Each simulation of a test runs
// in a fork()ed child that elaborates, simulates and checks; its exit status is the verdict, so
// test binaries work when run directly (many tests in one process) as well as under ctest.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <functional>
#include <string>

namespace sparsepim::testing {

// Runs `body` in a child process. The body returns an empty string on success or a failure
// message. Exceptions, signals and non-zero exits fail the test too.
inline ::testing::AssertionResult run_in_child(const std::function<std::string()>& body) {
  std::fflush(nullptr);
  int fds[2];
  if (pipe(fds) != 0) return ::testing::AssertionFailure() << "pipe() failed";
  const pid_t pid = fork();
  if (pid < 0) return ::testing::AssertionFailure() << "fork() failed";
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    int code = 0;
    try {
      msg = body();
      code = msg.empty() ? 0 : 1;
    } catch (const std::exception& e) {
      msg = std::string("uncaught exception: ") + e.what();
      code = 2;
    } catch (...) {
      msg = "uncaught non-standard exception";
      code = 2;
    }
    if (!msg.empty()) {
      ssize_t w = write(fds[1], msg.data(), msg.size());
      (void)w;
    }
    close(fds[1]);
    std::fflush(nullptr);
    _exit(code);
  }
  close(fds[1]);
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    return ::testing::AssertionFailure() << "simulation child killed by signal " << WTERMSIG(status)
                                         << (msg.empty() ? "" : ": " + msg);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return ::testing::AssertionFailure()
           << "simulation child failed (exit " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
           << "): " << msg;
  return ::testing::AssertionSuccess();
}

}  // namespace sparsepim::testing
