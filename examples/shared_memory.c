/* Python's multiprocessing.shared_memory example, in C:
 *
 *   from multiprocessing import shared_memory
 *   shm_a = shared_memory.SharedMemory(create=True, size=10)
 *   buffer = shm_a.buf
 *   buffer[:4] = bytearray([22, 33, 44, 55])
 *   buffer[4] = 100
 *   shm_b = shared_memory.SharedMemory(shm_a.name)   # attach by name
 *   bytes(shm_b.buf[:5])    # b'\x16!,7d'
 *   shm_b.buf[:5] = b'howdy'
 *   shm_b.close()
 *   bytes(shm_a.buf[:5])    # b'howdy'
 *   shm_a.close()
 *   shm_a.unlink()
 *
 * Here the second attachment is a child process, given the segment in its
 * pass list (opening by name, as shm_b does, is for unrelated processes).
 * An optional argument picks the start method.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

static int attach(const void *arg, size_t len) {
  mproc_shm *b;
  unsigned char *buf;
  (void)arg, (void)len;
  if (mproc_inherited(0, MPROC_KIND_SHM, &b) != 0) return 1;
  buf = mproc_shm_buf(b);
  printf("child sees: %d %d %d %d %d\n", buf[0], buf[1], buf[2], buf[3],
         buf[4]);
  memcpy(buf, "howdy", 5);
  mproc_shm_free(b);
  return 0;
}
MPROC_TASK(attach);

int main(int argc, char **argv) {
  unsigned char init[5] = {22, 33, 44, 55, 100};
  mproc_shm *a;
  mproc_process *p;
  mproc_pass pass[1];
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  int code = -1;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  if (mproc_shm_new(&a, 10, NULL) != 0) return 1;
  memcpy(mproc_shm_buf(a), init, 5);
  pass[0] = MPROC_PASS(a);
  opts.pass = pass;
  opts.n_pass = 1;
  mproc_process_new(&p, attach, NULL, 0, &opts);
  mproc_process_start(p);
  mproc_process_join(p, MPROC_FOREVER);
  mproc_process_exitcode(p, &code);
  printf("parent sees: %.5s\n", (char *)mproc_shm_buf(a));
  mproc_process_free(p);
  mproc_shm_unlink(a);
  mproc_shm_free(a);
  return code;
}
