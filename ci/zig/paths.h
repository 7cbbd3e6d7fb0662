/* <paths.h> shim for the macOS cross build: zig 0.11's macOS headers have
 * only <sys/paths.h>, and libuv includes <paths.h> (and uses _PATH_DEFPATH).
 * The values are those of Apple's <paths.h>. Real macOS SDKs have the real
 * header; the toolchain puts this folder on the path with -idirafter, so
 * the shim is seen only where no real one exists. */
#ifndef MPROC_ZIG_PATHS_H_SHIM
#define MPROC_ZIG_PATHS_H_SHIM

#include <sys/paths.h>

#ifndef _PATH_DEFPATH
#define _PATH_DEFPATH "/usr/bin:/bin"
#endif
#ifndef _PATH_STDPATH
#define _PATH_STDPATH "/usr/bin:/bin:/usr/sbin:/sbin"
#endif
#ifndef _PATH_BSHELL
#define _PATH_BSHELL "/bin/sh"
#endif
#ifndef _PATH_CONSOLE
#define _PATH_CONSOLE "/dev/console"
#endif
#ifndef _PATH_DEVNULL
#define _PATH_DEVNULL "/dev/null"
#endif
#ifndef _PATH_TTY
#define _PATH_TTY "/dev/tty"
#endif
#ifndef _PATH_DEV
#define _PATH_DEV "/dev/"
#endif
#ifndef _PATH_TMP
#define _PATH_TMP "/tmp/"
#endif
#ifndef _PATH_VARTMP
#define _PATH_VARTMP "/var/tmp/"
#endif
#ifndef _PATH_VARRUN
#define _PATH_VARRUN "/var/run/"
#endif

#endif
