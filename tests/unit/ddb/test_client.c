/* The client's retry and error paths, through the transport seam: the fake answers what a test
 * scripts (throttling, 5xx, dropped connections, bodies that are not JSON), which dynalite never
 * does. Backoff is small (1 ms base, 20 ms cap, 2 s window) and time is the fake's virtual clock.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddb/client.h"
#include "ddb/sigv4.h"
#include "fake_transport.h"

#define TOKEN "IQoJb3JpZ2luX2VjEFAKESESSIONTOKENxyzzy"
#define PTE                                                                                        \
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","     \
    "\"message\":\"The level of configured provisioned throughput for the table was exceeded.\"}"
#define PTE_MESSAGE "The level of configured provisioned throughput for the table was exceeded."
#define ISE                                                                                        \
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\","                        \
    "\"message\":\"Internal server error\"}"
#define UNAVAILABLE                                                                                \
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ServiceUnavailable\","                         \
    "\"message\":\"Service unavailable\"}"
#define OK_BODY "{\"TableNames\":[\"t\"]}"

/* Script steps: an HTTP answer, a transport failure, a timeout. */
#define ANSWER(st, b)                                                                              \
    {                                                                                              \
        .status = (st), .body = (b)                                                                \
    }
#define FAIL(msg)                                                                                  \
    {                                                                                              \
        .status = 0, .body = (msg)                                                                 \
    }
#define TIMEOUT(msg)                                                                               \
    {                                                                                              \
        .status = 0, .body = (msg), .timed_out = 1                                                 \
    }

static struct fake_bed bed;

static void bed_up(void)
{
    fake_bed_init(&bed, NULL);
}

static void bed_down(void)
{
    fake_bed_cleanup(&bed);
}

TestSuite(client, .init = bed_up, .fini = bed_down, .timeout = 30);
/* Tests that build the bed with their own options. */
TestSuite(client_creds, .fini = bed_down, .timeout = 30);

static double real_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- an asynchronous call's outcome ---- */

struct outcome {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;    /* done callbacks */
    int on_io;    /* done ran on the I/O thread */
    json_t *resp; /* owned */
    struct ddb_error err;
};

static void outcome_init(struct outcome *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
}

static void outcome_cleanup(struct outcome *o)
{
    json_decref(o->resp);
    pthread_cond_destroy(&o->cond);
    pthread_mutex_destroy(&o->lock);
}

static void on_done(json_t *resp, const struct ddb_error *err, void *ud)
{
    struct outcome *o = ud;
    int io = ddb_client_on_io_thread(bed.client);
    pthread_mutex_lock(&o->lock);
    o->calls++;
    o->on_io = io;
    json_decref(o->resp);
    o->resp = resp;
    if (err)
        o->err = *err;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

static void outcome_wait(struct outcome *o)
{
    pthread_mutex_lock(&o->lock);
    while (o->calls == 0)
        pthread_cond_wait(&o->cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
}

/* Calls ListTables asynchronously, waits for done, then for the fake to be quiet (so that a second
 * done or a stray attempt would be seen). */
static void call_and_wait(struct outcome *o)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    json_t *body = json_object();
    int rc = ddb_client_call(bed.client, "ListTables", body, on_done, o, &err);
    json_decref(body);
    cr_assert_eq(rc, 0, "ddb_client_call: %s", err.message);
    outcome_wait(o);
    fake_transport_drain(bed.ft);
}

static json_t *call_sync(struct ddb_error *err)
{
    ddb_error_clear(err);
    json_t *body = json_pack("{s:s}", "TableName", "t");
    json_t *resp = ddb_client_call_sync(bed.client, "DescribeTable", body, err);
    json_decref(body);
    return resp;
}

static void assert_stats(long calls, long attempts, long throttled)
{
    struct ddb_client_stats st;
    ddb_client_stats(bed.client, &st);
    cr_expect_eq(st.calls, calls, "calls: %ld, expected %ld", st.calls, calls);
    cr_expect_eq(st.attempts, attempts, "attempts: %ld, expected %ld", st.attempts, attempts);
    cr_expect_eq(st.retries, attempts - calls, "retries: %ld", st.retries);
    cr_expect_eq(st.throttled, throttled, "throttled: %ld, expected %ld", st.throttled, throttled);
}

/* ---- retried ---- */

Test(client, a_throttled_answer_is_retried_and_then_succeeds)
{
    const struct fake_step steps[] = {ANSWER(400, PTE), ANSWER(400, PTE), ANSWER(400, PTE),
                                      ANSWER(200, OK_BODY)};
    fake_transport_script(bed.ft, steps, 4);
    struct outcome o;
    outcome_init(&o);
    call_and_wait(&o);
    cr_assert_eq(o.calls, 1, "done ran %d times", o.calls);
    cr_assert_not_null(o.resp, "failed: %s", o.err.message);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o.resp, "TableNames"), 0)),
                     "t");
    cr_expect_eq(fake_transport_nrecords(bed.ft), 4);
    assert_stats(1, 4, 3);
    outcome_cleanup(&o);
}

Test(client, server_errors_are_retried)
{
    const struct fake_step steps[] = {ANSWER(500, ISE), ANSWER(503, UNAVAILABLE),
                                      ANSWER(502, "<html>Bad Gateway</html>"), ANSWER(500, ""),
                                      ANSWER(200, OK_BODY)};
    fake_transport_script(bed.ft, steps, 5);
    struct outcome o;
    outcome_init(&o);
    call_and_wait(&o);
    cr_assert_eq(o.calls, 1);
    cr_assert_not_null(o.resp, "failed: %s", o.err.message);
    cr_expect_eq(fake_transport_nrecords(bed.ft), 5);
    assert_stats(1, 5, 0);
    outcome_cleanup(&o);
}

Test(client, transport_failures_and_timeouts_are_retried)
{
    const struct fake_step steps[] = {
        FAIL("Failed to connect to dynamodb.fake.invalid port 8000: Connection refused"),
        FAIL("Recv failure: Connection reset by peer"),
        TIMEOUT("Operation timed out after 60000 milliseconds with 0 bytes received"),
        ANSWER(200, OK_BODY),
    };
    fake_transport_script(bed.ft, steps, 4);
    struct outcome o;
    outcome_init(&o);
    call_and_wait(&o);
    cr_assert_eq(o.calls, 1);
    cr_assert_not_null(o.resp, "failed: %s", o.err.message);
    assert_stats(1, 4, 0);
    outcome_cleanup(&o);
}

Test(client, a_200_whose_body_is_not_json_is_retried)
{
    const struct fake_step steps[] = {
        ANSWER(200, "<html><body>gateway</body></html>"),
        ANSWER(200, "{\"TableNames\":[\"t\""), /* cut short */
        ANSWER(200, ""),
        ANSWER(200, OK_BODY),
    };
    fake_transport_script(bed.ft, steps, 4);
    struct outcome o;
    outcome_init(&o);
    call_and_wait(&o);
    cr_assert_eq(o.calls, 1);
    cr_assert_not_null(o.resp, "failed: %s", o.err.message);
    assert_stats(1, 4, 0);
    outcome_cleanup(&o);
}

/* ---- surfaced at once ---- */

struct request_error {
    const char *type;
    const char *message;
    enum ddb_err code;
};

Test(client, request_errors_surface_at_once_with_aws_message_and_type)
{
    const struct request_error cases[] = {
        {"ValidationException", "One or more parameter values were invalid: Missing the key pk",
         DDB_EVALIDATION},
        {"ResourceNotFoundException", "Requested resource not found: Table: t not found",
         DDB_ENOTFOUND},
        {"AccessDeniedException",
         "User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
         "dynamodb:DescribeTable",
         DDB_EACCESS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"__type\":\"com.amazonaws.dynamodb.v20120810#%s\",\"message\":\"%s\"}",
                 cases[i].type, cases[i].message);
        /* A success follows, which must never be reached. */
        const struct fake_step steps[] = {ANSWER(400, body), ANSWER(200, OK_BODY)};
        fake_transport_script(bed.ft, steps, 2);
        size_t before = fake_transport_nrecords(bed.ft);
        struct ddb_error err;
        json_t *resp = call_sync(&err);
        cr_assert_null(resp, "%s: succeeded", cases[i].type);
        cr_expect_eq(err.code, cases[i].code, "%s: code %d", cases[i].type, err.code);
        cr_expect_eq(err.attempts, 1, "%s: %d attempts", cases[i].type, err.attempts);
        cr_expect_eq(err.http_status, 400);
        cr_expect_str_eq(err.type, cases[i].type);
        cr_expect_str_eq(err.message, cases[i].message);
        cr_expect_eq(strncmp(err.request_id, "FAKE", 4), 0, "request id '%s'", err.request_id);
        cr_expect_eq(fake_transport_nrecords(bed.ft), before + 1, "%s was retried", cases[i].type);
    }
    assert_stats(3, 3, 0);
}

/* ---- giving up ---- */

/* A call against a fault that never ends: it must end by the window (virtual) and quickly (real),
 * with the cause and "gave up after". */
static void assert_gives_up(const struct fake_step *step, enum ddb_err code, const char *type,
                            const char *cause)
{
    fake_transport_script(bed.ft, step, 1);
    double v0 = fake_transport_now(bed.ft), r0 = real_seconds();
    struct ddb_error err;
    json_t *resp = call_sync(&err);
    double v = fake_transport_now(bed.ft) - v0, r = real_seconds() - r0;
    cr_assert_null(resp);
    cr_expect_eq(err.code, code, "code %d (%s), expected %d", err.code, ddb_strerror(err.code),
                 code);
    cr_expect_str_eq(err.type, type);
    cr_expect_not_null(strstr(err.message, cause), "message '%s' lacks '%s'", err.message, cause);
    cr_expect_not_null(strstr(err.message, "gave up after"), "message '%s'", err.message);
    cr_expect_gt(err.attempts, 2);
    cr_expect_eq((size_t)err.attempts, fake_transport_nrecords(bed.ft));
    cr_expect_leq(v, 2.0 + 1e-9, "ended %.3f s (virtual) after it started", v);
    cr_expect_lt(r, 10.0, "took %.1f s of real time", r);
}

Test(client, a_throttle_that_outlasts_the_window_surfaces_with_its_cause)
{
    const struct fake_step step = ANSWER(400, PTE);
    assert_gives_up(&step, DDB_ETHROTTLED, "ProvisionedThroughputExceededException", PTE_MESSAGE);
}

Test(client, a_server_error_that_outlasts_the_window_surfaces_with_its_cause)
{
    const struct fake_step step = ANSWER(503, UNAVAILABLE);
    assert_gives_up(&step, DDB_ESERVER, "ServiceUnavailable", "Service unavailable");
}

Test(client, a_network_failure_that_outlasts_the_window_surfaces_with_its_cause)
{
    const struct fake_step step = FAIL("Recv failure: Connection reset by peer");
    assert_gives_up(&step, DDB_ENETWORK, "", "Connection reset by peer");
}

Test(client, a_timeout_that_outlasts_the_window_surfaces_as_a_timeout)
{
    const struct fake_step step = TIMEOUT("Operation timed out after 60000 milliseconds");
    assert_gives_up(&step, DDB_ETIMEOUT, "", "Operation timed out");
}

Test(client, answers_that_are_never_json_surface_as_a_protocol_error)
{
    const struct fake_step step = ANSWER(200, "<html>captive portal</html>");
    assert_gives_up(&step, DDB_EPROTOCOL, "", "not valid JSON");
}

/* ---- signing ---- */

static atomic_long wall;

static time_t ticking_wallclock(void)
{
    return (time_t)atomic_fetch_add(&wall, 1);
}

/* Signs the recorded request again with its own X-Amz-Date: the Authorization must match. */
static void assert_signed(const struct fake_record *r, const char *token)
{
    const char *date = fake_record_header(r, "X-Amz-Date");
    const char *auth = fake_record_header(r, "Authorization");
    const char *host = fake_record_header(r, "Host");
    const char *target = fake_record_header(r, "X-Amz-Target");
    const char *ctype = fake_record_header(r, "Content-Type");
    cr_assert(date && auth && host && target && ctype, "attempt %ld lacks a header", r->seq);
    static const char prefix[] = "AWS4-HMAC-SHA256 Credential=" FAKE_ACCESS_KEY "/";
    cr_assert_eq(strncmp(auth, prefix, sizeof prefix - 1), 0, "Authorization: %s", auth);
    struct tm tm = {0};
    cr_assert_eq(sscanf(date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                 6, "X-Amz-Date: %s", date);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    struct ddb_header hs[] = {{"Content-Type", ctype}, {"Host", host}, {"X-Amz-Target", target}};
    char *body = json_dumps(r->body, JSON_COMPACT);
    struct ddb_sigv4_request sr = {
        .method = "POST",
        .path = "/",
        .headers = hs,
        .nheaders = 3,
        .body = body,
        .body_len = strlen(body),
    };
    struct ddb_sigv4_params sp = {
        .access_key_id = FAKE_ACCESS_KEY,
        .secret_access_key = FAKE_SECRET_KEY,
        .session_token = token,
        .region = FAKE_REGION,
        .service = "dynamodb",
        .now = timegm(&tm),
        .normalize_path = 1,
    };
    struct ddb_sigv4_result sig;
    ddb_sigv4_result_init(&sig);
    cr_assert_eq(ddb_sigv4_sign(&sr, &sp, &sig), 0);
    cr_expect_str_eq(auth, buf_str(&sig.authorization), "attempt %ld is not signed correctly",
                     r->seq);
    cr_expect_str_eq(date, sig.amz_date);
    ddb_sigv4_result_cleanup(&sig);
    free(body);
}

Test(client_creds, every_attempt_is_signed_afresh)
{
    atomic_store(&wall, 1700000000L);
    struct fake_bed_opts o = {.wallclock = ticking_wallclock};
    fake_bed_init(&bed, &o);
    const struct fake_step steps[] = {ANSWER(400, PTE), ANSWER(503, UNAVAILABLE), FAIL("reset"),
                                      ANSWER(200, OK_BODY)};
    fake_transport_script(bed.ft, steps, 4);
    struct ddb_error err;
    json_t *resp = call_sync(&err);
    cr_assert_not_null(resp, "failed: %s", err.message);
    json_decref(resp);
    size_t n = fake_transport_nrecords(bed.ft);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        const struct fake_record *r = fake_transport_record(bed.ft, i);
        assert_signed(r, NULL);
        cr_expect_null(fake_record_header(r, "X-Amz-Security-Token"));
        if (i > 0) {
            const struct fake_record *p = fake_transport_record(bed.ft, i - 1);
            cr_expect_str_neq(fake_record_header(r, "X-Amz-Date"),
                              fake_record_header(p, "X-Amz-Date"),
                              "attempt %zu reused the date of the one before", i);
            cr_expect_str_neq(fake_record_header(r, "Authorization"),
                              fake_record_header(p, "Authorization"));
        }
    }
}

static void assert_no_token(const struct ddb_error *err)
{
    cr_expect_null(strstr(err->message, TOKEN), "the message holds the session token");
    cr_expect_null(strstr(err->type, TOKEN), "the type holds the session token");
    cr_expect_null(strstr(err->message, FAKE_SECRET_KEY), "the message holds the secret key");
}

Test(client_creds, the_session_token_is_sent_and_never_appears_in_an_error)
{
    struct fake_bed_opts o = {.session_token = TOKEN};
    fake_bed_init(&bed, &o);
    const struct fake_step steps[] = {
        ANSWER(503, UNAVAILABLE),
        ANSWER(403, "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
                    "\"message\":\"The security token included in the request is invalid.\"}"),
    };
    fake_transport_script(bed.ft, steps, 2);
    struct ddb_error err;
    json_t *resp = call_sync(&err);
    cr_assert_null(resp);
    cr_expect_eq(err.code, DDB_EACCESS);
    cr_expect_str_eq(err.message, "The security token included in the request is invalid.");
    assert_no_token(&err);
    cr_assert_eq(fake_transport_nrecords(bed.ft), 2);
    for (size_t i = 0; i < 2; i++) {
        const struct fake_record *r = fake_transport_record(bed.ft, i);
        const char *t = fake_record_header(r, "X-Amz-Security-Token");
        cr_assert_not_null(t, "attempt %zu has no X-Amz-Security-Token", i);
        cr_expect(strcmp(t, TOKEN) == 0, "attempt %zu sent another token", i);
        cr_expect_not_null(strstr(fake_record_header(r, "Authorization"), "x-amz-security-token"),
                           "the token is not signed");
        assert_signed(r, TOKEN);
    }

    /* Nor in the errors that carry the client's own text. */
    const struct fake_step down = FAIL("Failed to connect: Connection refused");
    fake_transport_script(bed.ft, &down, 1);
    resp = call_sync(&err);
    cr_assert_null(resp);
    assert_no_token(&err);
    const struct fake_step junk = ANSWER(200, "not json");
    fake_transport_script(bed.ft, &junk, 1);
    resp = call_sync(&err);
    cr_assert_null(resp);
    assert_no_token(&err);
}

/* ---- threads ---- */

#define THREADS 8
#define CALLS_PER_THREAD 25

static atomic_int off_io_answers;

/* Echoes the request's body, after throttling every third request once. */
static void echo(struct fake_transport *f, const struct fake_request *rq, struct fake_answer *a,
                 void *ud)
{
    (void)f;
    (void)ud;
    if (!ddb_client_on_io_thread(bed.client))
        atomic_fetch_add(&off_io_answers, 1);
    if (rq->seq % 3 == 0) {
        fake_answer_text(a, 400, PTE);
        return;
    }
    fake_answer_json(a, 200, json_pack("{s:O}", "echo", (json_t *)rq->json));
}

static void *sync_caller(void *arg)
{
    long id = (long)(intptr_t)arg;
    long failures = 0;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        struct ddb_error err;
        ddb_error_clear(&err);
        json_t *body = json_pack("{s:i, s:i}", "thread", (int)id, "call", i);
        json_t *resp = ddb_client_call_sync(bed.client, "Echo", body, &err);
        if (!resp || !json_equal(json_object_get(resp, "echo"), body))
            failures++;
        json_decref(resp);
        json_decref(body);
    }
    return (void *)(intptr_t)failures;
}

Test(client, the_blocking_call_is_a_thin_wrapper_usable_from_any_thread)
{
    fake_transport_set_responder(bed.ft, echo, NULL);
    cr_assert_eq(ddb_client_on_io_thread(bed.client), 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, sync_caller, (void *)(intptr_t)i), 0);
    long failures = 0;
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        failures += (long)(intptr_t)rv;
    }
    cr_expect_eq(failures, 0, "%ld calls got a wrong answer or none", failures);
    cr_expect_eq(atomic_load(&off_io_answers), 0, "the responder ran off the I/O thread");
    struct ddb_client_stats st;
    ddb_client_stats(bed.client, &st);
    cr_expect_eq(st.calls, THREADS * CALLS_PER_THREAD);
    cr_expect_gt(st.throttled, 0);
    cr_expect_eq(st.attempts, (long)fake_transport_nrecords(bed.ft));

    /* The asynchronous form calls done on the I/O thread. */
    struct outcome o;
    outcome_init(&o);
    call_and_wait(&o);
    cr_expect_eq(o.calls, 1);
    cr_expect_eq(o.on_io, 1, "done did not run on the I/O thread");
    outcome_cleanup(&o);
}

Test(client, a_call_still_waiting_when_the_transport_stops_ends_canceled)
{
    /* The answer would take 10 s of real time: stopping the transport must not wait for it. */
    struct outcome o;
    outcome_init(&o);
    struct ddb_error err;
    ddb_error_clear(&err);
    struct fake_ddb_opts dopts = {.real_latency_ms = 10000};
    fake_ddb_configure(bed.ft, &dopts);
    json_t *body = json_pack("{s:s}", "TableName", "t");
    cr_assert_eq(ddb_client_call(bed.client, "Scan", body, on_done, &o, &err), 0);
    json_decref(body);
    while (fake_transport_nrecords(bed.ft) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    double r0 = real_seconds();
    fake_transport_free(bed.ft);
    bed.ft = NULL;
    cr_expect_lt(real_seconds() - r0, 5.0);
    cr_assert_eq(o.calls, 1);
    cr_expect_null(o.resp);
    cr_expect_eq(o.err.code, DDB_ECANCELED, "code %d: %s", o.err.code, o.err.message);
    cr_expect_eq(o.err.attempts, 1);
    outcome_cleanup(&o);
}
