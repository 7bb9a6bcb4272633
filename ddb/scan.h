/* A parallel-scan segment as a state machine on the I/O thread: throttle, Scan, hand the page to
 * the caller, follow LastEvaluatedKey, until the segment is done.
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
    /* The directory of the scan's spill file, where each answer is written as it arrives (an
     * unnamed 0600 file, O_TMPFILE); NULL: $TMPDIR or /tmp. Copied at start. */
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
