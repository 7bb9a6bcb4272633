/* A parallel-scan segment as a state machine on the I/O thread: throttle, Scan, hand the page to
 * the caller, follow LastEvaluatedKey, until the segment is done.
 *
 * Two forms: the page form holds each answer in memory and hands over the whole page (for tools
 * and tests: ddb_scan_run); the streaming form (opts->sink, what ddbfs exports with) never holds
 * an answer, and hands items over one by one as they are read.
 *
 * Each request's cost is estimated from the throttle's smoothed item size and taken from the
 * table's bucket before it is sent (waiting as a timer when the bucket is short); Limit is chosen
 * so that one request costs about DDB_THROTTLE_REQUEST_S seconds of the budget. The response's
 * ConsumedCapacity settles the estimate. */
#ifndef DDB_SCAN_H
#define DDB_SCAN_H

#include <jansson.h>

#include "ddb/client.h"
#include "ddb/page.h"
#include "ddb/work.h"
#include "ddb/throttle.h"

/* Streaming form (opts->sink): where the items of each answer go, without the answer ever being
 * held in memory. The answer is spilled to a file as it arrives (opts->spill_dir) and read back
 * once it has come whole, in small chunks through ddb/pagestream.h, on a worker (or the I/O
 * thread without workers). For each answer:
 *
 *   page_begin, then per item item_begin, item_bytes (compacted, never a newline; one or more
 *   calls), item_end; then page_end when the answer was valid and whole, or page_abort when it
 *   was not (cut short, Count wrong...): the items given since page_begin are then to be taken
 *   back, as the answer is fetched again or the scan fails.
 *
 * Each returns 0 to go on; non-zero (except page_abort's, void) stops the scan, which then ends
 * with DDB_ECANCELED as when the page callback stops it. All get the ud of ddb_scan_start. */
struct ddb_scan_sink {
    int (*page_begin)(void *ud);
    int (*item_begin)(void *ud);
    int (*item_bytes)(void *ud, const char *p, size_t n);
    int (*item_end)(void *ud);
    int (*page_end)(void *ud, size_t n_items);
    void (*page_abort)(void *ud);
};

struct ddb_scan_opts {
    const char *table;           /* copied */
    unsigned segment;            /* 0 .. total_segments-1 */
    unsigned total_segments;     /* 1 .. DDB_SEGMENTS_MAX */
    int consistent_read;
    struct ddb_throttle *throttle; /* borrowed, may be NULL (unthrottled); shared by a table's scans */
    int limit;                   /* fixed Limit per page; 0: chosen from the throttle */
    /* Borrowed, may be NULL. With workers, each page is checked and handed to the page callback on
     * a worker thread, not on the I/O thread (pages of one scan still one at a time, in order). */
    struct ddb_workers *workers;
    /* Borrowed, may be NULL: the streaming form (then ddb_scan_start's page may be NULL). */
    const struct ddb_scan_sink *sink;
    /* With sink: the directory of the spill file (an unnamed 0600 file, O_TMPFILE; NULL: $TMPDIR
     * or /tmp). */
    const char *spill_dir;
};

/* A page as it came: the answer's bytes and where each item lies in them (see ddb/page.h), all
 * borrowed for the page callback. Item i is body[items[i].off .. +items[i].len), DynamoDB JSON. */
struct ddb_scan_page {
    const char *body;
    const struct ddb_page_span *items;
    size_t n_items;
};
/* Item i as a new JSON tree (the caller owns it), or NULL when out of memory. */
json_t *ddb_scan_page_item(const struct ddb_scan_page *page, size_t i);

/* Called for each page, in order (page borrowed for the call), on the I/O thread, or on a worker
 * when opts->workers is set. Return 0 to go on, or non-zero to stop the scan (it then ends with
 * DDB_ECANCELED). */
typedef int ddb_scan_page_fn(const struct ddb_scan_page *page, void *ud);
/* Called once when the scan ends (on the I/O thread, or on a worker with opts->workers); err->code
 * is DDB_OK when every page was read. */
typedef void ddb_scan_done_fn(const struct ddb_error *err, void *ud);

struct ddb_scan; /* opaque */

struct ddb_scan_stats {
    long pages;
    long items;
    double consumed; /* capacity units reported by the server */
    double bytes;    /* approximate item bytes (from the consumed capacity) */
};

/* Starts the scan. Returns a new scan (free with ddb_scan_free after done has run) or NULL with
 * err filled. */
struct ddb_scan *ddb_scan_start(struct ddb_client *c, const struct ddb_scan_opts *opts,
                                ddb_scan_page_fn *page, ddb_scan_done_fn *done, void *ud,
                                struct ddb_error *err);
/* Asks the scan to stop after the page in flight; done still runs (DDB_ECANCELED). Any thread. */
void ddb_scan_cancel(struct ddb_scan *s);
void ddb_scan_get_stats(struct ddb_scan *s, struct ddb_scan_stats *out);
void ddb_scan_free(struct ddb_scan *s);

/* Blocking: runs the whole segment, calling page for each page (on the I/O thread). */
int ddb_scan_run(struct ddb_client *c, const struct ddb_scan_opts *opts, ddb_scan_page_fn *page,
                 void *ud, struct ddb_scan_stats *stats, struct ddb_error *err);

#endif
