/* mproc: the task registry. Children started by spawn or forkserver find
 * their target by name, because a function pointer means nothing in
 * another executable image (spawn) and must be checked against what was
 * registered anyway (forkserver). MPROC_TASK() fills it at load time, before
 * main() and before any thread, so lookups need no lock.
 *
 * Two functions under one name through MPROC_TASK (two `static` functions
 * of the same name in two files) cannot be reported where it happens — a
 * load-time constructor has no caller — so the clash is remembered, and
 * starting either function by name fails with a sentence naming both
 * places. An explicit mproc_task_register() that clashes is reported to its
 * caller and not remembered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TASK_NAME_MAX 255

typedef struct task {
  char *name;
  mproc_fnptr fn;
  const char *file; /* where MPROC_TASK stood, or NULL */
  int line;
  int clash; /* index + 1 of a task's entry of the same name, or 0 */
} task;

static task *tasks;
static size_t ntasks, cap;

static void where(char *buf, size_t n, const task *t) {
  if (t->file)
    snprintf(buf, n, "%s:%d", t->file, t->line);
  else
    snprintf(buf, n, "a call of mproc_task_register()");
}

static int clash_error(const task *a, const task *b) {
  char wa[300], wb[300];
  where(wa, sizeof wa, a);
  where(wb, sizeof wb, b);
  return mproc__err(MPROC_EEXIST,
                    "two functions are registered as task \"%s\": one at %s "
                    "and one at %s (two static functions of the same name "
                    "marked MPROC_TASK?); rename one, or register one under "
                    "another name with mproc_task_register()",
                    a->name, wa, wb);
}

static int add(const char *name, size_t len, mproc_fnptr fn,
               const char *file, int line, int clash) {
  char *copy;
  if (ntasks == cap) {
    size_t ncap = cap ? cap * 2 : 16;
    task *nt = realloc(tasks, ncap * sizeof *nt);
    if (nt == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
    tasks = nt;
    cap = ncap;
  }
  copy = malloc(len + 1);
  if (copy == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  memcpy(copy, name, len + 1);
  tasks[ntasks].name = copy;
  tasks[ntasks].fn = fn;
  tasks[ntasks].file = file;
  tasks[ntasks].line = line;
  tasks[ntasks].clash = clash;
  ntasks++;
  return 0;
}

int mproc_task_register_at(const char *name, mproc_fnptr fn,
                           const char *file, int line) {
  size_t i, len;
  if (name == NULL || name[0] == '\0' || fn == NULL)
    return mproc__err(MPROC_EINVAL, "mproc_task_register needs a non-empty "
                                    "name and a function");
  len = strlen(name);
  if (len > TASK_NAME_MAX)
    return mproc__err(MPROC_ENAMETOOLONG,
                      "task name is %zu bytes; the limit is %d", len,
                      TASK_NAME_MAX);
  for (i = 0; i < ntasks; i++) {
    task probe;
    int rc;
    if (strcmp(tasks[i].name, name) != 0) continue;
    if (tasks[i].fn == fn) return 0;
    probe = tasks[i];
    probe.fn = fn;
    probe.file = file;
    probe.line = line;
    rc = clash_error(&tasks[i], &probe);
    if (file == NULL) return rc; /* the caller hears of it */
    /* From MPROC_TASK: remember both sides (the first entry still holds
     * the name for lookups, and now points at the second). */
    tasks[i].clash = (int)ntasks + 1;
    (void)add(name, len, fn, file, line, (int)i + 1);
    (void)clash_error(&tasks[i], &probe); /* add() may have said ENOMEM */
    return rc;
  }
  return add(name, len, fn, file, line, 0);
}

int mproc_task_register(const char *name, mproc_fnptr fn) {
  return mproc_task_register_at(name, fn, NULL, 0);
}

mproc_fnptr mproc__task_find(const char *name) {
  size_t i;
  for (i = 0; i < ntasks; i++)
    if (strcmp(tasks[i].name, name) == 0)
      return tasks[i].clash ? NULL : tasks[i].fn;
  return NULL;
}

int mproc__task_lookup(mproc_fnptr fn, const char **name) {
  size_t i;
  *name = NULL;
  for (i = 0; i < ntasks; i++) {
    if (tasks[i].fn != fn) continue;
    if (tasks[i].clash)
      return clash_error(&tasks[i], &tasks[tasks[i].clash - 1]);
    *name = tasks[i].name;
    return 0;
  }
  return MPROC_ENOTREG;
}

int mproc__task_clash(const char *name) {
  size_t i;
  for (i = 0; i < ntasks; i++)
    if (strcmp(tasks[i].name, name) == 0 && tasks[i].clash)
      return clash_error(&tasks[i], &tasks[tasks[i].clash - 1]);
  return 0;
}
