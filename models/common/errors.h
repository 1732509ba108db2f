#pragma once
// Errors that reach the user. The CLI catches them, prints the message and exits non-zero;
// they are never used for control flow inside the simulation.
#include <stdexcept>
#include <string>

namespace sparsepim {

// A configuration (JSON file, --set override, command-line option) is invalid.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An input file (request trace, data trace) is malformed.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sparsepim
