/* mproc: the bootstrap message a spawn or forkserver child starts from —
 * a plain struct and its codec (src/child.c). The codec knows no process
 * object and calls nothing else of the library: process.c fills the
 * struct and encodes it in the parent, current.c decodes it in the
 * child and runs what it describes. */
#ifndef MPROC_CHILD_H
#define MPROC_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/process.h"

/* "3:1:2": the child numbers from the main program down, as Python's
 * _identity; long enough for deep trees of large counters. */
#define MPROC__IDENTITY_MAX 128
/* The longest task name a message carries. */
#define MPROC__TASK_NAME_MAX 255

typedef struct mproc__boot {
  long parent_pid; /* the process that started the child */
  int daemon;
  mproc_start_method method;
  char name[MPROC_NAME_MAX + 1];
  char identity[MPROC__IDENTITY_MAX];
  char task[MPROC__TASK_NAME_MAX + 1]; /* the target's MPROC_TASK name */
  char parent_name[MPROC_NAME_MAX + 1];
  /* The pass list's section, as pass.c encodes it (opaque here). Decoded:
   * points into the message. */
  const void *pass;
  size_t pass_len;
  /* The target's argument. Decoded: points into the message, at a
   * multiple of 16 from its start (NULL when arg_len is 0). */
  const void *arg;
  size_t arg_len;
} mproc__boot;

/** Encode `b` into a new buffer (*out, released with free()), *len bytes.
 *  MPROC_ENOMEM, or MPROC_EINVAL for a string too long for the message. */
int mproc__boot_encode(const mproc__boot *b, void **out, size_t *len);

/** Decode `len` bytes of `msg` into *b (the strings copied, `pass` and
 *  `arg` pointing into msg, which must stay valid while they are used).
 *  MPROC_EBOOTSTRAP with a sentence when the message is malformed. */
int mproc__boot_decode(const void *msg, size_t len, mproc__boot *b);

#endif
