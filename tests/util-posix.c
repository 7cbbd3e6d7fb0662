/* mproc tests: POSIX helpers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int tu_pid_alive(long pid) {
  char path[64], buf[512];
  FILE *f;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
  /* Linux: an unreaped zombie still answers kill(); it has ended. */
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  /* Reaped between kill() and fopen() (a zombie's parent waited): gone.
   * Without this an end seen as a zombie flickered back to alive. */
  if (f == NULL && kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
  if (f) {
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    char *close_paren;
    fclose(f);
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    if (close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X'))
      return 0;
  }
  return 1;
}

long tu_handle_count(void) {
  long n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (d == NULL) d = opendir("/dev/fd");
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

void tu_sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int tu_kill_pid(long pid) { return kill((pid_t)pid, SIGKILL); }

const char *tu_kill_pid_end(void) { return "killed by signal 9"; }

extern const char *tu_argv0;
extern char **environ;

/* This program again with a1 a2; fa: the child's descriptors, or NULL. */
static long spawn_self(const char *a1, const char *a2,
                       const posix_spawn_file_actions_t *fa) {
  char *argv[4];
  pid_t pid;
  argv[0] = (char *)(uintptr_t)tu_argv0;
  argv[1] = (char *)(uintptr_t)a1;
  argv[2] = (char *)(uintptr_t)a2;
  argv[3] = NULL;
  if (posix_spawn(&pid, tu_argv0, fa, NULL, argv, environ) != 0) return -1;
  return (long)pid;
}

long tu_spawn_self(const char *a1, const char *a2) {
  return spawn_self(a1, a2, NULL);
}

long tu_spawn_self_out(const char *a1, const char *a2, intptr_t *out) {
  posix_spawn_file_actions_t fa;
  int fds[2];
  long pid;
  *out = -1;
  if (pipe(fds) != 0) return -1;
  (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC); /* the dup2s below clear it */
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  pid = spawn_self(a1, a2, &fa);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return -1;
  }
  *out = fds[0];
  return pid;
}

long tu_read_to_eof(intptr_t r, char *buf, size_t cap, double seconds) {
  struct timespec t0, now;
  size_t kept = 0;
  char chunk[4096];
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct pollfd p;
    double left;
    ssize_t n;
    int ready;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left = seconds - (double)(now.tv_sec - t0.tv_sec) -
           (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
    if (left <= 0) break;
    p.fd = (int)r;
    p.events = POLLIN;
    ready = poll(&p, 1, (int)(left * 1000) + 1);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue; /* the time left is looked at again */
    n = read((int)r, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      if (cap > 0) buf[kept] = '\0';
      return n == 0 ? (long)kept : -1;
    }
    if (cap > 0 && kept < cap - 1) {
      size_t take = (size_t)n < cap - 1 - kept ? (size_t)n : cap - 1 - kept;
      memcpy(buf + kept, chunk, take);
      kept += take;
    }
  }
  if (cap > 0) buf[kept] = '\0';
  return -1;
}

int tu_wait_pid(long pid) {
  int st;
  while (waitpid((pid_t)pid, &st, 0) < 0)
    if (errno != EINTR) return -1000;
  return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}

long tu_fork(void) { return (long)fork(); }

void tu_exit(int code) { _exit(code); }

int tu_list_shm(const char *prefix, char (*names)[64], int max) {
  DIR *d = opendir("/dev/shm");
  struct dirent *e;
  size_t n = strlen(prefix);
  int count = 0;
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    if (strncmp(name, "sem.", 4) == 0) name += 4;
    if (strncmp(name, prefix, n) != 0) continue;
    if (count < max) snprintf(names[count], 64, "%s", name);
    count++;
  }
  closedir(d);
  return count;
}

int tu_count_shm(const char *prefix) { return tu_list_shm(prefix, NULL, 0); }

void tu_setenv(const char *name, const char *value) { setenv(name, value, 1); }

int tu_set_nonblocking(intptr_t handle) {
  int fd = (int)handle, fl = fcntl(fd, F_GETFL);
  return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

int tu_inheritable_pipe(intptr_t *r, intptr_t *w) {
  int fds[2];
  if (pipe(fds) != 0) return -1; /* no O_CLOEXEC: inheritable */
  if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0) return -1;
  *r = fds[0];
  *w = fds[1];
  return 0;
}

int tu_pipe_eof(intptr_t r, double seconds) {
  struct pollfd p;
  char c;
  p.fd = (int)r;
  p.events = POLLIN;
  if (poll(&p, 1, (int)(seconds * 1000)) <= 0) return 0;
  return read((int)r, &c, 1) == 0;
}

void tu_close_handle(intptr_t h) { close((int)h); }

volatile int tu_sigint_seen;

static void on_sigint(int sig) {
  (void)sig;
  tu_sigint_seen = 1;
}

void tu_sigint(int catch_it) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = catch_it ? on_sigint : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

void tu_sibling_exe(char *buf, size_t n, const char *name) {
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash;
  if (len <= 0) {
    snprintf(self, sizeof self, "%s", tu_argv0 ? tu_argv0 : "./x");
    len = (ssize_t)strlen(self);
  }
  self[len] = '\0';
  slash = strrchr(self, '/');
  if (slash) slash[1] = '\0';
  else self[0] = '\0';
  snprintf(buf, n, "%s%s", self, name);
}

int tu_peek_raw(const char *name, size_t offset, uint32_t *out) {
  char path[64];
  void *base;
  int fd;
  snprintf(path, sizeof path, "/%s", name);
  fd = shm_open(path, O_RDONLY, 0);
  if (fd < 0) return -1;
  base = mmap(NULL, offset + 4096, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return -1;
  *out = __atomic_load_n((const uint32_t *)((char *)base + offset),
                         __ATOMIC_SEQ_CST);
  munmap(base, offset + 4096);
  return 0;
}

int tu_sigint_pid(long pid) { return kill((pid_t)pid, SIGINT); }

#ifdef MSG_NOSIGNAL
#define MSG_NOSIGNAL_OR_0 MSG_NOSIGNAL
#else
#define MSG_NOSIGNAL_OR_0 0 /* macOS: mproc's sockets have SO_NOSIGPIPE */
#endif

int tu_write_raw(intptr_t handle, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = send((int)handle, p, n, MSG_NOSIGNAL_OR_0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}
