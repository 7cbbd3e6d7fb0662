/* mproc: named shared memory on Windows — pagefile-backed file mappings
 * named "Local\<name>". The kernel counts handles and removes the object
 * with the last one, so there is nothing to unlink and no tracker to run;
 * the common layer's `unlinked` flag still makes the library's own opens
 * fail after mproc_shm_unlink, as on POSIX. */
#include <stdio.h>
#include <wchar.h>

#include "names.h"
#include "win32.h"

size_t mproc__os_page_size(void) {
  static size_t page;
  if (page == 0) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    /* Views start on allocation-granularity boundaries; sizes are pages. */
    page = si.dwPageSize ? si.dwPageSize : 4096;
  }
  return page;
}

void mproc__win_object_name(wchar_t *out, size_t n, const char *name,
                            const char *suffix) {
  swprintf(out, n, L"Local\\%hs%hs", name, suffix);
}

static int map_view(mproc__os_shm *s, HANDLE h, const char *name) {
  MEMORY_BASIC_INFORMATION mbi;
  void *base = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
  if (base == NULL) {
    int rc = mproc__win_err(GetLastError(), "MapViewOfFile(\"%s\")", name);
    CloseHandle(h);
    return rc;
  }
  if (VirtualQuery(base, &mbi, sizeof mbi) == 0) {
    int rc = mproc__win_err(GetLastError(), "VirtualQuery(\"%s\")", name);
    UnmapViewOfFile(base);
    CloseHandle(h);
    return rc;
  }
  s->base = base;
  s->size = mbi.RegionSize;
  s->handle = (intptr_t)h;
  return 0;
}

int mproc__os_shm_create(mproc__os_shm *s, const char *name, size_t size) {
  wchar_t wname[64];
  HANDLE h;
  DWORD err;
  mproc__win_object_name(wname, 64, name, "");
  h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                         (DWORD)((uint64_t)size >> 32), (DWORD)size, wname);
  err = GetLastError();
  if (h == NULL) {
    int rc = mproc__win_err(err, "CreateFileMappingW(\"%s\", %zu bytes)",
                            name, size);
    return rc == MPROC_ENOMEM || rc == MPROC_EINVAL ? MPROC_ERANGE : rc;
  }
  if (err == ERROR_ALREADY_EXISTS) {
    CloseHandle(h);
    return mproc__err(MPROC_EEXIST, "shared memory \"%s\" already exists",
                      name);
  }
  return map_view(s, h, name);
}

int mproc__os_shm_open(mproc__os_shm *s, const char *name) {
  wchar_t wname[64];
  HANDLE h;
  mproc__win_object_name(wname, 64, name, "");
  h = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, wname);
  if (h == NULL) {
    DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND)
      return mproc__err(MPROC_ENOENT, "no shared memory named \"%s\"", name);
    return mproc__win_err(err, "OpenFileMappingW(\"%s\")", name);
  }
  return map_view(s, h, name);
}

void mproc__os_shm_close(mproc__os_shm *s) {
  if (s->base) UnmapViewOfFile(s->base);
  mproc__win_close((HANDLE)s->handle);
  s->base = NULL;
  s->handle = 0;
}

int mproc__os_shm_unlink(const char *name) {
  (void)name; /* the kernel removes it with its last handle */
  return 0;
}

int mproc__os_registry(mproc__os_shm *s, size_t size, int *fresh) {
  (void)s;
  (void)size;
  *fresh = 0;
  /* Not an error to report: asked once per process, from whatever call
   * first touches shared memory, which goes on without one. */
  return MPROC_ENOTSUP;
}

int mproc__os_pid_alive(long pid) {
  HANDLE h;
  DWORD r;
  if (pid <= 0) return 0;
  h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                  (DWORD)pid);
  if (h == NULL) return GetLastError() == ERROR_ACCESS_DENIED;
  r = WaitForSingleObject(h, 0);
  CloseHandle(h);
  return r == WAIT_TIMEOUT;
}

/* The kernel removes a mapping with its last handle: a child gets its own
 * (inherited through the start's handle list) before the start returns. */
mproc_handle mproc__os_shm_pass(const mproc__os_shm *s) {
  return (mproc_handle)s->handle;
}

int mproc__os_shm_adopt(mproc__os_shm *s, const char *name, mproc_handle h) {
  if (h == MPROC_NO_HANDLE) return mproc__os_shm_open(s, name);
  return map_view(s, (HANDLE)(intptr_t)h, name);
}
