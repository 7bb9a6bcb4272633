/* The manifest's text form and parser: see fs/manifest.h. */
#include "fs/manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fs_manifest_init(struct fs_manifest *m)
{
    memset(m, 0, sizeof *m);
}

void fs_manifest_cleanup(struct fs_manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->segs[i].name);
    free(m->segs);
    free(m->table);
    fs_manifest_init(m);
}

int fs_manifest_set_table(struct fs_manifest *m, const char *table)
{
    char *c = strdup(table);
    if (!c)
        return -1;
    free(m->table);
    m->table = c;
    return 0;
}

int fs_manifest_add(struct fs_manifest *m, const char *name, long items, uint64_t bytes,
                    const char *sha)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct fs_manifest_seg *v = realloc(m->segs, cap * sizeof *v);
        if (!v)
            return -1;
        m->segs = v;
        m->cap = cap;
    }
    struct fs_manifest_seg *s = &m->segs[m->n];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name)))
        return -1;
    s->items = items;
    s->bytes = bytes;
    if (sha)
        snprintf(s->sha, sizeof s->sha, "%s", sha);
    m->n++;
    m->items += items;
    m->bytes += bytes;
    return 0;
}

const struct fs_manifest_seg *fs_manifest_find(const struct fs_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->segs[i].name, name) == 0)
            return &m->segs[i];
    return NULL;
}

void fs_sha256_hex(const unsigned char d[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

/* A growing string for format. */
struct text {
    char *p;
    size_t len, cap;
    int oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *v = realloc(t->p, cap);
        if (!v) {
            t->oom = 1;
            return;
        }
        t->p = v;
        t->cap = cap;
    }
}

char *fs_manifest_format(const struct fs_manifest *m, size_t *len)
{
    struct text t = {malloc(4096), 0, 4096, 0};
    if (!t.p)
        return NULL;
    t.p[0] = '\0';
    char when[32] = "unknown";
    struct tm tm;
    if (m->time > 0 && gmtime_r(&m->time, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    put(&t, "# ddbfs manifest 1\n");
    put(&t, "# table: %s\n", m->table ? m->table : "");
    put(&t, "# segments: %u\n", m->nseg);
    put(&t, "# items: %ld\n", m->items);
    put(&t, "# bytes: %" PRIu64 "\n", m->bytes);
    put(&t, "# time: %s\n", when);
    if (m->schema_sha[0])
        put(&t, "# schema-sha256: %s\n", m->schema_sha);
    for (size_t i = 0; i < m->n; i++)
        put(&t, "# segment: %s items=%ld bytes=%" PRIu64 "\n", m->segs[i].name, m->segs[i].items,
            m->segs[i].bytes);
    put(&t, "# check a copy of this directory with: sha256sum -c %s\n",
        m->file ? m->file : FS_MANIFEST_NAME);
    if (m->schema_sha[0])
        put(&t, "%s  _schema.json\n", m->schema_sha);
    for (size_t i = 0; i < m->n; i++)
        if (m->segs[i].sha[0])
            put(&t, "%s  %s\n", m->segs[i].sha, m->segs[i].name);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

static int is_hex64(const char *p, size_t n)
{
    if (n < 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

/* Parses an unsigned decimal that fills [p, p+n). */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

static int starts(const char *line, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(line, prefix, k) == 0;
}

/* "# segment: NAME items=N bytes=B" (NAME has no spaces). */
static int parse_segment(struct fs_manifest *m, const char *p, size_t n)
{
    const char *sp = memchr(p, ' ', n);
    if (!sp || sp == p)
        return -1;
    char name[512];
    size_t nl = (size_t)(sp - p);
    if (nl >= sizeof name)
        return -1;
    memcpy(name, p, nl);
    name[nl] = '\0';
    const char *rest = sp + 1, *end = p + n;
    if (!starts(rest, (size_t)(end - rest), "items="))
        return -1;
    rest += 6;
    const char *sp2 = memchr(rest, ' ', (size_t)(end - rest));
    uint64_t items, bytes;
    if (!sp2 || parse_u64(rest, (size_t)(sp2 - rest), &items) ||
        !starts(sp2 + 1, (size_t)(end - sp2 - 1), "bytes=") ||
        parse_u64(sp2 + 7, (size_t)(end - sp2 - 7), &bytes))
        return -1;
    if (fs_manifest_find(m, name))
        return -1;
    return fs_manifest_add(m, name, (long)items, bytes, NULL);
}

int fs_manifest_parse(const char *text, size_t len, struct fs_manifest *m, char *msg, size_t msglen)
{
    const char *p = text, *end = text + len;
    long line_no = 0;
    int magic = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line_no++;
        const char *why = NULL;
        uint64_t v;
        if (n && p[n - 1] == '\r')
            n--;
        if (starts(p, n, "# ddbfs manifest 1")) {
            magic = 1;
        } else if (starts(p, n, "# table: ")) {
            char *name = strndup(p + 9, n - 9);
            if (!name || fs_manifest_set_table(m, name))
                why = "out of memory";
            free(name);
        } else if (starts(p, n, "# segments: ")) {
            if (parse_u64(p + 12, n - 12, &v) || v == 0 || v > 1000000)
                why = "the segment count is not a number from 1 to 1000000";
            else
                m->nseg = (unsigned)v;
        } else if (starts(p, n, "# schema-sha256: ")) {
            if (!is_hex64(p + 17, n - 17) || n - 17 != 64)
                why = "the schema checksum is not 64 hex digits";
            else
                snprintf(m->schema_sha, sizeof m->schema_sha, "%.64s", p + 17);
        } else if (starts(p, n, "# segment: ")) {
            if (parse_segment(m, p + 11, n - 11))
                why = "expected \"# segment: NAME items=N bytes=B\" (each name once)";
        } else if (n >= 66 && is_hex64(p, n) && p[64] == ' ' && (p[65] == ' ' || p[65] == '*')) {
            char name[512];
            size_t nl2 = n - 66;
            if (nl2 == 0 || nl2 >= sizeof name) {
                why = "a checksum line without a file name";
            } else {
                memcpy(name, p + 66, nl2);
                name[nl2] = '\0';
                const struct fs_manifest_seg *s = fs_manifest_find(m, name);
                if (s)
                    memcpy(((struct fs_manifest_seg *)s)->sha, p, 64);
                else if (strcmp(name, "_schema.json") != 0)
                    why = "a checksum for a file that no \"# segment:\" line names";
            }
        }
        if (why) {
            snprintf(msg, msglen, "line %ld: %s", line_no, why);
            fs_manifest_cleanup(m);
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    if (!magic) {
        snprintf(msg, msglen, "not a ddbfs manifest (no \"# ddbfs manifest 1\" line)");
        fs_manifest_cleanup(m);
        return -1;
    }
    if (m->nseg && m->n != m->nseg) {
        snprintf(msg, msglen, "it says %u segments but lists %zu", m->nseg, m->n);
        fs_manifest_cleanup(m);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (!m->segs[i].sha[0]) {
            snprintf(msg, msglen, "no checksum line for %s", m->segs[i].name);
            fs_manifest_cleanup(m);
            return -1;
        }
    }
    return 0;
}

void fs_manifest_name(unsigned k, unsigned m, char *out, size_t len)
{
    if (m <= 1)
        snprintf(out, len, "%s", FS_MANIFEST_NAME);
    else
        snprintf(out, len, "segments-%u-of-%u.sha256", k, m);
}

int fs_manifest_name_is(const char *name)
{
    if (strcmp(name, FS_MANIFEST_NAME) == 0)
        return 1;
    unsigned k, m;
    int end = 0;
    if (sscanf(name, "segments-%u-of-%u.sha256%n", &k, &m, &end) != 2 || name[end] != '\0')
        return 0;
    char again[FS_MANIFEST_NAME_MAX];
    fs_manifest_name(k, m, again, sizeof again);
    return m > 1 && k < m && strcmp(again, name) == 0; /* canonical digits only */
}
