#include "ddb/retry.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "ddb/error.h"

/* The AWS type decides first (a throttle may come with 400), then the status: 429 is a throttle
 * whatever the body says, any 5xx is transient, and so is a transport failure with no answer.
 * The rest (validation, not found, access and signature errors, other 4xx) would fail again. */
enum ddb_retry_class ddb_retry_classify(long http_status, const char *aws_type,
                                        int transport_failed)
{
    if (http_status == 0)
        return transport_failed ? DDB_RETRY_TRANSIENT : DDB_RETRY_NEVER;
    switch (ddb_error_from_aws_type(aws_type, http_status)) {
    case DDB_ETHROTTLED:
        return DDB_RETRY_THROTTLE;
    case DDB_ESERVER:
        return DDB_RETRY_TRANSIENT;
    default:
        break;
    }
    if (http_status == 429)
        return DDB_RETRY_THROTTLE;
    return DDB_RETRY_NEVER;
}

void ddb_backoff_init(struct ddb_backoff *b)
{
    b->base_ms = DDB_BACKOFF_BASE_MS;
    b->cap_ms = DDB_BACKOFF_CAP_MS;
    b->window_ms = DDB_RETRY_WINDOW_MS;
}

long ddb_backoff_delay_ms(const struct ddb_backoff *b, int attempt, uint32_t rnd)
{
    if (b->cap_ms <= 0 || b->base_ms <= 0)
        return 0;
    /* min(cap, base * 2^attempt), doubling only while below the cap so it cannot overflow. */
    long ceiling = b->base_ms < b->cap_ms ? b->base_ms : b->cap_ms;
    for (int i = 0; i < attempt && ceiling < b->cap_ms; i++)
        ceiling = ceiling > b->cap_ms / 2 ? b->cap_ms : ceiling * 2;
    /* Uniform in [0, ceiling]: scale rnd to ceiling + 1 buckets (0 and UINT32_MAX reach both ends).
     */
    if ((uint64_t)ceiling < UINT32_MAX)
        return (long)(((uint64_t)rnd * ((uint64_t)ceiling + 1)) >> 32);
    double d = (double)ceiling * ((double)rnd / (double)UINT32_MAX);
    return d >= (double)ceiling ? ceiling : (long)d;
}

/* xorshift64* with one state per thread, seeded from the kernel (or the clock when getrandom is
 * unavailable) the first time a thread asks. */
static _Thread_local uint64_t rng_state;

static uint64_t rng_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
               (uint64_t)(uintptr_t)&rng_state;
    }
    return seed ? seed : 0x9e3779b97f4a7c15u;
}

uint32_t ddb_retry_random(void)
{
    if (!rng_state)
        rng_state = rng_seed();
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1du) >> 32);
}
