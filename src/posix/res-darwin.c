/* mproc: a process's resources on macOS — its resident memory
 * (task_info's MACH_TASK_BASIC_INFO). macOS has no way to pin a process
 * to CPUs (thread affinity tags are hints, and none on Apple silicon):
 * affinity is MPROC_ENOTSUP. */
#include <mach/mach.h>
#include <stdint.h>

#include "posix.h"

int mproc__os_rss(uint64_t *bytes) {
  mach_task_basic_info_data_t info;
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  *bytes = 0;
  if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info,
                &count) != KERN_SUCCESS)
    return mproc__err(MPROC_EOS, "task_info(MACH_TASK_BASIC_INFO) failed");
  *bytes = (uint64_t)info.resident_size;
  return 0;
}

int mproc__os_affinity_supported(void) { return 0; }

int mproc__os_proc_affinity(mproc__os_proc *p, const int *cpus, size_t n) {
  (void)p, (void)cpus, (void)n;
  return mproc__err(MPROC_ENOTSUP, "CPU affinity: macOS cannot pin a "
                    "process to CPUs");
}
