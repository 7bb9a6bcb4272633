/* A Scan answer read in place: a small validating scanner that walks the response bytes once and
 * records where each element of "Items" lies, with "Count", "ConsumedCapacity.CapacityUnits" and
 * "LastEvaluatedKey", without building a JSON tree. The item bytes can then be copied out as they
 * are (their meaning unchanged: DynamoDB JSON, compact), which is what an export writes.
 *
 * The whole answer is checked before anything is reported: JSON syntax (strings, escapes, UTF-8,
 * numbers, literals, nesting at most DDB_PAGE_DEPTH_MAX), a top-level object with an "Items" array
 * of objects, "Count" (when present) equal to the number of items, "LastEvaluatedKey" an object.
 * A cut-short or malformed answer is an error, never a shorter page. */
#ifndef DDB_PAGE_H
#define DDB_PAGE_H

#include <stddef.h>

#define DDB_PAGE_DEPTH_MAX 200 /* JSON nesting (DynamoDB allows 32 levels of attributes) */

enum ddb_page_err {
    DDB_PAGE_OK = 0,
    DDB_PAGE_ESYNTAX, /* not JSON (or cut short) */
    DDB_PAGE_ESHAPE,  /* JSON, but not a Scan answer */
    DDB_PAGE_EDEPTH,  /* nested deeper than DDB_PAGE_DEPTH_MAX */
    DDB_PAGE_ENOMEM,
};
const char *ddb_page_strerror(enum ddb_page_err e);

/* Where one item lies in the answer. */
struct ddb_page_span {
    size_t off, len;
    int spaced; /* 1: has whitespace between tokens (copy with ddb_page_item_copy to compact it) */
};

/* A parsed page. Embedded by its user: ddb_page_init (cannot fail), ddb_page_cleanup. The span
 * array is kept between parses, so a scan that reuses one page allocates once. */
struct ddb_page {
    struct ddb_page_span *items; /* n_items of them */
    size_t n_items, cap_items;
    long count;              /* "Count", or -1 when absent */
    double consumed;         /* "ConsumedCapacity"."CapacityUnits", or -1 when absent */
    size_t lek_off, lek_len; /* "LastEvaluatedKey"'s object; lek_len 0 when absent */
};

void ddb_page_init(struct ddb_page *pg);
void ddb_page_cleanup(struct ddb_page *pg);

/* Scans body[0..len) into pg (its previous content is replaced). body[len] must be a NUL byte (a
 * sentinel that spares the hot loops a bounds check; struct buf and curl's bodies have it; NUL
 * bytes inside the body are refused). Returns DDB_PAGE_OK, or an error with why (at least 128
 * bytes) saying what and at which byte. */
enum ddb_page_err ddb_page_parse(struct ddb_page *pg, const char *body, size_t len, char *why,
                                 size_t whylen);

/* Copies item sp of body into out (room for sp->len bytes), compacted: whitespace between tokens
 * is dropped, so the copy never holds a newline. Returns the bytes written. */
size_t ddb_page_item_copy(const char *body, const struct ddb_page_span *sp, char *out);

#endif
