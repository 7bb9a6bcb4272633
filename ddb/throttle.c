#include "ddb/throttle.h"

#include <math.h>

/* A grant is made when the balance is within this many seconds of refill of the cost, so that a
 * caller who waits exactly what take() said is granted despite rounding in its clock. */
#define SLACK_S 1e-6

/* How long after the bucket is full a cost waiting behind one above the burst comes back. */
#define BEHIND_S 0.01

static double default_burst(double rate)
{
    return rate > 0 ? DDB_THROTTLE_BURST_S * rate : 0;
}

/* Adds what the rate earned since the last refill, up to the burst. Called with the lock held.
 * A clock reading older than the last refill (another thread read the clock first) adds nothing. */
static void refill(struct ddb_throttle *t, double now)
{
    if (now <= t->last)
        return;
    if (t->rate > 0) {
        t->tokens += (now - t->last) * t->rate;
        if (t->tokens > t->burst)
            t->tokens = t->burst;
    }
    t->last = now;
}

void ddb_throttle_init(struct ddb_throttle *t, double rate, double burst, double now)
{
    pthread_mutex_init(&t->lock, NULL);
    t->rate = rate > 0 ? rate : 0;
    t->burst = burst > 0 ? burst : default_burst(rate);
    t->tokens = 0;
    t->last = now;
    t->granted = 0;
    t->consumed = 0;
    t->item_size = 0;
    t->hold_until = 0;
}

void ddb_throttle_cleanup(struct ddb_throttle *t)
{
    pthread_mutex_destroy(&t->lock);
}

/* The burst keeps its length in seconds of rate: it scales with the rate, and a bucket that was
 * unlimited gets the default. A bucket that becomes limited starts empty, as at init. */
void ddb_throttle_set_rate(struct ddb_throttle *t, double rate, double now)
{
    pthread_mutex_lock(&t->lock);
    refill(t, now);
    if (rate <= 0) {
        t->rate = 0;
    } else if (t->rate <= 0) {
        if (t->burst <= 0)
            t->burst = default_burst(rate);
        t->rate = rate;
        t->tokens = 0;
        t->last = now;
    } else {
        t->burst = t->burst > 0 ? t->burst * (rate / t->rate) : default_burst(rate);
        t->rate = rate;
        if (t->tokens > t->burst)
            t->tokens = t->burst;
    }
    pthread_mutex_unlock(&t->lock);
}

double ddb_throttle_take(struct ddb_throttle *t, double now, double cost)
{
    double wait = 0;
    pthread_mutex_lock(&t->lock);
    if (!(cost > 0))
        goto out;
    if (t->rate <= 0) {
        t->granted += cost;
        goto out;
    }
    refill(t, now);
    /* A cost above the burst needs a full bucket, and then drives the balance below zero. */
    int above = cost > t->burst;
    double need = above ? t->burst : cost;
    if (!above && now < t->hold_until) {
        /* Behind a cost above the burst: come back once it has had the full bucket. */
        wait = (t->burst - t->tokens) / t->rate + BEHIND_S;
        if (wait > t->hold_until - now)
            wait = t->hold_until - now;
        goto out;
    }
    if (t->tokens + SLACK_S * t->rate >= need) {
        t->tokens -= cost;
        t->granted += cost;
        if (above)
            t->hold_until = 0;
        goto out;
    }
    wait = (need - t->tokens) / t->rate;
    if (above)
        t->hold_until = now + wait + DDB_THROTTLE_HOLD_S;
out:
    pthread_mutex_unlock(&t->lock);
    return wait;
}

void ddb_throttle_settle(struct ddb_throttle *t, double estimated, double actual)
{
    pthread_mutex_lock(&t->lock);
    t->consumed += actual;
    if (t->rate > 0) {
        t->tokens += estimated - actual;
        if (t->tokens > t->burst)
            t->tokens = t->burst;
    }
    pthread_mutex_unlock(&t->lock);
}

void ddb_throttle_refund(struct ddb_throttle *t, double estimated)
{
    pthread_mutex_lock(&t->lock);
    t->granted -= estimated;
    if (t->rate > 0) {
        t->tokens += estimated;
        if (t->tokens > t->burst)
            t->tokens = t->burst;
    }
    pthread_mutex_unlock(&t->lock);
}

void ddb_throttle_observe_item_size(struct ddb_throttle *t, double bytes_per_item)
{
    if (!(bytes_per_item > 0))
        return;
    pthread_mutex_lock(&t->lock);
    if (t->item_size > 0)
        t->item_size += DDB_THROTTLE_ALPHA * (bytes_per_item - t->item_size);
    else
        t->item_size = bytes_per_item;
    pthread_mutex_unlock(&t->lock);
}

double ddb_throttle_item_size(struct ddb_throttle *t, double dflt)
{
    pthread_mutex_lock(&t->lock);
    double size = t->item_size > 0 ? t->item_size : dflt;
    pthread_mutex_unlock(&t->lock);
    return size;
}

/* An unlimited bucket puts no bound of its own on a request: HUGE_VAL, for the caller to clamp
 * against DynamoDB's own limits. */
double ddb_throttle_request_cost(struct ddb_throttle *t, double min_cost)
{
    pthread_mutex_lock(&t->lock);
    double cost = t->rate > 0 ? t->rate * DDB_THROTTLE_REQUEST_S : HUGE_VAL;
    pthread_mutex_unlock(&t->lock);
    return cost > min_cost ? cost : min_cost;
}
