#include "ddb/import.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STX '\x02' /* between the attributes of a legacy line */
#define ETX '\x03' /* between a legacy attribute's name and its value */

/* How much of the line a message may quote: at most NEAR_BEFORE + NEAR_AFTER bytes around a
 * position, or QUOTE_MAX bytes of each name, and a path of at most PATH_MAX_CHARS characters. */
#define NEAR_BEFORE 40
#define NEAR_AFTER 24
#define QUOTE_MAX 32
#define PATH_MAX_CHARS 96
#define TEXT_LEN 320 /* a rendered piece of a message: 64 bytes escaped as \xNN, and dots */

static const char bom[] = "\xef\xbb\xbf";

/* ---- message pieces ---- */

/* A bounded piece of text: adding past max chars drops the rest. */
struct text {
    char s[TEXT_LEN];
    size_t len;
    size_t max; /* < TEXT_LEN */
};

static void text_init(struct text *t, size_t max)
{
    t->s[0] = '\0';
    t->len = 0;
    t->max = max < TEXT_LEN ? max : TEXT_LEN - 1;
}

static void text_add(struct text *t, const char *p, size_t n)
{
    if (n > t->max - t->len)
        n = t->max - t->len;
    memcpy(t->s + t->len, p, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_addstr(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at p, or 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned long cp, min;
    size_t need;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        need = 2, min = 0x80, cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        need = 3, min = 0x800, cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        need = 4, min = 0x10000, cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

/* Adds p[0..n) so that the message stays one printable line: control bytes, DEL and bytes that
 * are not UTF-8 become \xNN, and a backslash becomes \\. A sequence never is cut in half. */
static void text_add_escaped(struct text *t, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    char hex[8];

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\') {
            text_add(t, p + i, 1);
        } else if (k == 1 && u[i] == '\\') {
            text_addstr(t, "\\\\");
        } else if (k > 1) {
            if (t->max - t->len < k)
                return;
            text_add(t, p + i, k);
            i += k;
            continue;
        } else {
            snprintf(hex, sizeof(hex), "\\x%02x", u[i]);
            text_addstr(t, hex);
        }
        i++;
    }
}

/* Adds at most QUOTE_MAX bytes of s, cut between characters, and "..." when cut. */
static void text_add_cut(struct text *t, const char *s, size_t n)
{
    size_t k = n;

    if (n > QUOTE_MAX) {
        k = QUOTE_MAX;
        while (k > 0 && (s[k] & 0xc0) == 0x80) /* do not cut a UTF-8 sequence */
            k--;
    }
    text_add_escaped(t, s, k);
    if (k < n)
        text_addstr(t, "...");
}

/* A name as a message quotes it: "name", or "its first 32 bytes..." */
static void text_add_name(struct text *t, const char *name, size_t n)
{
    text_addstr(t, "\"");
    text_add_cut(t, name, n);
    text_addstr(t, "\"");
}

/* The bytes around line[at] (0-based), with "..." where the line goes on. */
static void text_add_near(struct text *t, const char *line, size_t len, size_t at)
{
    size_t start, end;

    if (at > len)
        at = len;
    start = at > NEAR_BEFORE ? at - NEAR_BEFORE : 0;
    end = len - at > NEAR_AFTER ? at + NEAR_AFTER : len;
    for (int i = 0; i < 3 && start < at && (line[start] & 0xc0) == 0x80; i++)
        start++;
    for (int i = 0; i < 3 && end > start && end < len && (line[end] & 0xc0) == 0x80; i++)
        end--;
    if (start > 0)
        text_addstr(t, "...");
    text_add_escaped(t, line + start, end - start);
    if (end < len)
        text_addstr(t, "...");
    if (start == end)
        text_addstr(t, "(end of line)");
}

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf && errlen) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* jansson's reason without its own quote of the input (" near '...'"), which may be long. */
static void text_add_reason(struct text *t, const json_error_t *je)
{
    const char *near = strstr(je->text, " near ");
    size_t n = near ? (size_t)(near - je->text) : strlen(je->text);

    switch (json_error_code(je)) {
    case json_error_null_character:
        text_addstr(t, "\\u0000 in a string (NUL characters are not accepted)");
        return;
    case json_error_invalid_utf8:
        text_add(t, je->text, n);
        text_addstr(t, " (the line is not valid UTF-8)");
        return;
    case json_error_duplicate_key:
        text_add(t, je->text, n);
        text_addstr(t, " (an attribute or map key given twice)");
        return;
    default:
        text_add(t, je->text, n);
        return;
    }
}

/* ---- DynamoDB JSON: export lines and bare items ---- */

/* Type keys: DynamoDB JSON's, and the legacy spellings, matched in any case. */
struct legacy_type {
    const char *key; /* lower case */
    const char *type;
};

static const struct legacy_type legacy_types[] = {
    {"s", "S"},
    {"n", "N"},
    {"b", "B"},
    {"ss", "SS"},
    {"ns", "NS"},
    {"bs", "BS"},
    {"m", "M"},
    {"l", "L"},
    {"bool", "BOOL"},
    {"null", "NULL"},
    {"nullvalue", "NULL"},
    {"nul", "NULL"},
};
#define NLEGACY_TYPES (sizeof(legacy_types) / sizeof(legacy_types[0]))

/* The DynamoDB type a type key names, in any case and any legacy spelling; NULL if none. */
static const char *type_of_key(const char *key)
{
    for (size_t i = 0; i < NLEGACY_TYPES; i++) {
        if (strcasecmp(key, legacy_types[i].key) == 0)
            return legacy_types[i].type;
    }
    return NULL;
}

/* Whether a type key is a legacy spelling ("s", "nS", "bOOL"), not DynamoDB JSON's own ("S"). */
static int is_legacy_key(const char *key)
{
    const char *type = type_of_key(key);
    return type && strcmp(type, key) != 0;
}

#define LEGACY_KEYS "s, n, b, sS, nS, bS, m, l, bOOL or nULLValue, in any case"

/* Whether v reads as one AttributeValue all the way down: one type key holding what that type
 * needs (strings for S, N, B and the sets, booleans for BOOL and NULL, values in L and M).
 *
 * This decides {"Item":V}: a bare item whose attribute "Item" is V when V reads as a value, an
 * export line whose item is V otherwise. The two readings exclude each other (an object that reads
 * both as one value and as a map of values would be {"M":X} with X again both, without end), so a
 * valid line is never misread: {"Item":{"S":"x"}} is a bare item, and the export of an item whose
 * only attribute is a key named like a type, {"Item":{"M":{"S":"k"}}}, is an export line. */
static int reads_as_value(json_t *v)
{
    const char *type = NULL, *k;
    json_t *x = NULL, *m;
    size_t i;

    if (!json_is_object(v) || json_object_size(v) != 1)
        return 0;
    json_object_foreach(v, k, m)
    {
        type = type_of_key(k);
        x = m;
    }
    if (!type)
        return 0;
    if (!strcmp(type, "S") || !strcmp(type, "N") || !strcmp(type, "B"))
        return json_is_string(x);
    if (!strcmp(type, "BOOL") || !strcmp(type, "NULL"))
        return json_is_boolean(x) || json_is_string(x); /* legacy "true" */
    if (!strcmp(type, "L")) {
        if (!json_is_array(x))
            return 0;
        json_array_foreach(x, i, m)
        {
            if (!reads_as_value(m))
                return 0;
        }
        return 1;
    }
    if (!strcmp(type, "M")) {
        if (!json_is_object(x))
            return 0;
        json_object_foreach(x, k, m)
        {
            if (!reads_as_value(m))
                return 0;
        }
        return 1;
    }
    if (!json_is_array(x)) /* SS, NS, BS */
        return 0;
    json_array_foreach(x, i, m)
    {
        if (!json_is_string(m))
            return 0;
    }
    return 1;
}

/* Whether some attribute of an item has a legacy type key: a line of the later Data Pipeline
 * export (one JSON object per line, {"name":{"s":"text"}}). */
static int has_legacy_keys(json_t *item)
{
    const char *name, *key;
    json_t *v, *x;

    json_object_foreach(item, name, v)
    {
        if (json_object_size(v) != 1)
            continue;
        json_object_foreach(v, key, x)
        {
            if (is_legacy_key(key))
                return 1;
        }
    }
    return 0;
}

static int legacy_json(json_t *body, json_t **item, char *errbuf, size_t errlen);

static int parse_json(const char *line, size_t len, size_t base, json_t **item,
                      enum ddb_import_format *format, char *errbuf, size_t errlen)
{
    json_error_t je;
    json_t *root, *body, *v;
    enum ddb_import_format f = DDB_IMPORT_BARE_ITEM;
    const char *name;
    struct text near, reason, quoted;
    int rc = -1;

    root = json_loadb(line + base, len - base, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        size_t at = base + (je.position > 0 ? (size_t)je.position : 0);
        text_init(&reason, TEXT_LEN - 1);
        text_add_reason(&reason, &je);
        text_init(&near, TEXT_LEN - 1);
        text_add_near(&near, line, len, at > 0 ? at - 1 : 0);
        return fail(errbuf, errlen, "invalid JSON at column %d (byte %zu%s): %s; near: %s",
                    je.column + (base ? 1 : 0), at,
                    json_error_code(&je) == json_error_premature_end_of_input
                        ? ", the end of the line"
                        : "",
                    reason.s, near.s);
    }
    if (!json_is_object(root)) {
        fail(errbuf, errlen,
             "the line is %s, not an object: expected an item {\"name\":{\"S\":\"text\"},...} or "
             "{\"Item\":{...}}",
             json_is_array(root) ? "a JSON array" : json_type_name(root));
        goto out;
    }
    body = root;
    v = json_object_get(root, "Item");
    if (v && json_object_size(root) == 1 && json_is_object(v) && !reads_as_value(v)) {
        body = v;
        f = DDB_IMPORT_EXPORT_LINE;
    }
    json_object_foreach(body, name, v)
    {
        if (!json_is_object(v)) {
            text_init(&quoted, TEXT_LEN - 1);
            text_add_name(&quoted, name, strlen(name));
            fail(errbuf, errlen,
                 "%sattribute %s is %s, not an AttributeValue object such as {\"S\":\"text\"}",
                 f == DDB_IMPORT_EXPORT_LINE ? "Item " : "", quoted.s, json_type_name(v));
            goto out;
        }
    }
    if (has_legacy_keys(body)) {
        rc = legacy_json(body, item, errbuf, errlen);
        if (rc == 0)
            *format = DDB_IMPORT_LEGACY;
        goto out;
    }
    *item = json_incref(body);
    *format = f;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- legacy Data Pipeline / EMR Hive lines ---- */

/* Where a conversion is, for its messages: the attribute and the path inside it. */
struct legacy {
    const char *line;
    size_t len;
    size_t attr_at; /* 1-based byte where the attribute starts; 0 in a JSON line */
    struct text path;
    char *errbuf;
    size_t errlen;
};

static int legacy_fail(struct legacy *lg, const char *what, ...)
    __attribute__((format(printf, 2, 3)));

static int legacy_fail(struct legacy *lg, const char *what, ...)
{
    char msg[TEXT_LEN];
    va_list ap;

    va_start(ap, what);
    vsnprintf(msg, sizeof(msg), what, ap);
    va_end(ap);
    if (!lg->attr_at)
        return fail(lg->errbuf, lg->errlen, "legacy Data Pipeline line: attribute %s: %s",
                    lg->path.s, msg);
    return fail(lg->errbuf, lg->errlen, "legacy Data Pipeline line: attribute %s at byte %zu: %s",
                lg->path.s, lg->attr_at, msg);
}

static int legacy_value(struct legacy *lg, json_t *av, json_t **out);

static int legacy_map(struct legacy *lg, json_t *m, json_t **out)
{
    const char *k;
    json_t *v, *conv;
    size_t mark = lg->path.len;

    *out = json_object();
    if (!*out)
        return fail(lg->errbuf, lg->errlen, "out of memory");
    json_object_foreach(m, k, v)
    {
        text_addstr(&lg->path, ".");
        text_add_cut(&lg->path, k, strlen(k));
        if (legacy_value(lg, v, &conv) < 0)
            goto fail;
        lg->path.len = mark;
        lg->path.s[mark] = '\0';
        if (json_object_set_new(*out, k, conv) < 0) {
            fail(lg->errbuf, lg->errlen, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    json_decref(*out);
    *out = NULL;
    return -1;
}

static int legacy_list(struct legacy *lg, json_t *l, json_t **out)
{
    size_t i, mark = lg->path.len;
    json_t *v, *conv;
    char idx[32];

    *out = json_array();
    if (!*out)
        return fail(lg->errbuf, lg->errlen, "out of memory");
    json_array_foreach(l, i, v)
    {
        snprintf(idx, sizeof(idx), "[%zu]", i);
        text_addstr(&lg->path, idx);
        if (legacy_value(lg, v, &conv) < 0)
            goto fail;
        lg->path.len = mark;
        lg->path.s[mark] = '\0';
        if (json_array_append_new(*out, conv) < 0) {
            fail(lg->errbuf, lg->errlen, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    json_decref(*out);
    *out = NULL;
    return -1;
}

/* Converts one legacy AttributeValue ({"nS":[...]}) to DynamoDB JSON ({"NS":[...]}): a new
 * reference in *out. */
static int legacy_value(struct legacy *lg, json_t *av, json_t **out)
{
    const char *key = NULL, *type, *k;
    json_t *v = NULL, *x, *conv = NULL;
    struct text keys;
    int n = 0;

    *out = NULL;
    if (!json_is_object(av))
        return legacy_fail(lg, "the value is %s, not an object such as {\"s\":\"text\"}",
                           json_type_name(av));
    if (json_object_size(av) != 1) {
        text_init(&keys, 2 * QUOTE_MAX + 16);
        json_object_foreach(av, k, x)
        {
            if (n++ == 3) {
                text_addstr(&keys, ", ...");
                break;
            }
            text_addstr(&keys, n > 1 ? ", " : "");
            text_add_name(&keys, k, strlen(k));
        }
        if (n == 0)
            return legacy_fail(lg, "the value {} has no type key; expected one of " LEGACY_KEYS);
        return legacy_fail(lg, "the value has %zu type keys (%s); expected exactly one",
                           json_object_size(av), keys.s);
    }
    json_object_foreach(av, k, x)
    {
        key = k;
        v = x;
    }
    type = type_of_key(key);
    if (!type) {
        text_init(&keys, TEXT_LEN - 1);
        text_add_name(&keys, key, strlen(key));
        return legacy_fail(lg, "unknown type key %s; expected one of " LEGACY_KEYS, keys.s);
    }
    if (!strcmp(type, "M")) {
        if (!json_is_object(v))
            return legacy_fail(lg, "\"%s\" holds %s, not an object of attributes", key,
                               json_type_name(v));
        if (legacy_map(lg, v, &conv) < 0)
            return -1;
    } else if (!strcmp(type, "L")) {
        if (!json_is_array(v))
            return legacy_fail(lg, "\"%s\" holds %s, not an array of values", key,
                               json_type_name(v));
        if (legacy_list(lg, v, &conv) < 0)
            return -1;
    } else if ((!strcmp(type, "BOOL") || !strcmp(type, "NULL")) && json_is_string(v) &&
               (!strcasecmp(json_string_value(v), "true") ||
                !strcasecmp(json_string_value(v), "false"))) {
        conv = json_boolean(!strcasecmp(json_string_value(v), "true"));
    } else {
        /* Strings, sets and booleans as given: ddb_item_check judges them. */
        conv = json_incref(v);
    }
    *out = json_object();
    if (!*out) {
        json_decref(conv);
        return fail(lg->errbuf, lg->errlen, "out of memory");
    }
    if (json_object_set_new(*out, type, conv) < 0) { /* takes conv even when it fails */
        json_decref(*out);
        *out = NULL;
        return fail(lg->errbuf, lg->errlen, "out of memory");
    }
    return 0;
}

/* One attribute, name\x03value, at line[start..end). */
static int legacy_attribute(struct legacy *lg, json_t *item, unsigned num, size_t start, size_t end)
{
    const char *line = lg->line;
    const char *etx = memchr(line + start, ETX, end - start);
    size_t name_len, vstart;
    const char *second;
    json_error_t je;
    json_t *av, *conv;
    struct text near, reason;
    int rc;

    lg->attr_at = start + 1;
    if (start == end)
        return fail(lg->errbuf, lg->errlen,
                    "legacy Data Pipeline line: attribute %u at byte %zu is empty (a \\x02 "
                    "separator at the start or end of the line, or two in a row)",
                    num, lg->attr_at);
    text_init(&near, TEXT_LEN - 1);
    if (!etx) {
        text_add_near(&near, line, lg->len, start);
        return fail(lg->errbuf, lg->errlen,
                    "legacy Data Pipeline line: attribute %u at byte %zu has no \\x03 between its "
                    "name and its value; near: %s",
                    num, lg->attr_at, near.s);
    }
    name_len = (size_t)(etx - (line + start));
    if (name_len == 0) {
        text_add_near(&near, line, lg->len, start);
        return fail(lg->errbuf, lg->errlen,
                    "legacy Data Pipeline line: attribute %u at byte %zu has an empty name; "
                    "near: %s",
                    num, lg->attr_at, near.s);
    }
    text_init(&lg->path, PATH_MAX_CHARS);
    text_add_name(&lg->path, line + start, name_len);
    if (json_object_getn(item, line + start, name_len))
        return legacy_fail(lg, "the attribute appears twice in the line");
    vstart = start + name_len + 1;
    second = memchr(line + vstart, ETX, end - vstart);
    if (second)
        return legacy_fail(lg, "a second \\x03 at byte %zu (a name or value cannot hold one)",
                           (size_t)(second - line) + 1);
    av = json_loadb(line + vstart, end - vstart, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!av) {
        size_t at = vstart + (je.position > 0 ? (size_t)je.position : 0);
        text_init(&reason, TEXT_LEN - 1);
        text_add_reason(&reason, &je);
        text_add_near(&near, line, lg->len, at > 0 ? at - 1 : 0);
        return legacy_fail(lg, "invalid JSON value at byte %zu%s: %s; near: %s", at,
                           json_error_code(&je) == json_error_premature_end_of_input
                               ? " (the end of the value)"
                               : "",
                           reason.s, near.s);
    }
    rc = legacy_value(lg, av, &conv);
    json_decref(av);
    if (rc < 0)
        return -1;
    if (json_object_setn_new(item, line + start, name_len, conv) < 0)
        return legacy_fail(lg, "the name is not valid UTF-8");
    return 0;
}

static int parse_legacy(const char *line, size_t len, size_t base, json_t **item, char *errbuf,
                        size_t errlen)
{
    struct legacy lg = {.line = line, .len = len, .errbuf = errbuf, .errlen = errlen};
    json_t *out = json_object();
    size_t start = base;
    unsigned num = 1;

    if (!out)
        return fail(errbuf, errlen, "out of memory");
    for (;;) {
        const char *stx = memchr(line + start, STX, len - start);
        size_t end = stx ? (size_t)(stx - line) : len;
        if (legacy_attribute(&lg, out, num++, start, end) < 0) {
            json_decref(out);
            return -1;
        }
        if (!stx)
            break;
        start = end + 1;
    }
    *item = out;
    return 0;
}

/* A JSON line with legacy type keys, {"name":{"s":"text"},...}: converts every attribute. */
static int legacy_json(json_t *body, json_t **item, char *errbuf, size_t errlen)
{
    struct legacy lg = {.errbuf = errbuf, .errlen = errlen};
    json_t *out = json_object(), *v, *conv;
    const char *name;

    if (!out)
        return fail(errbuf, errlen, "out of memory");
    json_object_foreach(body, name, v)
    {
        text_init(&lg.path, PATH_MAX_CHARS);
        text_add_name(&lg.path, name, strlen(name));
        if (legacy_value(&lg, v, &conv) < 0)
            goto fail;
        if (json_object_set_new(out, name, conv) < 0) {
            fail(errbuf, errlen, "out of memory");
            goto fail;
        }
    }
    *item = out;
    return 0;
fail:
    json_decref(out);
    return -1;
}

/* ---- the line ---- */

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ddb_import_line(const char *line, size_t len, json_t **item, enum ddb_import_format *format,
                    char *errbuf, size_t errlen)
{
    size_t base = 0, first;
    const char *nul;
    int has_separator, rc;
    struct text near;

    *item = NULL;
    *format = DDB_IMPORT_NONE;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len >= 3 && memcmp(line, bom, 3) == 0)
        base = 3;
    for (first = base; first < len && is_json_space(line[first]); first++)
        ;
    if (first == len)
        return 1;
    nul = memchr(line, '\0', len);
    if (nul) {
        text_init(&near, TEXT_LEN - 1);
        text_add_near(&near, line, len, (size_t)(nul - line));
        return fail(errbuf, errlen,
                    "NUL byte at byte %zu: a line of text cannot hold one; near: %s",
                    (size_t)(nul - line) + 1, near.s);
    }

    /* JSON never holds a raw \x02 or \x03 (control characters must be escaped inside strings), and
     * a legacy line always holds a \x03, so they tell the formats apart. A legacy attribute name
     * may start with '{', so a line that does and fails as JSON is tried as legacy too; if that
     * fails as well, the JSON error is the one reported. */
    has_separator = memchr(line + base, ETX, len - base) || memchr(line + base, STX, len - base);
    if (!has_separator || line[first] == '{') {
        rc = parse_json(line, len, base, item, format, errbuf, errlen);
        if (rc == 0 || !has_separator)
            return rc;
        if (parse_legacy(line, len, base, item, NULL, 0) < 0)
            return -1; /* errbuf holds the JSON error */
        if (errbuf && errlen)
            errbuf[0] = '\0';
    } else if (parse_legacy(line, len, base, item, errbuf, errlen) < 0) {
        return -1;
    }
    *format = DDB_IMPORT_LEGACY;
    return 0;
}

const char *ddb_import_format_name(enum ddb_import_format f)
{
    switch (f) {
    case DDB_IMPORT_NONE:
        return "none";
    case DDB_IMPORT_EXPORT_LINE:
        return "export line";
    case DDB_IMPORT_BARE_ITEM:
        return "bare item";
    case DDB_IMPORT_LEGACY:
        return "legacy Data Pipeline line";
    }
    return "unknown";
}
