# Defines the imported target mproc::uv, used by the build and by the
# installed package. libuv's own CMake package when it is installed (as
# from a source build, the MinGW and macOS legs), else pkg-config (Debian's
# libuv1-dev ships no CMake package).
#
# GLOBAL: when mproc is part of a bigger project (add_subdirectory,
# FetchContent), mproc::mproc_static carries mproc::uv in its link
# interface into directories above mproc's, which must see the target too.
if(NOT TARGET mproc::uv)
  find_package(libuv CONFIG QUIET)
  add_library(mproc::uv INTERFACE IMPORTED GLOBAL)
  if(TARGET uv_a)
    set_target_properties(mproc::uv PROPERTIES INTERFACE_LINK_LIBRARIES uv_a)
  elseif(TARGET libuv::uv_a)
    set_target_properties(mproc::uv PROPERTIES INTERFACE_LINK_LIBRARIES libuv::uv_a)
  else()
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(MPROC_LIBUV REQUIRED IMPORTED_TARGET GLOBAL libuv)
    set_target_properties(mproc::uv PROPERTIES
      INTERFACE_LINK_LIBRARIES PkgConfig::MPROC_LIBUV)
  endif()
endif()
