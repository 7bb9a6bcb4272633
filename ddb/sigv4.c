/* AWS Signature Version 4, header form. The steps follow the AWS documentation ("Create a signed
 * AWS API request"): canonical request, string to sign, signing key, signature, Authorization.
 *
 * Secrets: the secret key and the derived keys are wiped with OPENSSL_cleanse once used; nothing
 * here logs. The session token is a header value like any other and never enters Authorization. */
#include "ddb/sigv4.h"

#include "base/limits.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The cap on each text the signer builds (canonical request, string to sign, Authorization).
 * DynamoDB's are a few hundred bytes; servers refuse header blocks far below this. */

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SHA256_LEN 32

/* One header as it is signed: the name trimmed and lowercased (owned), the value borrowed and
 * canonicalised as it is written out. order keeps the request's order for headers of one name. */
struct canon_header {
    char *name;
    const char *value;
    size_t order;
};

/* One query parameter, both halves URI-encoded (owned). */
struct canon_param {
    char *key;
    char *value;
};

/* A piece of the path between slashes. */
struct span {
    const char *p;
    size_t n;
};

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(data ? data : "", len, out, &n, EVP_sha256(), NULL) || n != SHA256_LEN)
        return -1;
    return 0;
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_LEN];
    if (sha256(data, len, md) < 0)
        return -1;
    hex_encode(md, sizeof md, out);
    return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[SHA256_LEN])
{
    unsigned int n = 0;
    if (key_len > INT_MAX)
        return -1;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != SHA256_LEN)
        return -1;
    return 0;
}

/* Appends s[0..n) with every byte but the unreserved ones as %XX (uppercase hex). */
static int add_uri_encoded(struct buf *b, const char *s, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            if (buf_addc(b, (char)c))
                return -1;
        } else {
            char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};
            if (buf_add(b, esc, sizeof esc))
                return -1;
        }
    }
    return 0;
}

/* Appends s[0..n) decoded (%XX becomes a byte; any other % is a literal one) and encoded, so a
 * query component is canonical whether or not the caller had already encoded it. */
static int add_reencoded(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int hi, lo;
        if (c == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (add_uri_encoded(b, &c, 1) < 0)
            return -1;
    }
    return 0;
}

static int is_dot(const struct span *s)
{
    return s->n == 1 && s->p[0] == '.';
}

static int is_dot_dot(const struct span *s)
{
    return s->n == 2 && s->p[0] == '.' && s->p[1] == '.';
}

/* The canonical URI: each segment encoded. With normalize, empty and "." segments are dropped
 * and ".." removes the segment before it; the result starts with '/', and ends with one when the
 * path did and a segment is left (as aws-c-auth and botocore do: "/a/b/.." gives "/a"). */
static int add_canonical_path(struct buf *b, const char *path, int normalize)
{
    size_t len = strlen(path);
    struct span *segs = NULL;
    size_t nsegs = 0;
    int slash_end = len > 0 && path[len - 1] == '/';
    int rc = -1;

    if (len == 0)
        return buf_addc(b, '/') ? -1 : 0;
    if (!normalize) {
        if (path[0] != '/' && buf_addc(b, '/'))
            return -1;
        for (const char *p = path; *p;) {
            size_t n = strcspn(p, "/");
            if (add_uri_encoded(b, p, n) < 0)
                return -1;
            p += n;
            if (*p == '/') {
                if (buf_addc(b, '/'))
                    return -1;
                p++;
            }
        }
        return 0;
    }

    segs = calloc(len / 2 + 1, sizeof *segs);
    if (!segs)
        goto out;
    for (const char *p = path; *p;) {
        p += strspn(p, "/");
        if (!*p)
            break;
        struct span s = {p, strcspn(p, "/")};
        p += s.n;
        if (is_dot_dot(&s) && nsegs > 0)
            nsegs--;
        else if (!is_dot(&s) && !is_dot_dot(&s))
            segs[nsegs++] = s;
    }

    if (buf_addc(b, '/'))
        goto out;
    for (size_t i = 0; i < nsegs; i++) {
        if (i > 0 && buf_addc(b, '/'))
            goto out;
        if (add_uri_encoded(b, segs[i].p, segs[i].n) < 0)
            goto out;
    }
    if (nsegs > 0 && slash_end && buf_addc(b, '/'))
        goto out;
    rc = 0;
out:
    free(segs);
    return rc;
}

static char *reencode(const char *s, size_t n)
{
    struct buf b;
    buf_init(&b, DDB_SIGV4_TEXT_MAX);
    if (add_reencoded(&b, s, n) < 0) {
        buf_cleanup(&b);
        return NULL;
    }
    char *out = buf_detach(&b, NULL);
    return out ? out : strdup("");
}

static int compare_params(const void *a, const void *b)
{
    const struct canon_param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* The canonical query: each "key=value" (a key alone gets "key=") re-encoded, sorted by key and
 * then value, joined by '&'. Empty parameters ("a&&b") are dropped. */
static int add_canonical_query(struct buf *b, const char *query)
{
    struct canon_param *params = NULL;
    size_t nparams = 0, max = 1;
    int rc = -1;

    if (!query || !*query)
        return 0;
    for (const char *p = query; *p; p++)
        max += *p == '&';
    params = calloc(max, sizeof *params);
    if (!params)
        goto out;

    for (const char *p = query; *p;) {
        size_t n = strcspn(p, "&");
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t klen = eq ? (size_t)(eq - p) : n;
            struct canon_param *cp = &params[nparams++];
            cp->key = reencode(p, klen);
            cp->value = eq ? reencode(eq + 1, n - klen - 1) : reencode("", 0);
            if (!cp->key || !cp->value)
                goto out;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    qsort(params, nparams, sizeof *params, compare_params);

    for (size_t i = 0; i < nparams; i++) {
        if (buf_addf(b, "%s%s=%s", i ? "&" : "", params[i].key, params[i].value))
            goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; params && i < nparams; i++) {
        free(params[i].key);
        free(params[i].value);
    }
    free(params);
    return rc;
}

/* The name trimmed and lowercased, or NULL when out of memory or empty. */
static char *canonical_name(const char *name)
{
    while (is_ows(*name))
        name++;
    size_t n = strlen(name);
    while (n > 0 && is_ows(name[n - 1]))
        n--;
    if (n == 0)
        return NULL;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        s[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    s[n] = '\0';
    return s;
}

/* Appends value with leading and trailing whitespace dropped and inner runs folded to one space. */
static int add_canonical_value(struct buf *b, const char *value)
{
    int pending = 0, started = 0;
    for (const char *p = value; *p; p++) {
        if (is_ows(*p)) {
            pending = started;
            continue;
        }
        if (pending && buf_addc(b, ' '))
            return -1;
        if (buf_addc(b, *p))
            return -1;
        pending = 0;
        started = 1;
    }
    return 0;
}

static int compare_headers(const void *a, const void *b)
{
    const struct canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends the canonical headers block (each "name:v1,v2\n") to cr and the signed header list to
 * sh. hs must be sorted. */
static int add_canonical_headers(struct buf *cr, struct buf *sh, const struct canon_header *hs,
                                 size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0;
        if (same) {
            if (buf_addc(cr, ','))
                return -1;
        } else {
            if (i > 0 && (buf_addc(cr, '\n') || buf_addc(sh, ';')))
                return -1;
            if (buf_addstr(cr, hs[i].name) || buf_addc(cr, ':') || buf_addstr(sh, hs[i].name))
                return -1;
        }
        if (add_canonical_value(cr, hs[i].value) < 0)
            return -1;
    }
    return n > 0 && buf_addc(cr, '\n') ? -1 : 0;
}

/* 1 when a header cannot be sent as one line as it is signed: a line break in it, or a ':' in
 * its name. */
static int header_unsafe(const struct ddb_header *h)
{
    return strpbrk(h->name, ":\r\n") != NULL || strpbrk(h->value, "\r\n") != NULL;
}

/* Collects the request's headers plus X-Amz-Date and, when signed, X-Amz-Security-Token, sorted.
 * Fails on a NULL, empty or unsafe header, a missing Host, or an X-Amz-Date the caller passed. */
static int collect_headers(const struct ddb_sigv4_request *req, const struct ddb_sigv4_params *p,
                           const char *amz_date, struct canon_header **out, size_t *nout)
{
    size_t max = req->nheaders + 2, n = 0;
    struct canon_header *hs = calloc(max, sizeof *hs);
    int has_host = 0, has_token = 0, rc = -1;

    if (!hs)
        return -1;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct ddb_header *h = &req->headers[i];
        if (!h->name || !h->value || header_unsafe(h))
            goto out;
        hs[n].name = canonical_name(h->name);
        if (!hs[n].name)
            goto out;
        hs[n].value = h->value;
        hs[n].order = n;
        if (strcmp(hs[n].name, "x-amz-date") == 0)
            goto out;
        has_host |= strcmp(hs[n].name, "host") == 0;
        has_token |= strcmp(hs[n].name, "x-amz-security-token") == 0;
        n++;
    }
    if (!has_host)
        goto out;

    hs[n].name = canonical_name("x-amz-date");
    if (!hs[n].name)
        goto out;
    hs[n].value = amz_date;
    hs[n].order = n;
    n++;
    if (p->session_token && *p->session_token && !p->omit_session_token && !has_token) {
        hs[n].name = canonical_name("x-amz-security-token");
        if (!hs[n].name)
            goto out;
        hs[n].value = p->session_token;
        hs[n].order = n;
        n++;
    }
    qsort(hs, n, sizeof *hs, compare_headers);
    rc = 0;
out:
    if (rc < 0) {
        for (size_t i = 0; i < max; i++)
            free(hs[i].name);
        free(hs);
        return -1;
    }
    *out = hs;
    *nout = n;
    return 0;
}

/* The signing key: HMAC chain over "AWS4" + secret, the date, region, service, "aws4_request". */
static int signing_key(const struct ddb_sigv4_params *p, const char *date,
                       unsigned char key[SHA256_LEN])
{
    size_t slen = strlen(p->secret_access_key);
    char *secret = malloc(slen + 5);
    unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
    int rc = -1;

    if (!secret)
        return -1;
    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, p->secret_access_key, slen + 1);
    if (hmac_sha256(secret, slen + 4, date, strlen(date), k_date) < 0 ||
        hmac_sha256(k_date, sizeof k_date, p->region, strlen(p->region), k_region) < 0 ||
        hmac_sha256(k_region, sizeof k_region, p->service, strlen(p->service), k_service) < 0 ||
        hmac_sha256(k_service, sizeof k_service, "aws4_request", strlen("aws4_request"), key) < 0)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(secret, slen + 5);
    OPENSSL_cleanse(k_date, sizeof k_date);
    OPENSSL_cleanse(k_region, sizeof k_region);
    OPENSSL_cleanse(k_service, sizeof k_service);
    free(secret);
    return rc;
}

void ddb_sigv4_result_init(struct ddb_sigv4_result *r)
{
    r->amz_date[0] = '\0';
    r->signature[0] = '\0';
    buf_init(&r->authorization, DDB_SIGV4_TEXT_MAX);
    buf_init(&r->canonical_request, DDB_SIGV4_TEXT_MAX);
    buf_init(&r->string_to_sign, DDB_SIGV4_TEXT_MAX);
    buf_init(&r->signed_headers, DDB_SIGV4_TEXT_MAX);
}

void ddb_sigv4_result_cleanup(struct ddb_sigv4_result *r)
{
    buf_cleanup(&r->authorization);
    buf_cleanup(&r->canonical_request);
    buf_cleanup(&r->string_to_sign);
    buf_cleanup(&r->signed_headers);
}

static int params_valid(const struct ddb_sigv4_request *req, const struct ddb_sigv4_params *p)
{
    return req->method && *req->method && req->path && (req->headers || req->nheaders == 0) &&
           (req->body || req->body_len == 0) && p->access_key_id && *p->access_key_id &&
           p->secret_access_key && p->region && *p->region && p->service && *p->service;
}

int ddb_sigv4_sign(const struct ddb_sigv4_request *req, const struct ddb_sigv4_params *p,
                   struct ddb_sigv4_result *out)
{
    struct buf *cr = &out->canonical_request, *sts = &out->string_to_sign;
    struct canon_header *hs = NULL;
    size_t nhs = 0;
    struct tm tm;
    char date[9], body_hash[65], cr_hash[65];
    unsigned char key[SHA256_LEN], sig[SHA256_LEN];
    int rc = -1;

    out->amz_date[0] = '\0';
    out->signature[0] = '\0';
    buf_reset(&out->authorization);
    buf_reset(&out->canonical_request);
    buf_reset(&out->string_to_sign);
    buf_reset(&out->signed_headers);

    if (!params_valid(req, p))
        goto out;
    if (!gmtime_r(&p->now, &tm) || strftime(out->amz_date, sizeof out->amz_date, "%Y%m%dT%H%M%SZ",
                                            &tm) != sizeof out->amz_date - 1)
        goto out;
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';

    if (collect_headers(req, p, out->amz_date, &hs, &nhs) < 0)
        goto out;
    if (sha256_hex(req->body, req->body_len, body_hash) < 0)
        goto out;

    if (buf_addstr(cr, req->method) || buf_addc(cr, '\n') ||
        add_canonical_path(cr, req->path, p->normalize_path) < 0 || buf_addc(cr, '\n') ||
        add_canonical_query(cr, req->query) < 0 || buf_addc(cr, '\n') ||
        add_canonical_headers(cr, &out->signed_headers, hs, nhs) < 0 ||
        buf_addf(cr, "\n%s\n%s", buf_str(&out->signed_headers), body_hash))
        goto out;

    if (sha256_hex(cr->data, cr->len, cr_hash) < 0)
        goto out;
    if (buf_addf(sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", out->amz_date, date,
                 p->region, p->service, cr_hash))
        goto out;

    if (signing_key(p, date, key) < 0 || hmac_sha256(key, sizeof key, sts->data, sts->len, sig) < 0)
        goto out;
    hex_encode(sig, sizeof sig, out->signature);

    if (buf_addf(&out->authorization,
                 SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                                 "Signature=%s",
                 p->access_key_id, date, p->region, p->service, buf_str(&out->signed_headers),
                 out->signature))
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(sig, sizeof sig);
    for (size_t i = 0; i < nhs; i++)
        free(hs[i].name);
    free(hs);
    if (rc < 0) {
        out->amz_date[0] = '\0';
        out->signature[0] = '\0';
        buf_reset(&out->authorization);
        buf_reset(&out->canonical_request);
        buf_reset(&out->string_to_sign);
        buf_reset(&out->signed_headers);
    }
    return rc;
}

void ddb_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    if (sha256_hex(data, len, out) < 0)
        out[0] = '\0';
}
