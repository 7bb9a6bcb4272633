/* Timers: a binary min-heap of callbacks ordered by deadline, first in first out among equal
 * deadlines (the order they were pushed in).
 *
 * The clock is the caller's: a deadline is a number of milliseconds on whatever clock its owner
 * runs (the engine's monotonic clock, a test's virtual one). The heap only orders; it never reads
 * a clock and never runs a callback.
 *
 * Not thread-safe: the owner locks, or keeps it on one thread. Ownership: the struct is embedded
 * by its user; ddb_timers_init() cannot fail and allocates nothing; ddb_timers_cleanup() frees the
 * heap's memory (and nothing that ud points to). */
#ifndef DDB_TIMERS_H
#define DDB_TIMERS_H

#include <stddef.h>

/* A timer's callback; ud is what was pushed with it. */
typedef void ddb_timer_fn(void *ud);

struct ddb_timer {
    double due;        /* the caller's clock, ms */
    unsigned long seq; /* set by ddb_timers_push: FIFO among equal deadlines */
    ddb_timer_fn *fn;
    void *ud; /* borrowed: the heap never frees it */
};

struct ddb_timers {
    struct ddb_timer *heap; /* NULL until the first push */
    size_t n, cap;
    unsigned long next_seq;
};

/* The initial capacity; it doubles as it fills. */
#define DDB_TIMERS_INITIAL 64

void ddb_timers_init(struct ddb_timers *t);
/* Frees the heap; the timers still in it are dropped without running. */
void ddb_timers_cleanup(struct ddb_timers *t);

/* Adds fn(ud) due at due. Returns 0, or -1 when out of memory (nothing was added). */
int ddb_timers_push(struct ddb_timers *t, double due, ddb_timer_fn *fn, void *ud);

/* Removes the earliest timer into *out (a copy: the caller runs it, or not). Returns 0, or -1 when
 * the heap is empty (*out is untouched). */
int ddb_timers_pop(struct ddb_timers *t, struct ddb_timer *out);

/* The earliest deadline into *due. Returns 0, or -1 when the heap is empty (*due is untouched). */
int ddb_timers_peek_due(const struct ddb_timers *t, double *due);

/* How many timers wait. */
size_t ddb_timers_count(const struct ddb_timers *t);

#endif
