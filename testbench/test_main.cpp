// Our own main(): libsystemc also defines main() (which calls sc_main), and linking gtest_main
// after it can let SystemC's main win, run nothing and exit 0 — a silent false pass.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

// If SystemC's main() ever wins the link, fail loudly instead of passing silently.
extern "C" int sc_main(int, char**) {
  std::fprintf(stderr, "sc_main reached in a test binary: gtest main() was not linked\n");
  std::abort();
}
