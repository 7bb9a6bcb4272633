/* The fake transport and its in-memory DynamoDB (see fake_transport.h).
 *
 * The I/O thread: take a submitted request, answer it at once (responder), and queue the answer as
 * an event due after its latency; run events in (due, seq) order; when nothing is due, move the
 * virtual clock to the next deadline. */
#include "fake_transport.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/limits.h"
#include "ddb/timers.h"

#define TARGET_PREFIX "DynamoDB_20120810."
#define START_MS 1000000.0 /* the virtual clock starts at 1000 s */
#define DEFAULT_SEED 0x9e3779b97f4a7c15ul
#define AWS_NS "com.amazonaws.dynamodb.v20120810#"
#define WCU_BYTES 1024.0
#define RCU_BYTES 4096.0

/* An answer that waits for real time before it joins the heap. */
struct slow {
    double real_due;
    long latency_ms;
    struct ddb_http_req *req;
};

struct fake_transport {
    pthread_t thread;
    pthread_mutex_t lock; /* everything down to the in-memory DynamoDB */
    pthread_cond_t wake;  /* the I/O thread waits on it */
    pthread_cond_t quiet; /* drain waits on it */
    struct ddb_http_req *sub_head, *sub_tail;
    struct ddb_timers events; /* timers and answers (see answer), on the virtual clock */
    struct slow *slow;
    size_t n_slow, cap_slow;
    double now_ms;
    int stopping;
    int idle;
    int hold; /* answers wait for fake_transport_release */
    long nreq;
    struct fake_record **recs;
    size_t nrecs, cap_recs;
    fake_responder_fn *responder;
    void *responder_ud;
    struct fake_step *script;
    size_t nscript, script_pos;

    /* The in-memory DynamoDB, under db_lock. */
    pthread_mutex_t db_lock;
    char *table;
    struct ddb_key_schema key;
    char *poison;
    struct fake_ddb_opts o; /* table, key and poison point to the copies above */
    uint64_t rng;
    json_t *items;  /* key string -> item */
    json_t *writes; /* key string -> times applied */
    double consumed;
    long server_toggle;
};

/* The client's monoclock takes no argument: it reads the live fake. */
static struct fake_transport *live;
static _Thread_local struct fake_transport *io_self;

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- events: timers and due answers, on (virtual due, seq) ---- */

/* A 200 answer's body to the request's sink, as curl would hand it over: in chunks of varied size
 * (1 to 16 KB, a few of a byte or two), the same cuts every run. */
static void to_sink(struct ddb_http_req *r)
{
    static _Thread_local uint64_t cuts = 0x9e3779b97f4a7c15u;
    size_t off = 0, len = r->response.len;
    while (off < len) {
        cuts = cuts * 6364136223846793005u + 1442695040888963407u;
        unsigned pick = (unsigned)(cuts >> 33);
        size_t n = pick % 8 == 0 ? 1 + pick % 3 : 1 + pick % 16384;
        if (n > len - off)
            n = len - off;
        r->sink(r->response.data + off, n, r->sink_ud);
        off += n;
    }
    buf_reset(&r->response);
}

/* The event of an answer that is due: ud is the request. */
static void answer(void *ud)
{
    struct ddb_http_req *r = ud;
    if (r->sink && r->status == 200 && !r->transport_failed)
        to_sink(r);
    r->done(r, r->ud);
}

/* Under lock. */
static void push_event(struct fake_transport *f, double due_ms, ddb_timer_fn *fn, void *ud)
{
    cr_assert_eq(ddb_timers_push(&f->events, due_ms, fn, ud), 0, "fake transport: out of memory");
}

/* ---- answers ---- */

void fake_answer_json(struct fake_answer *a, long status, json_t *json)
{
    a->status = status;
    buf_reset(&a->body);
    char *s = json_dumps(json, JSON_COMPACT);
    cr_assert_not_null(s, "fake transport: could not serialize an answer");
    buf_addstr(&a->body, s);
    free(s);
    json_decref(json);
}

void fake_answer_text(struct fake_answer *a, long status, const char *text)
{
    a->status = status;
    buf_reset(&a->body);
    buf_addstr(&a->body, text ? text : "");
}

void fake_answer_aws_error(struct fake_answer *a, long status, const char *type,
                           const char *message)
{
    char t[256];
    snprintf(t, sizeof t, AWS_NS "%s", type);
    fake_answer_json(a, status, json_pack("{s:s, s:s}", "__type", t, "message", message));
}

void fake_answer_fail(struct fake_answer *a, int timed_out, const char *error)
{
    a->transport_failed = 1;
    a->timed_out = timed_out;
    a->status = 0;
    buf_reset(&a->body);
    snprintf(a->error, sizeof a->error, "%s", error);
}

/* ---- records ---- */

static void record_free(struct fake_record *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->headers);
    for (size_t i = 0; i < r->nitems; i++)
        free(r->keys[i]);
    free(r->keys);
    json_decref(r->body);
    free(r);
}

size_t fake_transport_nrecords(struct fake_transport *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->nrecs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const struct fake_record *fake_transport_record(struct fake_transport *f, size_t i)
{
    pthread_mutex_lock(&f->lock);
    const struct fake_record *r = i < f->nrecs ? f->recs[i] : NULL;
    pthread_mutex_unlock(&f->lock);
    return r;
}

const char *fake_record_header(const struct fake_record *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

/* ---- the in-memory DynamoDB ---- */

static uint64_t next_rand(struct fake_transport *f)
{
    uint64_t x = f->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    f->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, 1). */
static double uniform(struct fake_transport *f)
{
    return (double)(next_rand(f) >> 11) / 9007199254740992.0;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Under db_lock. New string or NULL. */
static char *key_of(struct fake_transport *f, const json_t *item)
{
    struct buf b;
    buf_init(&b, DDB_ITEM_MAX);
    char *s = NULL;
    if (ddb_item_key_append(item, &f->key, &b) == 0) {
        s = buf_detach(&b, NULL);
        if (!s)
            s = strdup(""); /* buf_detach gives NULL for an empty string */
    }
    buf_cleanup(&b);
    return s;
}

/* The item's key attributes only (new reference). */
static json_t *key_attrs(struct fake_transport *f, const json_t *item)
{
    json_t *k = json_object();
    json_object_set(k, f->key.hash_name, json_object_get(item, f->key.hash_name));
    if (f->key.range_name)
        json_object_set(k, f->key.range_name, json_object_get(item, f->key.range_name));
    return k;
}

void fake_ddb_configure(struct fake_transport *f, const struct fake_ddb_opts *o)
{
    pthread_mutex_lock(&f->db_lock);
    free(f->table);
    free(f->poison);
    f->o = *o;
    f->table = strdup(o->table ? o->table : "t");
    f->poison = o->poison ? strdup(o->poison) : NULL;
    f->o.table = f->table;
    f->o.poison = f->poison;
    if (o->key) {
        int same = f->key.hash_name && strcmp(f->key.hash_name, o->key->hash_name) == 0 &&
                   f->key.hash_type == o->key->hash_type &&
                   !f->key.range_name == !o->key->range_name &&
                   (!f->key.range_name || strcmp(f->key.range_name, o->key->range_name) == 0);
        if (!same) {
            ddb_key_schema_cleanup(&f->key);
            cr_assert_eq(ddb_key_schema_copy(&f->key, o->key), 0);
            json_object_clear(f->items);
            json_object_clear(f->writes);
        }
    }
    f->o.key = &f->key;
    f->rng = o->seed ? o->seed : DEFAULT_SEED;
    pthread_mutex_unlock(&f->db_lock);
}

static void store(struct fake_transport *f, const char *key, const json_t *item)
{
    json_t *copy = f->o.keys_only ? key_attrs(f, item) : json_deep_copy(item);
    json_object_set_new(f->items, key, copy);
    json_int_t n = json_integer_value(json_object_get(f->writes, key));
    json_object_set_new(f->writes, key, json_integer(n + 1));
}

void fake_ddb_put(struct fake_transport *f, const json_t *item)
{
    pthread_mutex_lock(&f->db_lock);
    char *k = key_of(f, item);
    cr_assert_not_null(k, "fake_ddb_put: the item has no key");
    json_object_set_new(f->items, k, json_deep_copy(item));
    free(k);
    pthread_mutex_unlock(&f->db_lock);
}

char *fake_ddb_key_of(struct fake_transport *f, const json_t *item)
{
    pthread_mutex_lock(&f->db_lock);
    char *k = key_of(f, item);
    pthread_mutex_unlock(&f->db_lock);
    return k;
}

json_t *fake_ddb_get(struct fake_transport *f, const char *key)
{
    pthread_mutex_lock(&f->db_lock);
    json_t *v = json_incref(json_object_get(f->items, key));
    pthread_mutex_unlock(&f->db_lock);
    return v;
}

size_t fake_ddb_count(struct fake_transport *f)
{
    pthread_mutex_lock(&f->db_lock);
    size_t n = json_object_size(f->items);
    pthread_mutex_unlock(&f->db_lock);
    return n;
}

long fake_ddb_writes(struct fake_transport *f, const char *key)
{
    pthread_mutex_lock(&f->db_lock);
    long n = (long)json_integer_value(json_object_get(f->writes, key));
    pthread_mutex_unlock(&f->db_lock);
    return n;
}

double fake_ddb_consumed(struct fake_transport *f)
{
    pthread_mutex_lock(&f->db_lock);
    double c = f->consumed;
    pthread_mutex_unlock(&f->db_lock);
    return c;
}

struct kv {
    const char *key;
    json_t *item;
};

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* Under db_lock: the items of a segment with a key after `after` (NULL: all), sorted by key.
 * Borrowed pointers; free the array. */
static struct kv *segment_items(struct fake_transport *f, unsigned seg, unsigned total,
                                const char *after, size_t *n)
{
    struct kv *v = calloc(json_object_size(f->items) + 1, sizeof *v);
    cr_assert_not_null(v);
    *n = 0;
    const char *k;
    json_t *item;
    json_object_foreach(f->items, k, item)
    {
        if (fnv1a(k) % total != seg)
            continue;
        if (after && strcmp(k, after) <= 0)
            continue;
        v[*n].key = k;
        v[*n].item = item;
        (*n)++;
    }
    qsort(v, *n, sizeof *v, kv_cmp);
    return v;
}

json_t *fake_ddb_segment_keys(struct fake_transport *f, unsigned segment, unsigned total)
{
    pthread_mutex_lock(&f->db_lock);
    size_t n = 0;
    struct kv *v = segment_items(f, segment, total, NULL, &n);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(v[i].key));
    free(v);
    pthread_mutex_unlock(&f->db_lock);
    return out;
}

static void validation(struct fake_answer *a, const char *message)
{
    fake_answer_aws_error(a, 400, "ValidationException", message);
}

static void not_found(struct fake_answer *a)
{
    fake_answer_aws_error(a, 400, "ResourceNotFoundException",
                          "Requested resource not found: Table not found");
}

/* Under db_lock: one draw for the request-level faults. Returns 1 when it answered. */
static int request_fault(struct fake_transport *f, struct fake_answer *a)
{
    double u = uniform(f);
    double t = f->o.throttled, s = t + f->o.server_errors, x = s + f->o.transport_failures;
    if (u < t) {
        fake_answer_aws_error(a, 400, "ProvisionedThroughputExceededException",
                              "The level of configured provisioned throughput for the table was "
                              "exceeded. Consider increasing your provisioning level with the "
                              "UpdateTable API.");
        return 1;
    }
    if (u < s) {
        if (f->server_toggle++ % 2 == 0)
            fake_answer_aws_error(a, 500, "InternalServerError", "Internal server error");
        else
            fake_answer_aws_error(a, 503, "ServiceUnavailable", "Service unavailable");
        return 1;
    }
    if (u < x) {
        fake_answer_fail(a, 0, "Recv failure: Connection reset by peer");
        return 1;
    }
    return 0;
}

/* The AttributeValue's type letter(s) ("S", "N"...), or "". */
static const char *av_type(const json_t *av)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)av, k, v) return k;
    return "";
}

/* Under db_lock. Returns NULL when the key is fine, else DynamoDB's message (in msg). */
static const char *check_key(struct fake_transport *f, const json_t *item, char *msg, size_t len)
{
    const char *names[2] = {f->key.hash_name, f->key.range_name};
    char types[2] = {f->key.hash_type, f->key.range_type};
    for (int i = 0; i < 2 && names[i]; i++) {
        const json_t *av = json_object_get(item, names[i]);
        if (!json_is_object(av)) {
            snprintf(msg, len,
                     "One or more parameter values were invalid: Missing the key %s in "
                     "the item",
                     names[i]);
            return msg;
        }
        const char *t = av_type(av);
        if (!(t[0] == types[i] && t[1] == '\0')) {
            snprintf(msg, len,
                     "One or more parameter values were invalid: Type mismatch for key %s "
                     "expected: %c actual: %s",
                     names[i], types[i], t);
            return msg;
        }
    }
    return NULL;
}

/* "007.50" -> "7.5", "-0.0" -> "0": numbers as a server that parsed them would print them. */
static void canonical_number(const char *in, char *out, size_t len)
{
    const char *p = in;
    int neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    while (*p == '0' && p[1] && p[1] != '.')
        p++;
    snprintf(out, len, "%s%s", neg ? "-" : "", p);
    if (strchr(out, '.')) {
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '0')
            out[--n] = '\0';
        if (n > 0 && out[n - 1] == '.')
            out[--n] = '\0';
    }
    if (strcmp(out, "-0") == 0 || out[0] == '\0')
        snprintf(out, len, "0");
}

/* A copy of value with every N in canonical form (new reference). */
static json_t *canonical_copy(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (strcmp(k, "N") == 0 && json_is_string(x)) {
                char num[128];
                canonical_number(json_string_value(x), num, sizeof num);
                json_object_set_new(out, k, json_string(num));
            } else {
                json_object_set_new(out, k, canonical_copy(x));
            }
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x) json_array_append_new(out, canonical_copy(x));
        return out;
    }
    return json_deep_copy(v);
}

static void batch_write(struct fake_transport *f, const struct fake_request *rq,
                        struct fake_answer *a)
{
    char msg[512];
    json_t *ri = json_object_get(rq->json, "RequestItems");
    if (!json_is_object(ri) || json_object_size(ri) == 0) {
        validation(a, "1 validation error detected: Value null at 'requestItems' failed to "
                      "satisfy constraint: Member must not be null");
        return;
    }
    json_t *list = json_object_get(ri, f->table);
    if (f->o.missing || !list || json_object_size(ri) != 1) {
        not_found(a);
        return;
    }
    size_t n = json_array_size(list);
    if (n == 0 || n > DDB_BATCH_ITEMS_MAX) {
        snprintf(msg, sizeof msg,
                 "1 validation error detected: Value at 'requestItems' failed to satisfy "
                 "constraint: Map value must satisfy constraint: [Member must have length less "
                 "than or equal to 25, Member must have length greater than or equal to 1] "
                 "(got %zu)",
                 n);
        validation(a, msg);
        return;
    }
    json_t *seen = json_object();
    char **keys = calloc(n, sizeof *keys);
    cr_assert_not_null(keys);
    const char *bad = NULL;
    for (size_t i = 0; i < n && !bad; i++) {
        json_t *item =
            json_object_get(json_object_get(json_array_get(list, i), "PutRequest"), "Item");
        if (!json_is_object(item)) {
            bad = "1 validation error detected: Value null at 'putRequest.item' failed to "
                  "satisfy constraint: Member must not be null";
            break;
        }
        if ((bad = check_key(f, item, msg, sizeof msg)))
            break;
        if (ddb_item_size(item) > DDB_ITEM_MAX) {
            bad = "Item size has exceeded the maximum allowed size";
            break;
        }
        if (f->poison && json_object_get(item, f->poison)) {
            bad = "One or more parameter values were invalid: An AttributeValue may not contain "
                  "an empty string";
            break;
        }
        keys[i] = key_of(f, item);
        if (json_object_get(seen, keys[i])) {
            bad = "Provided list of item keys contains duplicates";
            break;
        }
        json_object_set_new(seen, keys[i], json_true());
    }
    json_decref(seen);
    if (bad) {
        validation(a, bad);
        goto out;
    }
    if (request_fault(f, a))
        goto out;

    json_t *back = json_array();
    double consumed = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *put = json_array_get(list, i);
        json_t *item = json_object_get(json_object_get(put, "PutRequest"), "Item");
        if (f->o.unprocessed > 0 && uniform(f) < f->o.unprocessed) {
            if (f->o.canonical_unprocessed)
                json_array_append_new(back, canonical_copy(put));
            else
                json_array_append(back, put);
            continue;
        }
        store(f, keys[i], item);
        consumed += fmax(1.0, ceil((double)ddb_item_size(item) / WCU_BYTES));
    }
    if (f->o.lost_answers > 0 && uniform(f) < f->o.lost_answers) {
        json_decref(back);
        fake_answer_fail(a, 1,
                         "Operation timed out after 60000 milliseconds with 0 bytes "
                         "received");
        goto out;
    }
    json_t *resp = json_object();
    json_t *un = json_object();
    if (json_array_size(back))
        json_object_set(un, f->table, back);
    json_decref(back);
    json_object_set_new(resp, "UnprocessedItems", un);
    const char *rcc = json_string_value(json_object_get(rq->json, "ReturnConsumedCapacity"));
    if (rcc && strcmp(rcc, "NONE") != 0)
        json_object_set_new(
            resp, "ConsumedCapacity",
            json_pack("[{s:s, s:f}]", "TableName", f->table, "CapacityUnits", consumed));
    f->consumed += consumed;
    a->consumed = consumed;
    fake_answer_json(a, 200, resp);
out:
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

static void scan(struct fake_transport *f, const struct fake_request *rq, struct fake_answer *a)
{
    const char *table = json_string_value(json_object_get(rq->json, "TableName"));
    if (!table) {
        validation(a, "1 validation error detected: Value null at 'tableName' failed to satisfy "
                      "constraint: Member must not be null");
        return;
    }
    if (f->o.missing || strcmp(table, f->table) != 0) {
        not_found(a);
        return;
    }
    json_t *jseg = json_object_get(rq->json, "Segment");
    json_t *jtot = json_object_get(rq->json, "TotalSegments");
    if (!jseg != !jtot) {
        validation(a, "The TotalSegments parameter is required but was not present in the "
                      "request when Segment parameter is present");
        return;
    }
    json_int_t seg = jseg ? json_integer_value(jseg) : 0;
    json_int_t total = jtot ? json_integer_value(jtot) : 1;
    if (total < 1 || total > DDB_SEGMENTS_MAX || seg < 0 || seg >= total) {
        validation(a, "The Segment parameter is zero-based and must be less than parameter "
                      "TotalSegments");
        return;
    }
    json_t *jlimit = json_object_get(rq->json, "Limit");
    json_int_t limit = jlimit ? json_integer_value(jlimit) : 0;
    if (jlimit && limit < 1) {
        validation(a, "1 validation error detected: Value at 'limit' failed to satisfy "
                      "constraint: Member must have value greater than or equal to 1");
        return;
    }
    char *after = NULL;
    json_t *esk = json_object_get(rq->json, "ExclusiveStartKey");
    if (esk && !(after = key_of(f, esk))) {
        validation(a, "The provided starting key is invalid");
        return;
    }
    if (request_fault(f, a)) {
        free(after);
        return;
    }
    size_t n = 0;
    struct kv *v = segment_items(f, (unsigned)seg, (unsigned)total, after, &n);
    free(after);
    json_t *items = json_array();
    double bytes = 0;
    size_t i = 0;
    int cut = 0;
    for (; i < n; i++) {
        if (limit && (json_int_t)i >= limit) {
            cut = 1;
            break;
        }
        if (bytes >= DDB_SCAN_PAGE_MAX) {
            cut = 1;
            break;
        }
        json_array_append(items, v[i].item);
        bytes += (double)ddb_item_size(v[i].item);
    }
    /* As DynamoDB: a page stopped by Limit or size has a LastEvaluatedKey, even when nothing is
     * left (the next page is then empty). */
    if (!cut && limit && (json_int_t)i == limit)
        cut = 1;
    int consistent = json_is_true(json_object_get(rq->json, "ConsistentRead"));
    double units = fmax(1.0, ceil(bytes / RCU_BYTES)) * (consistent ? 1.0 : 0.5);
    json_t *resp = json_object();
    json_object_set_new(resp, "Count", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(resp, "ScannedCount", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(resp, "Items", items);
    if (cut && i > 0)
        json_object_set_new(resp, "LastEvaluatedKey", key_attrs(f, v[i - 1].item));
    else if (cut && esk)
        json_object_set(resp, "LastEvaluatedKey", esk);
    const char *rcc = json_string_value(json_object_get(rq->json, "ReturnConsumedCapacity"));
    if (rcc && strcmp(rcc, "NONE") != 0)
        json_object_set_new(resp, "ConsumedCapacity",
                            json_pack("{s:s, s:f}", "TableName", f->table, "CapacityUnits", units));
    f->consumed += units;
    a->consumed = units;
    free(v);
    fake_answer_json(a, 200, resp);
}

void fake_ddb_respond(struct fake_transport *f, const struct fake_request *rq,
                      struct fake_answer *a)
{
    pthread_mutex_lock(&f->db_lock);
    a->latency_ms = f->o.latency_ms;
    a->real_latency_ms = f->o.real_latency_ms;
    if (!rq->json)
        fake_answer_aws_error(a, 400, "SerializationException",
                              "Start of structure or map found "
                              "where not expected");
    else if (strcmp(rq->op, "BatchWriteItem") == 0)
        batch_write(f, rq, a);
    else if (strcmp(rq->op, "Scan") == 0)
        scan(f, rq, a);
    else
        fake_answer_json(
            a, 400,
            json_pack("{s:s}", "__type", "com.amazon.coral.service#UnknownOperationException"));
    pthread_mutex_unlock(&f->db_lock);
}

/* ---- responders ---- */

void fake_transport_set_responder(struct fake_transport *f, fake_responder_fn *fn, void *ud)
{
    pthread_mutex_lock(&f->lock);
    f->responder = fn;
    f->responder_ud = ud;
    free(f->script);
    f->script = NULL;
    f->nscript = f->script_pos = 0;
    pthread_mutex_unlock(&f->lock);
}

static void script_respond(struct fake_transport *f, const struct fake_request *rq,
                           struct fake_answer *a, void *ud)
{
    (void)rq;
    (void)ud;
    pthread_mutex_lock(&f->lock);
    struct fake_step s = f->script[f->script_pos < f->nscript ? f->script_pos : f->nscript - 1];
    f->script_pos++;
    pthread_mutex_unlock(&f->lock);
    if (s.status == 0)
        fake_answer_fail(a, s.timed_out, s.body ? s.body : "Connection refused");
    else
        fake_answer_text(a, s.status, s.body);
    a->latency_ms = s.latency_ms;
}

void fake_transport_script(struct fake_transport *f, const struct fake_step *steps, size_t n)
{
    cr_assert_gt(n, 0);
    struct fake_step *copy = calloc(n, sizeof *copy);
    cr_assert_not_null(copy);
    memcpy(copy, steps, n * sizeof *copy);
    pthread_mutex_lock(&f->lock);
    free(f->script);
    f->script = copy;
    f->nscript = n;
    f->script_pos = 0;
    f->responder = script_respond;
    f->responder_ud = NULL;
    pthread_mutex_unlock(&f->lock);
}

/* ---- the I/O thread ---- */

static struct fake_record *record_new(struct fake_transport *f, const struct fake_request *rq,
                                      const struct fake_answer *a)
{
    struct fake_record *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    r->seq = rq->seq;
    r->at = rq->now;
    snprintf(r->op, sizeof r->op, "%s", rq->op);
    r->nheaders = rq->nheaders;
    r->headers = calloc(rq->nheaders + 1, sizeof *r->headers);
    for (size_t i = 0; i < rq->nheaders; i++)
        r->headers[i] = strdup(rq->headers[i]);
    r->body_len = rq->body_len;
    if (strcmp(rq->op, "BatchWriteItem") == 0) {
        json_t *ri = json_object_get(rq->json, "RequestItems");
        const char *t;
        json_t *list;
        size_t total = 0;
        json_object_foreach(ri, t, list) total += json_array_size(list);
        r->keys = calloc(total + 1, sizeof *r->keys);
        json_object_foreach(ri, t, list)
        {
            size_t i;
            json_t *put;
            json_array_foreach(list, i, put)
            {
                json_t *item = json_object_get(json_object_get(put, "PutRequest"), "Item");
                r->keys[r->nitems++] = fake_ddb_key_of(f, item);
            }
        }
    } else if (rq->json) {
        r->body = json_deep_copy(rq->json);
    }
    r->status = a->transport_failed ? 0 : a->status;
    r->transport_failed = a->transport_failed;
    r->consumed = a->consumed;
    if (!a->transport_failed && a->status == 200 && strcmp(rq->op, "Scan") == 0) {
        json_t *resp = json_loadb(a->body.data ? a->body.data : "", a->body.len, 0, NULL);
        r->has_last_key = json_object_get(resp, "LastEvaluatedKey") != NULL;
        r->nreturned = (long)json_array_size(json_object_get(resp, "Items"));
        json_decref(resp);
    }
    return r;
}

/* A request arrives: answer it now, deliver it after its latency. */
static void arrive(struct fake_transport *f, struct ddb_http_req *req)
{
    struct fake_request rq = {0};
    struct fake_answer a = {.status = 200};
    buf_init(&a.body, DDB_RESPONSE_MAX);
    rq.op = "";
    for (size_t i = 0; i < req->nheaders; i++) {
        static const char name[] = "X-Amz-Target:";
        if (strncasecmp(req->headers[i], name, sizeof name - 1) == 0) {
            const char *v = req->headers[i] + sizeof name - 1;
            while (*v == ' ')
                v++;
            rq.op = strncmp(v, TARGET_PREFIX, sizeof TARGET_PREFIX - 1) == 0
                        ? v + sizeof TARGET_PREFIX - 1
                        : v;
        }
    }
    rq.headers = req->headers;
    rq.nheaders = req->nheaders;
    rq.body = req->body;
    rq.body_len = req->body_len;
    json_t *json = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    rq.json = json;

    pthread_mutex_lock(&f->lock);
    rq.seq = f->nreq++;
    rq.now = f->now_ms / 1000.0;
    fake_responder_fn *fn = f->responder;
    void *ud = f->responder_ud;
    pthread_mutex_unlock(&f->lock);
    if (fn)
        fn(f, &rq, &a, ud);
    else
        fake_ddb_respond(f, &rq, &a);

    struct fake_record *rec = record_new(f, &rq, &a);
    json_decref(json);

    req->status = a.transport_failed ? 0 : a.status;
    req->transport_failed = a.transport_failed;
    req->timed_out = a.timed_out;
    snprintf(req->error, sizeof req->error, "%s", a.error);
    snprintf(req->request_id, sizeof req->request_id, "FAKE%08ld", rq.seq);
    buf_reset(&req->response);
    if (!a.transport_failed && a.body.len)
        cr_assert_eq(buf_add(&req->response, a.body.data, a.body.len), BUF_OK);
    buf_cleanup(&a.body);

    pthread_mutex_lock(&f->lock);
    if (f->nrecs == f->cap_recs) {
        size_t cap = f->cap_recs ? f->cap_recs * 2 : 256;
        struct fake_record **p = realloc(f->recs, cap * sizeof *p);
        cr_assert_not_null(p);
        f->recs = p;
        f->cap_recs = cap;
    }
    f->recs[f->nrecs++] = rec;
    if (a.real_latency_ms > 0 || f->hold) {
        if (f->n_slow == f->cap_slow) {
            size_t cap = f->cap_slow ? f->cap_slow * 2 : 16;
            struct slow *p = realloc(f->slow, cap * sizeof *p);
            cr_assert_not_null(p);
            f->slow = p;
            f->cap_slow = cap;
        }
        f->slow[f->n_slow++] = (struct slow){
            .real_due = f->hold ? HUGE_VAL : real_now() + (double)a.real_latency_ms / 1000.0,
            .latency_ms = a.latency_ms,
            .req = req,
        };
    } else {
        push_event(f, f->now_ms + (a.latency_ms > 0 ? (double)a.latency_ms : 0), answer, req);
    }
    pthread_mutex_unlock(&f->lock);
}

static void cancel(struct ddb_http_req *r)
{
    r->status = 0;
    r->transport_failed = 1;
    r->timed_out = 0;
    snprintf(r->error, sizeof r->error, "canceled");
    buf_reset(&r->response);
    r->done(r, r->ud);
}

static void wait_real(struct fake_transport *f, double until)
{
    struct timespec ts;
    ts.tv_sec = (time_t)until;
    ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&f->wake, &f->lock, &ts);
}

/* Under lock: moves the slow answers whose real time has come to the heap. Returns the real time
 * the next one is due, or 0 when none waits. */
static double take_slow(struct fake_transport *f)
{
    double now = real_now(), soonest = 0;
    for (size_t i = 0; i < f->n_slow;) {
        struct slow *s = &f->slow[i];
        if (s->real_due <= now) {
            push_event(f, f->now_ms + (s->latency_ms > 0 ? (double)s->latency_ms : 0), answer,
                       s->req);
            f->slow[i] = f->slow[--f->n_slow];
            continue;
        }
        if (s->real_due < HUGE_VAL && (soonest == 0 || s->real_due < soonest))
            soonest = s->real_due;
        i++;
    }
    return soonest;
}

static void *loop(void *arg)
{
    struct fake_transport *f = arg;
    io_self = f;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        if (f->sub_head && !f->stopping) {
            struct ddb_http_req *r = f->sub_head;
            f->sub_head = r->next;
            if (!f->sub_head)
                f->sub_tail = NULL;
            r->next = NULL;
            pthread_mutex_unlock(&f->lock);
            arrive(f, r);
            pthread_mutex_lock(&f->lock);
            continue;
        }
        if (f->stopping)
            break;
        double soonest = take_slow(f), due;
        struct ddb_timer e;
        if (ddb_timers_peek_due(&f->events, &due) == 0 && due <= f->now_ms) {
            ddb_timers_pop(&f->events, &e);
            pthread_mutex_unlock(&f->lock);
            e.fn(e.ud);
            pthread_mutex_lock(&f->lock);
            continue;
        }
        if (ddb_timers_peek_due(&f->events, &due) == 0) {
            /* Nothing to do before the next deadline: go there. */
            f->now_ms = due;
            continue;
        }
        if (soonest > 0) {
            wait_real(f, soonest);
            continue;
        }
        if (f->n_slow) { /* held: wait for fake_transport_release */
            pthread_cond_wait(&f->wake, &f->lock);
            continue;
        }
        f->idle = 1;
        pthread_cond_broadcast(&f->quiet);
        pthread_cond_wait(&f->wake, &f->lock);
        f->idle = 0;
    }
    /* Stopping: as the engine, everything pending ends now (callbacks may add more; submits and
     * timers are refused from here on, so this ends). */
    for (;;) {
        if (f->sub_head) {
            struct ddb_http_req *r = f->sub_head;
            f->sub_head = r->next;
            if (!f->sub_head)
                f->sub_tail = NULL;
            r->next = NULL;
            pthread_mutex_unlock(&f->lock);
            cancel(r);
            pthread_mutex_lock(&f->lock);
            continue;
        }
        if (f->n_slow) {
            struct ddb_http_req *r = f->slow[--f->n_slow].req;
            pthread_mutex_unlock(&f->lock);
            cancel(r);
            pthread_mutex_lock(&f->lock);
            continue;
        }
        struct ddb_timer e;
        if (ddb_timers_pop(&f->events, &e) == 0) {
            pthread_mutex_unlock(&f->lock);
            if (e.fn == answer)
                cancel(e.ud);
            else
                e.fn(e.ud);
            pthread_mutex_lock(&f->lock);
            continue;
        }
        break;
    }
    f->idle = 1;
    pthread_cond_broadcast(&f->quiet);
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---- the transport ---- */

static int t_submit(void *impl, struct ddb_http_req *r)
{
    struct fake_transport *f = impl;
    r->status = 0;
    r->transport_failed = 0;
    r->timed_out = 0;
    r->error[0] = '\0';
    r->request_id[0] = '\0';
    r->priv = NULL;
    r->next = NULL;
    r->response.max = DDB_RESPONSE_MAX;
    buf_reset(&r->response);
    pthread_mutex_lock(&f->lock);
    if (f->stopping) {
        pthread_mutex_unlock(&f->lock);
        return -1;
    }
    if (f->sub_tail)
        f->sub_tail->next = r;
    else
        f->sub_head = r;
    f->sub_tail = r;
    f->idle = 0;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static int t_timer(void *impl, long delay_ms, ddb_timer_fn *fn, void *ud)
{
    struct fake_transport *f = impl;
    pthread_mutex_lock(&f->lock);
    if (f->stopping) {
        pthread_mutex_unlock(&f->lock);
        return -1;
    }
    push_event(f, f->now_ms + (delay_ms > 0 ? (double)delay_ms : 0), fn, ud);
    f->idle = 0;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static int t_on_io_thread(void *impl)
{
    return io_self == impl;
}

struct ddb_transport fake_transport_view(struct fake_transport *f)
{
    return (struct ddb_transport){
        .impl = f, .submit = t_submit, .timer = t_timer, .on_io_thread = t_on_io_thread};
}

double fake_transport_now(struct fake_transport *f)
{
    pthread_mutex_lock(&f->lock);
    double t = f->now_ms / 1000.0;
    pthread_mutex_unlock(&f->lock);
    return t;
}

double fake_clock(void)
{
    cr_assert_not_null(live, "fake_clock: no fake transport is running");
    return fake_transport_now(live);
}

void fake_transport_hold(struct fake_transport *f, int on)
{
    pthread_mutex_lock(&f->lock);
    f->hold = on;
    pthread_mutex_unlock(&f->lock);
}

size_t fake_transport_release(struct fake_transport *f)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_slow; i++) {
        if (f->slow[i].real_due == HUGE_VAL) {
            f->slow[i].real_due = 0;
            n++;
        }
    }
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    return n;
}

size_t fake_transport_held(struct fake_transport *f)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_slow; i++)
        n += f->slow[i].real_due == HUGE_VAL;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void fake_transport_drain(struct fake_transport *f)
{
    pthread_mutex_lock(&f->lock);
    while (!(f->idle && !f->sub_head && ddb_timers_count(&f->events) == 0 && f->n_slow == 0))
        pthread_cond_wait(&f->quiet, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

struct fake_transport *fake_transport_new(void)
{
    struct fake_transport *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    cr_assert_null(live, "only one fake transport at a time");
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->db_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&f->quiet, NULL);
    ddb_timers_init(&f->events);
    f->now_ms = START_MS;
    f->items = json_object();
    f->writes = json_object();
    struct ddb_key_schema pk = {.hash_name = "pk", .hash_type = 'S'};
    struct fake_ddb_opts o = {.key = &pk};
    fake_ddb_configure(f, &o);
    cr_assert_eq(pthread_create(&f->thread, NULL, loop, f), 0, "fake transport: no thread");
    live = f;
    return f;
}

void fake_transport_free(struct fake_transport *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopping = 1;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    for (size_t i = 0; i < f->nrecs; i++)
        record_free(f->recs[i]);
    free(f->recs);
    ddb_timers_cleanup(&f->events);
    free(f->slow);
    free(f->script);
    free(f->table);
    free(f->poison);
    ddb_key_schema_cleanup(&f->key);
    json_decref(f->items);
    json_decref(f->writes);
    pthread_cond_destroy(&f->wake);
    pthread_cond_destroy(&f->quiet);
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->db_lock);
    if (live == f)
        live = NULL;
    free(f);
}

/* ---- a client wired to the fake ---- */

static const char *bed_getenv(const char *name, void *ud)
{
    struct fake_bed *b = ud;
    for (int i = 0; i < b->nenv; i++)
        if (strcmp(b->env_names[i], name) == 0)
            return b->env_values[i];
    return NULL;
}

static void bed_setenv(struct fake_bed *b, const char *name, const char *value)
{
    cr_assert_lt(b->nenv, 8);
    b->env_names[b->nenv] = name;
    b->env_values[b->nenv] = value;
    b->nenv++;
}

void fake_bed_init(struct fake_bed *b, const struct fake_bed_opts *opts)
{
    struct fake_bed_opts none = {0};
    if (!opts)
        opts = &none;
    memset(b, 0, sizeof *b);
    struct ddb_error err;
    ddb_error_clear(&err);
    /* Files that do not exist: the environment is the only source. */
    bed_setenv(b, "HOME", "/nonexistent/ddbfs-fake-home");
    bed_setenv(b, "AWS_CONFIG_FILE", "/nonexistent/ddbfs-fake-home/config");
    bed_setenv(b, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/ddbfs-fake-home/credentials");
    bed_setenv(b, "AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY);
    bed_setenv(b, "AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY);
    if (opts->session_token)
        bed_setenv(b, "AWS_SESSION_TOKEN", opts->session_token);
    struct ddb_config_opts co = {
        .region = FAKE_REGION,
        .endpoint = FAKE_ENDPOINT,
        .getenv = bed_getenv,
        .getenv_ud = b,
    };
    if (ddb_config_load(&co, &b->cfg, &err) != 0)
        cr_assert_fail("fake bed: config: %s", err.message);
    b->creds = ddb_creds_provider_new(&b->cfg, &err);
    if (!b->creds)
        cr_assert_fail("fake bed: credentials: %s", err.message);
    b->ft = fake_transport_new();
    struct ddb_backoff bo = opts->backoff;
    if (bo.base_ms <= 0 && bo.cap_ms <= 0 && bo.window_ms <= 0)
        bo = (struct ddb_backoff){.base_ms = 1, .cap_ms = 20, .window_ms = 2000};
    struct ddb_client_opts o = {
        .endpoint = b->cfg.endpoint,
        .region = b->cfg.region,
        .creds = b->creds,
        .transport = fake_transport_view(b->ft),
        .backoff = bo,
        .wallclock = opts->wallclock,
        .monoclock = fake_clock,
    };
    b->client = ddb_client_new(&o, &err);
    if (!b->client)
        cr_assert_fail("fake bed: client: %s", err.message);
}

void fake_bed_cleanup(struct fake_bed *b)
{
    fake_transport_free(b->ft); /* first: ends every call still running */
    b->ft = NULL;
    ddb_client_free(b->client);
    ddb_creds_provider_free(b->creds);
    ddb_config_cleanup(&b->cfg);
}
