/* A fake DynamoDB behind the transport seam (struct ddb_transport), for unit tests of the client,
 * the scan and the batch writer.
 *
 * The fake has its own I/O thread, like the real engine: submitted requests wait on a queue, timers
 * in a heap, and every callback (done, timers, the responder) runs on that one thread, so
 * on_io_thread works. Time is virtual: when the thread has nothing to do but wait for a timer or an
 * answer's latency, it moves its clock to that deadline at once, so backoffs and throttle waits
 * cost no real time and tests stay fast. Give the client fake_clock as its monoclock (fake_bed
 * does) so that retry windows and throttles read the same clock.
 *
 * What answers a request is a responder: by default the in-memory DynamoDB below; a test may set
 * its own callback or a script (a table of answers). Every request is recorded for assertions.
 *
 * The in-memory DynamoDB holds one table and serves BatchWriteItem (PutRequests) and Scan
 * (Segment/TotalSegments, Limit, ExclusiveStartKey/LastEvaluatedKey, ConsumedCapacity). It can be
 * told to hand back a share of each batch's items as UnprocessedItems, to throttle a share of
 * requests (400 ProvisionedThroughputExceededException), to answer 500/503, to fail at the
 * transport level, to lose answers after applying the write, to refuse any batch holding a
 * "poison" item (400 ValidationException, as DynamoDB refuses a whole batch for one bad item), and
 * it refuses, as DynamoDB does, a batch with two items of one key or more than 25 items. Fault
 * decisions come from a seeded generator, so runs can be replayed.
 *
 * One fake per process at a time (the client's monoclock takes no argument, so fake_clock reads the
 * live one); criterion runs each test in its own process. */
#ifndef TESTS_FAKE_TRANSPORT_H
#define TESTS_FAKE_TRANSPORT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "base/buf.h"
#include "ddb/client.h"
#include "ddb/config.h"
#include "ddb/creds.h"
#include "ddb/http.h"
#include "ddb/item.h"
#include "ddb/retry.h"

struct fake_transport; /* opaque */

/* ---- the transport ---- */

/* Starts the fake's I/O thread. Aborts the test (criterion) when that fails. New object. */
struct fake_transport *fake_transport_new(void);
/* Stops the thread as the real engine does: requests still queued or waiting for their answer
 * complete with transport_failed and error "canceled", timers not yet due run at once, later
 * submits and timers are refused. Then frees everything. NULL is a no-op. */
void fake_transport_free(struct fake_transport *f);
/* A transport view of the fake (borrowed: valid while f lives). */
struct ddb_transport fake_transport_view(struct fake_transport *f);

/* The virtual clock, in seconds (it starts at 1000). */
double fake_transport_now(struct fake_transport *f);
/* The live fake's clock, for ddb_client_opts.monoclock. */
double fake_clock(void);

/* While on, answers are held back (the requests are answered and recorded, but done does not run)
 * until fake_transport_release: a server that is as slow as a test needs it to be. */
void fake_transport_hold(struct fake_transport *f, int on);
/* Lets every held answer through; returns how many there were. */
size_t fake_transport_release(struct fake_transport *f);
/* Answers held back now. */
size_t fake_transport_held(struct fake_transport *f);

/* Waits until the fake is quiet: nothing queued, no timer or answer pending, the thread waiting. */
void fake_transport_drain(struct fake_transport *f);

/* ---- responders ---- */

/* What a responder sees (all borrowed for the call). */
struct fake_request {
    long seq;       /* 0 for the first request the fake received */
    double now;     /* virtual seconds */
    const char *op; /* X-Amz-Target without "DynamoDB_20120810." ("" when absent) */
    const char *const *headers;
    size_t nheaders;
    const char *body;
    size_t body_len;
    const json_t *json; /* the body parsed, NULL when it is not JSON */
};

/* What it answers. Zeroed with status 200 and an empty body before the responder runs. */
struct fake_answer {
    long status;          /* HTTP status; ignored when transport_failed */
    struct buf body;      /* the body (fill with the helpers below or buf_add*) */
    int transport_failed; /* 1: no answer, error says why */
    int timed_out;
    char error[256];
    long latency_ms; /* virtual delay before done runs */
    long
        real_latency_ms; /* real delay too (for tests where other threads must see a slow server) */
    double consumed;     /* capacity units the answer reports (recorded) */
};

/* The body is json (stolen). */
void fake_answer_json(struct fake_answer *a, long status, json_t *json);
void fake_answer_text(struct fake_answer *a, long status, const char *text);
/* {"__type":"com.amazonaws.dynamodb.v20120810#<type>","message":<message>} */
void fake_answer_aws_error(struct fake_answer *a, long status, const char *type,
                           const char *message);
void fake_answer_fail(struct fake_answer *a, int timed_out, const char *error);

/* Runs on the fake's I/O thread for each request, in arrival order. */
typedef void fake_responder_fn(struct fake_transport *f, const struct fake_request *rq,
                               struct fake_answer *a, void *ud);
/* NULL: the in-memory DynamoDB (the default). */
void fake_transport_set_responder(struct fake_transport *f, fake_responder_fn *fn, void *ud);

/* One scripted answer. status 0: a transport failure, with body as the transport's error. */
struct fake_step {
    long status;
    const char *body; /* borrowed: must outlive the script's use (string literals) */
    int timed_out;
    long latency_ms;
};
/* Answers the requests from now on with steps[0], steps[1]..., then the last step for every
 * request after (the steps are copied; their strings are borrowed). */
void fake_transport_script(struct fake_transport *f, const struct fake_step *steps, size_t n);

/* ---- records ---- */

struct fake_record {
    long seq;
    double at; /* virtual seconds at arrival */
    char op[64];
    char **headers; /* copies of the header lines */
    size_t nheaders;
    size_t body_len;
    json_t *body; /* the parsed body; NULL when not JSON and for BatchWriteItem (see keys) */
    /* BatchWriteItem: */
    size_t nitems; /* PutRequests in the request */
    char **keys;   /* their key strings (NULL for an item without its key) */
    /* The answer: */
    long status; /* 0 for a transport failure */
    int transport_failed;
    double consumed;
    int has_last_key; /* Scan: the answer had a LastEvaluatedKey */
    long nreturned;   /* Scan: items in the answer */
};

size_t fake_transport_nrecords(struct fake_transport *f);
/* Borrowed, valid while f lives; complete once its request has been answered. */
const struct fake_record *fake_transport_record(struct fake_transport *f, size_t i);
/* The value of header name (any case) in the record, or NULL (borrowed). */
const char *fake_record_header(const struct fake_record *r, const char *name);

/* ---- the in-memory DynamoDB ---- */

struct fake_ddb_opts {
    const char *table;                /* its name (copied); NULL: "t" */
    const struct ddb_key_schema *key; /* copied; NULL: pk (S) */
    unsigned long seed;               /* 0: a fixed default */
    double unprocessed;               /* share of a batch's items handed back as UnprocessedItems */
    double throttled;          /* share of requests answered 400 ProvisionedThroughputExceeded */
    double server_errors;      /* share answered 500 / 503 (alternately) */
    double transport_failures; /* share that fail at the transport level (nothing applied) */
    double lost_answers;  /* BatchWriteItem: share applied, then the answer is lost (timeout) */
    const char *poison;   /* attribute name: a batch holding an item with it is refused */
    int missing;          /* the table does not exist: ResourceNotFoundException */
    long latency_ms;      /* every answer's virtual latency */
    long real_latency_ms; /* and real latency */
    int keys_only;        /* store only the key attributes (for tests that write a lot) */
    int canonical_unprocessed; /* UnprocessedItems come back with their numbers in canonical
                                  form ("1.50" -> "1.5", "007" -> "7"), not as sent */
};
/* Replaces the settings (the table's contents stay unless the key schema changes). */
void fake_ddb_configure(struct fake_transport *f, const struct fake_ddb_opts *o);

/* The in-memory DynamoDB as a responder, for custom responders to fall back on. */
void fake_ddb_respond(struct fake_transport *f, const struct fake_request *rq,
                      struct fake_answer *a);

/* Stores a copy of item directly (to fill a table before a scan). */
void fake_ddb_put(struct fake_transport *f, const json_t *item);
/* The key string of item under the table's schema (new string, NULL when it has no key). */
char *fake_ddb_key_of(struct fake_transport *f, const json_t *item);
/* The stored item of key (new reference) or NULL. */
json_t *fake_ddb_get(struct fake_transport *f, const char *key);
size_t fake_ddb_count(struct fake_transport *f);
/* How many PutRequests of key were applied. */
long fake_ddb_writes(struct fake_transport *f, const char *key);
/* Capacity units reported in all answers (reads and writes). */
double fake_ddb_consumed(struct fake_transport *f);
/* The keys of one segment in the order Scan serves them (new array of strings). */
json_t *fake_ddb_segment_keys(struct fake_transport *f, unsigned segment, unsigned total);

/* ---- a client wired to the fake ---- */

#define FAKE_ACCESS_KEY "AKIDFAKEEXAMPLE"
#define FAKE_SECRET_KEY "fAkEsEcReTkEy/K7MDENG/bPxRfiCYzEXAMPLEKEY"
#define FAKE_REGION "us-east-1"
#define FAKE_ENDPOINT "http://dynamodb.fake.invalid:8000"

struct fake_bed_opts {
    const char *session_token;  /* NULL: none */
    struct ddb_backoff backoff; /* zeroed: base 1 ms, cap 20 ms, window 2000 ms */
    time_t (*wallclock)(void);  /* NULL: time(NULL) */
};

struct fake_bed {
    const char *env_names[8];
    const char *env_values[8];
    int nenv;
    struct ddb_config cfg;
    struct ddb_creds_provider *creds;
    struct fake_transport *ft;
    struct ddb_client *client;
};

/* Credentials from a fake environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and maybe
 * AWS_SESSION_TOKEN through the config's injected getenv), a fake transport, and a client on it
 * whose monoclock is the fake's. Aborts the test when anything fails. opts may be NULL. */
void fake_bed_init(struct fake_bed *b, const struct fake_bed_opts *opts);
/* Stops the transport first (ending every call still running), then frees the client. */
void fake_bed_cleanup(struct fake_bed *b);

#endif
