# Cross-compile for macOS on Linux with zig 0.11 (`zig cc`): a compile and
# link check of the macOS backend; the programs cannot run on the build
# machine. ci/macos.sh drives it:
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-zig-macos.cmake \
#         -DMPROC_ZIG_ARCH=aarch64 -DCMAKE_FIND_ROOT_PATH=<deps prefix> ...
#
# MPROC_ZIG_ARCH: x86_64 (default) or aarch64. The compiler, ar and ranlib
# are the small wrapper scripts in ci/zig/ (CMake wants one program per
# tool, without arguments); they find zig through $MPROC_ZIG, the copy
# ci/macos.sh installs under build-mac/tools, or PATH.

set(CMAKE_SYSTEM_NAME Darwin)

if(NOT DEFINED MPROC_ZIG_ARCH)
  if(DEFINED ENV{MPROC_ZIG_ARCH})
    set(MPROC_ZIG_ARCH "$ENV{MPROC_ZIG_ARCH}")
  else()
    set(MPROC_ZIG_ARCH x86_64)
  endif()
endif()
if(MPROC_ZIG_ARCH STREQUAL "x86_64")
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
elseif(MPROC_ZIG_ARCH STREQUAL "aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64) # Apple's name, as on a real Mac
else()
  message(FATAL_ERROR "MPROC_ZIG_ARCH must be x86_64 or aarch64, "
                      "not '${MPROC_ZIG_ARCH}'")
endif()
# try_compile projects read this file again: hand them the arch.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MPROC_ZIG_ARCH)

get_filename_component(_mproc_zig_dir "${CMAKE_CURRENT_LIST_DIR}/../ci/zig"
                       ABSOLUTE)
set(CMAKE_C_COMPILER "${_mproc_zig_dir}/${MPROC_ZIG_ARCH}-macos-cc")
set(CMAKE_AR "${_mproc_zig_dir}/zig-ar" CACHE FILEPATH "zig ar" FORCE)
set(CMAKE_RANLIB "${_mproc_zig_dir}/zig-ranlib" CACHE FILEPATH "zig ranlib"
    FORCE)
# zig has no install_name_tool; the installed dylibs keep the install name
# they were linked with (@rpath/...), which is what we want anyway.
set(CMAKE_INSTALL_NAME_TOOL "${_mproc_zig_dir}/zig-noop" CACHE FILEPATH
    "no install_name_tool with zig" FORCE)

# zig 0.11's macOS headers lack <paths.h> (they have <sys/paths.h>), which
# libuv includes. -idirafter: the shim is only used when no real one exists.
set(CMAKE_C_FLAGS_INIT "-idirafter \"${_mproc_zig_dir}\"")

# No Xcode: no SDK path, no -arch flags, no deployment target from sw_vers.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE)

# Libraries, headers and packages come only from the macOS prefixes given
# in CMAKE_FIND_ROOT_PATH / CMAKE_PREFIX_PATH (never the Linux host's);
# programs come from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
