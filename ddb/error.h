/* Errors of the DynamoDB client. A failed call fills a caller-owned struct ddb_error (as jansson's
 * json_error_t): what kind of failure, the HTTP status, AWS's error type and message, how many
 * attempts were made. Only fs/ turns these into errno. */
#ifndef DDB_ERROR_H
#define DDB_ERROR_H

#include <stddef.h>

#include "base/limits.h"

enum ddb_err {
    DDB_OK = 0,
    DDB_ENOMEM,       /* out of memory */
    DDB_EINVAL,       /* the caller's arguments are wrong */
    DDB_ECONFIG,      /* configuration: bad option, profile, file, region or endpoint */
    DDB_ECREDENTIALS, /* no credentials, or they could not be loaded or refreshed */
    DDB_ENETWORK,     /* could not connect, connection reset, DNS, TLS (after retries) */
    DDB_ETIMEOUT,     /* a request or the retry window timed out */
    DDB_ETHROTTLED,   /* throttled for longer than the retry window */
    DDB_ESERVER,      /* HTTP 5xx for longer than the retry window */
    DDB_EVALIDATION,  /* ValidationException, SerializationException: the request is wrong */
    DDB_ENOTFOUND,    /* ResourceNotFoundException: no such table (or not ACTIVE yet) */
    DDB_EINUSE,       /* ResourceInUseException: e.g. CreateTable of a table that exists */
    DDB_EACCESS,      /* AccessDenied, UnrecognizedClient, signature or expired-token errors */
    DDB_ELIMIT,       /* LimitExceededException, item or request too large */
    DDB_EPROTOCOL,    /* the server's answer could not be understood */
    DDB_ECANCELED,    /* the client was shut down before the call finished */
    DDB_EOTHER,       /* any other AWS error; see type and message */
    DDB_ELOCAL,       /* a local file failed (the spill of a Scan answer); message has the path */
};

struct ddb_error {
    enum ddb_err code;
    long http_status;                /* 0 when no HTTP answer was received */
    char type[128];                  /* AWS error type without namespace, e.g. "ValidationException" */
    char message[DDB_ERRMSG_MAX];    /* AWS's message, or ours; never holds a secret */
    char request_id[80];             /* x-amzn-RequestId when known */
    int attempts;                    /* requests sent for this call */
};

/* Static string, never NULL. */
const char *ddb_strerror(enum ddb_err code);

/* Clears e (code DDB_OK). e may be NULL in all of these. */
void ddb_error_clear(struct ddb_error *e);
void ddb_error_set(struct ddb_error *e, enum ddb_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps an AWS error type (with or without "namespace#") to our code. */
enum ddb_err ddb_error_from_aws_type(const char *type, long http_status);

/* Fills e from an HTTP error answer: status, the JSON body's __type and message/Message.
 * A body that is not JSON still gives a useful message (status and the start of the body). */
void ddb_error_from_response(struct ddb_error *e, long http_status, const char *body, size_t len,
                             const char *request_id);

#endif
