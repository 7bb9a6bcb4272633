/* The Scan answer scanner: one pass over the bytes, a recursive-descent validator that only
 * records spans (after the JSON grammar of RFC 8259). */
#include "ddb/page.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

#define SPANS_MAX (DDB_RESPONSE_MAX / 3) /* "{}," is the smallest item */

struct sc {
    const char *base, *p, *end;
    int depth;
    int spaced; /* whitespace seen inside the current item */
    enum ddb_page_err err;
    char *why;
    size_t whylen;
};

const char *ddb_page_strerror(enum ddb_page_err e)
{
    switch (e) {
    case DDB_PAGE_OK:
        return "no error";
    case DDB_PAGE_ESYNTAX:
        return "not valid JSON";
    case DDB_PAGE_ESHAPE:
        return "not a Scan answer";
    case DDB_PAGE_EDEPTH:
        return "nested too deep";
    case DDB_PAGE_ENOMEM:
        return "out of memory";
    }
    return "unknown error";
}

void ddb_page_init(struct ddb_page *pg)
{
    memset(pg, 0, sizeof *pg);
    pg->count = -1;
    pg->consumed = -1;
}

void ddb_page_cleanup(struct ddb_page *pg)
{
    free(pg->items);
    ddb_page_init(pg);
}

static int fail(struct sc *s, enum ddb_page_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct sc *s, enum ddb_page_err e, const char *fmt, ...)
{
    if (s->err)
        return -1;
    s->err = e;
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (s->p >= s->end)
        snprintf(s->why, s->whylen, "%s: %s at the end (byte %zu: cut short?)",
                 ddb_page_strerror(e), what, (size_t)(s->p - s->base));
    else
        snprintf(s->why, s->whylen, "%s: %s at byte %zu", ddb_page_strerror(e), what,
                 (size_t)(s->p - s->base));
    return -1;
}

/* Byte classes: the bytes a string holds as they are, and JSON's whitespace. */
static unsigned char plain[256], space[256];

static void classes_init(void)
{
    for (int c = 0x20; c < 0x80; c++)
        plain[c] = c != '"' && c != '\\';
    space[' '] = space['\t'] = space['\n'] = space['\r'] = 1;
}

static int is_ws(char c)
{
    return space[(unsigned char)c];
}

static inline void ws(struct sc *s)
{
    const char *p = s->p;
    if (!space[(unsigned char)*p]) /* the NUL after the body is not space */
        return;
    while (space[(unsigned char)*p])
        p++;
    s->spaced = 1;
    s->p = p;
}

/* A UTF-8 sequence starting at p (a byte >= 0x80); its length, or 0 when invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    unsigned cp = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static int hex4(const char *p)
{
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/* A string; s->p at its opening quote. On success s->p is past the closing quote. */
static int string_rest(struct sc *s, const unsigned char *p)
{
    const unsigned char *end = (const unsigned char *)s->end;
    for (;;) {
        while (plain[*p]) /* stops at the NUL after the body */
            p++;
        if (p >= end) {
            s->p = (const char *)p;
            return fail(s, DDB_PAGE_ESYNTAX, "unterminated string");
        }
        if (*p == '"') {
            s->p = (const char *)p + 1;
            return 0;
        }
        if (*p == '\\') {
            if (end - p < 2)
                goto bad_escape;
            char e = (char)p[1];
            if (e == 'u') {
                if (end - p < 6 || !hex4((const char *)p + 2))
                    goto bad_escape;
                p += 6;
            } else if (e && strchr("\"\\/bfnrt", e)) {
                p += 2;
            } else {
                goto bad_escape;
            }
            continue;
        }
        if (*p < 0x20) {
            s->p = (const char *)p;
            return fail(s, DDB_PAGE_ESYNTAX, "control character in a string");
        }
        size_t n = utf8_len(p, end);
        if (!n) {
            s->p = (const char *)p;
            return fail(s, DDB_PAGE_ESYNTAX, "invalid UTF-8 in a string");
        }
        p += n;
    }
bad_escape:
    s->p = (const char *)p;
    return fail(s, DDB_PAGE_ESYNTAX, "invalid escape in a string");
}

/* The common case inline: plain bytes up to the closing quote. */
static inline int string(struct sc *s)
{
    const unsigned char *p = (const unsigned char *)s->p + 1;
    while (plain[*p])
        p++;
    if (*p == '"') {
        s->p = (const char *)p + 1;
        return 0;
    }
    return string_rest(s, p);
}

static int digits(struct sc *s)
{
    const char *p = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > p ? 0 : fail(s, DDB_PAGE_ESYNTAX, "a digit expected");
}

static int number(struct sc *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (digits(s))
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s))
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s))
            return -1;
    }
    return 0;
}

static int literal(struct sc *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, DDB_PAGE_ESYNTAX, "unexpected character '%c'", *s->p);
    s->p += n;
    return 0;
}

static int value(struct sc *s);

/* Skips JSON whitespace from p (the NUL after the body is not whitespace). */
#define SKIP_WS(p, spaced)                                                                         \
    do {                                                                                           \
        if (space[*(p)]) {                                                                         \
            (spaced) = 1;                                                                          \
            while (space[*(p)])                                                                    \
                (p)++;                                                                             \
        }                                                                                          \
    } while (0)

/* An object or array; s->p at '{' or '['. Iterative (a stack of what closes each level) and on a
 * local pointer, as this is where a page's time goes; the rare cases (escapes, UTF-8, numbers,
 * errors) go through the struct. */
static int compound(struct sc *s)
{
    char stack[DDB_PAGE_DEPTH_MAX];
    int d = 0, spaced = s->spaced, limit = DDB_PAGE_DEPTH_MAX - s->depth;
    const unsigned char *p = (const unsigned char *)s->p;
#define SYNC() (s->p = (const char *)p, s->spaced = spaced)
#define RESUME() (p = (const unsigned char *)s->p, spaced = s->spaced)
    for (;;) {
        /* p at a value. */
        unsigned char c = *p; /* NUL at the end */
        if (c == '{' || c == '[') {
            if (d >= limit) {
                SYNC();
                return fail(s, DDB_PAGE_EDEPTH, "more than %d levels", DDB_PAGE_DEPTH_MAX);
            }
            char close = c == '{' ? '}' : ']';
            stack[d++] = close;
            p++;
            SKIP_WS(p, spaced);
            if (*p == close) {
                p++;
                d--;
                goto after;
            }
            if (close == ']')
                continue;
            goto key;
        }
        if (c == '"') {
            p++;
            while (plain[*p])
                p++;
            if (*p == '"') {
                p++;
            } else {
                SYNC(); /* with spaced, which RESUME() reads back */
                if (string_rest(s, p))
                    return -1;
                RESUME();
            }
        } else {
            SYNC();
            if (c == '-' || (c >= '0' && c <= '9')) {
                if (number(s))
                    return -1;
            } else if (c == 't' || c == 'f' || c == 'n') {
                if (c == 't'   ? literal(s, "true", 4)
                    : c == 'f' ? literal(s, "false", 5)
                               : literal(s, "null", 4))
                    return -1;
            } else {
                return s->p >= s->end ? fail(s, DDB_PAGE_ESYNTAX, "a value expected")
                                      : fail(s, DDB_PAGE_ESYNTAX, "unexpected character '%c'", c);
            }
            RESUME();
        }
    after:
        /* After a value: ',' or the close of its level. */
        if (d == 0) {
            SYNC();
            return 0;
        }
        SKIP_WS(p, spaced);
        if (*p == (unsigned char)stack[d - 1]) {
            p++;
            d--;
            goto after;
        }
        if (*p != ',') {
            SYNC();
            return fail(s, DDB_PAGE_ESYNTAX, "',' or '%c' expected", stack[d - 1]);
        }
        p++;
        SKIP_WS(p, spaced);
        if (stack[d - 1] == ']')
            continue;
    key:
        if (*p != '"') {
            SYNC();
            return fail(s, DDB_PAGE_ESYNTAX, "a member name expected");
        }
        p++;
        while (plain[*p])
            p++;
        if (*p == '"') {
            p++;
        } else {
            SYNC();
            if (string_rest(s, p))
                return -1;
            RESUME();
        }
        SKIP_WS(p, spaced);
        if (*p != ':') {
            SYNC();
            return fail(s, DDB_PAGE_ESYNTAX, "':' expected");
        }
        p++;
        SKIP_WS(p, spaced);
    }
#undef SYNC
#undef RESUME
}

static int value(struct sc *s)
{
    if (s->p >= s->end)
        return fail(s, DDB_PAGE_ESYNTAX, "a value expected");
    switch (*s->p) {
    case '{':
    case '[':
        return compound(s);
    case '"':
        return string(s);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return fail(s, DDB_PAGE_ESYNTAX, "unexpected character '%c'", *s->p);
    }
}

/* A member name of the answer, unescaped names only (DynamoDB's are plain). */
static int name_is(const char *p, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(p, want, n) == 0;
}

/* A number value as text, bounded, for strtod/strtol. */
static int number_text(struct sc *s, char *out, size_t cap)
{
    const char *start = s->p;
    if (s->p >= s->end || !(*s->p == '-' || (*s->p >= '0' && *s->p <= '9')))
        return -1;
    if (number(s))
        return -1;
    size_t n = (size_t)(s->p - start);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, start, n);
    out[n] = '\0';
    return 0;
}

static int push_item(struct ddb_page *pg, struct sc *s, size_t off, size_t len, int spaced)
{
    if (pg->n_items == pg->cap_items) {
        size_t cap = pg->cap_items ? pg->cap_items * 2 : 1024;
        if (cap > SPANS_MAX)
            cap = SPANS_MAX;
        struct ddb_page_span *v = pg->n_items < cap ? realloc(pg->items, cap * sizeof *v) : NULL;
        if (!v)
            return fail(s, DDB_PAGE_ENOMEM, "%zu items", pg->n_items + 1);
        pg->items = v;
        pg->cap_items = cap;
    }
    pg->items[pg->n_items++] = (struct ddb_page_span){.off = off, .len = len, .spaced = spaced};
    return 0;
}

static int items(struct ddb_page *pg, struct sc *s)
{
    if (s->p >= s->end || *s->p != '[')
        return fail(s, DDB_PAGE_ESHAPE, "\"Items\" is not an array");
    s->p++;
    s->depth++;
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (s->p >= s->end || !*s->p || !strchr("{[\"tfn-0123456789", *s->p))
            return fail(s, DDB_PAGE_ESYNTAX, "an item expected");
        if (*s->p != '{')
            return fail(s, DDB_PAGE_ESHAPE, "an item is not an object");
        const char *start = s->p;
        s->spaced = 0;
        if (compound(s) ||
            push_item(pg, s, (size_t)(start - s->base), (size_t)(s->p - start), s->spaced))
            return -1;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return 0;
        }
        return fail(s, DDB_PAGE_ESYNTAX, "',' or ']' expected");
    }
}

/* "ConsumedCapacity": {"TableName": ..., "CapacityUnits": X, ...} */
static int consumed(struct ddb_page *pg, struct sc *s)
{
    if (s->p >= s->end || *s->p != '{')
        return value(s); /* not ours to judge: skipped */
    s->p++;
    s->depth++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return fail(s, DDB_PAGE_ESYNTAX, "a member name expected");
        const char *name = s->p + 1;
        if (string(s))
            return -1;
        size_t nlen = (size_t)(s->p - 1 - name);
        ws(s);
        if (s->p >= s->end || *s->p != ':')
            return fail(s, DDB_PAGE_ESYNTAX, "':' expected");
        s->p++;
        ws(s);
        char num[64];
        if (name_is(name, nlen, "CapacityUnits") && s->p < s->end &&
            (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
            if (number_text(s, num, sizeof num))
                return -1;
            pg->consumed = strtod(num, NULL);
        } else if (value(s)) {
            return -1;
        }
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return 0;
        }
        return fail(s, DDB_PAGE_ESYNTAX, "',' or '}' expected");
    }
}

static int member(struct ddb_page *pg, struct sc *s, const char *name, size_t nlen, int *seen_items)
{
    if (name_is(name, nlen, "Items")) {
        if (*seen_items)
            return fail(s, DDB_PAGE_ESHAPE, "\"Items\" twice");
        *seen_items = 1;
        return items(pg, s);
    }
    if (name_is(name, nlen, "Count")) {
        char num[64];
        if (number_text(s, num, sizeof num) != 0 || strpbrk(num, ".eE-"))
            return fail(s, DDB_PAGE_ESHAPE, "\"Count\" is not a count");
        pg->count = strtol(num, NULL, 10);
        return 0;
    }
    if (name_is(name, nlen, "ConsumedCapacity"))
        return consumed(pg, s);
    if (name_is(name, nlen, "LastEvaluatedKey")) {
        if (s->p >= s->end || *s->p != '{')
            return fail(s, DDB_PAGE_ESHAPE, "\"LastEvaluatedKey\" is not an object");
        const char *start = s->p;
        if (compound(s))
            return -1;
        pg->lek_off = (size_t)(start - s->base);
        pg->lek_len = (size_t)(s->p - start);
        return 0;
    }
    return value(s);
}

enum ddb_page_err ddb_page_parse(struct ddb_page *pg, const char *body, size_t len, char *why,
                                 size_t whylen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, classes_init);
    struct sc s = {.base = body, .p = body, .end = body + len, .why = why, .whylen = whylen};
    int seen_items = 0;
    if (body[len] != '\0') {
        fail(&s, DDB_PAGE_ESYNTAX, "the body is not followed by a NUL byte (a caller's mistake)");
        return s.err;
    }
    pg->n_items = 0;
    pg->count = -1;
    pg->consumed = -1;
    pg->lek_off = pg->lek_len = 0;
    if (why && whylen)
        why[0] = '\0';
    ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        fail(&s, s.p >= s.end ? DDB_PAGE_ESYNTAX : DDB_PAGE_ESHAPE, "the answer is not an object");
        goto out;
    }
    s.p++;
    s.depth = 1;
    ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
        goto end;
    }
    for (;;) {
        if (s.p >= s.end || *s.p != '"') {
            fail(&s, DDB_PAGE_ESYNTAX, "a member name expected");
            goto out;
        }
        const char *name = s.p + 1;
        if (string(&s))
            goto out;
        size_t nlen = (size_t)(s.p - 1 - name);
        ws(&s);
        if (s.p >= s.end || *s.p != ':') {
            fail(&s, DDB_PAGE_ESYNTAX, "':' expected");
            goto out;
        }
        s.p++;
        ws(&s);
        if (member(pg, &s, name, nlen, &seen_items))
            goto out;
        ws(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            ws(&s);
            continue;
        }
        if (s.p < s.end && *s.p == '}') {
            s.p++;
            break;
        }
        fail(&s, DDB_PAGE_ESYNTAX, "',' or '}' expected");
        goto out;
    }
end:
    ws(&s);
    if (s.p != s.end) {
        fail(&s, DDB_PAGE_ESYNTAX, "bytes after the answer");
        goto out;
    }
    if (!seen_items) {
        fail(&s, DDB_PAGE_ESHAPE, "no \"Items\"");
        goto out;
    }
    if (pg->count >= 0 && (size_t)pg->count != pg->n_items) {
        s.err = DDB_PAGE_ESHAPE;
        snprintf(why, whylen, "%s: \"Count\" is %ld but \"Items\" has %zu",
                 ddb_page_strerror(s.err), pg->count, pg->n_items);
        goto out;
    }
out:
    if (s.err) {
        pg->n_items = 0;
        pg->lek_len = 0;
    }
    return s.err;
}

size_t ddb_page_item_copy(const char *body, const struct ddb_page_span *sp, char *out)
{
    const char *p = body + sp->off, *end = p + sp->len;
    if (!sp->spaced) {
        memcpy(out, p, sp->len);
        return sp->len;
    }
    char *o = out;
    int in_str = 0;
    for (; p < end; p++) {
        char c = *p;
        if (in_str) {
            *o++ = c;
            if (c == '\\' && p + 1 < end)
                *o++ = *++p;
            else if (c == '"')
                in_str = 0;
        } else if (!is_ws(c)) {
            *o++ = c;
            in_str = c == '"';
        }
    }
    return (size_t)(o - out);
}
