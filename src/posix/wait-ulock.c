/* mproc: wait/wake on a shared 32-bit word on macOS.
 *
 * macOS 14.4 made os_sync_wait_on_address public, with a flag for memory
 * shared between processes; it is looked up at run time so the library
 * still runs on older systems, where the __ulock calls it is built on
 * (UL_COMPARE_AND_WAIT_SHARED) serve directly. */
#include <dlfcn.h>
#include <errno.h>
#include <mach/mach_time.h>
#include <stdint.h>

#include "posix.h"

#define UL_COMPARE_AND_WAIT_SHARED 3
#define ULF_WAKE_ALL 0x00000100
#define OS_SYNC_SHARED 1u         /* OS_SYNC_WAIT_ON_ADDRESS_SHARED */
#define OS_CLOCK_MACH_ABSOLUTE 32 /* OS_CLOCK_MACH_ABSOLUTE_TIME */

extern int __ulock_wait(uint32_t op, void *addr, uint64_t value,
                        uint32_t timeout_us);
extern int __ulock_wake(uint32_t op, void *addr, uint64_t wake_value);

typedef int (*wait_fn)(void *, uint64_t, size_t, uint32_t, uint32_t,
                       uint64_t);
typedef int (*wait_forever_fn)(void *, uint64_t, size_t, uint32_t);
typedef int (*wake_fn)(void *, size_t, uint32_t);

static struct {
  int looked;
  wait_fn wait;
  wait_forever_fn wait_forever;
  wake_fn wake_any, wake_all;
  mach_timebase_info_data_t tb;
} os_sync;

static void look_up(void) {
  if (os_sync.looked) return;
  os_sync.wait = (wait_fn)dlsym(RTLD_DEFAULT,
                                "os_sync_wait_on_address_with_timeout");
  os_sync.wait_forever = (wait_forever_fn)dlsym(RTLD_DEFAULT,
                                                "os_sync_wait_on_address");
  os_sync.wake_any = (wake_fn)dlsym(RTLD_DEFAULT,
                                    "os_sync_wake_by_address_any");
  os_sync.wake_all = (wake_fn)dlsym(RTLD_DEFAULT,
                                    "os_sync_wake_by_address_all");
  if (!os_sync.wait || !os_sync.wait_forever || !os_sync.wake_any ||
      !os_sync.wake_all)
    os_sync.wait = NULL;
  mach_timebase_info(&os_sync.tb);
  os_sync.looked = 1;
}

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        mproc__park_words *words, int create) {
  (void)name;
  (void)words;
  (void)create;
  look_up();
  *out = NULL;
  return 0;
}

void mproc__os_park_close(mproc__os_park *p) { (void)p; }
void mproc__os_park_unlink(const char *name) { (void)name; }

static int wait_os_sync(void *addr, uint32_t expected, double timeout) {
  int r;
  if (timeout < 0) {
    r = os_sync.wait_forever(addr, expected, 4, OS_SYNC_SHARED);
  } else {
    double ns = timeout * 1e9;
    uint64_t ticks = (uint64_t)(ns * os_sync.tb.denom / os_sync.tb.numer);
    r = os_sync.wait(addr, expected, 4, OS_SYNC_SHARED,
                     OS_CLOCK_MACH_ABSOLUTE, ticks ? ticks : 1);
  }
  if (r >= 0 || errno == EINTR || errno == EFAULT) return 0;
  if (errno == ETIMEDOUT) return MPROC_ETIMEDOUT;
  return mproc__posix_err(errno, "os_sync_wait_on_address");
}

int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout) {
  uint32_t us = 0;
  int r;
  (void)p;
  look_up();
  if (os_sync.wait)
    return wait_os_sync((void *)(uintptr_t)addr, expected, timeout);
  if (timeout >= 0) {
    /* 0 means "no timeout" to __ulock: wait at least 1 us; a longer
     * timeout than 32 bits of microseconds returns early, which the
     * callers' loops absorb. */
    double t = timeout * 1e6;
    us = t < 1 ? 1 : t > 4e9 ? 4000000000u : (uint32_t)t;
  }
  r = __ulock_wait(UL_COMPARE_AND_WAIT_SHARED, (void *)(uintptr_t)addr,
                   expected, us);
  if (r >= 0 || errno == EINTR || errno == EFAULT) return 0;
  if (errno == ETIMEDOUT) return MPROC_ETIMEDOUT;
  return mproc__posix_err(errno, "__ulock_wait");
}

void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n) {
  (void)p;
  look_up();
  if (os_sync.wait) {
    if (n == 1)
      os_sync.wake_any((void *)(uintptr_t)addr, 4, OS_SYNC_SHARED);
    else
      os_sync.wake_all((void *)(uintptr_t)addr, 4, OS_SYNC_SHARED);
    return;
  }
  __ulock_wake(UL_COMPARE_AND_WAIT_SHARED | (n == 1 ? 0 : ULF_WAKE_ALL),
               (void *)(uintptr_t)addr, 0);
}

/* A sleeper has looked the functions up already (park_open, wait): the
 * wake is then one system call, async-signal-safe. */
void mproc__os_wake_intr(mproc__os_park *p, _Atomic uint32_t *addr) {
  if (!os_sync.looked) return;
  mproc__os_wake(p, addr, INT32_MAX);
}
