#pragma once
// Runs a function in a forked child process and returns the JSON it produced. SystemC elaborates
// once per process, so every simulation of a run that needs several (one per policy, one per
// benchmark case) runs in a child of its own; it also gives each its own peak RSS.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace sparsepim {

// The child's exception (or death) becomes a std::runtime_error in the parent, its message
// prefixed by `what`.
inline nlohmann::json json_in_child(const std::function<nlohmann::json()>& f,
                                    const std::string& what) {
  std::fflush(nullptr);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    int code = 0;
    try {
      out = f().dump();
    } catch (const std::exception& e) {
      out = nlohmann::json{{"error", e.what()}}.dump();
      code = 1;
    }
    for (size_t off = 0; off < out.size();) {
      const ssize_t w = write(fds[1], out.data() + off, out.size() - off);
      if (w <= 0) break;
      off += size_t(w);
    }
    close(fds[1]);
    _exit(code);
  }
  close(fds[1]);
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) s.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  nlohmann::json j = nlohmann::json::parse(s.empty() ? std::string("{}") : s);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(what + ": " + j.value("error", std::string("the process died")));
  return j;
}

}  // namespace sparsepim
