# Cross-build for Windows x86-64 with MinGW-w64 (Debian's
# gcc-mingw-w64-x86-64); CTest runs the .exe files through Wine.
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw.cmake \
#         -DMPROC_DEPS_PREFIX=/path/to/mingw/deps ...
#
# MPROC_DEPS_PREFIX is where libuv and CMocka were installed for MinGW
# (ci/windows.sh builds them into build-win/deps). It joins the find root,
# so find_package(libuv CONFIG), find_path(cmocka.h) and
# find_library(cmocka-static) look there and never in the build machine's
# /usr (whose Linux libraries would not link).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MPROC_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${MPROC_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MPROC_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${MPROC_MINGW_TRIPLE}-windres)

# The toolchain file is read again for every try_compile project: pass the
# prefix along so those see the same root.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MPROC_DEPS_PREFIX)
if(NOT MPROC_DEPS_PREFIX AND DEFINED ENV{MPROC_DEPS_PREFIX})
  set(MPROC_DEPS_PREFIX $ENV{MPROC_DEPS_PREFIX})
endif()

set(CMAKE_FIND_ROOT_PATH /usr/${MPROC_MINGW_TRIPLE})
if(MPROC_DEPS_PREFIX)
  list(PREPEND CMAKE_FIND_ROOT_PATH ${MPROC_DEPS_PREFIX})
  list(PREPEND CMAKE_PREFIX_PATH ${MPROC_DEPS_PREFIX})
  # pkg-config, should anything fall back to it, must see only the
  # MinGW prefix, never the host's .pc files.
  set(ENV{PKG_CONFIG_LIBDIR} ${MPROC_DEPS_PREFIX}/lib/pkgconfig)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Programs built here run under Wine (CTest, try_run).
find_program(MPROC_WINE NAMES wine wine64)
if(MPROC_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MPROC_WINE})
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR wine)
endif()

# MinGW's own C99 printf family instead of msvcrt's, which lacks %zu and
# %lld on older Windows: the library and the tests print sizes with %zu.
set(CMAKE_C_FLAGS_INIT "-D__USE_MINGW_ANSI_STDIO=1")

# GCC's runtime statically, so a test .exe needs no libgcc_s_seh-1.dll
# beside it when Wine runs it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")
