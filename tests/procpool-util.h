/* mproc tests: helpers of the process executor's test programs
 * (procpool-util.c). */
#ifndef MPROC_TEST_PROCPOOL_UTIL_H
#define MPROC_TEST_PROCPOOL_UTIL_H

#include <mproc.h>

/* Tasks (registered): an int squared; the input echoed; the worker's pid
 * (a long); park: input "tell wait" (two queue names): puts the pid into
 * tell, then waits up to 120 s on wait (nobody writes it), returns 3. */
int pp_square(const void *in, size_t len, mproc_buf *out);
int pp_echo(const void *in, size_t len, mproc_buf *out);
int pp_pid(const void *in, size_t len, mproc_buf *out);
int pp_park(const void *in, size_t len, mproc_buf *out);

/* Fail the task with `code` and a message of 1 MiB of `fill`. */
int pp_fail_mib(mproc_buf *out, int code, char fill);

/* A process executor of `workers` for the group's start method (o may be
 * NULL); fails the test on error. */
mproc_executor *pp_new(int workers, mproc_executor_opts *o);
mproc_future *pp_submit(mproc_executor *ex, mproc_task_fn fn, const void *in,
                        size_t len);
/* The future's result as an int / a long (120 s at most). */
int pp_int(mproc_future *f);
long pp_long(mproc_future *f);
/* Two new queues for pp_park and its input "tell wait" in `in`. */
void park_queues(mproc_queue **q, mproc_queue **w, char *in, size_t cap);
/* The pid a pp_park task put into q. */
long park_pid(mproc_queue *q);

#endif
