#pragma once
// Command-trace writer: one line per command, "cycle channel pc sid bg bank command row column",
// buffered so that tracing a million commands costs one write per 64 KB.
#include <cstdio>
#include <string>

#include "hbm/command_observer.h"

namespace sparsepim::hbm {

class CommandTraceWriter : public CommandObserver {
 public:
  explicit CommandTraceWriter(const std::string& path);  // throws ConfigError if unwritable
  ~CommandTraceWriter() override;
  CommandTraceWriter(const CommandTraceWriter&) = delete;
  CommandTraceWriter& operator=(const CommandTraceWriter&) = delete;
  void on_command(const Command& c) override;
  void on_finish(uint64_t cycle) override;

 private:
  std::FILE* f_ = nullptr;
  std::string buf_;
};

}  // namespace sparsepim::hbm
