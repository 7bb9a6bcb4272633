/* A Scan answer read as it arrives: the incremental form of ddb/page.h. The answer's bytes are fed
 * in chunks of any size (as curl hands them over); each item of "Items" goes out to the sink as it
 * is read, compacted (no whitespace between tokens, so never a newline), while "Count",
 * "ConsumedCapacity.CapacityUnits" and "LastEvaluatedKey" are kept for the end. Nothing holds the
 * whole answer: memory is the parser's state plus LastEvaluatedKey's bytes.
 *
 * The checks are ddb_page_parse's, byte for byte: the same input, however it is cut into chunks,
 * gives the same verdict (OK, ESYNTAX, ESHAPE, EDEPTH) and, when OK, the same items (each equal to
 * ddb_page_item_copy's copy), count, consumed and LastEvaluatedKey. Items are handed out before the
 * answer is known to be valid: a caller that stores them must be able to take them back when
 * feed or finish reports an error (ddbfs truncates the snapshot to where the answer began).
 *
 * Life: ddb_pagestream_new, then for each answer ddb_pagestream_reset, ddb_pagestream_feed (any
 * number of times), ddb_pagestream_finish; ddb_pagestream_free. One answer at a time; not
 * thread-safe (one scan's parser is used by one thread at a time). */
#ifndef DDB_PAGESTREAM_H
#define DDB_PAGESTREAM_H

#include <stddef.h>

#include "ddb/page.h"

/* Bytes of LastEvaluatedKey kept (keys are < 4 KB). A longer one is DDB_PAGE_ESHAPE, reported at
 * the byte where it passes the limit: the one place where the stream and page.c (which has no
 * limit) differ. */
#define DDB_PAGESTREAM_LEK_MAX (64 * 1024)

/* Where the items go. Each callback returns 0 to go on; non-zero stops the parser, which then
 * reports DDB_PAGE_ESTOPPED (sticky until reset). ud is the one given to ddb_pagestream_new.
 * item_bytes is called once per run of the item's bytes within a chunk (whitespace between tokens
 * and the chunk's end split runs), never per byte; p is borrowed from the chunk being fed. The
 * bytes given are checked up to the chunk's end, except a token cut there (a UTF-8 sequence, say),
 * which the next chunk may still refuse. After an error the sink is not called again; an item
 * begun but not ended is the caller's to drop. */
struct ddb_pagestream_sink {
    int (*item_begin)(void *ud);                           /* an item starts */
    int (*item_bytes)(void *ud, const char *p, size_t n); /* more of it (n > 0), compacted */
    int (*item_end)(void *ud);                             /* it is complete */
};

/* What an answer said, valid from a successful finish until the next reset or free. */
struct ddb_pagestream_result {
    size_t n_items;
    long count;          /* "Count", or -1 when absent */
    double consumed;     /* "ConsumedCapacity"."CapacityUnits", or -1 when absent */
    const char *lek;     /* "LastEvaluatedKey"'s object as it came (NUL-terminated), or NULL */
    size_t lek_len;
    size_t bytes;        /* bytes of the answer fed */
};

struct ddb_pagestream; /* opaque */

/* sink copied, ud borrowed. NULL when out of memory. Ready for an answer (no reset needed). */
struct ddb_pagestream *ddb_pagestream_new(const struct ddb_pagestream_sink *sink, void *ud);
void ddb_pagestream_free(struct ddb_pagestream *ps); /* NULL: no-op */
/* Forgets the answer in hand (a new attempt starts from its first byte). */
void ddb_pagestream_reset(struct ddb_pagestream *ps);
/* Reads p[0..n) (n may be 0; p need not be NUL-terminated). Returns DDB_PAGE_OK, or the error
 * (sticky: later feeds and finish return it again without reading), with why (at least 128 bytes
 * are enough) saying what and at which byte of the answer, counted from its first byte. */
enum ddb_page_err ddb_pagestream_feed(struct ddb_pagestream *ps, const char *p, size_t n,
                                      char *why, size_t whylen);
/* The answer has ended: checks that it was complete and whole (an object, "Items" present,
 * "Count" equal to the items, nothing after it). Returns DDB_PAGE_OK and fills out, or the error
 * with why. An answer cut short gets page.c's verdict for it: mostly DDB_PAGE_ESYNTAX, but
 * DDB_PAGE_ESHAPE where page.c's is (cut right after "Items": or "Count":, or after a "Count" that
 * is not a count). */
enum ddb_page_err ddb_pagestream_finish(struct ddb_pagestream *ps,
                                        struct ddb_pagestream_result *out, char *why,
                                        size_t whylen);

#endif
