# The checked warning list; -Werror when MPROC_WERROR is on (CI).
function(mproc_target_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2
      -Wundef -Wvla -Wno-unused-parameter)
    if(MPROC_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
