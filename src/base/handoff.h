/*
 * src/base/handoff.h - a batch of dict entries the event loop hands to another
 * thread to read, each claimed by whichever of the two comes first.
 *
 * A live snapshot (src/sm/snaplive.h) walks the keyspace on the loop but
 * leaves the encoding of what it finds to its writer thread: the walk only
 * marks each entry and adds it here. Until the thread has read an entry,
 * the loop must not change or free it; when it is about to (kv_saver.
 * settle), it claims the entry's slot itself instead:
 *
 *   HANDED --thread: handoff_take--> THREAD --handoff_done--> DONE | DEFERRED
 *   HANDED | DEFERRED --loop: handoff_claim--> LOOP
 *
 * One compare-and-swap per slot decides who reads the entry, so it is read
 * by exactly one of them. The loop claiming a slot the thread holds
 * (THREAD) waits until the thread lets go of it: a wait bounded by what
 * the thread does with the few entries it holds at once (src/sm/snaplive.c
 * takes a handful of slots ahead of the one it reads), which its owner
 * keeps short (a thread that finds an entry too long to read quickly
 * leaves it DEFERRED, for the loop). The thread never dereferences an entry whose slot it did not
 * take, so the loop may free an entry as soon as it holds its slot.
 *
 * A batch also finds an entry's slot (handoff_find: an open-addressing
 * table of the entries' addresses), for the loop's claims. The batch is
 * filled and reset by the loop only, while no other thread holds it.
 */
#ifndef HANDOFF_H
#define HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dict_entry;
struct handoff_batch;

#define HANDOFF_ENTRIES 1024 /* a batch's capacity */

enum handoff_state {
    HANDOFF_HANDED = 0, /* no one read it yet */
    HANDOFF_THREAD,     /* the thread is reading it */
    HANDOFF_DONE,       /* the thread read it */
    HANDOFF_DEFERRED,   /* the thread left it to the loop */
    HANDOFF_LOOP,       /* the loop claimed it */
};

struct handoff_batch *handoff_new(void);
size_t handoff_batch_bytes(void); /* a batch's memory */
void handoff_free(struct handoff_batch *b);

/* The loop's, while no other thread holds b. */
void handoff_reset(struct handoff_batch *b);
/* Adds e (not in b yet) in state HANDED; false when b is full. */
bool handoff_add(struct handoff_batch *b, struct dict_entry *e);
uint32_t handoff_len(const struct handoff_batch *b);

/* The reader thread's: slot i's entry, now THREAD; NULL when the loop
 * claimed it (skip it, never touching the entry). */
struct dict_entry *handoff_take(struct handoff_batch *b, uint32_t i);
/* Asks the CPU to load slot i's entry into its cache, without reading it:
 * for the reader thread ahead of handoff_take, whatever the slot's state. */
void handoff_prefetch(const struct handoff_batch *b, uint32_t i);
/* The thread lets go of slot i: DONE (read) or DEFERRED (left to the loop). */
void handoff_done(struct handoff_batch *b, uint32_t i, bool deferred);

/* The loop's: e's slot in b, or -1. */
int64_t handoff_find(const struct handoff_batch *b, const struct dict_entry *e);
/* Claims slot i for the loop; waits while the thread holds it. True when
 * the loop is now to read the entry itself (it was HANDED or DEFERRED),
 * false when it needs nothing (the thread read it, or the loop already
 * claimed it). */
bool handoff_claim(struct handoff_batch *b, uint32_t i);
/* Slot i's entry (the loop's: for slots it claimed, or DEFERRED ones). */
struct dict_entry *handoff_entry(const struct handoff_batch *b, uint32_t i);

#endif
