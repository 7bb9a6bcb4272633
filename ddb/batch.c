/* The BatchWriteItem writer. Producers (FUSE threads) put items; a pump on the I/O thread forms
 * requests, takes their cost from the write bucket, sends them, and resolves each item as stored,
 * to retry (UnprocessedItems) or rejected.
 *
 * Ordering: two items with the same key are never in flight at once, so the later one put is the
 * one that stays (as when the file is read top to bottom). */
#include "ddb/batch.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/log.h"

#define WCU_BYTES 1024.0
#define REQUEST_OVERHEAD 256 /* the request's own JSON around the items */

struct pending {
    struct pending *prev, *next;
    json_t *item;
    long tag;
    void *user;       /* the caller's, see ddb_writer_put_ex */
    size_t json_size; /* serialized bytes */
    size_t mem;       /* json_size plus the user data's size: what the memory bound counts */
    double wcu;       /* estimated write units */
    char *key;        /* canonical key string */
    size_t key_len;
    int solo; /* send alone (isolating a request that failed as a whole) */
};

struct request {
    struct ddb_writer *w;
    struct pending **items;
    size_t n;
    double estimate;
};

struct ddb_writer {
    struct ddb_client *c;
    char *table;
    struct ddb_key_schema key;
    struct ddb_throttle *th;
    int max_in_flight;
    ddb_writer_reject_fn *reject;
    ddb_writer_reject_user_fn *reject_user;
    void (*user_free)(void *user);
    int log_throttle;
    void *ud;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Under lock: */
    struct pending *head, *tail; /* waiting to be sent, in order */
    size_t pending_bytes;        /* items put and not yet resolved */
    long outstanding;            /* items put and not yet resolved */
    int pump_scheduled;
    int in_flight;
    int busy;               /* pump, on_answer or a reject callback running: free waits for 0 */
    json_t *keys_in_flight; /* a set: key string -> true */
    struct request *held;   /* formed, waiting for the bucket */
    double not_before;      /* backoff after UnprocessedItems */
    int unprocessed_streak;
    double stalled_since; /* when answers began to hand every item back; 0: progress */
    int fatal; /* the table is gone or the client shut down: refuse puts */
    struct ddb_error first_err;
    int has_err;
    struct ddb_writer_stats stats;
};

int ddb_batch_write_call(struct ddb_client *c, const json_t *request, ddb_call_done_fn *done,
                         void *ud, struct ddb_error *err)
{
    return ddb_client_call(c, "BatchWriteItem", request, done, ud, err);
}

static void pending_free(struct ddb_writer *w, struct pending *p)
{
    if (!p)
        return;
    if (p->user && w->user_free)
        w->user_free(p->user);
    json_decref(p->item);
    free(p->key);
    free(p);
}

static void unlink_pending(struct ddb_writer *w, struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        w->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        w->tail = p->prev;
    p->prev = p->next = NULL;
}

static void push_back(struct ddb_writer *w, struct pending *p)
{
    p->next = NULL;
    p->prev = w->tail;
    if (w->tail)
        w->tail->next = p;
    else
        w->head = p;
    w->tail = p;
}

/* Puts items back at the front, keeping their order. */
static void push_front_all(struct ddb_writer *w, struct pending **items, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        struct pending *p = items[i];
        p->prev = NULL;
        p->next = w->head;
        if (w->head)
            w->head->prev = p;
        else
            w->tail = p;
        w->head = p;
    }
}

/* Under lock. Ends an item: stored (err NULL) or rejected. The reject callback is called with the
 * lock dropped. */
static void resolve(struct ddb_writer *w, struct pending *p, const struct ddb_error *err)
{
    if (err) {
        w->stats.items_rejected++;
        if (!w->has_err) {
            w->first_err = *err;
            w->has_err = 1;
        }
        /* The item counts as outstanding until its callback has returned, so that flush (and
         * free) never return while a callback still runs. */
        w->busy++;
        pthread_mutex_unlock(&w->lock);
        if (w->reject_user)
            w->reject_user(p->tag, p->user, err, w->ud);
        else if (w->reject)
            w->reject(p->tag, err, w->ud);
        pthread_mutex_lock(&w->lock);
        w->busy--;
    } else {
        w->stats.items_stored++;
    }
    w->pending_bytes -= p->mem;
    w->outstanding--;
    pending_free(w, p);
    pthread_cond_broadcast(&w->cond);
}

static void request_free(struct request *r)
{
    if (!r)
        return;
    free(r->items);
    free(r);
}

static void pump(void *ud);

/* Under lock: makes sure a pump runs soon on the I/O thread. */
static void schedule_pump(struct ddb_writer *w, long delay_ms)
{
    if (w->pump_scheduled)
        return;
    if (ddb_client_timer(w->c, delay_ms, pump, w) == 0) {
        w->pump_scheduled = 1;
        return;
    }
    /* Shutting down: nothing more will be sent. Reject what waits so flush returns. */
    w->fatal = 1;
    struct ddb_error e;
    ddb_error_clear(&e);
    ddb_error_set(&e, DDB_ECANCELED, "%s: not written: ddbfs is shutting down", w->table);
    while (w->head) {
        struct pending *p = w->head;
        unlink_pending(w, p);
        resolve(w, p, &e);
    }
}

/* Under lock: takes the next request's items from the queue. */
static struct request *form(struct ddb_writer *w)
{
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->w = w;
    r->items = calloc(DDB_BATCH_ITEMS_MAX, sizeof *r->items);
    if (!r->items) {
        free(r);
        return NULL;
    }
    size_t bytes = REQUEST_OVERHEAD;
    json_t *batch_keys = json_object();
    for (struct pending *p = w->head, *next; p && r->n < DDB_BATCH_ITEMS_MAX; p = next) {
        next = p->next;
        if (json_object_getn(w->keys_in_flight, p->key, p->key_len) ||
            json_object_getn(batch_keys, p->key, p->key_len))
            continue; /* an earlier item with this key goes first */
        if (p->solo && r->n > 0)
            continue;
        if (bytes + p->json_size + 64 > DDB_BATCH_REQUEST_MAX && r->n > 0)
            break;
        unlink_pending(w, p);
        json_object_setn(batch_keys, p->key, p->key_len, json_true());
        r->items[r->n++] = p;
        r->estimate += p->wcu;
        bytes += p->json_size + 64;
        if (p->solo)
            break;
    }
    json_decref(batch_keys);
    if (r->n == 0) {
        request_free(r);
        return NULL;
    }
    return r;
}

static void on_answer(json_t *resp, const struct ddb_error *err, void *ud);

/* 1 when err is what the client returns once a retry window has passed without an answer. */
static int gave_up(const struct ddb_error *err)
{
    switch (err->code) {
    case DDB_ENETWORK:
    case DDB_ETIMEOUT:
    case DDB_ETHROTTLED:
    case DDB_ESERVER:
    case DDB_EPROTOCOL:
        return 1;
    default:
        return 0;
    }
}

/* Under lock: rejects every item still waiting, with e (the writer has failed for good). */
static void reject_waiting(struct ddb_writer *w, const struct ddb_error *e)
{
    while (w->head) {
        struct pending *p = w->head;
        unlink_pending(w, p);
        resolve(w, p, e);
    }
}

/* Under lock, which it drops: rejects p with the writer's first error (the writer has failed
 * for good) and returns -1 for ddb_writer_put. */
static int refuse(struct ddb_writer *w, struct pending *p, struct ddb_error *err)
{
    struct ddb_error fe = w->first_err;
    resolve(w, p, &fe);
    pthread_mutex_unlock(&w->lock);
    if (err)
        *err = fe;
    return -1;
}

/* Under lock: sends r (the lock is dropped around the call). */
static void send_request(struct ddb_writer *w, struct request *r)
{
    json_t *puts = json_array();
    for (size_t i = 0; i < r->n; i++) {
        json_object_setn(w->keys_in_flight, r->items[i]->key, r->items[i]->key_len, json_true());
        json_array_append_new(puts,
                              json_pack("{s:{s:O}}", "PutRequest", "Item", r->items[i]->item));
    }
    json_t *req = json_pack("{s:{s:o}, s:s}", "RequestItems", w->table, puts,
                            "ReturnConsumedCapacity", "TOTAL");
    w->in_flight++;
    w->stats.requests++;
    pthread_mutex_unlock(&w->lock);
    struct ddb_error e;
    ddb_error_clear(&e);
    int rc = req ? ddb_batch_write_call(w->c, req, on_answer, r, &e) : -1;
    json_decref(req);
    pthread_mutex_lock(&w->lock);
    if (rc != 0) {
        if (!req)
            ddb_error_set(&e, DDB_ENOMEM, "out of memory");
        w->in_flight--;
        for (size_t i = 0; i < r->n; i++) {
            json_object_deln(w->keys_in_flight, r->items[i]->key, r->items[i]->key_len);
            resolve(w, r->items[i], &e);
        }
        if (w->th)
            ddb_throttle_refund(w->th, r->estimate);
        request_free(r);
    }
}

static void pump(void *ud)
{
    struct ddb_writer *w = ud;
    pthread_mutex_lock(&w->lock);
    w->busy++;
    w->pump_scheduled = 0;
    double now = ddb_client_now(w->c);
    if (now < w->not_before) {
        schedule_pump(w, (long)ceil((w->not_before - now) * 1000.0));
        goto out;
    }
    while (w->in_flight < w->max_in_flight) {
        struct request *r = w->held ? w->held : form(w);
        w->held = NULL;
        if (!r)
            break;
        if (w->th) {
            double wait = ddb_throttle_take(w->th, now, r->estimate);
            if (wait > 0) {
                w->held = r;
                long ms = (long)ceil(wait * 1000.0);
                schedule_pump(w, ms < 1 ? 1 : ms);
                break;
            }
        }
        send_request(w, r);
        now = ddb_client_now(w->c);
    }
out:
    w->busy--;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void on_answer(json_t *resp, const struct ddb_error *err, void *ud)
{
    struct request *r = ud;
    struct ddb_writer *w = r->w;
    pthread_mutex_lock(&w->lock);
    w->busy++;
    w->in_flight--;
    for (size_t i = 0; i < r->n; i++)
        json_object_deln(w->keys_in_flight, r->items[i]->key, r->items[i]->key_len);

    if (!resp) {
        if (w->th)
            ddb_throttle_refund(w->th, r->estimate);
        if (err->code == DDB_EVALIDATION && r->n > 1) {
            /* One bad item refuses the whole request: send each alone to find it, so that every
             * valid item is still stored. */
            for (size_t i = 0; i < r->n; i++)
                r->items[i]->solo = 1;
            push_front_all(w, r->items, r->n);
        } else {
            struct ddb_error e = *err;
            /* The table is gone, the client stops, or DynamoDB could not be reached for a whole
             * retry window: sending the rest would only wait one more window per request. */
            if (err->code == DDB_ENOTFOUND || err->code == DDB_ECANCELED ||
                err->code == DDB_EACCESS || gave_up(err))
                w->fatal = 1;
            for (size_t i = 0; i < r->n; i++)
                resolve(w, r->items[i], &e);
            if (w->fatal)
                reject_waiting(w, &e);
        }
        request_free(r);
        schedule_pump(w, 0);
        w->busy--;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        return;
    }

    /* ConsumedCapacity: [{TableName, CapacityUnits}] */
    double consumed = 0;
    size_t i;
    json_t *cc;
    json_array_foreach(json_object_get(resp, "ConsumedCapacity"), i, cc) consumed +=
        json_number_value(json_object_get(cc, "CapacityUnits"));
    if (!json_is_array(json_object_get(resp, "ConsumedCapacity")))
        consumed = r->estimate;
    w->stats.consumed += consumed;
    if (w->th)
        ddb_throttle_settle(w->th, r->estimate, consumed);
    if (w->log_throttle)
        log_info("throttle: table=%s write consumed=%.1f t=%.3f items=%zu", w->table, consumed,
                 ddb_client_now(w->c), r->n);

    /* UnprocessedItems: {table: [{PutRequest: {Item}}]}, matched back to ours by key. */
    json_t *back = json_object();
    json_t *un = json_object_get(json_object_get(resp, "UnprocessedItems"), w->table);
    json_t *u;
    struct buf kb;
    buf_init(&kb, DDB_ITEM_MAX);
    json_array_foreach(un, i, u)
    {
        json_t *item = json_object_get(json_object_get(u, "PutRequest"), "Item");
        buf_reset(&kb);
        if (item && ddb_item_key_append(item, &w->key, &kb) == 0)
            json_object_setn(back, buf_str(&kb), kb.len, json_true());
    }
    buf_cleanup(&kb);
    size_t n_back = 0;
    /* r->items is reused for the items to retry: an item is counted stored only when it did not
     * come back. */
    struct pending **retry = r->items;
    for (size_t k = 0; k < r->n; k++) {
        struct pending *p = r->items[k];
        if (json_object_getn(back, p->key, p->key_len))
            retry[n_back++] = p;
        else
            resolve(w, p, NULL);
    }
    json_decref(back);
    json_decref(resp);
    double now = ddb_client_now(w->c);
    if (n_back < r->n)
        w->stalled_since = 0; /* progress */
    else if (w->stalled_since == 0)
        w->stalled_since = now;
    /* The end of the window in which nothing has got through (0: progress). */
    double end = w->stalled_since > 0
                     ? w->stalled_since + (double)ddb_client_backoff(w->c)->window_ms / 1000.0
                     : 0;
    if (n_back && end > 0 && now >= end) {
        /* Nothing has got through for a whole retry window: fail as a throttled call would. */
        struct ddb_error e;
        ddb_error_clear(&e);
        ddb_error_set(&e, DDB_ETHROTTLED,
                      "BatchWriteItem: DynamoDB returned every item as UnprocessedItems for %.0f s "
                      "(the retry window): the table's write capacity is exhausted",
                      now - w->stalled_since);
        w->fatal = 1;
        for (size_t k = 0; k < n_back; k++)
            resolve(w, retry[k], &e);
        reject_waiting(w, &e);
        n_back = 0;
    }
    if (n_back) {
        w->stats.unprocessed += (long)n_back;
        push_front_all(w, retry, n_back);
        /* Back off while nothing gets through; after a request that made progress, start over
         * from the smallest delay. */
        if (n_back < r->n)
            w->unprocessed_streak = 0;
        long ms = ddb_backoff_delay_ms(ddb_client_backoff(w->c), w->unprocessed_streak++,
                                       ddb_retry_random());
        double nb = now + (double)ms / 1000.0;
        /* Never wait past the end of the window (still ahead here): the answer after it
         * decides. */
        if (end > 0 && nb > end)
            nb = end;
        if (nb > w->not_before)
            w->not_before = nb;
        log_debug("%s: %zu unprocessed items, retrying in %ld ms", w->table, n_back, ms);
    } else {
        w->unprocessed_streak = 0;
    }
    request_free(r);
    schedule_pump(w, 0);
    w->busy--;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

struct ddb_writer *ddb_writer_new(struct ddb_client *c, const struct ddb_writer_opts *opts,
                                  ddb_writer_reject_fn *reject, void *ud, struct ddb_error *err)
{
    struct ddb_writer *w = calloc(1, sizeof *w);
    if (!w)
        goto nomem;
    w->c = c;
    w->table = strdup(opts->table);
    w->keys_in_flight = json_object();
    if (!w->table || !w->keys_in_flight || ddb_key_schema_copy(&w->key, opts->key) != 0)
        goto nomem;
    w->th = opts->throttle;
    w->max_in_flight = opts->max_in_flight > 0 ? opts->max_in_flight : DDB_WRITER_IN_FLIGHT;
    w->reject = reject;
    w->reject_user = opts->reject_user;
    w->user_free = opts->user_free;
    w->log_throttle = opts->log_throttle;
    w->ud = ud;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    return w;
nomem:
    if (w) {
        free(w->table);
        json_decref(w->keys_in_flight);
        ddb_key_schema_cleanup(&w->key);
        free(w);
    }
    ddb_error_set(err, DDB_ENOMEM, "out of memory");
    return NULL;
}

int ddb_writer_put(struct ddb_writer *w, json_t *item, long tag, struct ddb_error *err)
{
    return ddb_writer_put_ex(w, item, tag, NULL, 0, err);
}

int ddb_writer_put_ex(struct ddb_writer *w, json_t *item, long tag, void *user, size_t user_size,
                      struct ddb_error *err)
{
    char msg[DDB_ERRMSG_MAX];
    struct ddb_error e;
    ddb_error_clear(&e);
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(item);
        if (user && w->user_free)
            w->user_free(user);
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return -1;
    }
    p->item = item;
    p->tag = tag;
    p->user = user;
    p->json_size = json_dumpb(item, NULL, 0, JSON_COMPACT);
    p->mem = p->json_size + user_size;
    p->wcu = fmax(1.0, ceil((double)ddb_item_size(item) / WCU_BYTES));

    pthread_mutex_lock(&w->lock);
    w->stats.items_put++;
    w->outstanding++;
    w->pending_bytes += p->mem;
    if (w->fatal)
        return refuse(w, p, err);
    if (ddb_item_check(item, &w->key, msg, sizeof msg) != 0) {
        ddb_error_set(&e, DDB_EVALIDATION, "%s", msg);
        resolve(w, p, &e);
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    struct buf kb;
    buf_init(&kb, DDB_ITEM_MAX);
    if (ddb_item_key_append(item, &w->key, &kb) != 0 || !(p->key = buf_detach(&kb, &p->key_len))) {
        buf_cleanup(&kb);
        ddb_error_set(&e, DDB_ENOMEM, "out of memory");
        resolve(w, p, &e);
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    /* Bounded memory: wait while too much is waiting (the pump keeps running meanwhile). */
    long items_max = (long)DDB_WRITER_PENDING_REQUESTS * w->max_in_flight * DDB_BATCH_ITEMS_MAX;
    while ((w->pending_bytes > DDB_WRITER_PENDING_MAX || w->outstanding > items_max) &&
           w->outstanding > 1 && !w->fatal)
        pthread_cond_wait(&w->cond, &w->lock);
    /* The writer may have failed while this put waited: sending p now would cost a request and
     * one more retry window for an item that is refused anyway. */
    if (w->fatal)
        return refuse(w, p, err);
    push_back(w, p);
    schedule_pump(w, 0);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int ddb_writer_flush(struct ddb_writer *w, struct ddb_error *err)
{
    pthread_mutex_lock(&w->lock);
    while (w->outstanding > 0)
        pthread_cond_wait(&w->cond, &w->lock);
    int rc = w->has_err ? -1 : 0;
    if (rc && err)
        *err = w->first_err;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void ddb_writer_get_stats(struct ddb_writer *w, struct ddb_writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}

void ddb_writer_free(struct ddb_writer *w)
{
    if (!w)
        return;
    ddb_writer_flush(w, NULL);
    /* The last answer may still be inside on_answer/pump after resolving; wait for quiet. */
    pthread_mutex_lock(&w->lock);
    while (w->in_flight > 0 || w->pump_scheduled || w->busy > 0)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    request_free(w->held);
    json_decref(w->keys_in_flight);
    ddb_key_schema_cleanup(&w->key);
    free(w->table);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
