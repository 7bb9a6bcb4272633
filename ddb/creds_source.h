/* Inside the credential chain (creds.c): what a source is, and the helpers the sources share.
 * Not for use outside ddb/creds*.c and their tests.
 *
 * A source's load function says "loaded" (out filled), "does not apply here" (a note for the
 * final "no credentials" message added to why) or "error" (err filled: the source applies but
 * failed, which ends the chain as the AWS CLI's does). Messages never hold a secret. */
#ifndef DDB_CREDS_SOURCE_H
#define DDB_CREDS_SOURCE_H

#include <stddef.h>
#include <time.h>

#include "base/buf.h"
#include "ddb/config.h"
#include "ddb/creds.h"
#include "ddb/error.h"

enum load_result {
    LOAD_ERROR = -1,  /* err filled */
    LOAD_SKIPPED = 0, /* does not apply; a note was added to why */
    LOAD_OK = 1,      /* out filled */
};

typedef enum load_result ddb_creds_load_fn(const struct ddb_config *cfg,
                                           struct ddb_credentials *out, struct buf *why,
                                           struct ddb_error *err);

/* The sources that live in files of their own. */
ddb_creds_load_fn ddb_creds_load_web_identity; /* creds_web_identity.c */
ddb_creds_load_fn ddb_creds_load_container;    /* creds_container.c */
ddb_creds_load_fn ddb_creds_load_imds;         /* creds_imds.c */

/* Fills c (overwritten) with copies of key, secret and token (NULL or "": none). Returns LOAD_OK,
 * or LOAD_ERROR (out of memory) with err filled. */
enum load_result ddb_creds_fill(struct ddb_credentials *c, const char *key, const char *secret,
                                const char *token, struct ddb_error *err);

/* "2026-11-22T10:00:00Z", with fractions of a second and a +HH:MM / -HH:MM offset allowed.
 * Returns 0 or -1. */
int ddb_creds_parse_time(const char *s, time_t *out);

/* Fills out from the JSON object that the container endpoint and instance metadata answer with:
 * AccessKeyId, SecretAccessKey, Token, Expiration. what names the source and URL for messages.
 * Returns LOAD_OK or LOAD_ERROR (err filled; the message never quotes the body). */
enum load_result ddb_creds_from_json(const char *body, size_t len, const char *what,
                                     struct ddb_credentials *out, struct ddb_error *err);

/* ---- the blocking HTTP fetch the remote sources use (creds_http.c) ----
 *
 * Why blocking and not the engine in http.c: the provider is made in fs/main.c before the engine
 * exists (the engine's thread starts after the fork), and afterwards a source only loads on a
 * thread that may block (ddb_creds_get is never called on the I/O thread; the client refreshes
 * from a thread of its own). One libcurl easy call per request, made and freed here. */

struct ddb_creds_http {
    /* In: */
    const char *method;         /* "GET", "PUT" or "POST" */
    const char *url;            /* logged and shown in messages: must not hold a secret */
    const char *const *headers; /* "Name: value" lines (may hold secrets; never shown) */
    size_t nheaders;
    const char *body; /* NULL: none */
    size_t body_len;
    long timeout_ms; /* connect and whole request */
    int direct;      /* 1: never through a proxy (link-local and loopback services) */
    /* Out: */
    long status;       /* 0 when no answer came */
    int timed_out;     /* the request timed out */
    char error[256];   /* libcurl's message when status is 0 */
    struct buf answer; /* the body, capped at DDB_CREDS_ANSWER_MAX */
};

/* Sends the request once: TLS verified (AWS_CA_BUNDLE or the profile's ca_bundle names a CA file),
 * no redirects followed, http and https only. Returns 0 when an answer came (any status), -1 when
 * none did (error and timed_out say why). The caller frees r->answer with
 * ddb_creds_http_cleanup (which zeroes it: answers hold secrets). */
int ddb_creds_http_send(const struct ddb_config *cfg, struct ddb_creds_http *r);
void ddb_creds_http_cleanup(struct ddb_creds_http *r);

/* For tests: the container source's URL from the environment, in out (a new string); NULL with
 * err filled when the URL is not allowed, or NULL with err clear when neither variable is set. */
char *ddb_creds_container_url(const struct ddb_config *cfg, struct ddb_error *err);

/* For tests: parses an STS AssumeRoleWithWebIdentity answer (XML). status: its HTTP status. On an
 * <Error>, err says its Code and Message. Returns LOAD_OK or LOAD_ERROR. */
enum load_result ddb_creds_sts_parse(const char *body, size_t len, long status, const char *url,
                                     struct ddb_credentials *out, struct ddb_error *err);

#endif
