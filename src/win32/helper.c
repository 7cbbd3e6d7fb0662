/* mproc: the helper group on Windows — no helper process, by decision.
 *
 * The resource tracker (src/tracker.c) exists for what a dead process can
 * leave behind. On POSIX that is every name: shm_open and sem_open names
 * live until unlinked, and a process killed with SIGKILL unlinks nothing.
 * On Windows nothing of ours outlives its last handle, and the kernel
 * closes a process's handles when it dies, however it dies:
 *   - shared memory, Value/Array, the sync kinds' and queues' segments:
 *     named file mappings (Local\), gone with the last handle;
 *   - the parking semaphores (park-sem.c): named semaphores, likewise;
 *   - pipe ends and Listener addresses: named pipes, likewise (AF_UNIX
 *     paths, the one kind that lives in the file system, are POSIX only);
 *   - the holder tables inside a segment: a dead holder's slot is void
 *     (its pid is not alive, mproc__os_pid_alive) and is reused; the
 *     table goes with its segment;
 *   - the registry: there is none on Windows (mproc__os_registry).
 * A child passed an object gets its own handle before the start returns
 * (pass.c), so no object vanishes while a process still means to use it.
 * So the tracker would sweep nothing, and its one visible duty — the
 * warning line that a program left objects — has nothing to count:
 * whatever a program leaves is gone with its last process. Python, for
 * the same reason, runs no resource tracker on Windows. */
#include "win32.h"

int mproc__os_helper_start(void (*fn)(void), int how) {
  (void)fn;
  (void)how;
  return MPROC_ENOTSUP; /* no sentence: not a failure, see above */
}

int mproc__os_helper_have(void) { return 0; }

int mproc__os_helper_send(const void *msg, size_t n) {
  (void)msg;
  (void)n;
  return 1;
}

int mproc__os_helper_recv(void *buf, size_t cap) {
  (void)buf;
  (void)cap;
  return 0;
}

void mproc__os_set_forkserver_preload(void (*fn)(void *), void *arg) {
  (void)fn; /* no forkserver on Windows */
  (void)arg;
}
