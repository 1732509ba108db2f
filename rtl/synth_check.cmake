# ctest helper: Yosys synthesis of the PIM ALU at LANES=1 for both accumulator widths; fails on
# a non-zero exit (syntax or elaboration errors, `check -assert` problems such as combinational
# loops or multiple drivers) and prints the cell counts.
#   cmake -DYOSYS=<yosys> -DRTL=<rtl/pim_alu.sv> -P rtl/synth_check.cmake
foreach(acc 0 1)
  set(script "read_verilog -sv ${RTL}; chparam -set LANES 1 -set ACC_FP32 ${acc} pim_alu; synth -top pim_alu; check -assert; tee -q -o /dev/stdout stat")
  execute_process(COMMAND ${YOSYS} -q -p "${script}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0 OR out MATCHES "ERROR")
    message(FATAL_ERROR "yosys failed (LANES=1 ACC_FP32=${acc}, exit ${rc}):\n${out}")
  endif()
  string(REGEX MATCHALL "Number of cells: +[0-9]+" counts "${out}")
  list(GET counts -1 total)
  message(STATUS "yosys LANES=1 ACC_FP32=${acc}: ${total} (design hierarchy)")
endforeach()
