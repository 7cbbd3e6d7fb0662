/* mproc: arenas — many small shared objects in a few large segments.
 *
 * A Lock, Event, Value or small Array made under a generated name takes a
 * slot of an arena instead of a segment of its own: a few segments per
 * program hold them all, so creating one costs no system call and a fork
 * copies no mapping per object. An object in an arena keeps every rule of
 * the object model (object.h): it has a name (the arena's name, '.', the
 * slot and its generation in base 36: "mp-k2j9x0.0a1b"), which any process
 * opens; a holder table in its slot; it is passed, held, swept and freed
 * as a segment is. See arena.c for the layout and the protocols, and
 * docs/arenas.md for why. */
#ifndef MPROC_ARENA_H
#define MPROC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "object.h"

typedef struct mproc__arena mproc__arena;

/** Whether `name` has the form of an arena object's name. */
int mproc__arena_is_name(const char *name);

/** Make `o` in an arena: 0; 1 when the kind or size is not for an arena
 *  (the caller makes a segment); an MPROC_E* code. */
int mproc__arena_create(mproc__obj *o, uint32_t kind, size_t data_size,
                        mproc__obj_init init, void *arg);
/** Open the arena object `name` (seg: adopt what a parent passed, as the
 *  holder it was counted as). 0; 1 when no arena of that name exists (the
 *  caller looks for a segment); MPROC_ENOENT, MPROC_EINVAL... */
int mproc__arena_open(mproc__obj *o, const char *name, uint32_t kind,
                      const mproc__pass_seg *seg);
/** The object.h verbs for an object in an arena: the close drops the
 *  handle's hold (the slot is given back at the free of the handle whose
 *  close was the last), the free releases the parking place and the
 *  mapping's reference. */
void mproc__arena_close(mproc__obj *o);
void mproc__arena_free(mproc__obj *o);
int mproc__arena_unlink(mproc__obj *o);
int mproc__arena_pass(const mproc__obj *o, mproc__pass_seg *seg);
void mproc__arena_hold_for(mproc__obj *o, long pid);
uint32_t mproc__arena_kind(const mproc__obj *o);

/** The tracker's sweep of a tracked name that is an arena: -1 when `name`
 *  is no arena (the caller sweeps it as a segment); 1 when it is gone (now
 *  removed, with the objects the program left counted into count[kind],
 *  kinds below nkinds); 0 while a live process holds something in it. */
int mproc__arena_sweep(const char *name, unsigned *count, size_t nkinds);

/** Test and benchmark hooks (not public API). Bytes of shared memory the
 *  arena objects of this process's arenas take per object of a kind. */
size_t mproc__arena_slot_bytes(uint32_t kind, size_t data_size);

#endif
