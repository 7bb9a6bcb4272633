#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ddb/retry.h"

Test(retry, throttle_types_are_retried_as_throttles)
{
    const char *types[] = {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        cr_expect_eq(ddb_retry_classify(400, types[i], 0), DDB_RETRY_THROTTLE, "%s", types[i]);
}

Test(retry, http_429_is_a_throttle)
{
    cr_assert_eq(ddb_retry_classify(429, NULL, 0), DDB_RETRY_THROTTLE);
}

Test(retry, server_errors_and_any_5xx_are_transient)
{
    cr_assert_eq(ddb_retry_classify(500, "InternalServerError", 0), DDB_RETRY_TRANSIENT);
    cr_assert_eq(ddb_retry_classify(503, "ServiceUnavailable", 0), DDB_RETRY_TRANSIENT);
    cr_assert_eq(ddb_retry_classify(500, NULL, 0), DDB_RETRY_TRANSIENT);
    cr_assert_eq(ddb_retry_classify(502, NULL, 0), DDB_RETRY_TRANSIENT);
    cr_assert_eq(ddb_retry_classify(504, "", 0), DDB_RETRY_TRANSIENT);
    cr_assert_eq(ddb_retry_classify(503, "SomethingNew", 0), DDB_RETRY_TRANSIENT);
}

Test(retry, a_transport_failure_with_no_answer_is_transient)
{
    cr_assert_eq(ddb_retry_classify(0, NULL, 1), DDB_RETRY_TRANSIENT);
}

Test(retry, no_answer_without_a_transport_failure_is_never_retried)
{
    cr_assert_eq(ddb_retry_classify(0, NULL, 0), DDB_RETRY_NEVER);
}

Test(retry, request_errors_are_never_retried)
{
    const char *types[] = {
        "ValidationException",
        "com.amazon.coral.validate#ValidationException",
        "SerializationException",
        "ResourceNotFoundException",
        "ResourceInUseException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "ConditionalCheckFailedException",
        "LimitExceededException",
        "ItemCollectionSizeLimitExceededException",
        "UnknownOperationException",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        cr_expect_eq(ddb_retry_classify(400, types[i], 0), DDB_RETRY_NEVER, "%s", types[i]);
}

Test(retry, plain_4xx_without_a_type_is_never_retried)
{
    long statuses[] = {400, 403, 404, 413};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        cr_expect_eq(ddb_retry_classify(statuses[i], NULL, 0), DDB_RETRY_NEVER, "%ld", statuses[i]);
}

Test(retry, init_fills_dynamodb_defaults)
{
    struct ddb_backoff b;
    ddb_backoff_init(&b);
    cr_assert_eq(b.base_ms, 25);
    cr_assert_eq(b.cap_ms, 20000);
    cr_assert_eq(b.window_ms, 120000);
}

static long ceiling_of(const struct ddb_backoff *b, int attempt)
{
    long c = b->base_ms;
    for (int i = 0; i < attempt && c < b->cap_ms; i++)
        c *= 2;
    return c < b->cap_ms ? c : b->cap_ms;
}

Test(retry, delay_stays_within_zero_and_the_capped_exponential_for_1000_attempts)
{
    struct ddb_backoff b;
    ddb_backoff_init(&b);
    const uint32_t rnds[] = {0, 1, 12345, 0x7fffffff, 0x80000000u, UINT32_MAX - 1, UINT32_MAX};
    for (int attempt = 0; attempt <= 1000; attempt++) {
        long ceiling = ceiling_of(&b, attempt);
        for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
            long d = ddb_backoff_delay_ms(&b, attempt, rnds[i]);
            cr_assert_geq(d, 0, "attempt %d", attempt);
            cr_assert_leq(d, ceiling, "attempt %d rnd %u: %ld > %ld", attempt, rnds[i], d, ceiling);
            cr_assert_leq(d, b.cap_ms);
        }
        for (int i = 0; i < 50; i++) {
            long d = ddb_backoff_delay_ms(&b, attempt, ddb_retry_random());
            cr_assert(d >= 0 && d <= ceiling);
        }
    }
}

Test(retry, the_extremes_of_rnd_reach_both_ends_of_the_range)
{
    struct ddb_backoff b;
    ddb_backoff_init(&b);
    for (int attempt = 0; attempt <= 1000; attempt += 7) {
        cr_assert_eq(ddb_backoff_delay_ms(&b, attempt, 0), 0);
        cr_assert_eq(ddb_backoff_delay_ms(&b, attempt, UINT32_MAX), ceiling_of(&b, attempt));
    }
    cr_assert_eq(ddb_backoff_delay_ms(&b, 0, UINT32_MAX), 25);
    cr_assert_eq(ddb_backoff_delay_ms(&b, 3, UINT32_MAX), 200);
    cr_assert_eq(ddb_backoff_delay_ms(&b, 1000, UINT32_MAX), 20000);
}

Test(retry, negative_attempts_and_huge_caps_do_not_overflow)
{
    struct ddb_backoff b = {.base_ms = 1000, .cap_ms = LONG_MAX, .window_ms = 0};
    cr_assert_eq(ddb_backoff_delay_ms(&b, -5, UINT32_MAX), 1000);
    for (int attempt = 0; attempt <= 1000; attempt++) {
        long d = ddb_backoff_delay_ms(&b, attempt, UINT32_MAX);
        cr_assert(d >= 0 && d <= LONG_MAX);
        cr_assert_eq(ddb_backoff_delay_ms(&b, attempt, 0), 0);
    }
    cr_assert_eq(ddb_backoff_delay_ms(&b, 1000, UINT32_MAX), LONG_MAX);
    cr_assert_eq(ddb_backoff_delay_ms(&b, INT32_MAX, UINT32_MAX), LONG_MAX);
}

Test(retry, a_base_above_the_cap_is_capped)
{
    struct ddb_backoff b = {.base_ms = 50000, .cap_ms = 20000, .window_ms = 0};
    cr_assert_eq(ddb_backoff_delay_ms(&b, 0, UINT32_MAX), 20000);
}

Test(retry, a_zero_base_or_cap_means_no_delay)
{
    struct ddb_backoff b = {.base_ms = 0, .cap_ms = 20000, .window_ms = 0};
    cr_assert_eq(ddb_backoff_delay_ms(&b, 5, UINT32_MAX), 0);
    b.base_ms = 25;
    b.cap_ms = 0;
    cr_assert_eq(ddb_backoff_delay_ms(&b, 5, UINT32_MAX), 0);
}

Test(retry, random_delays_use_the_full_range_evenly)
{
    struct ddb_backoff b;
    ddb_backoff_init(&b);
    /* attempt 2: uniform over [0, 100]. 101 values, 101,000 draws: every value seen, each
     * bucket of ten within 20% of its share. */
    enum { N = 101000 };
    int seen[101] = {0};
    long sum = 0;
    for (int i = 0; i < N; i++) {
        long d = ddb_backoff_delay_ms(&b, 2, ddb_retry_random());
        cr_assert(d >= 0 && d <= 100);
        seen[d]++;
        sum += d;
    }
    for (int v = 0; v <= 100; v++)
        cr_assert_gt(seen[v], 0, "delay %d never drawn", v);
    for (int lo = 0; lo < 100; lo += 10) {
        int n = 0;
        for (int v = lo; v < lo + 10; v++)
            n += seen[v];
        cr_assert(n > 0.8 * N * 10 / 101 && n < 1.2 * N * 10 / 101, "bucket %d: %d", lo, n);
    }
    double mean = (double)sum / N;
    cr_assert(mean > 48 && mean < 52, "mean %f", mean);
}

Test(retry, random_values_cover_all_bits)
{
    uint32_t ored = 0, anded = UINT32_MAX;
    for (int i = 0; i < 1000; i++) {
        uint32_t r = ddb_retry_random();
        ored |= r;
        anded &= r;
    }
    cr_assert_eq(ored, UINT32_MAX);
    cr_assert_eq(anded, 0);
}

static void *draw(void *arg)
{
    uint32_t *out = arg;
    for (int i = 0; i < 1000; i++)
        out[i] = ddb_retry_random();
    return NULL;
}

Test(retry, random_is_usable_from_many_threads_with_different_sequences)
{
    enum { T = 8 };
    static uint32_t out[T][1000];
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, draw, out[i]), 0);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++)
        for (int j = i + 1; j < T; j++)
            cr_assert_neq(memcmp(out[i], out[j], sizeof(out[i])), 0, "threads %d and %d", i, j);
}
