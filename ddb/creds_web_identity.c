/* Web identity credentials (see creds.h, source 2), as botocore's
 * AssumeRoleWithWebIdentityProvider:
 *   the token file: AWS_WEB_IDENTITY_TOKEN_FILE, else the profile's web_identity_token_file
 *   the role:       AWS_ROLE_ARN, else the profile's role_arn (needed once there is a token file)
 *   the session:    AWS_ROLE_SESSION_NAME, else role_session_name, else ddbfs-<unix ms>
 * (the variables are ignored when a profile was named by option), then an unsigned
 *   POST STS_ENDPOINT/  Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=...&
 *                       RoleSessionName=...&WebIdentityToken=...
 * whose XML answer holds <Credentials> (or an <Error>). The STS endpoint is
 * https://sts.REGION.amazonaws.com unless one is configured as for dynamodb (AWS_ENDPOINT_URL_STS,
 * AWS_ENDPOINT_URL, the services section, endpoint_url). The token file is read again on every
 * refresh, as the orchestrator rotates it.
 *
 * The web identity token is a secret: it goes in the request body only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "ddb/creds_source.h"

#define WI_TOKEN_MAX (64u << 10) /* a token file we read (JWTs are a few KB) */
#define WI_BODY_MAX (256u << 10) /* the request body */
#define WI_URL_MAX 2048
#define STS_TIMEOUT_MS 30000
#define XML_VALUE_MAX 8192 /* one element's text */

/* ---- the XML answer ---- */

/* The content of the first element <name> (with or without attributes) between p and end: *s and
 * *e are set to it. Returns 0, or -1 when there is none. */
static int xml_find(const char *p, const char *end, const char *name, const char **s,
                    const char **e)
{
    size_t n = strlen(name);
    for (; p + n + 2 <= end; p++) {
        if (p[0] != '<' || strncmp(p + 1, name, n) != 0)
            continue;
        const char *q = p + 1 + n;
        if (*q != '>' && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
            continue;
        const char *gt = memchr(q, '>', (size_t)(end - q));
        if (!gt)
            return -1;
        if (gt[-1] == '/') { /* <name/> */
            *s = *e = gt;
            return 0;
        }
        const char *c = gt + 1;
        for (const char *t = c; t + n + 3 <= end; t++) {
            if (t[0] == '<' && t[1] == '/' && strncmp(t + 2, name, n) == 0 && t[2 + n] == '>') {
                *s = c;
                *e = t;
                return 0;
            }
        }
        return -1;
    }
    return -1;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_add(b, u, n) == BUF_OK ? 0 : -1;
}

/* The text from s to e with its entity and character references decoded (and CDATA sections
 * taken as they are), appended to b. Returns 0, or -1 when it is malformed or too long. */
static int xml_text(const char *s, const char *e, struct buf *b)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    while (s < e) {
        if (*s == '<') {
            if (e - s >= 12 && strncmp(s, "<![CDATA[", 9) == 0) {
                const char *c = s + 9, *z = c;
                while (z + 3 <= e && strncmp(z, "]]>", 3) != 0)
                    z++;
                if (z + 3 > e || buf_add(b, c, (size_t)(z - c)) != BUF_OK)
                    return -1;
                s = z + 3;
                continue;
            }
            return -1; /* an element inside a value */
        }
        if (*s != '&') {
            if (buf_addc(b, *s++) != BUF_OK)
                return -1;
            continue;
        }
        s++;
        if (s < e && *s == '#') {
            int hex = s + 1 < e && (s[1] == 'x' || s[1] == 'X');
            const char *d = s + 1 + hex, *q = d;
            unsigned long cp = 0;
            while (q < e && q - d < 8 &&
                   ((*q >= '0' && *q <= '9') ||
                    (hex && ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))))) {
                int v = *q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10;
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                q++;
            }
            if (q == d || q >= e || *q != ';' || put_utf8(b, cp) < 0)
                return -1;
            s = q + 1;
            continue;
        }
        size_t i;
        for (i = 0; i < sizeof named / sizeof named[0]; i++) {
            size_t n = strlen(named[i].name);
            if ((size_t)(e - s) >= n && strncmp(s, named[i].name, n) == 0) {
                if (buf_addc(b, named[i].c) != BUF_OK)
                    return -1;
                s += n;
                break;
            }
        }
        if (i == sizeof named / sizeof named[0])
            return -1; /* an unknown entity */
    }
    return 0;
}

/* The decoded text of element name between p and end, into b (emptied first). Returns 1 (found),
 * 0 (no such element) or -1 (malformed). */
static int xml_get(const char *p, const char *end, const char *name, struct buf *b)
{
    const char *s, *e;
    if (b->data)
        explicit_bzero(b->data, b->len);
    buf_reset(b);
    if (xml_find(p, end, name, &s, &e) < 0)
        return 0;
    return xml_text(s, e, b) < 0 ? -1 : 1;
}

static const char *advice(const char *code)
{
    if (strcmp(code, "InvalidIdentityToken") == 0 || strcmp(code, "ExpiredTokenException") == 0)
        return "check that the token file holds a current token for this role's identity provider";
    if (strcmp(code, "AccessDenied") == 0)
        return "check that the role's trust policy allows this identity provider and subject";
    if (strcmp(code, "IDPCommunicationError") == 0 || strcmp(code, "IDPRejectedClaim") == 0)
        return "check the identity provider's configuration in IAM";
    return "check AWS_ROLE_ARN and the token file";
}

enum load_result ddb_creds_sts_parse(const char *body, size_t len, long status, const char *url,
                                     struct ddb_credentials *out, struct ddb_error *err)
{
    const char *end = body + len, *cs, *ce;
    struct buf key, secret, token, exp, code, msg;
    enum load_result rc = LOAD_ERROR;
    time_t expiration = 0;

    memset(out, 0, sizeof(*out));
    buf_init(&key, XML_VALUE_MAX);
    buf_init(&secret, XML_VALUE_MAX);
    buf_init(&token, XML_VALUE_MAX);
    buf_init(&exp, XML_VALUE_MAX);
    buf_init(&code, XML_VALUE_MAX);
    buf_init(&msg, XML_VALUE_MAX);
    const char *es, *ee;
    if (xml_find(body, end, "Error", &es, &ee) == 0 || status != 200) {
        int has = xml_find(body, end, "Error", &es, &ee) == 0;
        if (has && xml_get(es, ee, "Code", &code) > 0) {
            xml_get(es, ee, "Message", &msg);
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "web identity: STS AssumeRoleWithWebIdentity at %s answered HTTP %ld "
                          "%.100s: %.400s; %s",
                          url, status, buf_str(&code), buf_str(&msg), advice(buf_str(&code)));
        } else {
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "web identity: STS AssumeRoleWithWebIdentity at %s answered HTTP %ld "
                          "without an AWS error; check the STS endpoint",
                          url, status);
        }
        goto out;
    }
    if (xml_find(body, end, "Credentials", &cs, &ce) < 0) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "web identity: STS at %s answered without <Credentials>; check the STS "
                      "endpoint",
                      url);
        goto out;
    }
    const char *bad = NULL;
    int r;
    if ((r = xml_get(cs, ce, "AccessKeyId", &key)) <= 0 || !key.len)
        bad = r < 0 ? "a malformed AccessKeyId" : "no AccessKeyId";
    else if ((r = xml_get(cs, ce, "SecretAccessKey", &secret)) <= 0 || !secret.len)
        bad = r < 0 ? "a malformed SecretAccessKey" : "no SecretAccessKey";
    else if ((r = xml_get(cs, ce, "SessionToken", &token)) < 0)
        bad = "a malformed SessionToken";
    else if ((r = xml_get(cs, ce, "Expiration", &exp)) < 0 ||
             (r > 0 && ddb_creds_parse_time(buf_str(&exp), &expiration) < 0))
        bad = "an Expiration that is not an ISO 8601 time";
    if (bad) {
        ddb_error_set(err, DDB_ECREDENTIALS, "web identity: STS at %s answered with %s", url, bad);
        goto out;
    }
    rc = ddb_creds_fill(out, buf_str(&key), buf_str(&secret), token.len ? buf_str(&token) : NULL,
                        err);
    if (rc == LOAD_OK)
        out->expiration = expiration;
out:
    if (secret.data)
        explicit_bzero(secret.data, secret.len);
    if (token.data)
        explicit_bzero(token.data, token.len);
    buf_cleanup(&key);
    buf_cleanup(&secret);
    buf_cleanup(&token);
    buf_cleanup(&exp);
    buf_cleanup(&code);
    buf_cleanup(&msg);
    return rc;
}

/* ---- the request ---- */

/* Appends name=value (value percent-encoded) to a form body. */
static int form_add(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if ((b->len && buf_addc(b, '&') != BUF_OK) || buf_addstr(b, name) != BUF_OK ||
        buf_addc(b, '=') != BUF_OK)
        return -1;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char c = (char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            if (buf_addc(b, c) != BUF_OK)
                return -1;
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (buf_add(b, e, 3) != BUF_OK)
                return -1;
        }
    }
    return 0;
}

/* Reads the token file into b (whitespace around it dropped). Returns 0, or -1 with err filled. */
static int read_token(const char *path, struct buf *b, struct ddb_error *err)
{
    char chunk[4096], ebuf[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    if (fd < 0) {
        ddb_error_set(err, DDB_ECREDENTIALS, "web identity: cannot read the token file %s: %s",
                      path, strerror_r(errno, ebuf, sizeof ebuf));
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ddb_error_set(err, DDB_ECREDENTIALS, "web identity: cannot read the token file %s: %s",
                          path, strerror_r(errno, ebuf, sizeof ebuf));
            goto out;
        }
        if (r == 0)
            break;
        if (buf_add(b, chunk, (size_t)r) != BUF_OK) {
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "web identity: the token file %s is longer than %u bytes", path,
                          (unsigned)WI_TOKEN_MAX);
            goto out;
        }
    }
    while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
        b->data[--b->len] = '\0';
    size_t lead = b->len ? strspn(b->data, " \t\r\n") : 0;
    if (lead) {
        memmove(b->data, b->data + lead, b->len - lead + 1);
        b->len -= lead;
    }
    if (!b->len) {
        ddb_error_set(err, DDB_ECREDENTIALS, "web identity: the token file %s is empty", path);
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(chunk, sizeof chunk);
    close(fd);
    return rc;
}

/* A setting from the environment (unless a profile was named by option) or the profile. */
static const char *setting(const struct ddb_config *cfg, const char *env, const char *key,
                           const char **from)
{
    const char *v = cfg->profile_explicit ? NULL : ddb_config_env(cfg, env);
    *from = env;
    if (!v) {
        v = ddb_config_profile_get(cfg, key, 1, 0);
        *from = key;
    }
    return v && v[0] ? v : NULL;
}

enum load_result ddb_creds_load_web_identity(const struct ddb_config *cfg,
                                             struct ddb_credentials *out, struct buf *why,
                                             struct ddb_error *err)
{
    const char *file_from, *arn_from, *name_from;
    const char *file =
        setting(cfg, "AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file", &file_from);
    const char *arn = setting(cfg, "AWS_ROLE_ARN", "role_arn", &arn_from);
    const char *name = setting(cfg, "AWS_ROLE_SESSION_NAME", "role_session_name", &name_from);
    char url[WI_URL_MAX], from[DDB_CONFIG_FROM_MAX], session[64];
    struct buf token, body;
    struct ddb_creds_http r = {0};
    enum load_result rc = LOAD_ERROR;
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "Accept: text/xml",
    };

    memset(out, 0, sizeof(*out));
    buf_init(&token, WI_TOKEN_MAX);
    buf_init(&body, WI_BODY_MAX);
    if (!file) {
        buf_addf(why, "web identity (%s not set)",
                 cfg->profile_explicit ? "web_identity_token_file" : "AWS_WEB_IDENTITY_TOKEN_FILE");
        rc = LOAD_SKIPPED;
        goto out;
    }
    if (!arn) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "web identity: %s is set but no role is: set AWS_ROLE_ARN, or role_arn in "
                      "profile %s",
                      file_from, cfg->profile);
        goto out;
    }
    if (!name) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        snprintf(session, sizeof session, "ddbfs-%lld",
                 (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000);
        name = session;
    }

    const char *e = ddb_config_service_endpoint(cfg, "sts", "STS", from);
    if (e) {
        if (strncasecmp(e, "http://", 7) != 0 && strncasecmp(e, "https://", 8) != 0) {
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "web identity: the STS endpoint \"%.200s\" (from %s) is not an http:// "
                          "or https:// URL",
                          e, from);
            goto out;
        }
        size_t n = strlen(e);
        while (n > 0 && e[n - 1] == '/')
            n--;
        if (snprintf(url, sizeof url, "%.*s/", (int)n, e) >= (int)sizeof url) {
            ddb_error_set(err, DDB_ECREDENTIALS, "web identity: the STS endpoint is too long");
            goto out;
        }
    } else {
        snprintf(url, sizeof url, "https://sts.%s.%s/", cfg->region,
                 strncmp(cfg->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com");
    }

    if (read_token(file, &token, err) < 0)
        goto out;
    if (form_add(&body, "Action", "AssumeRoleWithWebIdentity") ||
        form_add(&body, "Version", "2011-06-15") || form_add(&body, "RoleArn", arn) ||
        form_add(&body, "RoleSessionName", name) ||
        form_add(&body, "WebIdentityToken", buf_str(&token))) {
        ddb_error_set(err, DDB_ECREDENTIALS, "web identity: the request is too long");
        goto out;
    }
    r.method = "POST";
    r.url = url;
    r.headers = headers;
    r.nheaders = sizeof headers / sizeof headers[0];
    r.body = body.data;
    r.body_len = body.len;
    r.timeout_ms = STS_TIMEOUT_MS;
    if (ddb_creds_http_send(cfg, &r) < 0) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "web identity: no answer from STS at %s: %s; check the network or "
                      "AWS_ENDPOINT_URL_STS",
                      url, r.error);
        goto out;
    }
    rc = ddb_creds_sts_parse(buf_str(&r.answer), r.answer.len, r.status, url, out, err);
out:
    if (token.data)
        explicit_bzero(token.data, token.len);
    if (body.data)
        explicit_bzero(body.data, body.len);
    buf_cleanup(&token);
    buf_cleanup(&body);
    ddb_creds_http_cleanup(&r);
    return rc;
}
