/* Writing items into a table with BatchWriteItem (PutRequest only: an upsert, never a delete).
 *
 * The writer groups items into requests of at most DDB_BATCH_ITEMS_MAX items and
 * DDB_BATCH_REQUEST_MAX bytes, never two items with the same key in one request, takes each
 * request's estimated cost (1 WCU per started KB per item) from the table's write bucket, and
 * retries UnprocessedItems with backoff until they are stored. An item DynamoDB refuses (or that
 * ddb_item_check refuses before sending) is reported through the reject callback with the tag the
 * caller gave it (a line number); a request refused as a whole is split so that every valid item
 * is still stored. Memory is bounded: ddb_writer_put blocks while DDB_WRITER_PENDING_MAX bytes
 * wait, or while more items wait than DDB_WRITER_PENDING_REQUESTS full requests per request in
 * flight (enough to keep every request full; small items take several times their JSON size as
 * jansson trees, so a byte bound alone would hold a large share of a file of them). */
#ifndef DDB_BATCH_H
#define DDB_BATCH_H

#include <jansson.h>

#include "ddb/client.h"
#include "ddb/item.h"
#include "ddb/throttle.h"

#define DDB_WRITER_PENDING_MAX (32u << 20)
#define DDB_WRITER_IN_FLIGHT 8
#define DDB_WRITER_PENDING_REQUESTS 4

/* One BatchWriteItem call, asynchronous: request is a complete BatchWriteItem body (borrowed). */
int ddb_batch_write_call(struct ddb_client *c, const json_t *request, ddb_call_done_fn *done,
                         void *ud, struct ddb_error *err);

/* With ddb_writer_put_ex, each item carries the caller's user data (e.g. its raw line); a rejected
 * item's data comes back here instead of through the plain reject callback. */
typedef void ddb_writer_reject_user_fn(long tag, void *user, const struct ddb_error *err, void *ud);

struct ddb_writer_opts {
    const char *table;                /* copied */
    const struct ddb_key_schema *key; /* copied */
    struct ddb_throttle *throttle;    /* borrowed, may be NULL */
    int max_in_flight;                /* 0: DDB_WRITER_IN_FLIGHT */
    ddb_writer_reject_user_fn *reject_user; /* optional, see ddb_writer_put_ex */
    void (*user_free)(void *user);          /* optional: frees user data once its item is done */
    int log_throttle; /* log each answer's consumed capacity (benchmarks): "throttle: table=T
                         write consumed=X t=SECONDS items=K" */
};

/* Called (on the I/O thread or in ddb_writer_put's thread) once for each item that will not be
 * stored: tag is what the caller passed to ddb_writer_put, err says why. */
typedef void ddb_writer_reject_fn(long tag, const struct ddb_error *err, void *ud);

struct ddb_writer; /* opaque */

struct ddb_writer_stats {
    long items_put;      /* given to ddb_writer_put */
    long items_stored;   /* confirmed stored */
    long items_rejected;
    long requests;
    long unprocessed;    /* items DynamoDB handed back to retry */
    double consumed;     /* WCU reported */
};

struct ddb_writer *ddb_writer_new(struct ddb_client *c, const struct ddb_writer_opts *opts,
                                  ddb_writer_reject_fn *reject, void *ud, struct ddb_error *err);
/* Hands item over (the writer owns it afterwards, even on failure). Not on the I/O thread.
 * Returns 0, or -1 when the writer has failed for good (err says why; e.g. the table is gone). */
int ddb_writer_put(struct ddb_writer *w, json_t *item, long tag, struct ddb_error *err);
/* As ddb_writer_put, with user data (owned by the writer from now on: user_free is called once the
 * item is stored or rejected, after reject_user). user_size counts against the memory bound. */
int ddb_writer_put_ex(struct ddb_writer *w, json_t *item, long tag, void *user, size_t user_size,
                      struct ddb_error *err);
/* Waits until every item put so far is stored or rejected. Returns 0 when none was rejected since
 * the writer was made, else -1 with err set to the first failure. */
int ddb_writer_flush(struct ddb_writer *w, struct ddb_error *err);
void ddb_writer_get_stats(struct ddb_writer *w, struct ddb_writer_stats *out);
/* Flushes, then frees. NULL is a no-op. */
void ddb_writer_free(struct ddb_writer *w);

#endif
