/* mproc: the task registry. Children started by spawn or forkserver find
 * their target by name, because a function pointer means nothing in
 * another executable image (spawn) and must be checked against what was
 * registered anyway (forkserver). MPROC_TASK() fills it at load time, before
 * main() and before any thread, so lookups need no lock. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TASK_NAME_MAX 255

typedef struct task {
  char *name;
  mproc_fnptr fn;
} task;

static task *tasks;
static size_t ntasks, cap;

int mproc_task_register(const char *name, mproc_fnptr fn) {
  size_t i, len;
  char *copy;
  if (name == NULL || name[0] == '\0' || fn == NULL)
    return mproc__err(MPROC_EINVAL, "mproc_task_register needs a non-empty "
                                    "name and a function");
  len = strlen(name);
  if (len > TASK_NAME_MAX)
    return mproc__err(MPROC_ENAMETOOLONG,
                      "task name is %zu bytes; the limit is %d", len,
                      TASK_NAME_MAX);
  for (i = 0; i < ntasks; i++) {
    if (strcmp(tasks[i].name, name) != 0) continue;
    if (tasks[i].fn == fn) return 0;
    return mproc__err(MPROC_EEXIST,
                      "task name \"%s\" is already registered for another "
                      "function; give one of them another name with "
                      "mproc_task_register()",
                      name);
  }
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
  ntasks++;
  return 0;
}

mproc_fnptr mproc__task_find(const char *name) {
  size_t i;
  for (i = 0; i < ntasks; i++)
    if (strcmp(tasks[i].name, name) == 0) return tasks[i].fn;
  return NULL;
}

const char *mproc__task_name(mproc_fnptr fn) {
  size_t i;
  for (i = 0; i < ntasks; i++)
    if (tasks[i].fn == fn) return tasks[i].name;
  return NULL;
}
