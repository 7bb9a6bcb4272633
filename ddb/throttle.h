/* A token bucket per table and direction (read or write), in capacity units per second.
 *
 * Before a request, its cost is estimated and taken from the bucket; when the response reports the
 * capacity it really consumed, the difference is settled, so the balance may go below zero and the
 * next request waits for it. Over any window of W seconds the capacity granted is at most
 * rate * W + burst (plus the error of estimates still in flight).
 *
 * Pure and thread-safe: the caller passes a monotonic clock in seconds. */
#ifndef DDB_THROTTLE_H
#define DDB_THROTTLE_H

#include <pthread.h>

struct ddb_throttle {
    pthread_mutex_t lock;
    double rate;      /* units per second; <= 0 means unlimited */
    double burst;     /* the most that can accumulate */
    double tokens;    /* the balance; below zero after an underestimate */
    double last;      /* clock of the last refill */
    double granted;   /* total estimates taken, for reports */
    double consumed;  /* total settled (actually consumed), for reports */
    double item_size; /* smoothed average item size in bytes, 0 until observed */
    /* A cost above the burst waits for a full bucket: smaller costs wait behind it until it is
     * granted or the clock passes this; 0: none. */
    double hold_until;
};

/* rate: units per second (<= 0: unlimited). burst: the most that can be saved up; 0 picks
 * DDB_THROTTLE_BURST_S seconds of rate. The bucket starts empty at now so that a run starts at the
 * budget, not above it. */
#define DDB_THROTTLE_BURST_S 0.5
void ddb_throttle_init(struct ddb_throttle *t, double rate, double burst, double now);
void ddb_throttle_cleanup(struct ddb_throttle *t);

/* Changes the rate (e.g. after the table's capacity changed). */
void ddb_throttle_set_rate(struct ddb_throttle *t, double rate, double now);

/* Tries to take cost (> 0) at now. Returns 0 when granted (the cost is debited), else the seconds
 * to wait before trying again. A cost above the burst is granted once the bucket is full, and
 * drives the balance below zero; while one waits, smaller costs wait behind it so that it is not
 * starved (for at most DDB_THROTTLE_HOLD_S past the time it was told to come back). An unlimited
 * bucket always grants. */
#define DDB_THROTTLE_HOLD_S 1.0
double ddb_throttle_take(struct ddb_throttle *t, double now, double cost);

/* Settles a granted request: the balance gains estimated and loses actual. */
void ddb_throttle_settle(struct ddb_throttle *t, double estimated, double actual);

/* Gives back a grant whose request was never sent. */
void ddb_throttle_refund(struct ddb_throttle *t, double estimated);

/* Feeds the smoothed item size with a page's average (exponential, weight DDB_THROTTLE_ALPHA). */
#define DDB_THROTTLE_ALPHA 0.3
void ddb_throttle_observe_item_size(struct ddb_throttle *t, double bytes_per_item);
/* The smoothed item size, or dflt when nothing has been observed. */
double ddb_throttle_item_size(struct ddb_throttle *t, double dflt);

/* The capacity units a budget allows per request so that requests stay small against the rate:
 * rate * DDB_THROTTLE_REQUEST_S, at least min_cost (one item's worth). Unlimited: HUGE_VAL, for the
 * caller to clamp against DynamoDB's own limits. */
#define DDB_THROTTLE_REQUEST_S 0.25
double ddb_throttle_request_cost(struct ddb_throttle *t, double min_cost);

#endif
