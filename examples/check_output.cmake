# Run one example with a start method and check its output, line by line:
#   cmake -DEXE=path -DMETHOD=n [-DEMU=wine] -DEACH="hello world @N@"
#         -DCOUNT=20 [-DEXPECT=regex] [-DFORBID=regex] -P check_output.cmake
# A line matching the regex EACH (with @N@ = 0 .. COUNT-1) must appear for
# every N, as a line of its own; the exit code must be 0. The output is read to its end, which
# comes when the last child holding it has exited.
execute_process(COMMAND ${EMU} ${EXE} ${METHOD}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
string(REPLACE "\r" "" out "${out}")
set(out "\n${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} ${METHOD}: exit ${rc}\n${out}\n${err}")
endif()
if(DEFINED COUNT)
  math(EXPR last "${COUNT} - 1")
  foreach(n RANGE 0 ${last})
    string(REPLACE "@N@" "${n}" line "${EACH}")
    if(NOT out MATCHES "\n${line}\n")
      message(FATAL_ERROR "${EXE} ${METHOD}: no line \"${line}\"\n${out}\n${err}")
    endif()
  endforeach()
endif()
if(DEFINED EXPECT AND NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "${EXE} ${METHOD}: no match for ${EXPECT}\n${out}\n${err}")
endif()
if(DEFINED FORBID AND out MATCHES "${FORBID}")
  message(FATAL_ERROR "${EXE} ${METHOD}: ${FORBID}\n${out}\n${err}")
endif()
message(STATUS "${EXE} ${METHOD}: ok")
