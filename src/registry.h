/* mproc: the program's shared-memory registry — the holder tables and the
 * tracker's list of plain shared memory segments (mproc_shm), kept in one
 * segment that every process of the program maps, instead of a header page
 * in each segment and two datagrams to the tracker per segment.
 *
 * Who shares it: the program's first process makes it (mproc_init, or the
 * first use in a process that never called it) before it starts the
 * tracker and the forkserver; fork and forkserver children inherit the
 * mapping, spawned children receive its descriptor. It has no name (POSIX:
 * unlinked at once), so it never outlives the program. Backends where the kernel
 * counts holders (Windows) have none: there mproc_shm keeps its header.
 *
 * Protocol: one pid lock (object.h's pidlock) guards the whole table. An
 * entry goes FREE/TOMB -> CREATING (before the creator's exclusive create,
 * so an open by name never sees the segment without its entry) -> LIVE ->
 * REMOVING (its remover is unlinking the name; opens fail with
 * MPROC_ENOENT) -> TOMB. Each entry carries a generation, so a handle of a
 * removed segment never touches a later segment of the same name, and a
 * list of holder pids; a dead pid does not count. Entries are found by
 * name through an open-addressed hash with linear probing. */
#ifndef MPROC_REGISTRY_H
#define MPROC_REGISTRY_H

#include <stdint.h>

#include "platform.h"

#define MPROC__REG_ENTRIES 4096 /* a power of two */
/* Segments the registry takes before new ones fall back to the datagram
 * path (a hash table beyond 3/4 full probes too long). */
#define MPROC__REG_LIMIT (MPROC__REG_ENTRIES / 4 * 3)
#define MPROC__REG_HOLDERS 16384

/** Map the program's registry if this process has none yet: before the
 *  tracker starts (it sweeps it) and before a fork or forkserver start
 *  (the children share it). 1 if this process has one, 0 if the backend
 *  keeps none (or it could not be made). */
int mproc__reg_ready(void);

/** Where a handle's entry is: its slot and generation. */
typedef struct mproc__reg_ref {
  int32_t idx;
  uint64_t gen;
} mproc__reg_ref;

/** Enter `name` as CREATING with the caller as holder. 0, or 1 when the
 *  registry is full (or absent): the caller falls back; MPROC_EEXIST when
 *  the name is a segment of this program already. */
int mproc__reg_create(const char *name, mproc__reg_ref *ref);
/** The segment exists now: opens may register. */
void mproc__reg_publish(const mproc__reg_ref *ref);

enum { MPROC__REG_FOUND = 0, MPROC__REG_ABSENT = 1, MPROC__REG_BUSY = 2 };
/** Register the caller as a holder of the live entry `name`: FOUND;
 *  ABSENT when there is none; BUSY while it is being created (retry);
 *  MPROC_ENOENT while it is being removed. A hold is taken before the
 *  name is opened (so a last close cannot remove it meanwhile); after the
 *  open, mproc__reg_live() tells whether the name still was this entry's. */
int mproc__reg_attach(const char *name, mproc__reg_ref *ref);
/** The same; `adopt`: a child taking the hold its parent took for it
 *  (mproc__reg_hold_for) adds no second record when it finds its pid. */
int mproc__reg_attach_as(const char *name, mproc__reg_ref *ref, int adopt);
/** Count process `pid` as a holder of the live entry (a child's hold,
 *  taken by its parent before the start returns); idempotent. */
void mproc__reg_hold_for(const mproc__reg_ref *ref, long pid);
/** Drop the caller's hold. 1 when no live holder is left: the entry is
 *  REMOVING and the caller must remove the name, then mproc__reg_drop. */
int mproc__reg_detach(const mproc__reg_ref *ref);
/** Explicit unlink: 1 when the caller must remove the name (the entry is
 *  REMOVING now), 0 when it is already gone or going. */
int mproc__reg_unlink(const mproc__reg_ref *ref);
/** Explicit unlink through a handle that holds no entry (uncounted):
 *  1 when `name` is a live entry of ours, now REMOVING, *ref set — the
 *  caller removes the name, then mproc__reg_drop; 0 when it is none. */
int mproc__reg_unlink_name(const char *name, mproc__reg_ref *ref);
/** Forget the entry (after its name was removed, or a failed create). */
void mproc__reg_drop(const mproc__reg_ref *ref);
/** 1 while the entry is LIVE (not being removed, not gone). */
int mproc__reg_live(const mproc__reg_ref *ref);
/** 1 if `name` is a live entry (a plain segment of this program). */
int mproc__reg_has(const char *name);

#endif
