/* The BatchWriteItem writer against the fake's in-memory DynamoDB, which hands back
 * UnprocessedItems, throttles, loses answers and refuses whole batches as the real one does (and
 * dynalite never does). What is checked is what got stored: every item exactly once, the last of
 * a key's puts winning, bad items rejected alone with their tags, memory and throughput bounded. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/limits.h"
#include "ddb/batch.h"
#include "ddb/throttle.h"
#include "fake_transport.h"

static struct fake_bed bed;
static struct ddb_key_schema pk_only = {.hash_name = "pk", .hash_type = 'S'};
static struct ddb_key_schema pk_sk = {
    .hash_name = "pk", .hash_type = 'S', .range_name = "sk", .range_type = 'N'};

static void bed_up(void)
{
    fake_bed_init(&bed, NULL);
}

static void bed_down(void)
{
    fake_bed_cleanup(&bed);
}

TestSuite(batch, .init = bed_up, .fini = bed_down, .timeout = 60);

/* ---- rejects ---- */

#define REJECTS_MAX 4096

struct rejects {
    pthread_mutex_t lock;
    long n;
    long tags[REJECTS_MAX];
    struct ddb_error first;
    long sleep_ms;       /* each callback takes this long (real time) */
    atomic_int running;  /* callbacks running now */
    atomic_int finished; /* callbacks that have returned */
};

static struct rejects rj = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void on_reject(long tag, const struct ddb_error *err, void *ud)
{
    struct rejects *r = ud;
    atomic_fetch_add(&r->running, 1);
    pthread_mutex_lock(&r->lock);
    if (r->n == 0)
        r->first = *err;
    if (r->n < REJECTS_MAX)
        r->tags[r->n] = tag;
    r->n++;
    long ms = r->sleep_ms;
    pthread_mutex_unlock(&r->lock);
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_sub(&r->running, 1);
    atomic_fetch_add(&r->finished, 1);
}

static long rejects_count(void)
{
    pthread_mutex_lock(&rj.lock);
    long n = rj.n;
    pthread_mutex_unlock(&rj.lock);
    return n;
}

static int rejected_tag(long tag)
{
    int times = 0;
    pthread_mutex_lock(&rj.lock);
    for (long i = 0; i < rj.n && i < REJECTS_MAX; i++)
        times += rj.tags[i] == tag;
    pthread_mutex_unlock(&rj.lock);
    return times;
}

/* ---- helpers ---- */

static struct ddb_writer *writer_new(const struct ddb_key_schema *key, struct ddb_throttle *th)
{
    struct ddb_writer_opts o = {.table = "t", .key = key, .throttle = th};
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_writer *w = ddb_writer_new(bed.client, &o, on_reject, &rj, &err);
    cr_assert_not_null(w, "ddb_writer_new: %s", err.message);
    return w;
}

static void use_table(const struct fake_ddb_opts *o)
{
    fake_ddb_configure(bed.ft, o);
}

/* Item i: pk "k%06ld", value v, and pad bytes of padding. New reference. */
static json_t *item(long i, long v, size_t pad)
{
    char pk[32], num[32];
    snprintf(pk, sizeof pk, "k%06ld", i);
    snprintf(num, sizeof num, "%ld", v);
    json_t *it = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", pk, "v", "N", num);
    if (pad) {
        char *p = malloc(pad + 1);
        memset(p, 'x', pad);
        p[pad] = '\0';
        json_t *av = json_object();
        json_object_set_new(av, "S", json_stringn_nocheck(p, pad));
        json_object_set_new(it, "pad", av);
        free(p);
    }
    return it;
}

static void put(struct ddb_writer *w, json_t *it, long tag)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_put(w, it, tag, &err), 0, "put %ld: %s", tag, err.message);
}

/* The value stored for key of item i (-1 when absent). */
static long stored_value(const json_t *probe)
{
    char *k = fake_ddb_key_of(bed.ft, probe);
    json_t *got = fake_ddb_get(bed.ft, k);
    free(k);
    long v = -1;
    if (got) {
        const char *s = json_string_value(json_object_get(json_object_get(got, "v"), "N"));
        v = s ? strtol(s, NULL, 10) : -2;
    }
    json_decref(got);
    return v;
}

/* No BatchWriteItem request ever held more than 25 items or one key twice. Returns the items
 * sent over all requests. */
static long assert_requests_well_formed(void)
{
    long sent = 0;
    size_t n = fake_transport_nrecords(bed.ft);
    for (size_t i = 0; i < n; i++) {
        const struct fake_record *r = fake_transport_record(bed.ft, i);
        if (strcmp(r->op, "BatchWriteItem") != 0)
            continue;
        cr_assert_leq(r->nitems, (size_t)DDB_BATCH_ITEMS_MAX, "request %zu has %zu items", i,
                      r->nitems);
        cr_assert_gt(r->nitems, 0, "request %zu is empty", i);
        json_t *seen = json_object();
        for (size_t k = 0; k < r->nitems; k++) {
            cr_assert_not_null(r->keys[k], "request %zu holds an item without a key", i);
            cr_assert_null(json_object_get(seen, r->keys[k]), "request %zu holds key %s twice", i,
                           r->keys[k]);
            json_object_set_new(seen, r->keys[k], json_true());
        }
        json_decref(seen);
        sent += (long)r->nitems;
    }
    return sent;
}

/* ---- never loses an item ---- */

Test(batch, ten_thousand_items_through_unprocessed_items_and_throttling_are_each_stored_once)
{
    const long n = 10000;
    struct fake_ddb_opts o = {.key = &pk_only, .seed = 1, .unprocessed = 0.30, .throttled = 0.10};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    double t0 = fake_transport_now(bed.ft);
    for (long i = 0; i < n; i++)
        put(w, item(i, i, 100), i);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    double elapsed = fake_transport_now(bed.ft) - t0;
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);

    cr_expect_eq(st.items_put, n);
    cr_expect_eq(st.items_stored, n, "stored %ld", st.items_stored);
    cr_expect_eq(st.items_rejected, 0);
    cr_expect_eq(rejects_count(), 0);
    cr_expect_gt(st.unprocessed, n / 10, "only %ld unprocessed: the fault was not exercised",
                 st.unprocessed);
    struct ddb_client_stats cs;
    ddb_client_stats(bed.client, &cs);
    cr_expect_gt(cs.throttled, 0);

    cr_assert_eq(fake_ddb_count(bed.ft), (size_t)n);
    for (long i = 0; i < n; i++) {
        json_t *want = item(i, i, 100);
        char *k = fake_ddb_key_of(bed.ft, want);
        json_t *got = fake_ddb_get(bed.ft, k);
        cr_assert(json_equal(got, want), "item %ld differs or is missing", i);
        cr_assert_eq(fake_ddb_writes(bed.ft, k), 1, "item %ld was written %ld times", i,
                     fake_ddb_writes(bed.ft, k));
        json_decref(got);
        json_decref(want);
        free(k);
    }
    long sent = assert_requests_well_formed();
    cr_expect_geq(sent, n + st.unprocessed);
    cr_log_info("10,000 items: %ld requests, %ld unprocessed, %ld throttled, %.1f s virtual",
                st.requests, st.unprocessed, cs.throttled, elapsed);
}

Test(batch, many_puts_of_few_keys_never_share_a_request_and_the_last_put_wins)
{
    /* 40 keys (with a sort key), each put 6 times in turn; unprocessed items, throttling and
     * answers lost after the write was applied all try to reorder them. */
    const long keys = 40, versions = 6;
    struct fake_ddb_opts o = {
        .key = &pk_sk, .seed = 7, .unprocessed = 0.3, .throttled = 0.1, .lost_answers = 0.1};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_sk, NULL);
    long tag = 0;
    for (long v = 1; v <= versions; v++)
        for (long k = 0; k < keys; k++) {
            json_t *it = item(k % 20, v, 10);
            json_object_set_new(it, "sk", json_pack("{s:s}", "N", k < 20 ? "1" : "2"));
            put(w, it, tag++);
        }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    ddb_writer_free(w);
    cr_assert_eq(fake_ddb_count(bed.ft), (size_t)keys);
    for (long k = 0; k < keys; k++) {
        json_t *probe = item(k % 20, 0, 0);
        json_object_set_new(probe, "sk", json_pack("{s:s}", "N", k < 20 ? "1" : "2"));
        cr_expect_eq(stored_value(probe), versions, "key %ld holds version %ld", k,
                     stored_value(probe));
        json_decref(probe);
    }
    assert_requests_well_formed();
}

Test(batch, a_key_put_twice_in_order_ends_with_the_second_value)
{
    struct fake_ddb_opts o = {.key = &pk_only, .seed = 3, .unprocessed = 0.5};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    put(w, item(1, 1, 0), 1);
    put(w, item(1, 2, 0), 2);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    ddb_writer_free(w);
    json_t *probe = item(1, 0, 0);
    cr_expect_eq(stored_value(probe), 2);
    json_decref(probe);
    assert_requests_well_formed();
}

/* UnprocessedItems deserve a backoff, but a writer that keeps storing most of each batch is making
 * progress: it should not wait longer and longer until it crawls. */
static double virtual_seconds_for(double unprocessed)
{
    const long n = 10000;
    struct fake_ddb_opts o = {.key = &pk_only, .seed = 1, .unprocessed = unprocessed};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    double t0 = fake_transport_now(bed.ft);
    for (long i = 0; i < n; i++)
        put(w, item(i, i, 100), i);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    ddb_writer_free(w);
    return fake_transport_now(bed.ft) - t0;
}

Test(batch, steady_partial_unprocessed_items_do_not_stall_the_writer)
{
    double t = virtual_seconds_for(0.30);
    cr_log_info("10,000 items with 30%% unprocessed: %.1f s virtual", t);
    cr_expect_leq(t, 60.0, "10,000 items with 30%% unprocessed took %.0f s (%.1f items/s)", t,
                  10000 / t);
}

/* A server may spell an N key differently when it hands the item back (DynamoDB does not say
 * it echoes numbers verbatim): the item must still be retried, never counted as stored. */
Test(batch, unprocessed_items_returned_with_canonical_numbers_are_still_retried)
{
    struct fake_ddb_opts o = {
        .key = &pk_sk, .seed = 2, .unprocessed = 0.5, .canonical_unprocessed = 1};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_sk, NULL);
    for (long i = 0; i < 100; i++) {
        json_t *it = item(i, i, 0);
        json_object_set_new(it, "sk", json_pack("{s:s}", "N", "1.50"));
        put(w, it, i);
    }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);
    cr_expect_gt(st.unprocessed, 0, "no unprocessed item was retried");
    cr_expect_eq(fake_ddb_count(bed.ft), 100, "the writer reported %ld stored, the table holds %zu",
                 st.items_stored, fake_ddb_count(bed.ft));
}

/* ---- rejects ---- */

Test(batch, one_bad_item_among_fifty_is_rejected_alone_and_the_others_are_stored)
{
    struct fake_ddb_opts o = {.key = &pk_only, .poison = "poison"};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    for (long i = 0; i < 50; i++) {
        json_t *it = item(i, i, 0);
        if (i == 17)
            json_object_set_new(it, "poison", json_pack("{s:s}", "S", "yes"));
        put(w, it, 1000 + i);
    }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), -1);
    cr_expect_eq(err.code, DDB_EVALIDATION, "code %d: %s", err.code, err.message);
    cr_expect_str_eq(err.type, "ValidationException");
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);
    cr_expect_eq(st.items_stored, 49);
    cr_expect_eq(st.items_rejected, 1);
    cr_assert_eq(rejects_count(), 1, "%ld rejects", rejects_count());
    cr_expect_eq(rejected_tag(1017), 1);
    cr_expect_eq(rj.first.code, DDB_EVALIDATION);
    cr_expect_str_eq(rj.first.type, "ValidationException");
    cr_expect_eq(fake_ddb_count(bed.ft), 49);
    for (long i = 0; i < 50; i++) {
        json_t *probe = item(i, 0, 0);
        cr_expect_eq(stored_value(probe), i == 17 ? -1 : i, "item %ld", i);
        json_decref(probe);
    }
    assert_requests_well_formed();
}

Test(batch, items_failing_the_check_are_rejected_with_their_tags_before_sending)
{
    struct fake_ddb_opts o = {.key = &pk_only};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    for (long i = 0; i < 10; i++)
        put(w, item(i, i, 0), i);
    /* No key at all. */
    put(w, json_pack("{s:{s:s}}", "v", "N", "1"), 100);
    /* The key as a number where the table wants a string. */
    put(w, json_pack("{s:{s:s}}", "pk", "N", "12"), 101);
    /* Over 400 KB. */
    put(w, item(900, 1, DDB_ITEM_MAX + 10), 102);
    /* An empty string key. */
    put(w, json_pack("{s:{s:s}}", "pk", "S", ""), 103);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), -1);
    cr_expect_eq(err.code, DDB_EVALIDATION);
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);
    cr_expect_eq(st.items_stored, 10);
    cr_expect_eq(st.items_rejected, 4);
    cr_expect_eq(rejects_count(), 4);
    for (long tag = 100; tag <= 103; tag++)
        cr_expect_eq(rejected_tag(tag), 1, "tag %ld rejected %d times", tag, rejected_tag(tag));
    /* None of them was sent. */
    cr_expect_eq(assert_requests_well_formed(), 10);
    cr_expect_eq(fake_ddb_count(bed.ft), 10);
}

Test(batch, a_missing_table_makes_the_writer_fail_for_good)
{
    struct fake_ddb_opts o = {.key = &pk_only, .missing = 1};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    for (long i = 0; i < 60; i++) {
        struct ddb_error err;
        ddb_error_clear(&err);
        if (ddb_writer_put(w, item(i, i, 0), i, &err) != 0)
            cr_expect_eq(err.code, DDB_ENOTFOUND); /* the answer came while putting */
    }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), -1);
    cr_expect_eq(err.code, DDB_ENOTFOUND, "code %d: %s", err.code, err.message);
    cr_expect_str_eq(err.type, "ResourceNotFoundException");
    /* From now on every put is refused at once. */
    for (long i = 60; i < 65; i++) {
        ddb_error_clear(&err);
        cr_expect_eq(ddb_writer_put(w, item(i, i, 0), i, &err), -1, "put %ld was accepted", i);
        cr_expect_eq(err.code, DDB_ENOTFOUND);
    }
    cr_assert_eq(ddb_writer_flush(w, &err), -1);
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);
    cr_expect_eq(st.items_stored, 0);
    cr_expect_eq(st.items_rejected, 65);
    cr_expect_eq(rejects_count(), 65, "every item is reported once");
    for (long i = 0; i < 65; i++)
        cr_expect_eq(rejected_tag(i), 1, "tag %ld", i);
    cr_expect_eq(fake_ddb_count(bed.ft), 0);
}

/* An outage longer than the retry window: the requests in flight give up after one window, and
 * the items still waiting are rejected at once instead of each request waiting a window of its
 * own. Virtual time: the whole write ends within about one window. */
Test(batch, an_outage_past_the_retry_window_fails_the_writer_within_one_window)
{
    struct fake_ddb_opts o = {.key = &pk_only, .server_errors = 1.0};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    double t0 = fake_transport_now(bed.ft);
    for (long i = 0; i < 1000; i++) {
        struct ddb_error err;
        ddb_error_clear(&err);
        if (ddb_writer_put(w, item(i, i, 0), i, &err) != 0) /* refused once the writer failed */
            cr_expect_eq(err.code, DDB_ESERVER, "code %d: %s", err.code, err.message);
    }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), -1);
    cr_expect_eq(err.code, DDB_ESERVER, "code %d: %s", err.code, err.message);
    cr_expect(strstr(err.message, "gave up after") != NULL, "%s", err.message);
    double took = fake_transport_now(bed.ft) - t0;
    const struct ddb_backoff *b = ddb_client_backoff(bed.client);
    cr_expect_leq(took, b->window_ms / 1000.0 + 30.0, "the writer failed after %.0f s", took);
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);
    cr_expect_eq(st.items_stored, 0);
    cr_expect_eq(st.items_rejected, 1000);
    cr_expect_eq(rejects_count(), 1000, "every item is reported once");
    cr_expect_leq(st.requests, DDB_WRITER_IN_FLIGHT, "%ld requests: one round, not one per batch",
                  st.requests);
}

/* A table that hands every item back as UnprocessedItems for a whole retry window fails the
 * writer (as a throttled call would) instead of retrying forever. */
Test(batch, every_item_unprocessed_for_a_whole_window_fails_the_writer)
{
    struct fake_ddb_opts o = {.key = &pk_only, .unprocessed = 1.0};
    use_table(&o);
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    double t0 = fake_transport_now(bed.ft);
    for (long i = 0; i < 100; i++) {
        struct ddb_error err;
        ddb_error_clear(&err);
        ddb_writer_put(w, item(i, i, 0), i, &err);
    }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), -1);
    cr_expect_eq(err.code, DDB_ETHROTTLED, "code %d: %s", err.code, err.message);
    cr_expect(strstr(err.message, "UnprocessedItems") != NULL, "%s", err.message);
    double took = fake_transport_now(bed.ft) - t0;
    const struct ddb_backoff *b = ddb_client_backoff(bed.client);
    cr_expect_geq(took, b->window_ms / 1000.0, "gave up after %.0f s, before the window", took);
    cr_expect_leq(took, b->window_ms / 1000.0 + 30.0, "gave up after %.0f s", took);
    ddb_writer_free(w);
    cr_expect_eq(rejects_count(), 100, "every item is reported once");
}

/* ---- user data ---- */

static atomic_int user_freed;
static atomic_int user_rejected;

static void user_free(void *user)
{
    atomic_fetch_add(&user_freed, 1);
    free(user);
}

static void on_reject_user(long tag, void *user, const struct ddb_error *err, void *ud)
{
    (void)err;
    (void)ud;
    char want[32];
    snprintf(want, sizeof want, "line %ld", tag);
    if (user && strcmp(user, want) == 0)
        atomic_fetch_add(&user_rejected, 1);
}

Test(batch, a_rejected_item_brings_back_its_user_data_and_every_user_data_is_freed_once)
{
    struct fake_ddb_opts o = {.key = &pk_only, .poison = "poison", .unprocessed = 0.3};
    use_table(&o);
    struct ddb_writer_opts wo = {
        .table = "t", .key = &pk_only, .reject_user = on_reject_user, .user_free = user_free};
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_writer *w = ddb_writer_new(bed.client, &wo, on_reject, &rj, &err);
    cr_assert_not_null(w);
    for (long i = 0; i < 30; i++) {
        json_t *it = item(i, i, 0);
        if (i % 10 == 3)
            json_object_set_new(it, "poison", json_pack("{s:s}", "S", "yes"));
        char *line = NULL;
        cr_assert_geq(asprintf(&line, "line %ld", i), 0);
        cr_assert_eq(ddb_writer_put_ex(w, it, i, line, strlen(line) + 1, &err), 0);
    }
    cr_expect_eq(ddb_writer_flush(w, &err), -1);
    ddb_writer_free(w);
    cr_expect_eq(atomic_load(&user_rejected), 3);
    cr_expect_eq(atomic_load(&user_freed), 30);
    cr_expect_eq(fake_ddb_count(bed.ft), 27);
}

/* ---- callbacks and the end of the writer ---- */

Test(batch, flush_returns_only_after_every_reject_callback_has_returned)
{
    struct fake_ddb_opts o = {.key = &pk_only, .poison = "poison"};
    use_table(&o);
    rj.sleep_ms = 300;
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    json_t *it = item(1, 1, 0);
    json_object_set_new(it, "poison", json_pack("{s:s}", "S", "yes"));
    put(w, it, 1);
    /* Flush while the callback for the only item is running. */
    while (atomic_load(&rj.running) == 0 && atomic_load(&rj.finished) == 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_expect_eq(ddb_writer_flush(w, &err), -1);
    cr_expect_eq(atomic_load(&rj.finished), 1,
                 "flush returned while the reject callback was still running");
    /* Let the callback end before the writer goes. */
    while (atomic_load(&rj.finished) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fake_transport_drain(bed.ft);
    ddb_writer_free(w);
}

Test(batch, free_waits_for_a_reject_callback_still_running, .timeout = 10)
{
    struct fake_ddb_opts o = {.key = &pk_only, .poison = "poison"};
    use_table(&o);
    rj.sleep_ms = 300;
    struct ddb_writer *w = writer_new(&pk_only, NULL);
    json_t *it = item(1, 1, 0);
    json_object_set_new(it, "poison", json_pack("{s:s}", "S", "yes"));
    put(w, it, 1);
    while (atomic_load(&rj.running) == 0 && atomic_load(&rj.finished) == 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    ddb_writer_free(w); /* the callback then returns into a writer that is gone */
    cr_expect_eq(atomic_load(&rj.finished), 1,
                 "ddb_writer_free returned while the reject callback was still running");
    while (atomic_load(&rj.finished) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- bounds ---- */

struct producer {
    struct ddb_writer *w;
    long n;
    size_t pad;
    atomic_long entered; /* puts begun */
    atomic_int done;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (long i = 0; i < p->n; i++) {
        json_t *it = item(i, i, p->pad);
        atomic_fetch_add(&p->entered, 1);
        struct ddb_error err;
        ddb_error_clear(&err);
        if (ddb_writer_put(p->w, it, i, &err) != 0)
            break;
    }
    atomic_store(&p->done, 1);
    return NULL;
}

/* About 80 MB of JSON goes through jansson several times: 4 s natively, far longer under
 * valgrind, hence the timeout. */
Test(batch, a_producer_faster_than_the_table_is_blocked_at_the_memory_bound, .timeout = 300)
{
    /* Items of about 256 KB, 2.5 times the bound in all. The fake holds every answer back until
     * the producer must be blocked (what it has put and not seen stored passes the bound), then
     * lets them through: the writer must never hold more than the bound plus one item. */
    const size_t pad = 256 * 1024;
    const double cap = (double)DDB_WRITER_PENDING_MAX;
    struct fake_ddb_opts o = {.key = &pk_only, .keys_only = 1};
    use_table(&o);
    json_t *sample = item(0, 0, pad);
    double size = (double)json_dumpb(sample, NULL, 0, JSON_COMPACT);
    json_decref(sample);
    struct producer p = {.w = writer_new(&pk_only, NULL), .pad = pad};
    p.n = (long)ceil(2.5 * cap / size);
    fake_transport_hold(bed.ft, 1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, produce, &p), 0);
    double most = 0;
    long releases = 0;
    for (;;) {
        struct ddb_writer_stats st;
        ddb_writer_get_stats(p.w, &st);
        double held = (double)(st.items_put - st.items_stored - st.items_rejected) * size;
        if (held > most)
            most = held;
        cr_assert_leq(held, cap + size, "the writer holds %.1f MB (bound %.1f MB)", held / 1048576,
                      cap / 1048576);
        int done = atomic_load(&p.done);
        double begun = (double)(atomic_load(&p.entered) - st.items_stored) * size;
        if ((done || begun > cap) && fake_transport_held(bed.ft) > 0) {
            fake_transport_release(bed.ft);
            releases++;
        }
        if (done && st.items_stored + st.items_rejected == p.n)
            break;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    pthread_join(t, NULL);
    fake_transport_hold(bed.ft, 0);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_expect_eq(ddb_writer_flush(p.w, &err), 0, "flush: %s", err.message);
    ddb_writer_free(p.w);
    cr_expect_geq(most, cap - 25 * size, "the bound was never reached (%.1f MB)", most / 1048576);
    cr_expect_geq(releases, 2);
    cr_expect_eq(fake_ddb_count(bed.ft), (size_t)p.n);
    assert_requests_well_formed();
}

Test(batch, a_producer_of_small_items_is_blocked_at_the_item_bound, .timeout = 120)
{
    /* Items of about 200 bytes, far below the byte bound: the writer must still hold at most
     * DDB_WRITER_PENDING_REQUESTS full requests per request in flight (plus one item), as their
     * jansson trees take several times their JSON size. */
    const long bound = (long)DDB_WRITER_PENDING_REQUESTS * DDB_WRITER_IN_FLIGHT * 25;
    struct fake_ddb_opts o = {.key = &pk_only, .keys_only = 1};
    use_table(&o);
    struct producer p = {.w = writer_new(&pk_only, NULL), .pad = 150, .n = 3 * bound};
    fake_transport_hold(bed.ft, 1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, produce, &p), 0);
    long most = 0, releases = 0;
    for (;;) {
        struct ddb_writer_stats st;
        ddb_writer_get_stats(p.w, &st);
        long held = st.items_put - st.items_stored - st.items_rejected;
        if (held > most)
            most = held;
        cr_assert_leq(held, bound + 1, "the writer holds %ld items (bound %ld)", held, bound);
        int done = atomic_load(&p.done);
        long begun = atomic_load(&p.entered) - st.items_stored;
        if ((done || begun > bound) && fake_transport_held(bed.ft) > 0) {
            fake_transport_release(bed.ft);
            releases++;
        }
        if (done && st.items_stored + st.items_rejected == p.n)
            break;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    pthread_join(t, NULL);
    fake_transport_hold(bed.ft, 0);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_expect_eq(ddb_writer_flush(p.w, &err), 0, "flush: %s", err.message);
    ddb_writer_free(p.w);
    cr_expect_geq(most, bound - 25, "the bound was never reached (%ld items)", most);
    cr_expect_geq(releases, 2);
    cr_expect_eq(fake_ddb_count(bed.ft), (size_t)p.n);
    assert_requests_well_formed();
}

Test(batch, the_write_budget_is_respected)
{
    /* 100 WCU/s, items of about 1.5 KB (2 WCU each), some requests throttled by the server. */
    const double rate = 100;
    const long n = 1500;
    struct fake_ddb_opts o = {.key = &pk_only, .seed = 11, .throttled = 0.1};
    use_table(&o);
    struct ddb_throttle th;
    double t0 = fake_transport_now(bed.ft);
    ddb_throttle_init(&th, rate, 0, t0);
    struct ddb_writer *w = writer_new(&pk_only, &th);
    for (long i = 0; i < n; i++)
        put(w, item(i, i, 1500), i);
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    double elapsed = fake_transport_now(bed.ft) - t0;
    struct ddb_writer_stats st;
    ddb_writer_get_stats(w, &st);
    ddb_writer_free(w);
    cr_expect_eq(st.items_stored, n);
    cr_expect_eq(st.consumed, 2.0 * (double)n);
    cr_expect_eq(st.consumed, fake_ddb_consumed(bed.ft), "the writer counted %.1f, the table %.1f",
                 st.consumed, fake_ddb_consumed(bed.ft));
    cr_expect_eq(th.consumed, st.consumed, "the bucket settled %.1f", th.consumed);
    cr_expect_leq(st.consumed, rate * elapsed + th.burst + 1e-6,
                  "consumed %.1f WCU in %.2f s at %.0f WCU/s", st.consumed, elapsed, rate);
    /* And the budget is used, not wasted. */
    cr_expect_leq(elapsed, 1.25 * st.consumed / rate + 1.0, "took %.2f s for %.1f WCU", elapsed,
                  st.consumed);
    ddb_throttle_cleanup(&th);
}
