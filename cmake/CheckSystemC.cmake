# Catch a C++ standard mismatch with the packaged SystemC at configure time instead of at link
# time (the library exports sc_api_version_2_3_4_cxx201703L only).
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_LIBRARIES PkgConfig::SYSTEMC Threads::Threads)
check_cxx_source_compiles("
#include <systemc>
int sc_main(int, char**) { return 0; }
" SPARSEPIM_SYSTEMC_LINKS)
unset(CMAKE_REQUIRED_LIBRARIES)
if(NOT SPARSEPIM_SYSTEMC_LINKS)
  message(FATAL_ERROR "Cannot link a SystemC program: the packaged SystemC needs -std=c++17 "
                      "(CMAKE_CXX_STANDARD=${CMAKE_CXX_STANDARD}).")
endif()
