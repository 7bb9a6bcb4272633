/* pagestream_speed: the speed of reading a Scan answer's items out, the whole-buffer way
 * (ddb_page_parse, then ddb_page_item_copy of every item, as an export does now) against the
 * incremental way (ddb_pagestream fed 16 KB chunks, as curl hands them over, its sink copying the
 * item bytes into a buffer). The page is tests/support/scanpage.c's realistic ~1 MB answer.
 *
 *   pagestream_speed [SECONDS]   (each way runs about SECONDS in all, default 3)
 *
 * Prints each way's best MB/s over 5 rounds, and exits 1 if the two ways' items differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddb/page.h"
#include "ddb/pagestream.h"
#include "scanpage.h"

#define CHUNK (16 * 1024)
#define ROUNDS 5

struct copy {
    char *out;
    size_t len;
};

static int on_begin(void *ud)
{
    (void)ud;
    return 0;
}

static int on_bytes(void *ud, const char *p, size_t n)
{
    struct copy *c = ud;
    memcpy(c->out + c->len, p, n);
    c->len += n;
    return 0;
}

static int on_end(void *ud)
{
    (void)ud;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One read of the page the whole-buffer way; the bytes of items copied to out, or 0. */
static size_t whole(struct ddb_page *pg, const char *body, size_t len, char *out)
{
    char why[256];
    if (ddb_page_parse(pg, body, len, why, sizeof why) != DDB_PAGE_OK) {
        fprintf(stderr, "pagestream_speed: page.c: %s\n", why);
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < pg->n_items; i++)
        n += ddb_page_item_copy(body, &pg->items[i], out + n);
    return n;
}

/* One read of the page the incremental way. */
static size_t streamed(struct ddb_pagestream *ps, struct copy *c, const char *body, size_t len)
{
    char why[256];
    struct ddb_pagestream_result r;
    c->len = 0;
    ddb_pagestream_reset(ps);
    for (size_t at = 0; at < len; at += CHUNK)
        if (ddb_pagestream_feed(ps, body + at, len - at < CHUNK ? len - at : CHUNK, why,
                                sizeof why) != DDB_PAGE_OK)
            break;
    if (ddb_pagestream_finish(ps, &r, why, sizeof why) != DDB_PAGE_OK) {
        fprintf(stderr, "pagestream_speed: pagestream: %s\n", why);
        return 0;
    }
    return c->len;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 3;
    size_t len, n_items;
    char *body = scanpage_make(1024 * 1024, &len, &n_items);
    char *out1 = malloc(len), *out2 = malloc(len);
    struct ddb_page pg;
    struct copy c = {.out = out2};
    struct ddb_pagestream_sink sink = {on_begin, on_bytes, on_end};
    struct ddb_pagestream *ps = ddb_pagestream_new(&sink, &c);
    int rc = 1;

    ddb_page_init(&pg);
    if (!body || !out1 || !out2 || !ps)
        goto out;
    size_t n1 = whole(&pg, body, len, out1), n2 = streamed(ps, &c, body, len);
    if (!n1 || n1 != n2 || memcmp(out1, out2, n1) != 0) {
        fprintf(stderr, "pagestream_speed: the two ways' items differ\n");
        goto out;
    }
    printf("page: %zu bytes, %zu items; chunks of %d bytes\n", len, n_items, CHUNK);
    double best1 = 0, best2 = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double per = seconds / ROUNDS / 2;
        size_t reads = 0;
        double t0 = now(), t;
        do {
            n1 = whole(&pg, body, len, out1);
            reads++;
        } while ((t = now()) - t0 < per);
        if (reads * len / (t - t0) > best1)
            best1 = (double)(reads * len) / (t - t0);
        reads = 0;
        t0 = now();
        do {
            n2 = streamed(ps, &c, body, len);
            reads++;
        } while ((t = now()) - t0 < per);
        if (reads * len / (t - t0) > best2)
            best2 = (double)(reads * len) / (t - t0);
        if (!n1 || n1 != n2)
            goto out;
    }
    printf("ddb_page_parse + ddb_page_item_copy: %8.1f MB/s\n", best1 / 1e6);
    printf("ddb_pagestream (16 KB chunks):       %8.1f MB/s\n", best2 / 1e6);
    rc = 0;
out:
    ddb_pagestream_free(ps);
    ddb_page_cleanup(&pg);
    free(body);
    free(out1);
    free(out2);
    return rc;
}
