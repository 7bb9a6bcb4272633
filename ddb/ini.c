/* The AWS CLI's INI dialect, as botocore reads it (Python's RawConfigParser plus its own nested
 * values):
 *   - "[name]" starts a section; the name is trimmed and runs of blanks inside it become one space
 *     ("[profile   dev]" is "profile dev"). A comment may follow the "]".
 *   - "key = value" (or "key: value"): split at the first '=' or ':'; key and value are trimmed and
 *     the key is lower-cased (RawConfigParser's optionxform), so "AWS_ACCESS_KEY_ID" works.
 *   - Lines whose first non-blank character is '#' or ';' are comments; in a value, '#' or ';'
 *     after a blank starts a comment.
 *   - A line indented deeper than its key continues it: after an empty value the lines are a
 *     sub-section of "key = value" pairs (split at '=' only, keys kept as written); after a value
 *     they are appended to it with a newline between.
 *   - Blank lines are skipped and do not end a value; CR before LF and a UTF-8 BOM are ignored.
 *   - A section given twice is one section; a key given twice keeps its later value.
 * Messages name the file and line and never quote the line (it may hold a secret). Values are
 * zeroed before they are freed. */
#include "ddb/ini.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/limits.h"

struct entry {
    char *key;
    char *value;
    struct entry *subs; /* the sub-section's pairs, when the value was empty */
    size_t nsubs;
    size_t subs_cap;
};

struct section {
    char *name;
    struct entry *entries;
    size_t nentries;
    size_t entries_cap;
};

struct ddb_ini {
    struct section *sections;
    size_t nsections;
    size_t sections_cap;
};

/* Parser state for one text. */
struct parser {
    struct ddb_ini *ini;
    const char *file_name;
    size_t lineno;
    struct section *sect; /* current section, or NULL before the first header */
    size_t entry_idx;     /* index in sect of the last key, when have_entry */
    int have_entry;
    size_t entry_indent; /* indentation of that key's line */
    char *errbuf;
    size_t errlen;
};

static void zero_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static void entry_cleanup(struct entry *e)
{
    zero_free(e->key);
    zero_free(e->value);
    for (size_t i = 0; i < e->nsubs; i++)
        entry_cleanup(&e->subs[i]);
    free(e->subs);
}

void ddb_ini_free(struct ddb_ini *ini)
{
    if (!ini)
        return;
    for (size_t i = 0; i < ini->nsections; i++) {
        struct section *s = &ini->sections[i];
        free(s->name);
        for (size_t j = 0; j < s->nentries; j++)
            entry_cleanup(&s->entries[j]);
        free(s->entries);
    }
    free(ini->sections);
    free(ini);
}

/* Grows *arr (of elements of size elem) so that one more fits. Returns 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static void fail(struct parser *ps, const char *what)
{
    if (ps->errbuf && ps->errlen)
        snprintf(ps->errbuf, ps->errlen, "%s line %zu: %s", ps->file_name, ps->lineno, what);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_space(char c)
{
    return is_blank(c) || c == '\f' || c == '\v';
}

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Trims blanks on both sides of [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
    while (*n && is_space(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_space((*p)[*n - 1]))
        (*n)--;
}

/* Cuts a comment ('#' or ';' after a blank) off a value. */
static size_t cut_comment(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((p[i] == '#' || p[i] == ';') && is_space(p[i - 1]))
            return i;
    return n;
}

static struct section *find_section(const struct ddb_ini *ini, const char *name)
{
    if (!ini || !name)
        return NULL;
    for (size_t i = 0; i < ini->nsections; i++)
        if (strcmp(ini->sections[i].name, name) == 0)
            return &ini->sections[i];
    return NULL;
}

static struct entry *find_entry(struct entry *entries, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(entries[i].key, key) == 0)
            return &entries[i];
    return NULL;
}

/* Sets key to value (both taken over) in the array, replacing an earlier value. Returns the entry
 * or NULL (out of memory; key and value are freed). */
static struct entry *put_entry(struct entry **entries, size_t *n, size_t *cap, char *key,
                               char *value)
{
    struct entry *e = find_entry(*entries, *n, key);
    if (e) {
        zero_free(key);
        zero_free(e->value);
        for (size_t i = 0; i < e->nsubs; i++)
            entry_cleanup(&e->subs[i]);
        free(e->subs);
        e->subs = NULL;
        e->nsubs = e->subs_cap = 0;
        e->value = value;
        return e;
    }
    if (grow((void **)entries, cap, *n, sizeof(**entries)) < 0) {
        zero_free(key);
        zero_free(value);
        return NULL;
    }
    e = &(*entries)[(*n)++];
    memset(e, 0, sizeof(*e));
    e->key = key;
    e->value = value;
    return e;
}

static int oom(struct parser *ps)
{
    fail(ps, "out of memory");
    return -1;
}

/* "[name]" with optional comment after. line has no leading blanks. */
static int parse_header(struct parser *ps, const char *line, size_t n)
{
    const char *close = memchr(line, ']', n);
    if (!close) {
        fail(ps, "expected ']' at the end of the section header");
        return -1;
    }
    const char *rest = close + 1;
    size_t restn = n - (size_t)(rest - line);
    trim(&rest, &restn);
    if (restn && rest[0] != '#' && rest[0] != ';') {
        fail(ps, "unexpected text after the section header's ']'");
        return -1;
    }
    const char *name = line + 1;
    size_t namen = (size_t)(close - name);
    trim(&name, &namen);
    if (namen == 0) {
        fail(ps, "empty section name");
        return -1;
    }
    char *norm = malloc(namen + 1);
    if (!norm)
        return oom(ps);
    size_t k = 0;
    for (size_t i = 0; i < namen; i++) {
        if (is_space(name[i])) {
            if (k && norm[k - 1] != ' ')
                norm[k++] = ' ';
        } else {
            norm[k++] = name[i];
        }
    }
    norm[k] = '\0';

    struct section *s = find_section(ps->ini, norm);
    if (s) {
        free(norm);
    } else {
        struct ddb_ini *ini = ps->ini;
        if (grow((void **)&ini->sections, &ini->sections_cap, ini->nsections,
                 sizeof(*ini->sections)) < 0) {
            free(norm);
            return oom(ps);
        }
        s = &ini->sections[ini->nsections++];
        memset(s, 0, sizeof(*s));
        s->name = norm;
    }
    ps->sect = s;
    ps->have_entry = 0;
    return 0;
}

/* Splits "key <delim> value" at the first delimiter. Returns 0, or -1 when there is none or the
 * key is empty. */
static int split_pair(const char *line, size_t n, const char *delims, const char **key,
                      size_t *keyn, const char **val, size_t *valn)
{
    size_t i = 0;
    while (i < n && !strchr(delims, line[i]))
        i++;
    if (i == n)
        return -1;
    *key = line;
    *keyn = i;
    trim(key, keyn);
    if (*keyn == 0)
        return -1;
    *val = line + i + 1;
    *valn = cut_comment(*val, n - i - 1);
    trim(val, valn);
    return 0;
}

static int parse_pair(struct parser *ps, const char *line, size_t n, size_t indent)
{
    const char *key, *val;
    size_t keyn, valn;
    if (split_pair(line, n, "=:", &key, &keyn, &val, &valn) < 0) {
        fail(ps, "expected [section] or key = value");
        return -1;
    }
    if (!ps->sect) {
        fail(ps, "key = value before any [section]");
        return -1;
    }
    char *k = dup_range(key, keyn);
    char *v = k ? dup_range(val, valn) : NULL;
    if (!v) {
        free(k);
        return oom(ps);
    }
    for (char *c = k; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    struct section *s = ps->sect;
    struct entry *e = put_entry(&s->entries, &s->nentries, &s->entries_cap, k, v);
    if (!e)
        return oom(ps);
    ps->entry_idx = (size_t)(e - s->entries);
    ps->have_entry = 1;
    ps->entry_indent = indent;
    return 0;
}

/* A line indented deeper than the last key. */
static int parse_continuation(struct parser *ps, const char *line, size_t n)
{
    struct entry *e = &ps->sect->entries[ps->entry_idx];
    if (e->value[0] == '\0' || e->nsubs) {
        const char *key, *val;
        size_t keyn, valn;
        if (split_pair(line, n, "=", &key, &keyn, &val, &valn) < 0) {
            fail(ps, "expected key = value in an indented sub-section");
            return -1;
        }
        char *k = dup_range(key, keyn);
        char *v = k ? dup_range(val, valn) : NULL;
        if (!v) {
            free(k);
            return oom(ps);
        }
        return put_entry(&e->subs, &e->nsubs, &e->subs_cap, k, v) ? 0 : oom(ps);
    }
    size_t cut = cut_comment(line, n);
    trim(&line, &cut);
    if (cut == 0)
        return 0;
    size_t old = strlen(e->value);
    char *v = malloc(old + 1 + cut + 1);
    if (!v)
        return oom(ps);
    memcpy(v, e->value, old);
    v[old] = '\n';
    memcpy(v + old + 1, line, cut);
    v[old + 1 + cut] = '\0';
    zero_free(e->value);
    e->value = v;
    return 0;
}

static int parse_line(struct parser *ps, const char *line, size_t n)
{
    size_t indent = 0;
    while (indent < n && is_space(line[indent]))
        indent++;
    const char *p = line + indent;
    size_t rest = n - indent;
    while (rest && is_space(p[rest - 1]))
        rest--;
    if (rest == 0 || p[0] == '#' || p[0] == ';')
        return 0;
    if (memchr(p, '\0', rest)) {
        fail(ps, "unexpected NUL byte");
        return -1;
    }
    if (ps->have_entry && indent > ps->entry_indent)
        return parse_continuation(ps, p, rest);
    if (p[0] == '[')
        return parse_header(ps, p, rest);
    return parse_pair(ps, p, rest, indent);
}

struct ddb_ini *ddb_ini_parse(const char *text, size_t len, const char *file_name, char *errbuf,
                              size_t errlen)
{
    struct parser ps = {0};
    ps.file_name = file_name ? file_name : "(config)";
    ps.errbuf = errbuf;
    ps.errlen = errlen;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    ps.ini = calloc(1, sizeof(*ps.ini));
    if (!ps.ini) {
        oom(&ps);
        return NULL;
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n && text[pos + n - 1] == '\r')
            n--;
        ps.lineno++;
        if (parse_line(&ps, text + pos, n) < 0) {
            ddb_ini_free(ps.ini);
            return NULL;
        }
        pos = end + 1;
    }
    return ps.ini;
}

struct ddb_ini *ddb_ini_load(const char *path, int *missing, char *errbuf, size_t errlen)
{
    struct ddb_ini *ini = NULL;
    struct buf text;
    int fd = -1;
    char ebuf[128];

    buf_init(&text, DDB_CONFIG_FILE_MAX);
    *missing = 0;
    if (errbuf && errlen)
        errbuf[0] = '\0';

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = 1;
            goto out;
        }
        goto sys_error;
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        goto sys_error;
    if (S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "%s: is a directory, not a file", path);
        goto out;
    }
    for (;;) {
        char chunk[4096];
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            goto sys_error;
        }
        if (r == 0)
            break;
        enum buf_err be = buf_add(&text, chunk, (size_t)r);
        explicit_bzero(chunk, sizeof chunk);
        if (be == BUF_ETOOBIG) {
            snprintf(errbuf, errlen, "%s: larger than %u bytes", path,
                     (unsigned)DDB_CONFIG_FILE_MAX);
            goto out;
        }
        if (be != BUF_OK) {
            snprintf(errbuf, errlen, "%s: %s", path, buf_strerror(be));
            goto out;
        }
    }
    ini = ddb_ini_parse(buf_str(&text), text.len, path, errbuf, errlen);
    goto out;

sys_error:
    snprintf(errbuf, errlen, "%s: %s", path, strerror_r(errno, ebuf, sizeof ebuf));
out:
    if (fd >= 0)
        close(fd);
    if (text.data)
        explicit_bzero(text.data, text.len);
    buf_cleanup(&text);
    return ini;
}

const char *ddb_ini_get(const struct ddb_ini *ini, const char *section, const char *key)
{
    struct section *s = find_section(ini, section);
    if (!s || !key)
        return NULL;
    struct entry *e = find_entry(s->entries, s->nentries, key);
    return e ? e->value : NULL;
}

const char *ddb_ini_get_sub(const struct ddb_ini *ini, const char *section, const char *sub,
                            const char *key)
{
    struct section *s = find_section(ini, section);
    if (!s || !sub || !key)
        return NULL;
    struct entry *e = find_entry(s->entries, s->nentries, sub);
    if (!e)
        return NULL;
    struct entry *k = find_entry(e->subs, e->nsubs, key);
    return k ? k->value : NULL;
}

int ddb_ini_has_section(const struct ddb_ini *ini, const char *section)
{
    return find_section(ini, section) != NULL;
}
