#include "ddb/error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* How much of a body that is not JSON goes into the message. */
#define BODY_EXCERPT_MAX 200

const char *ddb_strerror(enum ddb_err code)
{
    switch (code) {
    case DDB_OK:
        return "success";
    case DDB_ENOMEM:
        return "out of memory";
    case DDB_EINVAL:
        return "invalid argument";
    case DDB_ECONFIG:
        return "configuration error";
    case DDB_ECREDENTIALS:
        return "no usable AWS credentials";
    case DDB_ENETWORK:
        return "network error";
    case DDB_ETIMEOUT:
        return "timed out";
    case DDB_ETHROTTLED:
        return "throttled by DynamoDB";
    case DDB_ESERVER:
        return "DynamoDB server error";
    case DDB_EVALIDATION:
        return "request rejected by DynamoDB validation";
    case DDB_ENOTFOUND:
        return "table not found or not active";
    case DDB_EINUSE:
        return "resource in use";
    case DDB_EACCESS:
        return "access denied";
    case DDB_ELIMIT:
        return "limit exceeded";
    case DDB_EPROTOCOL:
        return "unexpected answer from DynamoDB";
    case DDB_ECANCELED:
        return "canceled";
    case DDB_EOTHER:
        return "DynamoDB error";
    case DDB_ELOCAL:
        return "local file error";
    }
    return "unknown error";
}

void ddb_error_clear(struct ddb_error *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof(*e));
}

/* Sets the code and the message; the other fields are left as they are. */
void ddb_error_set(struct ddb_error *e, enum ddb_err code, const char *fmt, ...)
{
    if (!e)
        return;
    e->code = code;
    if (!fmt) {
        e->message[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

/* The type's name without "namespace#" before it or ":detail" after it (as in X-Amzn-ErrorType),
 * copied into out. */
static void strip_type(const char *type, char *out, size_t outlen)
{
    const char *hash = strrchr(type, '#');
    if (hash)
        type = hash + 1;
    size_t n = strcspn(type, ":");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, type, n);
    out[n] = '\0';
}

static int is_one_of(const char *s, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(s, *names) == 0)
            return 1;
    return 0;
}

static const char *const throttle_types[] = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    NULL,
};
static const char *const validation_types[] = {
    "ValidationException",
    "SerializationException",
    NULL,
};
static const char *const access_types[] = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "MissingAuthenticationToken",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    NULL,
};
static const char *const limit_types[] = {
    "LimitExceededException",
    "ItemCollectionSizeLimitExceededException",
    NULL,
};
static const char *const server_types[] = {
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    NULL,
};

enum ddb_err ddb_error_from_aws_type(const char *type, long http_status)
{
    char name[sizeof(((struct ddb_error *)0)->type)];
    strip_type(type ? type : "", name, sizeof(name));

    if (is_one_of(name, throttle_types))
        return DDB_ETHROTTLED;
    if (is_one_of(name, validation_types))
        return DDB_EVALIDATION;
    if (strcmp(name, "ResourceNotFoundException") == 0)
        return DDB_ENOTFOUND;
    if (strcmp(name, "ResourceInUseException") == 0)
        return DDB_EINUSE;
    if (is_one_of(name, access_types))
        return DDB_EACCESS;
    if (is_one_of(name, limit_types))
        return DDB_ELIMIT;
    if (is_one_of(name, server_types) || http_status >= 500)
        return DDB_ESERVER;
    if (name[0] == '\0' && http_status == 413)
        return DDB_ELIMIT;
    return DDB_EOTHER;
}

/* Copies at most max bytes of body into out as one line of printable ASCII: leading blanks are
 * skipped, runs of blanks or control characters become one space, other bytes become '?'. */
static void excerpt(const char *body, size_t len, char *out, size_t outlen, size_t max)
{
    size_t i = 0, o = 0;
    int space = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    for (size_t taken = 0; i < len && taken < max && o + 1 < outlen; i++, taken++) {
        unsigned char c = (unsigned char)body[i];
        if (c <= ' ' || c == 0x7f) {
            space = 1;
            continue;
        }
        if (space && o > 0 && o + 2 < outlen)
            out[o++] = ' ';
        space = 0;
        out[o++] = c < 0x80 ? (char)c : '?';
    }
    out[o] = '\0';
}

/* Makes s one printable line: control characters (a "\n" escape in the server's JSON, say) become
 * spaces, so that a message never splits or forges a log line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f)
            *s = ' ';
}

void ddb_error_from_response(struct ddb_error *e, long http_status, const char *body, size_t len,
                             const char *request_id)
{
    if (!e)
        return;
    int attempts = e->attempts;
    ddb_error_clear(e);
    e->attempts = attempts;
    e->http_status = http_status;
    if (request_id)
        snprintf(e->request_id, sizeof(e->request_id), "%s", request_id);
    if (!body)
        len = 0;

    json_t *root = len ? json_loadb(body, len, 0, NULL) : NULL;
    if (json_is_object(root)) {
        const char *type = json_string_value(json_object_get(root, "__type"));
        const char *msg = json_string_value(json_object_get(root, "message"));
        if (!msg)
            msg = json_string_value(json_object_get(root, "Message"));
        strip_type(type ? type : "", e->type, sizeof(e->type));
        e->code = ddb_error_from_aws_type(e->type, http_status);
        if (msg)
            snprintf(e->message, sizeof(e->message), "%s", msg);
        else if (e->type[0])
            snprintf(e->message, sizeof(e->message), "%s (HTTP %ld)", e->type, http_status);
        else
            snprintf(e->message, sizeof(e->message), "HTTP %ld with no error message", http_status);
        goto out;
    }

    e->code = ddb_error_from_aws_type(NULL, http_status);
    size_t start = 0;
    while (start < len && (body[start] == ' ' || body[start] == '\t' || body[start] == '\r' ||
                           body[start] == '\n'))
        start++;
    if (start == len) {
        if (http_status == 413)
            snprintf(e->message, sizeof(e->message), "request too large (HTTP 413)");
        else
            snprintf(e->message, sizeof(e->message), "HTTP %ld with an empty body", http_status);
        goto out;
    }
    char text[BODY_EXCERPT_MAX + 1];
    excerpt(body, len, text, sizeof(text), BODY_EXCERPT_MAX);
    snprintf(e->message, sizeof(e->message), "HTTP %ld: %s%s", http_status, text,
             len - start > BODY_EXCERPT_MAX ? "..." : "");

out:
    one_line(e->type);
    one_line(e->message);
    json_decref(root);
}
