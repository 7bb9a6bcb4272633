#include "ddb/item.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

/* DynamoDB's limits on attribute values. */
#define NEST_MAX 32        /* levels of L and M, counting the top-level attribute as 1 */
#define HASH_KEY_MAX 2048  /* bytes of a partition key value */
#define RANGE_KEY_MAX 1024 /* bytes of a sort key value */
#define NUM_DIGITS_MAX 38  /* significant digits of a number */
#define NUM_EXP_MAX 125    /* power of ten of a number's leading digit: 9.99..E+125 */
#define NUM_EXP_MIN (-130) /* and 1E-130 */
#define PATH_LEN 256       /* an attribute path in a message: a.b[2].c */
/* An exponent is parsed no further than this: past it, the number is out of range anyway. */
#define NUM_EXP_SATURATE 1000

static const char *const types[] = {"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* The one type of an AttributeValue, or NULL when av is not an object with a known type. */
static const char *value_type(const json_t *av, const json_t **val)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)av, key, v)
    {
        for (size_t i = 0; i < NTYPES; i++) {
            if (strcmp(key, types[i]) == 0) {
                *val = v;
                return types[i];
            }
        }
    }
    return NULL;
}

/* A number as DynamoDB stores it: sign, significant digits without leading or trailing zeros,
 * and the power of ten of the first of them. */
struct number {
    int negative;
    int zero;
    size_t ndigits;
    char digits[NUM_DIGITS_MAX + 1]; /* the first NUM_DIGITS_MAX of them */
    long exp;
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses [+-]digits[.digits][(e|E)[+-]digits]. Returns 0, or -1 when s is not a number. */
static int number_parse(const char *s, size_t len, struct number *n)
{
    size_t i = 0, trailing_zeros = 0;
    long int_digits = 0;   /* integer-part digits from the first significant one */
    long frac_leading = 0; /* fraction zeros before the first significant digit */
    int any = 0, in_frac = 0;

    memset(n, 0, sizeof(*n));
    n->zero = 1;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        n->negative = s[i++] == '-';
    for (; i < len; i++) {
        if (s[i] == '.' && !in_frac) {
            in_frac = 1;
            continue;
        }
        if (!is_digit(s[i]))
            break;
        any = 1;
        if (n->zero && s[i] == '0') {
            if (in_frac)
                frac_leading++;
            continue;
        }
        n->zero = 0;
        if (!in_frac)
            int_digits++;
        if (n->ndigits < NUM_DIGITS_MAX)
            n->digits[n->ndigits] = s[i];
        n->ndigits++;
        trailing_zeros = s[i] == '0' ? trailing_zeros + 1 : 0;
    }
    if (!any)
        return -1;
    long e = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == len || !is_digit(s[i]))
            return -1;
        for (; i < len && is_digit(s[i]); i++)
            if (e < NUM_EXP_SATURATE)
                e = e * 10 + (s[i] - '0');
        if (eneg)
            e = -e;
    }
    if (i != len)
        return -1;
    if (n->zero) {
        n->negative = 0;
        n->ndigits = 0;
        return 0;
    }
    n->ndigits -= trailing_zeros;
    if (n->ndigits < NUM_DIGITS_MAX)
        n->digits[n->ndigits] = '\0';
    n->exp = (int_digits > 0 ? int_digits - 1 : -(frac_leading + 1)) + e;
    return 0;
}

static long floor_div2(long x)
{
    return x >= 0 ? x / 2 : -((1 - x) / 2);
}

/* DynamoDB stores a number's digits in pairs aligned on the decimal point (base 100), after one
 * byte of exponent, with one more byte for a negative number; zero takes 1 byte. This is what
 * dynalite computes as 1 + ceil(d/2) + (d and e both even) + negative, and about (d + 1)/2 + 1.
 * A string that is not a number is counted as about half its length plus one. */
static size_t number_size(const char *s, size_t len)
{
    struct number n;
    if (number_parse(s, len, &n) < 0)
        return (len + 1) / 2 + 1;
    if (n.zero)
        return 1;
    long last = n.exp - (long)n.ndigits + 1; /* power of ten of the last significant digit */
    long pairs = floor_div2(n.exp) - floor_div2(last) + 1;
    return 1 + (size_t)pairs + (n.negative ? 1 : 0);
}

static int is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' || c == '/';
}

/* Decoded length: 3 bytes for each 4 characters of the alphabet, padding not counted. */
static size_t binary_size(const char *s, size_t len)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += is_base64_char(s[i]);
    return chars * 3 / 4;
}

static size_t scalar_size(const char *type, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (!s)
        return 0;
    if (type[0] == 'N')
        return number_size(s, len);
    if (type[0] == 'B')
        return binary_size(s, len);
    return len;
}

static size_t value_size(const json_t *av)
{
    const json_t *v = NULL;
    const char *type = value_type(av, &v);
    size_t size = 0, i;
    const char *key;
    json_t *elem;

    if (!type)
        return 0;
    if (strcmp(type, "BOOL") == 0 || strcmp(type, "NULL") == 0)
        return 1;
    if (type[1] == 'S') { /* SS, NS, BS: the sum of the members */
        char member[2] = {type[0], '\0'};
        json_array_foreach(v, i, elem)
        {
            size += scalar_size(member, elem);
        }
        return size;
    }
    if (type[0] == 'L') {
        size = 3;
        json_array_foreach(v, i, elem)
        {
            size += 1 + value_size(elem);
        }
        return size;
    }
    if (type[0] == 'M') {
        size = 3;
        json_object_foreach((json_t *)v, key, elem)
        {
            size += 1 + strlen(key) + value_size(elem);
        }
        return size;
    }
    return scalar_size(type, v);
}

size_t ddb_item_size(const json_t *item)
{
    size_t size = 0;
    const char *name;
    json_t *av;
    if (!json_is_object(item))
        return 0;
    json_object_foreach((json_t *)item, name, av)
    {
        size += strlen(name) + value_size(av);
    }
    return size;
}

/* ---- ddb_item_check ---- */

struct check {
    char *err;
    size_t errlen;
    char path[PATH_LEN]; /* the attribute being checked */
};

__attribute__((format(printf, 2, 3))) static int fail(struct check *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Quotes s[0..n) into out (outlen >= 8 bytes) so that a message stays one printable line, whatever
 * the input holds: control bytes and DEL become \xNN, and a text too long for out is cut between
 * two characters and ends in "...". Returns out. */
static const char *quote(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0, room = outlen - 4; /* "..." and the NUL */

    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        int ctl = ch < 0x20 || ch == 0x7f;
        size_t k = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc0 ? 2 : 1;
        if (k > n - i)
            k = n - i;
        size_t w = ctl ? 4 : k;
        if (o + w > room) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ctl)
            snprintf(out + o, 5, "\\x%02x", ch);
        else
            memcpy(out + o, s + i, k);
        o += w;
        i += k;
    }
    out[o] = '\0';
    return out;
}

#define QUOTE_NAME 64 /* bytes of a name or value a message quotes */

/* Sets the path to its first len bytes followed by fmt (truncated when too long, between two
 * characters). */
__attribute__((format(printf, 3, 4))) static void path_set(struct check *c, size_t len,
                                                           const char *fmt, ...)
{
    if (len >= sizeof(c->path))
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(c->path + len, sizeof(c->path) - len, fmt, ap);
    va_end(ap);
    size_t end = strlen(c->path), lead = end;
    if (w < 0 || (size_t)w < sizeof(c->path) - len)
        return;
    /* Cut short: drop a last character whose bytes did not all fit. */
    while (lead > len && ((unsigned char)c->path[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead > len) {
        unsigned char ch = (unsigned char)c->path[lead - 1];
        size_t k = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc0 ? 2 : 1;
        if (end - (lead - 1) < k)
            c->path[lead - 1] = '\0';
    }
}

/* Sets the path to its first len bytes, then prefix and the name, quoted. */
static void path_set_name(struct check *c, size_t len, const char *prefix, const char *name)
{
    char q[QUOTE_NAME + 8];
    path_set(c, len, "%s%s", prefix, quote(q, sizeof(q), name, strlen(name)));
}

static int check_number(struct check *c, const json_t *v, struct number *n)
{
    const char *s = json_string_value(v);
    char q[QUOTE_NAME + 8];
    if (!s)
        return fail(c, "The value of a N attribute must be a string of digits (attribute %s)",
                    c->path);
    if (number_parse(s, json_string_length(v), n) < 0)
        return fail(c, "The parameter cannot be converted to a numeric value: %s (attribute %s)",
                    quote(q, sizeof(q), s, json_string_length(v)), c->path);
    if (n->ndigits > NUM_DIGITS_MAX)
        return fail(c,
                    "Attempting to store more than 38 significant digits in a Number "
                    "(attribute %s)",
                    c->path);
    if (!n->zero && n->exp > NUM_EXP_MAX)
        return fail(c,
                    "Number overflow. Attempting to store a number with magnitude larger than "
                    "supported range (attribute %s)",
                    c->path);
    if (!n->zero && n->exp < NUM_EXP_MIN)
        return fail(c,
                    "Number underflow. Attempting to store a number with magnitude smaller than "
                    "supported range (attribute %s)",
                    c->path);
    return 0;
}

static int check_binary(struct check *c, const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s)
        return fail(c, "The value of a B attribute must be a base64 string (attribute %s)",
                    c->path);
    size_t len = json_string_length(v);
    if (len % 4)
        return fail(c,
                    "Base64 encoded length is expected a multiple of 4 bytes but found: %zu "
                    "(attribute %s)",
                    len, c->path);
    for (size_t i = 0; i < len; i++) {
        /* '=' only as the last one or two characters. */
        if (s[i] == '=' && (i + 2 >= len) && (i + 1 == len || s[i + 1] == '='))
            continue;
        if (!is_base64_char(s[i]))
            return fail(c, "Invalid base64 character at offset %zu (attribute %s)", i, c->path);
    }
    return 0;
}

/* One member of a set, as compared for duplicates. */
struct member {
    const char *s;
    size_t len;
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->s, y->s, n);
    if (r)
        return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* A number in one spelling per value ("1", "1.0" and "10E-1" are one number). */
static size_t number_canonical(const struct number *n, char *out, size_t outlen)
{
    int w = n->zero ? snprintf(out, outlen, "0")
                    : snprintf(out, outlen, "%s%.*se%ld", n->negative ? "-" : "", (int)n->ndigits,
                               n->digits, n->exp);
    return w < 0 ? 0 : (size_t)w;
}

#define CANON_LEN (NUM_DIGITS_MAX + 16)

static int check_set(struct check *c, const char *type, const json_t *v)
{
    char elem_type = type[0];
    size_t n = json_array_size(v), i;
    struct member *m = NULL;
    char(*canon)[CANON_LEN] = NULL;
    int rc = -1;
    const json_t *elem;

    if (!json_is_array(v)) {
        rc = fail(c, "The value of a %s attribute must be an array (attribute %s)", type, c->path);
        goto out;
    }
    if (n == 0) {
        rc = fail(c, "%s may not be empty (attribute %s)",
                  elem_type == 'S'   ? "A string set"
                  : elem_type == 'N' ? "A number set"
                                     : "A binary set",
                  c->path);
        goto out;
    }
    m = malloc(n * sizeof(*m));
    if (elem_type == 'N')
        canon = malloc(n * sizeof(*canon));
    if (!m || (elem_type == 'N' && !canon)) {
        rc = fail(c, "Out of memory checking a set (attribute %s)", c->path);
        goto out;
    }
    json_array_foreach(v, i, elem)
    {
        struct number num;
        if (elem_type == 'N') {
            if (check_number(c, elem, &num) < 0)
                goto out;
            m[i].s = canon[i];
            m[i].len = number_canonical(&num, canon[i], sizeof(canon[i]));
            continue;
        }
        if (elem_type == 'B' && check_binary(c, elem) < 0)
            goto out;
        if (!json_is_string(elem)) {
            rc = fail(c, "The members of a %s attribute must be strings (attribute %s)", type,
                      c->path);
            goto out;
        }
        m[i].s = json_string_value(elem);
        m[i].len = json_string_length(elem);
    }
    qsort(m, n, sizeof(*m), member_cmp);
    for (i = 1; i < n; i++) {
        if (member_cmp(&m[i - 1], &m[i]) == 0) {
            char q[QUOTE_NAME + 8];
            rc = elem_type == 'N'
                     ? fail(c, "Input collection contains duplicates (attribute %s)", c->path)
                     : fail(c, "Input collection contains duplicates: %s (attribute %s)",
                            quote(q, sizeof(q), m[i].s, m[i].len), c->path);
            goto out;
        }
    }
    rc = 0;
out:
    free(m);
    free(canon);
    return rc;
}

static int check_value(struct check *c, const json_t *av, int depth)
{
    const char *key, *type = NULL;
    json_t *v = NULL, *elem;
    size_t known = 0, i, len = strlen(c->path);

    if (depth > NEST_MAX)
        return fail(c, "Nesting Levels have exceeded supported limits (attribute %s)", c->path);
    if (!json_is_object(av))
        return fail(c,
                    "Supplied AttributeValue is not an object, must contain exactly one of the "
                    "supported datatypes (attribute %s)",
                    c->path);
    json_object_foreach((json_t *)av, key, elem)
    {
        size_t t;
        for (t = 0; t < NTYPES && strcmp(key, types[t]) != 0; t++)
            ;
        if (t == NTYPES) {
            char q[QUOTE_NAME + 8];
            return fail(c, "Supplied AttributeValue has an unsupported datatype %s (attribute %s)",
                        quote(q, sizeof(q), key, strlen(key)), c->path);
        }
        type = types[t];
        v = elem;
        known++;
    }
    if (known == 0)
        return fail(c,
                    "Supplied AttributeValue is empty, must contain exactly one of the supported "
                    "datatypes (attribute %s)",
                    c->path);
    if (known > 1)
        return fail(c,
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly "
                    "one of the supported datatypes (attribute %s)",
                    c->path);

    if (strcmp(type, "S") == 0) {
        if (!json_is_string(v))
            return fail(c, "The value of a S attribute must be a string (attribute %s)", c->path);
        return 0;
    }
    if (strcmp(type, "N") == 0) {
        struct number n;
        return check_number(c, v, &n);
    }
    if (strcmp(type, "B") == 0)
        return check_binary(c, v);
    if (strcmp(type, "BOOL") == 0) {
        if (!json_is_boolean(v))
            return fail(c, "The value of a BOOL attribute must be true or false (attribute %s)",
                        c->path);
        return 0;
    }
    if (strcmp(type, "NULL") == 0) {
        if (!json_is_true(v))
            return fail(c, "Null attribute value types must have the value of true (attribute %s)",
                        c->path);
        return 0;
    }
    if (strcmp(type, "L") == 0) {
        if (!json_is_array(v))
            return fail(c, "The value of a L attribute must be an array (attribute %s)", c->path);
        json_array_foreach(v, i, elem)
        {
            path_set(c, len, "[%zu]", i);
            if (check_value(c, elem, depth + 1) < 0)
                return -1;
        }
        c->path[len] = '\0';
        return 0;
    }
    if (strcmp(type, "M") == 0) {
        if (!json_is_object(v))
            return fail(c, "The value of a M attribute must be an object (attribute %s)", c->path);
        json_object_foreach(v, key, elem)
        {
            path_set_name(c, len, ".", key);
            if (check_value(c, elem, depth + 1) < 0)
                return -1;
        }
        c->path[len] = '\0';
        return 0;
    }
    return check_set(c, type, v);
}

static int check_key(struct check *c, const json_t *item, const char *name, char want, int hash)
{
    const json_t *v = NULL;
    const json_t *av = json_object_get(item, name);
    if (!av)
        return fail(c, "Missing the key %s in the item", name);
    const char *type = value_type(av, &v);
    if (!type || type[1] != '\0' || type[0] != want || !(want == 'S' || want == 'N' || want == 'B'))
        return fail(c, "Type mismatch for key %s expected: %c actual: %s", name, want,
                    type ? type : "?");
    size_t size = scalar_size(type, v);
    if (want != 'N' && size == 0)
        return fail(c,
                    "The AttributeValue for a key attribute cannot contain an empty %s value. "
                    "Key: %s",
                    want == 'S' ? "string" : "binary", name);
    if (hash && size > HASH_KEY_MAX)
        return fail(c,
                    "Size of hashkey has exceeded the maximum size limit of %d bytes (%zu bytes). "
                    "Key: %s",
                    HASH_KEY_MAX, size, name);
    if (!hash && size > RANGE_KEY_MAX)
        return fail(c,
                    "Aggregated size of all range keys has exceeded the size limit of %d bytes "
                    "(%zu bytes). Key: %s",
                    RANGE_KEY_MAX, size, name);
    return 0;
}

int ddb_item_check(const json_t *item, const struct ddb_key_schema *key, char *errbuf,
                   size_t errlen)
{
    struct check c = {.err = errbuf, .errlen = errlen};
    const char *name;
    json_t *av;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!json_is_object(item))
        return fail(&c, "The item is not a JSON object of attribute names and AttributeValues");
    json_object_foreach((json_t *)item, name, av)
    {
        path_set_name(&c, 0, "", name);
        if (check_value(&c, av, 1) < 0)
            return -1;
    }
    if (key && key->hash_name && check_key(&c, item, key->hash_name, key->hash_type, 1) < 0)
        return -1;
    if (key && key->range_name && check_key(&c, item, key->range_name, key->range_type, 0) < 0)
        return -1;
    size_t size = ddb_item_size(item);
    if (size > DDB_ITEM_MAX)
        return fail(&c, "Item size has exceeded the maximum allowed size (%zu bytes)", size);
    return 0;
}

/* ---- key identity ---- */

/* "<type>:<bytes>:<value>". Numbers in their canonical spelling, so that "1.50" and "1.5" (one key
 * to DynamoDB, and a server may echo either) give one string. */
static int key_part_append(const json_t *item, const char *name, struct buf *out)
{
    const json_t *v = NULL;
    const char *type = value_type(json_object_get(item, name), &v);
    if (!type || !json_is_string(v))
        return -1;
    size_t len = json_string_length(v);
    struct number num;
    if (strcmp(type, "N") == 0 && number_parse(json_string_value(v), len, &num) == 0) {
        char canon[CANON_LEN];
        size_t clen = number_canonical(&num, canon, sizeof canon);
        if (buf_addf(out, "N:%zu:", clen) != BUF_OK || buf_add(out, canon, clen) != BUF_OK)
            return -1;
        return 0;
    }
    if (buf_addf(out, "%s:%zu:", type, len) != BUF_OK)
        return -1;
    if (buf_add(out, json_string_value(v), len) != BUF_OK)
        return -1;
    return 0;
}

int ddb_item_key_append(const json_t *item, const struct ddb_key_schema *key, struct buf *out)
{
    size_t start = out->len;
    if (!json_is_object(item) || !key || !key->hash_name)
        return -1;
    if (key_part_append(item, key->hash_name, out) < 0)
        goto fail;
    if (key->range_name) {
        if (buf_addc(out, '|') != BUF_OK || key_part_append(item, key->range_name, out) < 0)
            goto fail;
    }
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

void ddb_key_schema_cleanup(struct ddb_key_schema *k)
{
    if (!k)
        return;
    free(k->hash_name);
    free(k->range_name);
    k->hash_name = NULL;
    k->range_name = NULL;
    k->hash_type = 0;
    k->range_type = 0;
}

/* dst is overwritten (not freed first); on failure it is left empty. */
int ddb_key_schema_copy(struct ddb_key_schema *dst, const struct ddb_key_schema *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->hash_type = src->hash_type;
    dst->range_type = src->range_type;
    if (src->hash_name && !(dst->hash_name = strdup(src->hash_name)))
        goto fail;
    if (src->range_name && !(dst->range_name = strdup(src->range_name)))
        goto fail;
    return 0;
fail:
    ddb_key_schema_cleanup(dst);
    return -1;
}
