/* A few worker threads for the CPU work of answers (checking a Scan page and storing its items),
 * so that the I/O thread only moves bytes and several segments' pages are handled at once.
 *
 * Jobs run in the order submitted, each on one worker. Life: ddb_workers_new starts the threads
 * (signals blocked, so start it after fork, like the I/O thread); ddb_workers_stop runs every job
 * already submitted, joins the threads and refuses later submits (-1: the submitter then does the
 * work itself); ddb_workers_free frees the struct. Stop before the HTTP engine is freed (the jobs
 * may still use it) and free after (its callbacks may still submit, and are refused). */
#ifndef DDB_WORK_H
#define DDB_WORK_H

#include "ddb/error.h"

typedef void ddb_work_fn(void *ud);

struct ddb_workers; /* opaque, thread-safe */

/* n: threads, 1 .. 64. Returns a new pool or NULL with err filled. */
struct ddb_workers *ddb_workers_new(int n, struct ddb_error *err);
/* Queues fn(ud). Returns 0, or -1 when the pool is stopping or out of memory (fn will not run). */
int ddb_workers_submit(struct ddb_workers *w, ddb_work_fn *fn, void *ud);
/* 1 when called on one of the pool's threads. */
int ddb_workers_on_worker(struct ddb_workers *w);
/* Runs what is queued, joins the threads; later submits are refused. Idempotent. NULL: no-op. */
void ddb_workers_stop(struct ddb_workers *w);
/* Stops (if not yet) and frees. NULL: no-op. */
void ddb_workers_free(struct ddb_workers *w);

#endif
