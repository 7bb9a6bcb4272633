/* What the remote credential sources share (see creds_source.h): one blocking HTTP request made
 * with a libcurl easy handle, and the JSON credentials document of the container endpoint and
 * instance metadata.
 *
 * Answers hold secrets: the buffer that receives one is zeroed before it is freed, and no message
 * quotes an answer's body or a request's headers. */
#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#include "base/limits.h"
#include "ddb/creds_source.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct ddb_creds_http *r = ud;
    size_t len = size * n;
    /* When the answer would pass its cap, the transfer fails (CURLE_WRITE_ERROR). */
    return buf_add(&r->answer, p, len) == BUF_OK ? len : 0;
}

int ddb_creds_http_send(const struct ddb_config *cfg, struct ddb_creds_http *r)
{
    CURL *e = curl_easy_init();
    struct curl_slist *headers = NULL, *h;
    int rc = -1;

    buf_init(&r->answer, DDB_CREDS_ANSWER_MAX);
    r->status = 0;
    r->timed_out = 0;
    r->error[0] = '\0';
    if (!e) {
        snprintf(r->error, sizeof r->error, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        if (!(h = curl_slist_append(headers, r->headers[i]))) {
            snprintf(r->error, sizeof r->error, "out of memory");
            goto out;
        }
        headers = h;
    }
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = ddb_config_env(cfg, "AWS_CA_BUNDLE");
    if (!ca && (ca = ddb_config_profile_get(cfg, "ca_bundle", 1, 0)) && !ca[0])
        ca = NULL;
    if (ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    if (r->direct)
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);

    CURLcode cc = curl_easy_perform(e);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
        rc = 0;
    } else if (cc == CURLE_WRITE_ERROR) { /* on_body refused: the cap (or out of memory) */
        snprintf(r->error, sizeof r->error, "the answer is longer than %u bytes",
                 (unsigned)DDB_CREDS_ANSWER_MAX);
    } else {
        r->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        if (r->timed_out)
            snprintf(r->error, sizeof r->error, "no answer within %ld ms", r->timeout_ms);
        else
            snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(cc));
    }

out:
    curl_slist_free_all(headers);
    if (e)
        curl_easy_cleanup(e);
    return rc;
}

void ddb_creds_http_cleanup(struct ddb_creds_http *r)
{
    if (r->answer.data)
        explicit_bzero(r->answer.data, r->answer.len);
    buf_cleanup(&r->answer);
}

/* Overwrites a JSON string's bytes: jansson frees without zeroing. */
static void wipe(json_t *v)
{
    if (json_is_string(v))
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

enum load_result ddb_creds_from_json(const char *body, size_t len, const char *what,
                                     struct ddb_credentials *out, struct ddb_error *err)
{
    json_error_t jerr;
    enum load_result rc = LOAD_ERROR;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    memset(out, 0, sizeof(*out));
    if (!doc || !json_is_object(doc)) {
        ddb_error_set(err, DDB_ECREDENTIALS, "%s answered with something that is not a JSON object",
                      what);
        goto out;
    }
    json_t *key = json_object_get(doc, "AccessKeyId");
    json_t *secret = json_object_get(doc, "SecretAccessKey");
    json_t *token = json_object_get(doc, "Token");
    json_t *expiration = json_object_get(doc, "Expiration");
    json_t *code = json_object_get(doc, "Code");
    if (json_is_string(code) && strcmp(json_string_value(code), "Success") != 0) {
        json_t *msg = json_object_get(doc, "Message");
        ddb_error_set(err, DDB_ECREDENTIALS, "%s answered with Code %.64s: %.300s", what,
                      json_string_value(code), json_is_string(msg) ? json_string_value(msg) : "");
        goto out;
    }
    const char *missing = !json_is_string(key) || !json_string_length(key) ? "AccessKeyId"
                          : !json_is_string(secret) || !json_string_length(secret)
                              ? "SecretAccessKey"
                              : NULL;
    if (missing) {
        ddb_error_set(err, DDB_ECREDENTIALS, "%s answered without %s", what, missing);
        goto out;
    }
    if (token && !json_is_null(token) && !json_is_string(token)) {
        ddb_error_set(err, DDB_ECREDENTIALS, "%s answered with a Token that is not a string", what);
        goto out;
    }
    time_t exp = 0;
    if (expiration && !json_is_null(expiration) &&
        (!json_is_string(expiration) ||
         ddb_creds_parse_time(json_string_value(expiration), &exp) < 0)) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "%s answered with an Expiration that is not an ISO 8601 time", what);
        goto out;
    }
    rc = ddb_creds_fill(out, json_string_value(key), json_string_value(secret),
                        json_is_string(token) ? json_string_value(token) : NULL, err);
    if (rc == LOAD_OK)
        out->expiration = exp;
out:
    if (doc) {
        wipe(json_object_get(doc, "SecretAccessKey"));
        wipe(json_object_get(doc, "Token"));
        json_decref(doc);
    }
    return rc;
}
