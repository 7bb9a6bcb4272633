/* The Scan answer read as it arrives: ddb/page.c's grammar and checks as a resumable state machine.
 * Every place where page.c reads a byte is a state here, so a chunk may end anywhere (inside a
 * string, an escape, a UTF-8 sequence, a number, a literal, a member name) and the next one goes
 * on from there. Within a chunk the states are labels reached by goto, as in page.c's compound();
 * the state is only stored when the chunk runs out. Nesting is a stack of closing bytes. */
#include "ddb/pagestream.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte classes. */
enum { C_PLAIN = 1, C_SPACE = 2, C_DIGIT = 4, C_HEX = 8, C_ESC = 16, C_ITEM = 32 };
static unsigned char cls[256];

static void classes_init(void)
{
    for (int c = 0x20; c < 0x80; c++)
        cls[c] |= c != '"' && c != '\\' ? C_PLAIN : 0;
    cls[' '] |= C_SPACE, cls['\t'] |= C_SPACE, cls['\n'] |= C_SPACE, cls['\r'] |= C_SPACE;
    for (const char *s = "0123456789"; *s; s++)
        cls[(unsigned char)*s] |= C_DIGIT | C_HEX;
    for (const char *s = "abcdefABCDEF"; *s; s++)
        cls[(unsigned char)*s] |= C_HEX;
    for (const char *s = "\"\\/bfnrt"; *s; s++)
        cls[(unsigned char)*s] |= C_ESC;
    for (const char *s = "{[\"tfn-0123456789"; *s; s++) /* page.c's items(): "an item expected" */
        cls[(unsigned char)*s] |= C_ITEM;
}

/* The end of a run of plain string bytes from p: the first '"', '\\', control byte or byte of a
 * UTF-8 sequence, or end. Eight bytes at a time where it can (strings are where a page's time
 * goes): each test below flags its byte's top bit, exact for the lowest byte flagged (a borrow only
 * runs upwards from a byte that is flagged), and the lowest byte comes first in memory. */
static inline const unsigned char *plain_end(const unsigned char *p, const unsigned char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    while (end - p >= 8) {
        uint64_t x, q, b;
        memcpy(&x, p, 8);
        q = x ^ ones * '"';
        b = x ^ ones * '\\';
        uint64_t t = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x;
        t &= high;
        if (t)
            return p + __builtin_ctzll(t) / 8;
        p += 8;
    }
#endif
    while (p < end && (cls[*p] & C_PLAIN))
        p++;
    return p;
}

/* Where the reader is when a chunk ends. */
enum state {
    S_TOP,      /* before the answer's '{' */
    S_OBJ_OPEN, /* after '{': '}' or a member name */
    S_ARR_OPEN, /* after '[': ']' or a value */
    S_KEY,      /* a member name */
    S_COLON,    /* after a member name */
    S_VALUE,    /* a value, of role ps->role */
    S_AFTER,    /* after a value: ',' or the close of its level */
    S_STR,      /* inside a string (a name when ps->str_key) */
    S_ESC,      /* after a backslash */
    S_HEX,      /* in \uXXXX, ps->hex_left digits to go */
    S_UTF8,     /* in a UTF-8 sequence, ps->utf_need bytes to go */
    S_NUM,      /* in a number, at ps->num */
    S_LIT,      /* in true/false/null, at ps->lit */
    S_TRAIL,    /* after the answer: whitespace only */
};

/* What a value means to the answer (page.c: member(), items(), consumed()). */
enum role { R_GENERIC, R_ITEM, R_ITEMS, R_ITEMS_TWICE, R_COUNT, R_CC, R_UNITS, R_LEK };

/* What the level at depth 2 is: "Items", "ConsumedCapacity", "LastEvaluatedKey" or another. */
enum kind { K_GEN, K_ITEMS, K_CC, K_LEK };

/* Number states, after RFC 8259's grammar: N_SIGN, N_DOT, N_E and N_ESIGN need a digit next. */
enum num { N_SIGN, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

/* What the bytes of the token in hand are kept for. */
enum cap { CAP_NONE, CAP_NAME, CAP_COUNT, CAP_UNITS };

#define TOK_CAP 64 /* page.c's number_text() keeps 63 bytes; names of interest are <= 16 */

struct ddb_pagestream {
    struct ddb_pagestream_sink sink;
    void *ud;
    enum ddb_page_err err;
    char msg[192]; /* the error's why, given again by later calls */
    size_t off;    /* bytes of the answer before the chunk in hand */

    enum state state;
    enum role role, mrole; /* of the value in hand; of the member whose name was read */
    enum kind kind2;
    int d; /* levels open, stack[d - 1] closes the innermost */
    char stack[DDB_PAGE_DEPTH_MAX];
    int str_key; /* the string in hand is a member name */
    int in_item; /* inside an item: its bytes go to the sink */
    int in_lek;  /* inside LastEvaluatedKey: its bytes are kept */
    enum cap cap;
    char tok[TOK_CAP]; /* the first bytes of the name or number kept */
    size_t tok_len;
    size_t tok_off;             /* where the literal, escape or UTF-8 sequence in hand began */
    const char *lit, *lit_word; /* the literal's byte to come; the literal */
    int hex_left;
    unsigned utf_need;
    unsigned char utf_lo, utf_hi; /* the range of the next UTF-8 byte */
    enum num num;

    int seen_items;
    size_t n_items;
    long count;
    double consumed;
    char *lek; /* NUL-terminated when have_lek */
    size_t lek_len, lek_cap;
    int have_lek;
};

struct ddb_pagestream *ddb_pagestream_new(const struct ddb_pagestream_sink *sink, void *ud)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, classes_init);
    struct ddb_pagestream *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->sink = *sink;
    ps->ud = ud;
    ddb_pagestream_reset(ps);
    return ps;
}

void ddb_pagestream_free(struct ddb_pagestream *ps)
{
    if (!ps)
        return;
    free(ps->lek);
    free(ps);
}

void ddb_pagestream_reset(struct ddb_pagestream *ps)
{
    ps->err = DDB_PAGE_OK;
    ps->msg[0] = '\0';
    ps->off = 0;
    ps->state = S_TOP;
    ps->role = ps->mrole = R_GENERIC;
    ps->kind2 = K_GEN;
    ps->d = 0;
    ps->str_key = ps->in_item = ps->in_lek = 0;
    ps->cap = CAP_NONE;
    ps->tok_len = 0;
    ps->seen_items = 0;
    ps->n_items = 0;
    ps->count = -1;
    ps->consumed = -1;
    ps->lek_len = 0;
    ps->have_lek = 0;
}

/* Records the error at byte pos (at_end: the answer ended there) as page.c's fail() words it. */
static void fail(struct ddb_pagestream *ps, enum ddb_page_err e, size_t pos, int at_end,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fail(struct ddb_pagestream *ps, enum ddb_page_err e, size_t pos, int at_end,
                 const char *fmt, ...)
{
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    ps->err = e;
    if (at_end)
        snprintf(ps->msg, sizeof ps->msg, "%s: %s at the end (byte %zu: cut short?)",
                 ddb_page_strerror(e), what, pos);
    else
        snprintf(ps->msg, sizeof ps->msg, "%s: %s at byte %zu", ddb_page_strerror(e), what, pos);
}

static enum ddb_page_err report(const struct ddb_pagestream *ps, char *why, size_t whylen)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", ps->msg);
    return ps->err;
}

static void tok_add(struct ddb_pagestream *ps, const char *p, size_t n)
{
    size_t room = TOK_CAP - 1 - ps->tok_len;
    if (n > room)
        n = room;
    memcpy(ps->tok + ps->tok_len, p, n);
    ps->tok_len += n;
}

/* Appends n raw bytes of LastEvaluatedKey; -1 (error set, at byte pos) past the limit. */
static int lek_add(struct ddb_pagestream *ps, const char *p, size_t n, size_t pos)
{
    if (ps->lek_len + n > DDB_PAGESTREAM_LEK_MAX) {
        fail(ps, DDB_PAGE_ESHAPE, pos, 0, "\"LastEvaluatedKey\" longer than %d bytes",
             DDB_PAGESTREAM_LEK_MAX);
        return -1;
    }
    if (ps->lek_len + n + 1 > ps->lek_cap) {
        size_t cap = ps->lek_cap ? ps->lek_cap : 256;
        while (cap < ps->lek_len + n + 1)
            cap *= 2;
        char *v = realloc(ps->lek, cap);
        if (!v) {
            fail(ps, DDB_PAGE_ENOMEM, pos, 0, "%zu bytes of \"LastEvaluatedKey\"", cap);
            return -1;
        }
        ps->lek = v;
        ps->lek_cap = cap;
    }
    memcpy(ps->lek + ps->lek_len, p, n);
    ps->lek_len += n;
    ps->lek[ps->lek_len] = '\0';
    return 0;
}

static int name_is(const struct ddb_pagestream *ps, const char *want)
{
    return strlen(want) == ps->tok_len && memcmp(ps->tok, want, ps->tok_len) == 0;
}

/* The role of the value of the member whose name is in tok (page.c's member() and consumed()). */
static enum role member_role(const struct ddb_pagestream *ps, int d)
{
    if (d == 2) /* in "ConsumedCapacity" */
        return name_is(ps, "CapacityUnits") ? R_UNITS : R_GENERIC;
    if (name_is(ps, "Items"))
        return ps->seen_items ? R_ITEMS_TWICE : R_ITEMS;
    if (name_is(ps, "Count"))
        return R_COUNT;
    if (name_is(ps, "ConsumedCapacity"))
        return R_CC;
    if (name_is(ps, "LastEvaluatedKey"))
        return R_LEK;
    return R_GENERIC;
}

/* A kept number has ended at byte pos: "Count" or "CapacityUnits" read as page.c reads them (the
 * first 63 bytes, through strtol or strtod). -1 when "Count" is not a count. */
static int number_kept(struct ddb_pagestream *ps, size_t pos, int at_end)
{
    ps->tok[ps->tok_len] = '\0';
    enum cap cap = ps->cap;
    ps->cap = CAP_NONE;
    if (cap == CAP_UNITS) {
        ps->consumed = strtod(ps->tok, NULL);
        return 0;
    }
    if (strpbrk(ps->tok, ".eE-")) {
        fail(ps, DDB_PAGE_ESHAPE, pos, at_end, "\"Count\" is not a count");
        return -1;
    }
    ps->count = strtol(ps->tok, NULL, 10);
    return 0;
}

enum ddb_page_err ddb_pagestream_feed(struct ddb_pagestream *ps, const char *buf, size_t n,
                                      char *why, size_t whylen)
{
    if (ps->err)
        return report(ps, why, whylen);
    const unsigned char *base = (const unsigned char *)buf, *p = base, *end = base + n;
    /* Runs of the chunk not yet handed on: item bytes (since the last whitespace), the
     * LastEvaluatedKey bytes, the kept name or number bytes. */
    const unsigned char *run = p, *lrun = p, *trun = p;
    int d = ps->d;
    enum role role = ps->role;
    unsigned char c;
#define POS(q) (ps->off + (size_t)((q)-base))
#define FAIL(e, q, ...)                                                                            \
    do {                                                                                           \
        fail(ps, e, POS(q), 0, __VA_ARGS__);                                                       \
        goto out;                                                                                  \
    } while (0)
#define SAVE(s)                                                                                    \
    do {                                                                                           \
        ps->state = (s);                                                                           \
        goto chunk_end;                                                                            \
    } while (0)
#define EMIT(a, b)                                                                                 \
    do {                                                                                           \
        if (ps->sink.item_bytes(ps->ud, (const char *)(a), (size_t)((b) - (a))))                   \
            FAIL(DDB_PAGE_ESTOPPED, b, "the reader stopped");                                      \
    } while (0)
/* Whitespace between tokens ends a run of item bytes. */
#define SKIP_WS()                                                                                  \
    do {                                                                                           \
        if (p < end && (cls[*p] & C_SPACE)) {                                                      \
            if (ps->in_item && p > run)                                                            \
                EMIT(run, p);                                                                      \
            while (p < end && (cls[*p] & C_SPACE))                                                 \
                p++;                                                                               \
            run = p;                                                                               \
        }                                                                                          \
    } while (0)

    switch (ps->state) {
    case S_TOP:
        goto top;
    case S_OBJ_OPEN:
        goto obj_open;
    case S_ARR_OPEN:
        goto arr_open;
    case S_KEY:
        goto key;
    case S_COLON:
        goto colon;
    case S_VALUE:
        goto value;
    case S_AFTER:
        goto after;
    case S_STR:
        goto str;
    case S_ESC:
        goto esc;
    case S_HEX:
        goto hex;
    case S_UTF8:
        goto utf8;
    case S_NUM:
        goto num;
    case S_LIT:
        goto lit;
    case S_TRAIL:
        goto trail;
    }

top:
    SKIP_WS();
    if (p == end)
        SAVE(S_TOP);
    if (*p != '{')
        FAIL(DDB_PAGE_ESHAPE, p, "the answer is not an object");
    ps->stack[d++] = '}';
    p++;
obj_open:
    SKIP_WS();
    if (p == end)
        SAVE(S_OBJ_OPEN);
    if (*p == ps->stack[d - 1])
        goto close;
key:
    SKIP_WS();
    if (p == end)
        SAVE(S_KEY);
    if (*p != '"')
        FAIL(DDB_PAGE_ESYNTAX, p, "a member name expected");
    p++;
    ps->str_key = 1;
    if (d == 1 || (d == 2 && ps->kind2 == K_CC)) { /* a name page.c compares */
        ps->cap = CAP_NAME;
        ps->tok_len = 0;
        trun = p;
    }
    goto str;
colon:
    SKIP_WS();
    if (p == end)
        SAVE(S_COLON);
    if (*p != ':')
        FAIL(DDB_PAGE_ESYNTAX, p, "':' expected");
    p++;
    role = ps->mrole;
    goto value;
arr_open:
    SKIP_WS();
    if (p == end)
        SAVE(S_ARR_OPEN);
    if (*p == ps->stack[d - 1])
        goto close;
    role = d == 2 && ps->kind2 == K_ITEMS ? R_ITEM : R_GENERIC;
value:
    SKIP_WS();
    if (p == end)
        SAVE(S_VALUE);
    c = *p;
    if (role != R_GENERIC) {
        switch (role) {
        case R_GENERIC: /* (not here: for -Wswitch) */
            break;
        case R_ITEM:
            if (!(cls[c] & C_ITEM))
                FAIL(DDB_PAGE_ESYNTAX, p, "an item expected");
            if (c != '{')
                FAIL(DDB_PAGE_ESHAPE, p, "an item is not an object");
            if (ps->sink.item_begin(ps->ud))
                FAIL(DDB_PAGE_ESTOPPED, p, "the reader stopped");
            ps->in_item = 1;
            run = p;
            goto open;
        case R_ITEMS:
            if (c != '[')
                FAIL(DDB_PAGE_ESHAPE, p, "\"Items\" is not an array");
            ps->seen_items = 1;
            ps->kind2 = K_ITEMS;
            goto open;
        case R_ITEMS_TWICE:
            FAIL(DDB_PAGE_ESHAPE, p, "\"Items\" twice");
        case R_COUNT:
            if (c != '-' && !(cls[c] & C_DIGIT))
                FAIL(DDB_PAGE_ESHAPE, p, "\"Count\" is not a count");
            ps->cap = CAP_COUNT;
            ps->tok_len = 0;
            trun = p;
            break;
        case R_UNITS:
            if (c == '-' || (cls[c] & C_DIGIT)) {
                ps->cap = CAP_UNITS;
                ps->tok_len = 0;
                trun = p;
            }
            break;
        case R_CC:
            if (c == '{') {
                ps->kind2 = K_CC;
                goto open;
            }
            break;
        case R_LEK:
            if (c != '{')
                FAIL(DDB_PAGE_ESHAPE, p, "\"LastEvaluatedKey\" is not an object");
            ps->kind2 = K_LEK;
            ps->in_lek = 1;
            ps->lek_len = 0;
            ps->have_lek = 0;
            lrun = p;
            goto open;
        }
        role = R_GENERIC;
    }
    if (c == '"') {
        p++;
        ps->str_key = 0;
        goto str;
    }
    if (c == '{' || c == '[') {
        if (d == 1)
            ps->kind2 = K_GEN;
        goto open;
    }
    if (cls[c] & C_DIGIT) {
        ps->num = c == '0' ? N_ZERO : N_INT;
        p++;
        goto num;
    }
    if (c == '-') {
        ps->num = N_SIGN;
        p++;
        goto num;
    }
    if (c == 't' || c == 'f' || c == 'n') {
        ps->lit = ps->lit_word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        ps->tok_off = POS(p);
        goto lit;
    }
    FAIL(DDB_PAGE_ESYNTAX, p, "unexpected character '%c'", c);

open: /* p at '{' or '[' */
    if (d >= DDB_PAGE_DEPTH_MAX)
        FAIL(DDB_PAGE_EDEPTH, p, "more than %d levels", DDB_PAGE_DEPTH_MAX);
    c = *p++;
    ps->stack[d++] = c == '{' ? '}' : ']';
    if (c == '{')
        goto obj_open;
    goto arr_open;

close: /* p at the close of level d */
    p++;
    d--;
    if (d <= 2) {
        if (d == 2 && ps->in_item) {
            EMIT(run, p);
            ps->in_item = 0;
            ps->n_items++;
            if (ps->sink.item_end(ps->ud))
                FAIL(DDB_PAGE_ESTOPPED, p, "the reader stopped");
        } else if (d == 1 && ps->in_lek) {
            ps->in_lek = 0;
            if (lek_add(ps, (const char *)lrun, (size_t)(p - lrun), POS(p)))
                goto out;
            ps->have_lek = 1;
        } else if (d == 0) {
            goto trail;
        }
    }
after:
    SKIP_WS();
    if (p == end)
        SAVE(S_AFTER);
    if (*p == ps->stack[d - 1])
        goto close;
    if (*p != ',')
        FAIL(DDB_PAGE_ESYNTAX, p, "',' or '%c' expected", ps->stack[d - 1]);
    p++;
    if (ps->stack[d - 1] == '}')
        goto key;
    role = d == 2 && ps->kind2 == K_ITEMS ? R_ITEM : R_GENERIC;
    goto value;

str:
    p = plain_end(p, end);
    if (p == end)
        SAVE(S_STR);
    c = *p;
    if (c == '"') {
        p++;
        if (!ps->str_key)
            goto after;
        ps->mrole = R_GENERIC;
        if (ps->cap == CAP_NAME) {
            tok_add(ps, (const char *)trun, (size_t)(p - 1 - trun));
            ps->cap = CAP_NONE;
            ps->mrole = member_role(ps, d);
        }
        goto colon;
    }
    ps->tok_off = POS(p);
    p++;
    if (c == '\\')
        goto esc;
    if (c < 0x20)
        FAIL(DDB_PAGE_ESYNTAX, p - 1, "control character in a string");
    /* A UTF-8 lead byte: the range of the next byte rules out overlongs, surrogates and code
     * points above U+10FFFF, as page.c's utf8_len() does. */
    ps->utf_lo = 0x80, ps->utf_hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        ps->utf_need = 1;
    else if (c >= 0xe0 && c <= 0xef)
        ps->utf_need = 2, ps->utf_lo = c == 0xe0 ? 0xa0 : 0x80,
        ps->utf_hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        ps->utf_need = 3, ps->utf_lo = c == 0xf0 ? 0x90 : 0x80,
        ps->utf_hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        FAIL(DDB_PAGE_ESYNTAX, p - 1, "invalid UTF-8 in a string");
utf8:
    while (ps->utf_need) {
        if (p == end)
            SAVE(S_UTF8);
        if (*p < ps->utf_lo || *p > ps->utf_hi) {
            fail(ps, DDB_PAGE_ESYNTAX, ps->tok_off, 0, "invalid UTF-8 in a string");
            goto out;
        }
        p++;
        ps->utf_need--;
        ps->utf_lo = 0x80, ps->utf_hi = 0xbf;
    }
    goto str;
esc:
    if (p == end)
        SAVE(S_ESC);
    c = *p++;
    if (c == 'u') {
        ps->hex_left = 4;
        goto hex;
    }
    if (cls[c] & C_ESC)
        goto str;
    fail(ps, DDB_PAGE_ESYNTAX, ps->tok_off, 0, "invalid escape in a string");
    goto out;
hex:
    for (; ps->hex_left; ps->hex_left--, p++) {
        if (p == end)
            SAVE(S_HEX);
        if (!(cls[*p] & C_HEX)) {
            fail(ps, DDB_PAGE_ESYNTAX, ps->tok_off, 0, "invalid escape in a string");
            goto out;
        }
    }
    goto str;

num:
    for (; p < end; p++) {
        c = *p;
        int digit = cls[c] & C_DIGIT;
        switch (ps->num) {
        case N_SIGN:
            if (!digit)
                FAIL(DDB_PAGE_ESYNTAX, p, "a digit expected");
            ps->num = c == '0' ? N_ZERO : N_INT;
            continue;
        case N_DOT:
            if (!digit)
                FAIL(DDB_PAGE_ESYNTAX, p, "a digit expected");
            ps->num = N_FRAC;
            continue;
        case N_E:
            if (c == '+' || c == '-') {
                ps->num = N_ESIGN;
                continue;
            }
            /* fall through */
        case N_ESIGN:
            if (!digit)
                FAIL(DDB_PAGE_ESYNTAX, p, "a digit expected");
            ps->num = N_EXP;
            continue;
        case N_INT:
            if (digit)
                continue;
            /* fall through */
        case N_ZERO:
            if (c == '.') {
                ps->num = N_DOT;
                continue;
            }
            /* fall through */
        case N_FRAC:
            if (digit && ps->num == N_FRAC)
                continue;
            if (c == 'e' || c == 'E') {
                ps->num = N_E;
                continue;
            }
            break;
        case N_EXP:
            if (digit)
                continue;
            break;
        }
        break; /* the number has ended before p */
    }
    if (p == end)
        SAVE(S_NUM);
    if (ps->cap != CAP_NONE) {
        tok_add(ps, (const char *)trun, (size_t)(p - trun));
        if (number_kept(ps, POS(p), 0))
            goto out;
    }
    goto after;

lit:
    for (; *ps->lit; ps->lit++, p++) {
        if (p == end)
            SAVE(S_LIT);
        if (*p != (unsigned char)*ps->lit) {
            fail(ps, DDB_PAGE_ESYNTAX, ps->tok_off, 0, "unexpected character '%c'",
                 ps->lit_word[0]); /* page.c's literal(): at its first byte */
            goto out;
        }
    }
    goto after;

trail:
    SKIP_WS();
    if (p == end)
        SAVE(S_TRAIL);
    FAIL(DDB_PAGE_ESYNTAX, p, "bytes after the answer");

chunk_end: /* p == end: hand on what the chunk holds of the runs in hand */
    if (ps->in_item && p > run)
        EMIT(run, p);
    if (ps->in_lek && lek_add(ps, (const char *)lrun, (size_t)(p - lrun), POS(p)))
        goto out;
    if (ps->cap != CAP_NONE)
        tok_add(ps, (const char *)trun, (size_t)(p - trun));
out:
    ps->d = d;
    ps->role = role;
    ps->off += n;
    return report(ps, why, whylen);
#undef POS
#undef FAIL
#undef SAVE
#undef EMIT
#undef SKIP_WS
}

/* The end of the answer, in the state the last chunk left: what page.c says when its p reaches
 * the end there. */
enum ddb_page_err ddb_pagestream_finish(struct ddb_pagestream *ps,
                                        struct ddb_pagestream_result *out, char *why, size_t whylen)
{
    if (ps->err)
        return report(ps, why, whylen);
    size_t end = ps->off;
    enum ddb_page_err syn = DDB_PAGE_ESYNTAX, shape = DDB_PAGE_ESHAPE;
    switch (ps->state) {
    case S_TOP:
        fail(ps, syn, end, 1, "the answer is not an object");
        break;
    case S_OBJ_OPEN:
    case S_KEY:
        fail(ps, syn, end, 1, "a member name expected");
        break;
    case S_COLON:
        fail(ps, syn, end, 1, "':' expected");
        break;
    case S_ARR_OPEN:
        if (ps->d == 2 && ps->kind2 == K_ITEMS)
            fail(ps, syn, end, 1, "an item expected");
        else
            fail(ps, syn, end, 1, "a value expected");
        break;
    case S_VALUE:
        switch (ps->role) {
        case R_ITEM:
            fail(ps, syn, end, 1, "an item expected");
            break;
        case R_ITEMS:
            fail(ps, shape, end, 1, "\"Items\" is not an array");
            break;
        case R_ITEMS_TWICE:
            fail(ps, shape, end, 1, "\"Items\" twice");
            break;
        case R_COUNT:
            fail(ps, shape, end, 1, "\"Count\" is not a count");
            break;
        case R_LEK:
            fail(ps, shape, end, 1, "\"LastEvaluatedKey\" is not an object");
            break;
        case R_GENERIC:
        case R_CC:
        case R_UNITS:
            fail(ps, syn, end, 1, "a value expected");
            break;
        }
        break;
    case S_NUM:
        if (ps->num == N_SIGN || ps->num == N_DOT || ps->num == N_E || ps->num == N_ESIGN) {
            fail(ps, syn, end, 1, "a digit expected");
            break;
        }
        if (ps->cap != CAP_NONE && number_kept(ps, end, 1))
            break;
        /* fall through */
    case S_AFTER:
        fail(ps, syn, end, 1, "',' or '%c' expected", ps->stack[ps->d - 1]);
        break;
    case S_STR:
        fail(ps, syn, end, 1, "unterminated string");
        break;
    case S_ESC:
    case S_HEX:
        fail(ps, syn, ps->tok_off, 0, "invalid escape in a string");
        break;
    case S_UTF8:
        fail(ps, syn, ps->tok_off, 0, "invalid UTF-8 in a string");
        break;
    case S_LIT:
        fail(ps, syn, ps->tok_off, 0, "unexpected character '%c'", ps->lit_word[0]);
        break;
    case S_TRAIL:
        if (!ps->seen_items) {
            fail(ps, shape, end, 1, "no \"Items\"");
        } else if (ps->count >= 0 && (size_t)ps->count != ps->n_items) {
            ps->err = shape;
            snprintf(ps->msg, sizeof ps->msg, "%s: \"Count\" is %ld but \"Items\" has %zu",
                     ddb_page_strerror(shape), ps->count, ps->n_items);
        }
        break;
    }
    if (ps->err)
        return report(ps, why, whylen);
    *out = (struct ddb_pagestream_result){
        .n_items = ps->n_items,
        .count = ps->count,
        .consumed = ps->consumed,
        .lek = ps->have_lek ? ps->lek : NULL,
        .lek_len = ps->have_lek ? ps->lek_len : 0,
        .bytes = ps->off,
    };
    if (why && whylen)
        why[0] = '\0';
    return DDB_PAGE_OK;
}
