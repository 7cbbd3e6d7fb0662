/* mproc: program set-up, start methods and contexts. */
#include <stdlib.h>

#include "init.h"
#include "internal.h"
#include "platform.h"
#include "program.h"
#include "registry.h"
#include "tracker.h"

struct mproc_context {
  mproc_start_method method;
};

static int initialized;
static mproc_start_method default_method;

int mproc__initialized(void) { return initialized; }

/* The exit duties the modules registered (program.h). */
static void at_exit(void) { mproc__program_exit(); }

int mproc_init(int argc, char **argv) {
  int rc;
  if (initialized) return 0;
  initialized = 1;
  /* A spawned child never comes back from here; it may start children of
   * its own (its forkserver, if it uses one, starts on first use). */
  rc = mproc__os_child_entry(argc, argv);
  if (rc < 0) return rc;
  /* Under mpiexec, ranks 1..N-1 become MPI workers here and never return
   * (a spawned mproc child has already gone its way above). */
  rc = mproc__mpi_boot(argc, argv);
  if (rc < 0) return rc;
  atexit(at_exit);
  mproc__program_init();
  /* The registry first, then the tracker that sweeps it, then the
   * backend (its forkserver), whose children share both. */
  (void)mproc__reg_ready();
  rc = mproc__tracker_ensure();
  if (rc < 0) return rc;
  return mproc__os_init();
}

const char *mproc_start_method_name(mproc_start_method m) {
  switch (m) {
  case MPROC_START_DEFAULT: return "default";
  case MPROC_START_FORK: return "fork";
  case MPROC_START_FORKSERVER: return "forkserver";
  case MPROC_START_SPAWN: return "spawn";
  }
  return NULL;
}

int mproc_start_method_supported(mproc_start_method m) {
  if (m == MPROC_START_DEFAULT) return 1;
  return mproc_start_method_name(m) != NULL && mproc__os_method_supported(m);
}

static int check_method(mproc_start_method m) {
  if (mproc_start_method_name(m) == NULL)
    return mproc__err(MPROC_EINVAL, "start method %d is not a method",
                      (int)m);
  if (!mproc_start_method_supported(m))
    return mproc__err(MPROC_ENOTSUP,
                      "the %s start method is not available on this "
                      "platform",
                      mproc_start_method_name(m));
  return 0;
}

void mproc__set_child_method(mproc_start_method m) {
  /* A stored value, not a check: this runs on every child's start path. */
  if (default_method != m) default_method = m;
}

int mproc_get_all_start_methods(mproc_start_method *out, size_t cap) {
  static const mproc_start_method all[] = {
      MPROC_START_FORK, MPROC_START_SPAWN, MPROC_START_FORKSERVER};
  mproc_start_method first = mproc_get_start_method();
  size_t i;
  int n = 0;
  if (out == NULL && cap > 0)
    return mproc__err(MPROC_EINVAL, "out is NULL but cap is %zu", cap);
  /* The default first, as Python's get_all_start_methods() lists it. */
  if ((size_t)n < cap) out[n] = first;
  n++;
  for (i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (all[i] == first || !mproc__os_method_supported(all[i])) continue;
    if ((size_t)n < cap) out[n] = all[i];
    n++;
  }
  return n;
}

int mproc_set_executable(const char *path) {
  if (path != NULL && path[0] == '\0')
    return mproc__err(MPROC_EINVAL, "the executable path is empty (pass "
                                    "NULL for this program's own)");
  return mproc__os_set_executable(path);
}

int mproc_set_forkserver_preload(mproc_preload_fn fn, void *arg) {
  mproc__os_set_forkserver_preload(fn, fn ? arg : NULL);
  return 0;
}

int mproc_set_start_method(mproc_start_method m) {
  int rc = check_method(m);
  if (rc < 0) return rc;
  default_method = m;
  return 0;
}

mproc_start_method mproc_get_start_method(void) {
  return default_method != MPROC_START_DEFAULT ? default_method
                                               : mproc__os_default_method();
}

int mproc_context_new(mproc_context **out, mproc_start_method m) {
  mproc_context *ctx;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = check_method(m);
  if (rc < 0) return rc;
  ctx = malloc(sizeof *ctx);
  if (ctx == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  ctx->method = m == MPROC_START_DEFAULT ? mproc_get_start_method() : m;
  *out = ctx;
  return 0;
}

mproc_start_method mproc_context_method(const mproc_context *ctx) {
  return ctx ? ctx->method : mproc_get_start_method();
}

void mproc_context_free(mproc_context *ctx) { free(ctx); }

int mproc_cpu_count(void) { return mproc__os_cpu_count(); }
