/* A scan segment against the fake's in-memory DynamoDB: pages by Limit and LastEvaluatedKey,
 * throttled and failing pages retried, the read budget settled by ConsumedCapacity, cancel. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddb/scan.h"
#include "ddb/throttle.h"
#include "fake_transport.h"

static struct fake_bed bed;

static void bed_up(void)
{
    fake_bed_init(&bed, NULL);
}

static void bed_down(void)
{
    fake_bed_cleanup(&bed);
}

TestSuite(scan, .init = bed_up, .fini = bed_down, .timeout = 30);

/* Fills the table with n items of about pad bytes each. */
static void fill(long n, size_t pad)
{
    char *p = malloc(pad + 1);
    memset(p, 'y', pad);
    p[pad] = '\0';
    for (long i = 0; i < n; i++) {
        char pk[32];
        snprintf(pk, sizeof pk, "k%06ld", i);
        json_t *it = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", pk, "pad", "S", p);
        fake_ddb_put(bed.ft, it);
        json_decref(it);
    }
    free(p);
}

static void bump(void *ud)
{
    atomic_fetch_add((atomic_int *)ud, 1);
}

/* ---- a scan's outcome ---- */

struct run {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    json_t *keys; /* every key delivered, in order (touched on the I/O thread only) */
    long pages;
    long stop_after;             /* the page callback returns 1 after this many pages; 0: never */
    struct ddb_workers *workers; /* set: pages must come on one of its threads */
    int done;
    struct ddb_error err;
};

static void run_init(struct run *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->keys = json_array();
}

static void run_cleanup(struct run *r)
{
    json_decref(r->keys);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

static int on_page(const struct ddb_scan_page *page, void *ud)
{
    struct run *r = ud;
    if (r->workers)
        cr_assert(ddb_workers_on_worker(r->workers), "a page was delivered off the workers");
    else
        cr_assert(ddb_client_on_io_thread(bed.client), "a page was delivered off the I/O thread");
    for (size_t i = 0; i < page->n_items; i++) {
        json_t *it = ddb_scan_page_item(page, i);
        cr_assert_not_null(it, "item %zu of the page is not JSON", i);
        char *k = fake_ddb_key_of(bed.ft, it);
        cr_assert_not_null(k);
        json_t *stored = fake_ddb_get(bed.ft, k);
        cr_assert(json_equal(it, stored), "item %s is not the one stored", k);
        json_decref(stored);
        json_array_append_new(r->keys, json_string(k));
        free(k);
        json_decref(it);
    }
    r->pages++;
    return r->stop_after && r->pages >= r->stop_after;
}

static void on_done(const struct ddb_error *err, void *ud)
{
    struct run *r = ud;
    pthread_mutex_lock(&r->lock);
    r->done++;
    r->err = *err;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void run_wait(struct run *r)
{
    pthread_mutex_lock(&r->lock);
    while (!r->done)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static struct ddb_scan *start(const struct ddb_scan_opts *o, struct run *r)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_scan *s = ddb_scan_start(bed.client, o, on_page, on_done, r, &err);
    cr_assert_not_null(s, "ddb_scan_start: %s", err.message);
    return s;
}

static size_t scan_requests(void)
{
    size_t n = 0, total = fake_transport_nrecords(bed.ft);
    for (size_t i = 0; i < total; i++)
        n += strcmp(fake_transport_record(bed.ft, i)->op, "Scan") == 0;
    return n;
}

/* ---- pages ---- */

Test(scan, a_segment_of_several_pages_delivers_every_item_once_in_order_and_stops_at_the_last)
{
    fill(200, 50);
    struct ddb_scan_opts o = {.table = "t", .segment = 1, .total_segments = 3, .limit = 7};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_assert_eq(r.err.code, DDB_OK, "scan: %s", r.err.message);
    fake_transport_drain(bed.ft);
    cr_expect_eq(r.done, 1);

    json_t *want = fake_ddb_segment_keys(bed.ft, 1, 3);
    cr_assert_gt(json_array_size(want), 14, "the segment is too small to need pages");
    cr_expect(json_equal(r.keys, want),
              "delivered %zu keys, the segment holds %zu (or the order "
              "differs)",
              json_array_size(r.keys), json_array_size(want));
    size_t n = fake_transport_nrecords(bed.ft);
    cr_expect_eq((long)n, r.pages, "%zu requests for %ld pages", n, r.pages);
    for (size_t i = 0; i < n; i++) {
        const struct fake_record *rec = fake_transport_record(bed.ft, i);
        cr_assert_str_eq(rec->op, "Scan");
        cr_expect_eq(json_integer_value(json_object_get(rec->body, "Segment")), 1);
        cr_expect_eq(json_integer_value(json_object_get(rec->body, "TotalSegments")), 3);
        cr_expect_eq(json_integer_value(json_object_get(rec->body, "Limit")), 7);
        cr_expect_eq(json_object_get(rec->body, "ExclusiveStartKey") != NULL, i > 0, "request %zu",
                     i);
        cr_expect_eq(rec->has_last_key, i + 1 < n, "answer %zu", i);
        cr_expect_leq(rec->nreturned, 7);
    }
    struct ddb_scan_stats st;
    ddb_scan_get_stats(s, &st);
    cr_expect_eq(st.pages, r.pages);
    cr_expect_eq(st.items, (long)json_array_size(want));
    cr_expect_eq(st.consumed, fake_ddb_consumed(bed.ft));
    json_decref(want);
    ddb_scan_free(s);
    run_cleanup(&r);
}

Test(scan, a_last_page_cut_by_the_limit_is_followed_by_an_empty_one)
{
    /* DynamoDB gives a LastEvaluatedKey whenever Limit stopped the page, even with nothing left. */
    fill(14, 10);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .limit = 7};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_assert_eq(r.err.code, DDB_OK, "scan: %s", r.err.message);
    cr_expect_eq(r.pages, 3);
    cr_expect_eq(json_array_size(r.keys), 14);
    cr_expect_eq(scan_requests(), 3);
    const struct fake_record *first = fake_transport_record(bed.ft, 0);
    cr_expect_null(json_object_get(first->body, "Segment"), "a single segment sends no Segment");
    ddb_scan_free(s);
    run_cleanup(&r);
}

Test(scan, the_segments_of_a_table_together_read_every_item_exactly_once)
{
    fill(500, 20);
    enum { SEGMENTS = 4 };
    struct run r[SEGMENTS];
    struct ddb_scan *s[SEGMENTS];
    for (unsigned i = 0; i < SEGMENTS; i++) {
        run_init(&r[i]);
        struct ddb_scan_opts o = {
            .table = "t", .segment = i, .total_segments = SEGMENTS, .limit = 13};
        s[i] = start(&o, &r[i]);
    }
    json_t *seen = json_object();
    for (unsigned i = 0; i < SEGMENTS; i++) {
        run_wait(&r[i]);
        cr_assert_eq(r[i].err.code, DDB_OK, "segment %u: %s", i, r[i].err.message);
        size_t k;
        json_t *key;
        json_array_foreach(r[i].keys, k, key)
        {
            cr_assert_null(json_object_get(seen, json_string_value(key)), "%s read twice",
                           json_string_value(key));
            json_object_set_new(seen, json_string_value(key), json_true());
        }
        ddb_scan_free(s[i]);
        run_cleanup(&r[i]);
    }
    cr_expect_eq(json_object_size(seen), 500);
    json_decref(seen);
}

/* ---- faults ---- */

Test(scan, throttled_and_failed_pages_are_retried)
{
    fill(300, 30);
    struct fake_ddb_opts fo = {
        .seed = 5, .throttled = 0.3, .server_errors = 0.1, .transport_failures = 0.1};
    fake_ddb_configure(bed.ft, &fo);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 2, .limit = 10};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_assert_eq(r.err.code, DDB_OK, "scan: %s", r.err.message);
    json_t *want = fake_ddb_segment_keys(bed.ft, 0, 2);
    cr_expect(json_equal(r.keys, want), "delivered %zu keys of %zu, or out of order",
              json_array_size(r.keys), json_array_size(want));
    struct ddb_client_stats cs;
    ddb_client_stats(bed.client, &cs);
    cr_expect_gt(cs.throttled, 0);
    cr_expect_gt(cs.retries, cs.throttled, "5xx and transport failures were not retried");
    cr_expect_eq(cs.calls, r.pages, "one call per page");
    cr_expect_eq((size_t)cs.attempts, scan_requests());
    json_decref(want);
    ddb_scan_free(s);
    run_cleanup(&r);
}

Test(scan, a_missing_table_ends_the_scan_at_once_naming_the_table)
{
    struct fake_ddb_opts fo = {.missing = 1};
    fake_ddb_configure(bed.ft, &fo);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_expect_eq(r.err.code, DDB_ENOTFOUND);
    cr_expect_str_eq(r.err.type, "ResourceNotFoundException");
    cr_expect_eq(r.err.attempts, 1);
    cr_expect_not_null(strstr(r.err.message, "scan of t "), "message: %s", r.err.message);
    cr_expect_eq(r.pages, 0);
    ddb_scan_free(s);
    run_cleanup(&r);
}

/* ---- the read budget ---- */

Test(scan, with_a_budget_pages_are_small_and_each_estimate_is_settled_by_consumed_capacity)
{
    const double rate = 20; /* RCU/s */
    fill(400, 1500);
    struct ddb_throttle th;
    double t0 = fake_transport_now(bed.ft);
    ddb_throttle_init(&th, rate, 0, t0);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .throttle = &th};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    double elapsed = fake_transport_now(bed.ft) - t0;
    cr_assert_eq(r.err.code, DDB_OK, "scan: %s", r.err.message);
    cr_expect_eq(json_array_size(r.keys), 400);

    /* Settled: the bucket counts exactly what the answers reported. */
    struct ddb_scan_stats st;
    ddb_scan_get_stats(s, &st);
    cr_expect_eq(th.consumed, fake_ddb_consumed(bed.ft), "bucket %.2f, table %.2f", th.consumed,
                 fake_ddb_consumed(bed.ft));
    cr_expect_eq(st.consumed, th.consumed);
    cr_expect_leq(th.consumed, rate * elapsed + th.burst + 1e-6,
                  "consumed %.1f RCU in %.2f s at %.0f RCU/s", th.consumed, elapsed, rate);

    /* Small pages: the first assumes 4 KB items, and none costs much more than a quarter second
     * of the budget. */
    size_t n = fake_transport_nrecords(bed.ft);
    cr_assert_gt(n, 5);
    const struct fake_record *first = fake_transport_record(bed.ft, 0);
    cr_expect_eq(json_integer_value(json_object_get(first->body, "Limit")),
                 (json_int_t)floor(rate * DDB_THROTTLE_REQUEST_S / 0.5));
    for (size_t i = 0; i < n; i++) {
        const struct fake_record *rec = fake_transport_record(bed.ft, i);
        json_int_t limit = json_integer_value(json_object_get(rec->body, "Limit"));
        cr_expect_gt(limit, 0, "request %zu has no Limit", i);
        cr_expect_leq(rec->consumed, 1.5 * rate * DDB_THROTTLE_REQUEST_S + 0.5,
                      "page %zu cost %.1f RCU (Limit %lld)", i, rec->consumed, (long long)limit);
    }
    cr_log_info("budget scan: %zu requests, %.1f RCU in %.2f s, Limits %lld..%lld", n, th.consumed,
                elapsed, (long long)json_integer_value(json_object_get(first->body, "Limit")),
                (long long)json_integer_value(
                    json_object_get(fake_transport_record(bed.ft, n - 1)->body, "Limit")));
    ddb_scan_free(s);
    run_cleanup(&r);
    ddb_throttle_cleanup(&th);
}

/* ---- stopping ---- */

Test(scan, cancel_stops_the_scan_after_the_page_in_flight_and_done_reports_canceled)
{
    fill(100, 10);
    fake_transport_hold(bed.ft, 1);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .limit = 10};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    while (fake_transport_held(bed.ft) == 0) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    ddb_scan_cancel(s);
    fake_transport_hold(bed.ft, 0);
    fake_transport_release(bed.ft);
    run_wait(&r);
    fake_transport_drain(bed.ft);
    cr_expect_eq(r.done, 1);
    cr_expect_eq(r.err.code, DDB_ECANCELED, "code %d: %s", r.err.code, r.err.message);
    cr_expect_leq(r.pages, 1);
    cr_expect_eq(scan_requests(), 1, "the scan went on after cancel");
    ddb_scan_free(s);
    run_cleanup(&r);
}

Test(scan, a_page_callback_that_says_stop_ends_the_scan_canceled)
{
    fill(100, 10);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .limit = 10};
    struct run r;
    run_init(&r);
    r.stop_after = 2;
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    fake_transport_drain(bed.ft);
    cr_expect_eq(r.err.code, DDB_ECANCELED);
    cr_expect_eq(r.pages, 2);
    cr_expect_eq(json_array_size(r.keys), 20);
    cr_expect_eq(scan_requests(), 2);
    ddb_scan_free(s);
    run_cleanup(&r);
}

static long counted;

static int count_items(const struct ddb_scan_page *page, void *ud)
{
    (void)ud;
    counted += (long)page->n_items;
    return 0;
}

Test(scan, the_blocking_run_reads_a_whole_segment_from_another_thread)
{
    fill(120, 10);
    struct fake_ddb_opts fo = {.seed = 9, .throttled = 0.2};
    fake_ddb_configure(bed.ft, &fo);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .limit = 25};
    struct ddb_scan_stats st;
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_scan_run(bed.client, &o, count_items, NULL, &st, &err), 0, "%s", err.message);
    cr_expect_eq(counted, 120);
    cr_expect_eq(st.items, 120);
    cr_expect_eq(st.pages, 5);
}

/* ---- page workers ---- */

Test(scan, with_workers_pages_are_read_off_the_io_thread_every_item_once_in_order)
{
    fill(400, 50);
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_workers *w = ddb_workers_new(2, &err);
    cr_assert_not_null(w, "%s", err.message);
    struct run r[3];
    struct ddb_scan *s[3];
    for (unsigned i = 0; i < 3; i++) {
        struct ddb_scan_opts o = {
            .table = "t", .segment = i, .total_segments = 3, .limit = 9, .workers = w};
        run_init(&r[i]);
        r[i].workers = w;
        s[i] = start(&o, &r[i]);
    }
    for (unsigned i = 0; i < 3; i++) {
        run_wait(&r[i]);
        cr_assert_eq(r[i].err.code, DDB_OK, "segment %u: %s", i, r[i].err.message);
        json_t *want = fake_ddb_segment_keys(bed.ft, i, 3);
        cr_expect(json_equal(r[i].keys, want), "segment %u: %zu keys of %zu, or out of order", i,
                  json_array_size(r[i].keys), json_array_size(want));
        json_decref(want);
        ddb_scan_free(s[i]);
        run_cleanup(&r[i]);
    }
    ddb_workers_free(w);
}

/* The first answer is cut short: with workers the scan (not the client) fetches it again. */
static void cut_first(struct fake_transport *f, const struct fake_request *rq,
                      struct fake_answer *a, void *ud)
{
    (void)ud;
    fake_ddb_respond(f, rq, a);
    if (rq->seq == 0 && a->body.len > 10) {
        a->body.len /= 2;
        a->body.data[a->body.len] = '\0';
    }
}

Test(scan, with_workers_a_cut_short_page_is_fetched_again_and_no_item_is_lost)
{
    fill(100, 20);
    fake_transport_set_responder(bed.ft, cut_first, NULL);
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_workers *w = ddb_workers_new(1, &err);
    cr_assert_not_null(w, "%s", err.message);
    struct ddb_scan_opts o = {
        .table = "t", .segment = 0, .total_segments = 1, .limit = 30, .workers = w};
    struct run r;
    run_init(&r);
    r.workers = w;
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_assert_eq(r.err.code, DDB_OK, "scan: %s", r.err.message);
    json_t *want = fake_ddb_segment_keys(bed.ft, 0, 1);
    cr_expect(json_equal(r.keys, want), "%zu keys of %zu", json_array_size(r.keys),
              json_array_size(want));
    cr_expect_eq(scan_requests(), (size_t)r.pages + 1, "the cut page was not asked for again");
    json_decref(want);
    ddb_scan_free(s);
    run_cleanup(&r);
    ddb_workers_free(w);
}

Test(scan, without_workers_a_cut_short_page_is_retried_by_the_client)
{
    fill(100, 20);
    fake_transport_set_responder(bed.ft, cut_first, NULL);
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .limit = 30};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_assert_eq(r.err.code, DDB_OK, "scan: %s", r.err.message);
    cr_expect_eq(json_array_size(r.keys), 100);
    cr_expect_eq(scan_requests(), (size_t)r.pages + 1);
    ddb_scan_free(s);
    run_cleanup(&r);
}

Test(scan, a_worker_pool_refuses_work_once_stopped_and_runs_what_it_had)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_expect_null(ddb_workers_new(0, &err));
    struct ddb_workers *w = ddb_workers_new(2, &err);
    cr_assert_not_null(w);
    static atomic_int ran;
    atomic_store(&ran, 0);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(ddb_workers_submit(w, bump, &ran), 0);
    ddb_workers_stop(w);
    cr_expect_eq(atomic_load(&ran), 100);
    cr_expect_eq(ddb_workers_submit(w, bump, &ran), -1);
    ddb_workers_stop(w);
    ddb_workers_free(w);
}

/* ---- the spill file ---- */

Test(scan, a_spill_directory_that_cannot_be_used_fails_the_start_naming_it)
{
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1,
                              .spill_dir = "/nonexistent/ddbfs-spill"};
    struct ddb_error err;
    ddb_error_clear(&err);
    struct run r;
    run_init(&r);
    cr_expect_null(ddb_scan_start(bed.client, &o, on_page, on_done, &r, &err));
    cr_expect_eq(err.code, DDB_ELOCAL);
    cr_expect(strstr(err.message, "/nonexistent/ddbfs-spill") != NULL, "%s", err.message);
    run_cleanup(&r);
}

/* Answers of every size, in a spill directory of the test's: the items come back exact whatever
 * the fake's cuts of the body (a byte or two among them), and the file holds no name. */
Test(scan, answers_go_through_the_spill_file_and_come_back_exact)
{
    fill(300, 3000);
    char dir[] = "/tmp/ddbfs-test-spill.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct ddb_scan_opts o = {.table = "t", .segment = 0, .total_segments = 1, .limit = 97,
                              .spill_dir = dir};
    struct run r;
    run_init(&r);
    struct ddb_scan *s = start(&o, &r);
    run_wait(&r);
    cr_assert_eq(r.err.code, DDB_OK, "%s", r.err.message);
    json_t *want = fake_ddb_segment_keys(bed.ft, 0, 1);
    cr_expect(json_equal(r.keys, want), "%zu keys of %zu", json_array_size(r.keys),
              json_array_size(want));
    cr_expect_eq(r.pages, 4);
    json_decref(want);
    cr_expect_eq(rmdir(dir), 0, "the spill directory is not empty");
    ddb_scan_free(s);
    run_cleanup(&r);
}
