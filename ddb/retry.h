/* When to retry a DynamoDB request and how long to wait. Pure. */
#ifndef DDB_RETRY_H
#define DDB_RETRY_H

#include <stdint.h>

enum ddb_retry_class {
    DDB_RETRY_NEVER = 0, /* surface at once: validation, not found, access, signature... */
    DDB_RETRY_THROTTLE,  /* ProvisionedThroughputExceeded, Throttling, RequestLimitExceeded */
    DDB_RETRY_TRANSIENT, /* HTTP 5xx, InternalServerError, ServiceUnavailable, network errors */
};

/* http_status: 0 when no answer came (transport_failed then says whether the transport failed).
 * aws_type: the error's __type without namespace, or NULL. */
enum ddb_retry_class ddb_retry_classify(long http_status, const char *aws_type,
                                        int transport_failed);

/* DynamoDB's defaults: base 25 ms, cap 20 s. The total window bounds the time spent waiting
 * between attempts of one call; past it the last error surfaces with its cause. */
#define DDB_BACKOFF_BASE_MS 25
#define DDB_BACKOFF_CAP_MS 20000
#define DDB_RETRY_WINDOW_MS (120 * 1000)

struct ddb_backoff {
    long base_ms;
    long cap_ms;
    long window_ms; /* total time allowed for one call's retries */
};

/* Fills DynamoDB's defaults. */
void ddb_backoff_init(struct ddb_backoff *b);

/* Full jitter: a delay uniform in [0, min(cap, base * 2^attempt)], attempt counting from 0 for
 * the first retry, rnd a uniform random 32-bit value (injected for tests). */
long ddb_backoff_delay_ms(const struct ddb_backoff *b, int attempt, uint32_t rnd);

/* A random 32-bit value for the backoff (thread-safe, not for cryptography). */
uint32_t ddb_retry_random(void);

#endif
