/* mproc: the resource tracker — its whole policy, once for every backend
 * (tracker.h). The backend offers the mechanism only (platform.h's helper
 * group): a helper process of the program, a datagram channel to it, and
 * the word that the program has ended.
 *
 * Client side (every process of the program): a named object this process
 * creates is announced (TRACK) before anyone can open it, and one removed
 * by its holders is withdrawn (UNTRACK). The tracker is started on first
 * need — mproc_init, or the first named object made before it (a
 * constructor, a static initialiser) — after the program's registry is
 * mapped, so that it sweeps that too. A tracker that cannot be reached
 * (killed with SIGKILL) is restarted by the next message; segments in the
 * registry are still swept (it is shared memory), other names tracked
 * before its death are not.
 *
 * Tracker side: a set of names (a hash set: a program that tracks N
 * objects costs O(N), not O(N^2)), kept until the program has ended. Then
 * remove what it left: every segment of the registry no live process
 * holds, and every tracked name whose holders are all dead. The program's
 * processes die with it, within moments, so the sweep retries for a few
 * seconds while holders are still on their way out. Files the program
 * left in private folders (a manager's socket: mproc__track_file) go
 * too, with their folders when empty: no process of the program is left
 * to use them. Then, as Python's
 * resource_tracker does, say on stderr how many of each kind were left
 * behind (one line), unless MPROC_TRACKER_WARN=0.
 *
 * Where the kernel counts holders itself (Windows: a named file mapping
 * or semaphore goes with its last handle, and a process's handles close
 * when it dies, however it dies) the backend has no helper process and
 * nothing is tracked: there is nothing a dead process can leave behind. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "arena.h"
#include "internal.h"
#include "object.h"
#include "registry.h"
#include "tracker.h"

#define KINDS (MPROC__KIND_QUEUE + 1)
#define TRK_MAGIC 0x314b5254u /* "TRK1" */

typedef struct trk_msg {
  uint32_t magic;
  uint32_t kind; /* TRK_TRACK or TRK_UNTRACK */
  char name[MPROC_SHM_NAME_MAX + 1];
} trk_msg;

/* A file's message: longer names than an object's. */
typedef struct trk_file_msg {
  uint32_t magic;
  uint32_t kind; /* TRK_TRACK_FILE or TRK_UNTRACK_FILE */
  char path[MPROC_ADDRESS_MAX];
} trk_file_msg;

enum { TRK_TRACK = 1, TRK_UNTRACK = 2, TRK_TRACK_FILE = 3,
       TRK_UNTRACK_FILE = 4 };

/* ---- the tracker's set of names ------------------------------------------ */

/* Open addressing with linear probing; a removed name leaves a tombstone
 * (its first byte TOMB) so that probes past it still find what follows.
 * The table grows (rehashing live names only) when live names and
 * tombstones together pass half of it. */
#define TOMB '\x01'

typedef struct name_set {
  char (*slot)[MPROC_SHM_NAME_MAX + 1];
  size_t cap, used; /* used: live names and tombstones */
} name_set;

static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

/* The slot holding `name`, or (insert) the first free or dead one on its
 * probe path; NULL when absent (or the table is empty). */
static char *probe(const name_set *t, const char *name, int insert) {
  size_t i, mask = t->cap - 1;
  char *dead = NULL;
  if (t->cap == 0) return NULL;
  for (i = hash(name) & mask;; i = (i + 1) & mask) {
    char *s = t->slot[i];
    if (s[0] == '\0') return insert ? (dead ? dead : s) : NULL;
    if (s[0] == TOMB) {
      if (dead == NULL) dead = s;
    } else if (strcmp(s, name) == 0) {
      return s;
    }
  }
}

static int grow(name_set *t) {
  name_set n;
  size_t i;
  n.cap = t->cap ? t->cap * 2 : 64;
  n.used = 0;
  n.slot = calloc(n.cap, sizeof *n.slot);
  if (n.slot == NULL) return -1;
  for (i = 0; i < t->cap; i++) {
    if (t->slot[i][0] == '\0' || t->slot[i][0] == TOMB) continue;
    strcpy(probe(&n, t->slot[i], 1), t->slot[i]);
    n.used++;
  }
  free(t->slot);
  *t = n;
  return 0;
}

static void remember(name_set *t, const char *name) {
  char *s = probe(t, name, 0);
  if (s) return; /* de-duplicated: one entry per name */
  if ((t->used + 1) * 2 > t->cap && grow(t) < 0) return;
  s = probe(t, name, 1);
  if (s[0] == '\0') t->used++; /* a tombstone reused was counted */
  strcpy(s, name);
}

static void forget(name_set *t, const char *name) {
  char *s = probe(t, name, 0);
  if (s) s[0] = TOMB;
}

/* ---- the tracker's files ------------------------------------------------- */

/* Few (a manager's socket each): a plain array. */
typedef struct file_list {
  char (*path)[MPROC_ADDRESS_MAX];
  size_t n, cap;
} file_list;

static void file_remember(file_list *f, const char *path) {
  size_t i;
  for (i = 0; i < f->n; i++)
    if (strcmp(f->path[i], path) == 0) return;
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    void *p = realloc(f->path, cap * sizeof *f->path);
    if (p == NULL) return;
    f->path = p;
    f->cap = cap;
  }
  strcpy(f->path[f->n++], path);
}

static void file_forget(file_list *f, const char *path) {
  size_t i;
  for (i = 0; i < f->n; i++)
    if (strcmp(f->path[i], path) == 0) {
      memmove(f->path[i], f->path[f->n - 1], sizeof f->path[i]);
      f->n--;
      return;
    }
}

/* rmdir does nothing to a folder with anything else in it. */
void mproc__remove_file_and_folder(const char *path) {
  char dir[MPROC_ADDRESS_MAX];
  char *slash;
  uv_fs_t req;
  (void)uv_fs_unlink(NULL, &req, path, NULL);
  uv_fs_req_cleanup(&req);
  snprintf(dir, sizeof dir, "%s", path);
  slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir) return;
  *slash = '\0';
  (void)uv_fs_rmdir(NULL, &req, dir, NULL);
  uv_fs_req_cleanup(&req);
}

/* ---- the sweep once the program has ended --------------------------------- */

static int warns(void) {
  const char *v = getenv("MPROC_TRACKER_WARN");
  return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 ||
                 strcmp(v, "no") == 0));
}

static void warn(const unsigned *count) {
  char line[400];
  size_t at;
  unsigned k, total = 0;
  for (k = 0; k < KINDS; k++) total += count[k];
  if (total == 0 || !warns()) return;
  at = (size_t)snprintf(line, sizeof line,
                        "mproc: resource tracker: the program left %u "
                        "shared object%s, removed now:",
                        total, total == 1 ? "" : "s");
  for (k = 0; k < KINDS && at < sizeof line; k++)
    if (count[k])
      at += (size_t)snprintf(line + at, sizeof line - at, "%s %u %s",
                             at > 0 && line[at - 1] == ':' ? "" : ",",
                             count[k], mproc__kind_name(k));
  if (at < sizeof line)
    snprintf(line + at, sizeof line - at,
             " (MPROC_TRACKER_WARN=0 silences this)");
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

/* Sweep the registry and the tracked names (emptied as they go), waiting
 * a few seconds for dying holders; then the one warning line. */
static void sweep(name_set *t, file_list *f) {
  unsigned count[KINDS] = {0};
  int round, removed;
  size_t i, left = 0;
  for (i = 0; i < f->n; i++) mproc__remove_file_and_folder(f->path[i]);
  free(f->path);
  for (round = 0; round < 50 && (round == 0 || left > 0); round++) {
    removed = 0;
    left = (size_t)mproc__shm_sweep_registry(&removed);
    count[MPROC__KIND_SHM] += (unsigned)removed;
    for (i = 0; i < t->cap; i++) {
      uint32_t kind = 0;
      int arena;
      char *s = t->slot[i];
      if (s[0] == '\0' || s[0] == TOMB) continue;
      /* An arena counts the objects it held itself. */
      arena = mproc__arena_sweep(s, count, KINDS);
      if (arena == 1) {
        s[0] = TOMB;
      } else if (arena == 0) {
        left++;
      } else if (mproc__shm_sweep(s, &kind)) {
        s[0] = TOMB;
        if (kind > 0 && kind < KINDS) count[kind]++;
      } else {
        left++;
      }
    }
    if (left) uv_sleep(100);
  }
  warn(count);
}

/* The helper process's whole life (platform.h: mproc__os_helper_start):
 * take messages until the program has ended, then sweep. */
static void tracker_main(void) {
  name_set t = {NULL, 0, 0};
  file_list f = {NULL, 0, 0};
  union {
    trk_msg m;
    trk_file_msg fm;
  } u;
  int n;
  while ((n = mproc__os_helper_recv(&u, sizeof u)) != 0) {
    if (n == (int)sizeof u.fm && u.fm.magic == TRK_MAGIC) {
      u.fm.path[sizeof u.fm.path - 1] = '\0';
      if (u.fm.kind == TRK_TRACK_FILE)
        file_remember(&f, u.fm.path);
      else if (u.fm.kind == TRK_UNTRACK_FILE)
        file_forget(&f, u.fm.path);
      continue;
    }
    if (n != (int)sizeof u.m || u.m.magic != TRK_MAGIC) continue;
    u.m.name[sizeof u.m.name - 1] = '\0';
    if (u.m.kind == TRK_TRACK)
      remember(&t, u.m.name);
    else if (u.m.kind == TRK_UNTRACK)
      forget(&t, u.m.name);
  }
  sweep(&t, &f);
}

/* ---- the client side ------------------------------------------------------ */

/* Set once the backend said it has no helper process (the kernel counts
 * holders): nothing is tracked from then on. */
static int untracked;

static int start(int how) {
  int rc;
  /* The tracker sweeps the registry: it must be mapped before the
   * helper is started, which shares it. */
  (void)mproc__reg_ready();
  rc = mproc__os_helper_start(tracker_main, how);
  if (rc == MPROC_ENOTSUP) {
    untracked = 1;
    return 0;
  }
  return rc;
}

int mproc__tracker_ensure(void) {
  if (untracked || mproc__os_helper_have()) return 0;
  return start(MPROC__HELPER_IF_NONE);
}

/* Send one message (len bytes at m) to the tracker, restarting it if it
 * was killed. */
static int send_msg(const void *m, size_t len) {
  int rc;
  if (mproc__os_helper_send(m, len) == 0) return 0;
  /* Nobody reads the other end: the tracker was killed. A new one, for
   * this process and the children it starts from now on. */
  rc = start(MPROC__HELPER_REPLACE);
  if (rc == 0 && !untracked) {
    rc = mproc__os_helper_send(m, len);
    if (rc > 0)
      rc = mproc__err(MPROC_EOS, "the new tracker does not receive");
  }
  if (rc < 0)
    return mproc__err(rc, "the resource tracker cannot be reached and "
                          "could not be restarted: %s",
                      mproc_last_error());
  return 0;
}

int mproc__track(const char *name, int tracked) {
  trk_msg m;
  int rc = mproc__tracker_ensure();
  if (rc < 0 || untracked) return rc;
  memset(&m, 0, sizeof m);
  m.magic = TRK_MAGIC;
  m.kind = tracked ? TRK_TRACK : TRK_UNTRACK;
  strncpy(m.name, name, sizeof m.name - 1);
  return send_msg(&m, sizeof m);
}

int mproc__track_file(const char *path, int tracked) {
  trk_file_msg m;
  int rc;
  if (path == NULL || strlen(path) >= sizeof m.path)
    return mproc__err(MPROC_EINVAL, "tracker: a file path over %d bytes",
                      MPROC_ADDRESS_MAX - 1);
  rc = mproc__tracker_ensure();
  if (rc < 0 || untracked) return rc;
  memset(&m, 0, sizeof m);
  m.magic = TRK_MAGIC;
  m.kind = tracked ? TRK_TRACK_FILE : TRK_UNTRACK_FILE;
  strcpy(m.path, path);
  return send_msg(&m, sizeof m);
}
