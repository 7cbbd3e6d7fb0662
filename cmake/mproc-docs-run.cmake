# Run by the docs target at build time (cmake -P): finds Doxygen, runs it on
# the configured Doxyfile and checks its warnings.
#   -DDOXYFILE=<Doxyfile> -DOUT=<output dir> [-DDOXYGEN_HINT=<doxygen>]
#   [-DWERROR=ON: any warning fails]
if(DOXYGEN_HINT AND EXISTS "${DOXYGEN_HINT}")
  set(doxygen "${DOXYGEN_HINT}")
else()
  find_program(doxygen doxygen)
endif()
if(NOT doxygen)
  message(FATAL_ERROR
    "mproc: the docs target needs Doxygen, which is not on PATH. Install it "
    "(Debian/Ubuntu: apt-get install doxygen; Fedora: dnf install doxygen; "
    "macOS: brew install doxygen; Windows: winget install "
    "DimitriVanHeesch.Doxygen) and build the target again: no re-configure "
    "is needed.")
endif()

file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
set(log "${OUT}/warnings.log")
execute_process(COMMAND "${doxygen}" "${DOXYFILE}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mproc: doxygen failed (${rc})")
endif()
file(READ "${log}" warnings)
if(NOT warnings STREQUAL "")
  message("${warnings}")
  if(WERROR)
    message(FATAL_ERROR "mproc: Doxygen warned (MPROC_WERROR is on); "
      "the warnings are above and in ${log}")
  endif()
  message(WARNING "mproc: Doxygen warned; the warnings are in ${log}")
endif()
message(STATUS "mproc: API reference in ${OUT}/html/index.html")
