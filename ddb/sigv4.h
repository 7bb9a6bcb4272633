/* AWS Signature Version 4 for a request signed in the Authorization header (the form DynamoDB uses).
 * Pure: no clock, no I/O; the caller passes the time. Tested against the official suite. */
#ifndef DDB_SIGV4_H
#define DDB_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "base/buf.h"

struct ddb_header {
    const char *name;  /* any case; trimmed and lowercased for signing */
    const char *value; /* trimmed, inner runs of spaces folded, for signing */
};

struct ddb_sigv4_request {
    const char *method;                /* "POST" */
    const char *path;                  /* as in the request line, not yet encoded, e.g. "/" */
    const char *query;                 /* without '?', may be NULL */
    const struct ddb_header *headers;  /* must include Host */
    size_t nheaders;
    const void *body;
    size_t body_len;
};

struct ddb_sigv4_params {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL when none */
    const char *region;
    const char *service;       /* "dynamodb" */
    time_t now;                /* the signing time (UTC seconds) */
    int normalize_path;        /* 1 for every service but S3 */
    int omit_session_token;    /* 1: leave the token out of the signature, send it unsigned
                                  (the suite's post-sts-header-after); DynamoDB signs it: 0 */
};

/* The result. Headers to add to the request: X-Amz-Date, X-Amz-Security-Token (when a token was
 * given and the request did not carry one) and Authorization. The canonical request and string to sign are kept for tests and debugging. */
struct ddb_sigv4_result {
    char amz_date[17];        /* "YYYYMMDDTHHMMSSZ" */
    char signature[65];       /* lowercase hex */
    struct buf authorization; /* the Authorization header's value */
    struct buf canonical_request;
    struct buf string_to_sign;
    struct buf signed_headers; /* "content-type;host;x-amz-date;x-amz-target" */
};

void ddb_sigv4_result_init(struct ddb_sigv4_result *r);
void ddb_sigv4_result_cleanup(struct ddb_sigv4_result *r);

/* Signs req. Returns 0, or -1 when out of memory or the request is malformed (no Host).
 * X-Amz-Date is made from p->now and signed (the caller must not pass one). A session token is
 * signed as X-Amz-Security-Token unless p->omit_session_token. The caller adds to the request:
 * X-Amz-Date: out->amz_date, X-Amz-Security-Token (when there is a token) and
 * Authorization: out->authorization. */
int ddb_sigv4_sign(const struct ddb_sigv4_request *req, const struct ddb_sigv4_params *p,
                   struct ddb_sigv4_result *out);

/* Lowercase hex SHA-256 of data into out[65]. */
void ddb_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
