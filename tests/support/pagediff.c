/* The differential check: ddb_page_parse is the reference, the stream must say the same. */
#include "pagediff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb/page.h"
#include "ddb/pagestream.h"

/* What the sink saw: the items' bytes end to end, where each ends, and misuse of the calls. */
struct seen {
    char *bytes;
    size_t len, cap;
    size_t *ends;
    size_t n_ends, cap_ends;
    int in_item, misuse;
};

static int on_begin(void *ud)
{
    struct seen *s = ud;
    s->misuse |= s->in_item;
    s->in_item = 1;
    return 0;
}

static int on_bytes(void *ud, const char *p, size_t n)
{
    struct seen *s = ud;
    s->misuse |= !s->in_item || n == 0;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->bytes = realloc(s->bytes, s->cap);
        if (!s->bytes)
            abort();
    }
    memcpy(s->bytes + s->len, p, n);
    s->len += n;
    return 0;
}

static int on_end(void *ud)
{
    struct seen *s = ud;
    s->misuse |= !s->in_item;
    s->in_item = 0;
    if (s->n_ends == s->cap_ends) {
        s->cap_ends = s->cap_ends ? s->cap_ends * 2 : 64;
        s->ends = realloc(s->ends, s->cap_ends * sizeof *s->ends);
        if (!s->ends)
            abort();
    }
    s->ends[s->n_ends++] = s->len;
    return 0;
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13; /* xorshift32 */
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Items, "Count", "ConsumedCapacity" and LastEvaluatedKey of a valid answer compared. */
static int compare_ok(const char *body, const struct ddb_page *pg, const struct seen *s,
                      const struct ddb_pagestream_result *r, size_t len, char *msg, size_t msglen)
{
    if (r->n_items != pg->n_items || s->n_ends != pg->n_items) {
        snprintf(msg, msglen, "%zu items (%zu ended), page.c %zu", r->n_items, s->n_ends,
                 pg->n_items);
        return -1;
    }
    char *want = malloc(len + 1);
    if (!want)
        abort();
    int rc = 0;
    for (size_t i = 0, at = 0; i < pg->n_items && !rc; at = s->ends[i++]) {
        size_t n = ddb_page_item_copy(body, &pg->items[i], want);
        size_t got = s->ends[i] - at, k = 0;
        while (k < n && k < got && want[k] == s->bytes[at + k])
            k++;
        if (k < n || k < got) {
            size_t from = k > 16 ? k - 16 : 0;
            snprintf(msg, msglen,
                     "item %zu (%zu bytes, page.c %zu) differs at its byte %zu: "
                     "...%.*s, page.c ...%.*s",
                     i, got, n, k, (int)((got - from) < 48 ? got - from : 48), s->bytes + at + from,
                     (int)((n - from) < 48 ? n - from : 48), want + from);
            rc = -1;
        }
    }
    free(want);
    if (rc)
        return rc;
    if (r->count != pg->count || !(r->consumed == pg->consumed) || r->bytes != len) {
        snprintf(msg, msglen, "count %ld consumed %g bytes %zu, page.c %ld %g %zu", r->count,
                 r->consumed, r->bytes, pg->count, pg->consumed, len);
        return -1;
    }
    if (r->lek_len != pg->lek_len || (pg->lek_len && !r->lek) ||
        (r->lek && (memcmp(r->lek, body + pg->lek_off, r->lek_len) || r->lek[r->lek_len]))) {
        snprintf(msg, msglen, "LastEvaluatedKey %.*s, page.c %.*s", (int)r->lek_len,
                 r->lek ? r->lek : "", (int)pg->lek_len, body + pg->lek_off);
        return -1;
    }
    return 0;
}

int pagediff(const char *body, size_t len, size_t step, uint32_t seed, char *msg, size_t msglen)
{
    struct seen s = {0};
    struct ddb_page pg;
    char *copy = malloc(len + 1);
    char want_why[256], why[256];
    struct ddb_pagestream_sink sink = {on_begin, on_bytes, on_end};
    struct ddb_pagestream *ps = ddb_pagestream_new(&sink, &s);
    struct ddb_pagestream_result r;
    int rc = -1;
    uint32_t x = seed | 1;

    ddb_page_init(&pg);
    if (!copy || !ps)
        abort();
    memcpy(copy, body, len);
    copy[len] = '\0';
    enum ddb_page_err want = ddb_page_parse(&pg, copy, len, want_why, sizeof want_why);
    enum ddb_page_err got = DDB_PAGE_OK;
    for (size_t at = 0; at < len;) {
        size_t n = step;
        if (!n) {
            uint32_t v = next(&x);
            n = v % 4 ? 1 + v % 8 : 1 + v % 4096;
            if (v % 64 == 1) /* an empty chunk now and then: curl may hand one over */
                n = 0;
        }
        if (n > len - at)
            n = len - at;
        size_t before = s.len + s.n_ends;
        enum ddb_page_err e = ddb_pagestream_feed(ps, copy + at, n, why, sizeof why);
        if (got && (e != got || s.len + s.n_ends != before)) {
            snprintf(msg, msglen, "an error was not sticky");
            goto out;
        }
        got = e;
        at += n;
    }
    got = ddb_pagestream_finish(ps, &r, why, sizeof why);
    if (s.misuse) {
        snprintf(msg, msglen, "the sink's calls were out of order");
        goto out;
    }
    if (want == DDB_PAGE_OK && pg.lek_len > DDB_PAGESTREAM_LEK_MAX) {
        rc = got == DDB_PAGE_ESHAPE ? 0 : -1;
        snprintf(msg, msglen, "a LastEvaluatedKey of %zu bytes: %s", pg.lek_len, why);
        goto out;
    }
    if (got != want || (got && strcmp(why, want_why) != 0)) {
        snprintf(msg, msglen, "stream says %s (%s), page.c %s (%s)", ddb_page_strerror(got),
                 got ? why : "", ddb_page_strerror(want), want ? want_why : "");
        goto out;
    }
    rc = got ? 0 : compare_ok(copy, &pg, &s, &r, len, msg, msglen);
out:
    ddb_pagestream_free(ps);
    ddb_page_cleanup(&pg);
    free(copy);
    free(s.bytes);
    free(s.ends);
    return rc;
}
