/* mproc: program-level hook lists — each module's fork and exit duties,
 * registered by the module itself (see program.h).
 *
 * A list is a fixed array and a count of reserved slots. Appending takes
 * a slot with one atomic add and then stores the function; a reader
 * takes the count and skips slots not stored yet. No mutex: a fork child
 * of a threaded parent may register (a child that becomes itself a
 * library child, src/current.c), and a mutex another thread held at the
 * fork would never be released there. Two threads registering the same
 * function at the same instant may both append it; every hook is safe to
 * run twice, and modules register once through their own flags anyway. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform.h"
#include "program.h"

typedef struct hook_list {
  atomic_uint reserved;
  _Atomic(mproc__hook) fn[MPROC__HOOKS_MAX];
} hook_list;

static hook_list fork_child, fork_before, fork_after, at_exit_first, at_exit;

static unsigned count(hook_list *l) {
  unsigned n = atomic_load_explicit(&l->reserved, memory_order_acquire);
  return n < MPROC__HOOKS_MAX ? n : MPROC__HOOKS_MAX;
}

static int present(hook_list *l, mproc__hook fn) {
  unsigned i, n = count(l);
  for (i = 0; i < n; i++)
    if (atomic_load_explicit(&l->fn[i], memory_order_acquire) == fn)
      return 1;
  return 0;
}

static void add(hook_list *l, mproc__hook fn) {
  unsigned at;
  if (fn == NULL || present(l, fn)) return;
  at = atomic_fetch_add(&l->reserved, 1);
  if (at >= MPROC__HOOKS_MAX) {
    fprintf(stderr, "mproc: more than %d program hooks of one kind; raise "
                    "MPROC__HOOKS_MAX (src/program.h)\n",
            MPROC__HOOKS_MAX);
    abort();
  }
  atomic_store_explicit(&l->fn[at], fn, memory_order_release);
}

static void run_forward(hook_list *l) {
  unsigned i, n = count(l);
  for (i = 0; i < n; i++) {
    mproc__hook fn = atomic_load_explicit(&l->fn[i], memory_order_acquire);
    if (fn) fn();
  }
}

static void run_backward(hook_list *l) {
  unsigned i = count(l);
  while (i-- > 0) {
    mproc__hook fn = atomic_load_explicit(&l->fn[i], memory_order_acquire);
    if (fn) fn();
  }
}

/* The one handler the backend runs in every fork child; registered with
 * the backend when the first fork-child hook is. */
static atomic_int child_handler;

static void run_fork_child(void) { run_forward(&fork_child); }

void mproc__program_init(void) {
  if (!atomic_load_explicit(&child_handler, memory_order_relaxed) &&
      !atomic_exchange(&child_handler, 1))
    mproc__os_atfork_child(run_fork_child);
}

void mproc__on_fork_child(mproc__hook fn) {
  mproc__program_init();
  add(&fork_child, fn);
}

void mproc__on_fork_start(mproc__hook before, mproc__hook after) {
  add(&fork_before, before);
  add(&fork_after, after);
}

void mproc__on_exit(mproc__hook fn) { add(&at_exit, fn); }
void mproc__on_exit_first(mproc__hook fn) { add(&at_exit_first, fn); }

void mproc__program_fork_before(void) { run_forward(&fork_before); }
void mproc__program_fork_after(void) { run_backward(&fork_after); }
void mproc__program_exit(void) {
  run_backward(&at_exit_first);
  run_backward(&at_exit);
}
