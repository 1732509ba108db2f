#include "hbm/command_trace.h"

#include <cstring>

#include "common/errors.h"

namespace sparsepim::hbm {

CommandTraceWriter::CommandTraceWriter(const std::string& path) {
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) throw ConfigError("cannot write command trace '" + path + "': " + std::strerror(errno));
  buf_.reserve(1 << 16);
  buf_ += "# cycle channel pc sid bg bank command row column\n";
}

CommandTraceWriter::~CommandTraceWriter() {
  if (f_) {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    std::fclose(f_);
  }
}

void CommandTraceWriter::on_command(const Command& c) {
  char line[128];
  const int n = std::snprintf(line, sizeof line, "%llu %u %u %u %u %u %s %u %u\n",
                              static_cast<unsigned long long>(c.cycle), unsigned(c.channel),
                              unsigned(c.pc), unsigned(c.sid), unsigned(c.bg), unsigned(c.bank),
                              cmd_name(c.cmd).data(), c.row, c.column);
  buf_.append(line, size_t(n));
  if (buf_.size() > (1 << 16) - 128) {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }
}

void CommandTraceWriter::on_finish(uint64_t) {
  std::fwrite(buf_.data(), 1, buf_.size(), f_);
  buf_.clear();
  std::fflush(f_);
}

}  // namespace sparsepim::hbm
