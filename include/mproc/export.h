/** mproc: symbol export macro. Hidden visibility by default; MPROC_EXTERN
 * marks the public API. Define MPROC_STATIC when linking the static library
 * on Windows (the CMake target and the pkg-config file do it for you).
 * @file
 */
#ifndef MPROC_EXPORT_H
#define MPROC_EXPORT_H

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(MPROC_BUILDING_SHARED)
#define MPROC_EXTERN __declspec(dllexport)
#elif defined(MPROC_STATIC) || defined(MPROC_BUILDING_STATIC)
#define MPROC_EXTERN
#else
#define MPROC_EXTERN __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define MPROC_EXTERN __attribute__((visibility("default")))
#else
#define MPROC_EXTERN
#endif

#endif
