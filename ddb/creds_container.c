/* Container credentials (ECS task roles, EKS pod identity; see creds.h, source 6), as botocore
 * fetches them:
 *   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI  -> GET http://169.254.170.2 + the path
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI      -> GET the URL: https anywhere, or http to a loopback
 *                                              address or the EKS pod identity agent
 *                                              (169.254.170.23, fd00:ec2::23)
 * with Authorization: the content of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every
 * fetch, as EKS rotates it) or else AWS_CONTAINER_AUTHORIZATION_TOKEN. The answer is JSON:
 * AccessKeyId, SecretAccessKey, Token, Expiration. As botocore, a request that gets no answer is
 * tried 3 times (2 s each); an HTTP error is not retried.
 *
 * The authorization token is a secret: it goes in a header only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ddb/creds_source.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 3
#define CONTAINER_URL_MAX 2048
#define CONTAINER_TOKEN_MAX 8192

/* The host of an http:// or https:// URL, without brackets or port, into out. Returns 0 or -1. */
static int url_host(const char *url, size_t skip, char *out, size_t outlen)
{
    const char *h = url + skip;
    size_t n;
    if (*h == '[') {
        h++;
        n = strcspn(h, "]");
        if (h[n] != ']')
            return -1;
    } else {
        n = strcspn(h, ":/?#");
    }
    if (n == 0 || n >= outlen || memchr(h, '@', n))
        return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

/* botocore's rule for http:// full URIs: loopback, or the ECS / EKS agents' addresses. */
static int host_allowed(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6, want;
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        uint32_t a = ntohl(a4.s_addr);
        return (a >> 24) == 127 || a == 0xA9FEAA02u /* 169.254.170.2 */ ||
               a == 0xA9FEAA17u /* 169.254.170.23 */;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return inet_pton(AF_INET6, "fd00:ec2::23", &want) == 1 &&
               memcmp(&a6, &want, sizeof a6) == 0;
    }
    return 0;
}

char *ddb_creds_container_url(const struct ddb_config *cfg, struct ddb_error *err)
{
    const char *rel = ddb_config_env(cfg, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = ddb_config_env(cfg, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char host[256];
    struct buf b;
    buf_init(&b, CONTAINER_URL_MAX);
    ddb_error_clear(err);
    if (rel) {
        if (buf_addf(&b, "%s%s%s", CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel) != BUF_OK)
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
    } else if (full) {
        int https = strncasecmp(full, "https://", 8) == 0;
        int http = strncasecmp(full, "http://", 7) == 0;
        if (!https && !http)
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: AWS_CONTAINER_CREDENTIALS_FULL_URI \"%.200s\" is not an "
                          "http:// or https:// URL",
                          full);
        else if (url_host(full, https ? 8 : 7, host, sizeof host) < 0)
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: AWS_CONTAINER_CREDENTIALS_FULL_URI \"%.200s\" has no host",
                          full);
        else if (http && !host_allowed(host))
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: AWS_CONTAINER_CREDENTIALS_FULL_URI \"%.200s\" uses http to "
                          "host %s: only https, or http to a loopback address, 169.254.170.2, "
                          "169.254.170.23 or fd00:ec2::23, is allowed (as the AWS CLI)",
                          full, host);
        else if (buf_addstr(&b, full) != BUF_OK)
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
    } else {
        return NULL;
    }
    for (size_t i = 0; err && err->code == DDB_OK && i < b.len; i++)
        if ((unsigned char)b.data[i] <= ' ' || b.data[i] == 0x7f)
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: the credentials URL holds a space or a control character");
    if (err && err->code != DDB_OK) {
        buf_cleanup(&b);
        return NULL;
    }
    char *url = buf_detach(&b, NULL);
    if (!url)
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
    return url;
}

/* The Authorization header ("Authorization: TOKEN") into out, or "" when there is none. Returns
 * 0, or -1 with err filled. */
static int auth_header(const struct ddb_config *cfg, char *out, size_t outlen,
                       struct ddb_error *err)
{
    const char *file = ddb_config_env(cfg, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tok = ddb_config_env(cfg, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char text[CONTAINER_TOKEN_MAX], ebuf[128];
    size_t n = 0;
    int rc = -1;
    out[0] = '\0';
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                          file, strerror_r(errno, ebuf, sizeof ebuf));
            return -1;
        }
        ssize_t r;
        while (n < sizeof text && (r = read(fd, text + n, sizeof text - n)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                ddb_error_set(err, DDB_ECREDENTIALS,
                              "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: "
                              "%s",
                              file, strerror_r(errno, ebuf, sizeof ebuf));
                close(fd);
                goto out;
            }
            n += (size_t)r;
        }
        close(fd);
        if (n == sizeof text) {
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s is longer than %d "
                          "bytes",
                          file, CONTAINER_TOKEN_MAX - 1);
            goto out;
        }
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
            n--;
        text[n] = '\0';
        tok = text;
    }
    if (!tok) {
        rc = 0;
        goto out;
    }
    if (strpbrk(tok, "\r\n")) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "container: the authorization token (%s) holds a line break",
                      file ? file : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        goto out;
    }
    if (snprintf(out, outlen, "Authorization: %s", tok) >= (int)outlen) {
        ddb_error_set(err, DDB_ECREDENTIALS, "container: the authorization token is too long");
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(text, sizeof text);
    if (rc < 0)
        explicit_bzero(out, outlen);
    return rc;
}

enum load_result ddb_creds_load_container(const struct ddb_config *cfg, struct ddb_credentials *out,
                                          struct buf *why, struct ddb_error *err)
{
    char auth[CONTAINER_TOKEN_MAX + 32], what[CONTAINER_URL_MAX + 64];
    const char *hdr[1] = {auth};
    struct ddb_creds_http r = {0};
    enum load_result rc = LOAD_ERROR;
    char *url = ddb_creds_container_url(cfg, err);

    memset(out, 0, sizeof(*out));
    auth[0] = '\0';
    if (!url) {
        if (err && err->code != DDB_OK)
            return LOAD_ERROR;
        buf_addstr(why, "container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set)");
        return LOAD_SKIPPED;
    }
    snprintf(what, sizeof what, "container credentials (%s)", url);
    if (auth_header(cfg, auth, sizeof auth, err) < 0)
        goto out;

    int sent = -1;
    for (int i = 0; i < CONTAINER_ATTEMPTS && sent < 0; i++) {
        ddb_creds_http_cleanup(&r);
        memset(&r, 0, sizeof r);
        r.method = "GET";
        r.url = url;
        r.headers = hdr;
        r.nheaders = auth[0] ? 1 : 0;
        r.timeout_ms = CONTAINER_TIMEOUT_MS;
        r.direct = 1;
        sent = ddb_creds_http_send(cfg, &r);
    }
    if (sent < 0) {
        ddb_error_set(err, DDB_ECREDENTIALS, "%s: no answer after %d attempts: %s", what,
                      CONTAINER_ATTEMPTS, r.error);
        goto out;
    }
    if (r.status != 200) {
        ddb_error_set(err, DDB_ECREDENTIALS, "%s answered HTTP %ld%s", what, r.status,
                      r.status == 401 || r.status == 403
                          ? ": check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)"
                          : ": check the task's or pod's role");
        goto out;
    }
    rc = ddb_creds_from_json(r.answer.data, r.answer.len, what, out, err);
out:
    explicit_bzero(auth, sizeof auth);
    ddb_creds_http_cleanup(&r);
    free(url);
    return rc;
}
