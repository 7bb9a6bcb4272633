/* EC2 instance metadata credentials (see creds.h, source 7), as botocore fetches them:
 *   PUT  ENDPOINT/latest/api/token  (x-aws-ec2-metadata-token-ttl-seconds: 21600)  -> token
 *   GET  ENDPOINT/latest/meta-data/iam/security-credentials/      -> the role's name
 *   GET  ENDPOINT/latest/meta-data/iam/security-credentials/ROLE  -> the credentials (JSON)
 * the GETs carrying x-aws-ec2-metadata-token. A token refused with 403, 404 or 405 falls back to
 * IMDSv1 (the GETs without a token) unless AWS_EC2_METADATA_V1_DISABLED / ec2_metadata_v1_disabled
 * says not to.
 *
 * A machine without the service (no answer within the timeout, 1 s as in the AWS CLI) or an
 * instance without a role is "does not apply"; a role whose credentials cannot be read is an
 * error. The token is a secret: it goes in a header only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "ddb/creds_source.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL_S 21600
#define IMDS_TIMEOUT_S 1.0 /* botocore's default */
#define IMDS_ATTEMPTS_MAX 10
#define IMDS_ROLE_MAX 256
#define IMDS_URL_MAX 2048
#define IMDS_TOKEN_HEADER_MAX 4096

static const char *setting(const struct ddb_config *cfg, const char *env, const char *key)
{
    const char *v = ddb_config_env(cfg, env);
    if (!v)
        v = ddb_config_profile_get(cfg, key, 1, 0);
    return v && v[0] ? v : NULL;
}

static int is_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

/* The endpoint without its trailing slashes, into out. Returns 0, or -1 with err filled. */
static int endpoint(const struct ddb_config *cfg, char *out, size_t outlen, struct ddb_error *err)
{
    const char *from = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    const char *e = ddb_config_env(cfg, from);
    if (!e) {
        from = "ec2_metadata_service_endpoint";
        if ((e = ddb_config_profile_get(cfg, from, 1, 0)) && !e[0])
            e = NULL;
    }
    if (!e) {
        const char *mode = setting(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                                   "ec2_metadata_service_endpoint_mode");
        e = mode && strcasecmp(mode, "ipv6") == 0 ? IMDS_DEFAULT_ENDPOINT_V6
                                                  : IMDS_DEFAULT_ENDPOINT;
    }
    size_t n = strlen(e);
    while (n > 0 && e[n - 1] == '/')
        n--;
    if ((strncasecmp(e, "http://", 7) != 0 && strncasecmp(e, "https://", 8) != 0) || n >= outlen ||
        n <= 8) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "instance metadata: %s \"%.200s\" is not an http:// or https:// URL", from,
                      e);
        return -1;
    }
    memcpy(out, e, n);
    out[n] = '\0';
    return 0;
}

struct imds {
    const struct ddb_config *cfg;
    char base[IMDS_URL_MAX];
    long timeout_ms;
    int attempts;
    char token_header[IMDS_TOKEN_HEADER_MAX]; /* "x-aws-ec2-metadata-token: ..." or "" (v1) */
};

/* One request, tried up to im->attempts times while no answer comes. Returns 0 (an answer, any
 * status) or -1 (r->error says why). */
static int send_req(struct imds *im, struct ddb_creds_http *r)
{
    int rc = -1;
    for (int i = 0; i < im->attempts && rc < 0; i++) {
        if (i)
            ddb_creds_http_cleanup(r);
        rc = ddb_creds_http_send(im->cfg, r);
    }
    return rc;
}

static void get_init(struct imds *im, struct ddb_creds_http *r, const char *url, const char **hdr)
{
    memset(r, 0, sizeof(*r));
    r->method = "GET";
    r->url = url;
    r->timeout_ms = im->timeout_ms;
    r->direct = 1;
    if (im->token_header[0]) {
        hdr[0] = im->token_header;
        r->headers = hdr;
        r->nheaders = 1;
    }
}

static double timeout_setting(const struct ddb_config *cfg, const char *env, const char *key,
                              double dflt, double max)
{
    const char *v = setting(cfg, env, key);
    char *end;
    if (!v)
        return dflt;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || !(d > 0) || d > max) {
        log_warn("%s=%.40s is not a number from 0 to %g; %g is used", env, v, max, dflt);
        return dflt;
    }
    return d;
}

enum load_result ddb_creds_load_imds(const struct ddb_config *cfg, struct ddb_credentials *out,
                                     struct buf *why, struct ddb_error *err)
{
    struct imds im = {.cfg = cfg};
    struct ddb_creds_http r = {0};
    const char *hdr[1];
    char url[IMDS_URL_MAX + 128], role[IMDS_ROLE_MAX], what[IMDS_URL_MAX + 256];
    enum load_result rc = LOAD_ERROR;

    memset(out, 0, sizeof(*out));
    if (is_true(ddb_config_env(cfg, "AWS_EC2_METADATA_DISABLED"))) {
        buf_addstr(why, "instance metadata (AWS_EC2_METADATA_DISABLED is true)");
        return LOAD_SKIPPED;
    }
    if (endpoint(cfg, im.base, sizeof im.base, err) < 0)
        return LOAD_ERROR;
    im.timeout_ms = (long)(1000 * timeout_setting(cfg, "AWS_METADATA_SERVICE_TIMEOUT",
                                                  "metadata_service_timeout", IMDS_TIMEOUT_S, 60));
    im.attempts = (int)timeout_setting(cfg, "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                                       "metadata_service_num_attempts", 1, IMDS_ATTEMPTS_MAX);

    /* The session token (IMDSv2). */
    static const char *const ttl[] = {"x-aws-ec2-metadata-token-ttl-seconds: 21600"};
    snprintf(url, sizeof url, "%s/latest/api/token", im.base);
    r.method = "PUT";
    r.url = url;
    r.headers = ttl;
    r.nheaders = 1;
    r.timeout_ms = im.timeout_ms;
    r.direct = 1;
    if (send_req(&im, &r) < 0) {
        buf_addf(why, "instance metadata (no answer from %s: %s)", url, r.error);
        rc = LOAD_SKIPPED;
        goto out;
    }
    if (r.status == 200 && r.answer.len > 0 && r.answer.len < IMDS_TOKEN_HEADER_MAX - 40 &&
        !memchr(r.answer.data, '\n', r.answer.len) && !memchr(r.answer.data, '\r', r.answer.len)) {
        snprintf(im.token_header, sizeof im.token_header, "x-aws-ec2-metadata-token: %s",
                 buf_str(&r.answer));
    } else if (r.status == 403 || r.status == 404 || r.status == 405) {
        if (is_true(setting(cfg, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled"))) {
            buf_addf(why,
                     "instance metadata (%s refused a token with HTTP %ld and IMDSv1 is "
                     "disabled by AWS_EC2_METADATA_V1_DISABLED)",
                     url, r.status);
            rc = LOAD_SKIPPED;
            goto out;
        }
        log_debug("instance metadata: %s refused a token (HTTP %ld); using IMDSv1", url, r.status);
    } else if (r.status == 200) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "instance metadata: %s answered with a malformed token", url);
        goto out;
    } else {
        buf_addf(why, "instance metadata (%s answered HTTP %ld)", url, r.status);
        rc = LOAD_SKIPPED;
        goto out;
    }
    ddb_creds_http_cleanup(&r);

    /* The role. */
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", im.base);
    get_init(&im, &r, url, hdr);
    if (send_req(&im, &r) < 0) {
        buf_addf(why, "instance metadata (no answer from %s: %s)", url, r.error);
        rc = LOAD_SKIPPED;
        goto out;
    }
    size_t n = strcspn(buf_str(&r.answer), "\r\n");
    if (r.status != 200 || n == 0) {
        buf_addf(why, "instance metadata (no IAM role: %s answered HTTP %ld%s)", url, r.status,
                 r.status == 200 ? " with no name" : "");
        rc = LOAD_SKIPPED;
        goto out;
    }
    if (n >= sizeof role || strcspn(buf_str(&r.answer), "/?#% ") < n) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "instance metadata: %s answered with a role name "
                      "that is not one",
                      url);
        goto out;
    }
    memcpy(role, r.answer.data, n);
    role[n] = '\0';
    ddb_creds_http_cleanup(&r);

    /* Its credentials. */
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", im.base, role);
    snprintf(what, sizeof what, "instance metadata (%s)", url);
    get_init(&im, &r, url, hdr);
    if (send_req(&im, &r) < 0) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "%s: no answer: %s. Check the instance's metadata options (hop limit) or set "
                      "AWS_METADATA_SERVICE_TIMEOUT",
                      what, r.error);
        goto out;
    }
    if (r.status != 200) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "%s answered HTTP %ld: check the instance profile of role %s", what, r.status,
                      role);
        goto out;
    }
    rc = ddb_creds_from_json(r.answer.data, r.answer.len, what, out, err);

out:
    explicit_bzero(im.token_header, sizeof im.token_header);
    ddb_creds_http_cleanup(&r);
    return rc;
}
