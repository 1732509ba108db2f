# ctest helper: Verilator lint of the PIM ALU; fails on a non-zero exit or on any warning.
#   cmake -DVERILATOR=<verilator> -DRTL=<rtl/pim_alu.sv> -P rtl/lint_check.cmake
# The first run is exactly `verilator --lint-only -Wall rtl/pim_alu.sv` (the defaults);
# the others lint the other parameterisations (1'b1: ACC_FP32 is a bit).
foreach(params "" "-GACC_FP32=1'b1" "-GLANES=1" "-GLANES=1;-GACC_FP32=1'b1")
  execute_process(COMMAND ${VERILATOR} --lint-only -Wall ${params} ${RTL}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "verilator --lint-only -Wall ${params} ${RTL}: exit ${rc}")
  if(NOT rc EQUAL 0 OR out MATCHES "%Warning|%Error")
    message(FATAL_ERROR "lint failed (${params}):\n${out}")
  endif()
endforeach()
