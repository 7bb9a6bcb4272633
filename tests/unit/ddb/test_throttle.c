#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "ddb/throttle.h"

/* ---- a simulated clock and clients ---- */

/* A deterministic generator, so a failure can be replayed. */
static uint64_t rng = 0x853c49e6748fea9bu;

static double uniform(double lo, double hi)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    double u = (double)((rng * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
    return lo + (hi - lo) * u;
}

struct grant {
    double t;
    double cost;
};

struct sim {
    /* inputs */
    double rate, burst, duration;
    int clients;
    double cost_min, cost_max;   /* the estimate taken */
    double think_max;            /* idle time after a request completes */
    double latency_max;          /* time from grant to settle (0: no settle) */
    double actual_lo, actual_hi; /* actual = estimate * uniform(actual_lo, actual_hi) */
    /* outputs */
    struct grant *grants;
    size_t ngrants;
    double granted, consumed;
};

enum state { WANT, IN_FLIGHT };

struct client {
    enum state state;
    double at; /* when it next acts */
    double cost, actual;
};

/* Runs the clients against one bucket until the simulated duration. Each client repeats: take
 * its cost (waiting exactly what take() says), hold the request for a latency, settle it, think. */
static void simulate(struct sim *s)
{
    struct ddb_throttle t;
    struct client *c = calloc((size_t)s->clients, sizeof(*c));
    size_t cap = 1024;
    s->grants = malloc(cap * sizeof(*s->grants));
    s->ngrants = 0;
    s->granted = s->consumed = 0;
    cr_assert(c && s->grants);

    ddb_throttle_init(&t, s->rate, s->burst, 0);
    for (int i = 0; i < s->clients; i++) {
        c[i].state = WANT;
        c[i].at = uniform(0, s->think_max);
        c[i].cost = uniform(s->cost_min, s->cost_max);
    }
    for (;;) {
        int k = 0;
        for (int i = 1; i < s->clients; i++)
            if (c[i].at < c[k].at)
                k = i;
        double now = c[k].at;
        if (now > s->duration)
            break;
        if (c[k].state == IN_FLIGHT) {
            ddb_throttle_settle(&t, c[k].cost, c[k].actual);
            s->consumed += c[k].actual;
            c[k].state = WANT;
            c[k].at = now + uniform(0, s->think_max);
            c[k].cost = uniform(s->cost_min, s->cost_max);
            continue;
        }
        double wait = ddb_throttle_take(&t, now, c[k].cost);
        cr_assert_geq(wait, 0);
        if (wait > 0) {
            c[k].at = now + wait;
            continue;
        }
        if (s->ngrants == cap) {
            cap *= 2;
            s->grants = realloc(s->grants, cap * sizeof(*s->grants));
            cr_assert(s->grants);
        }
        s->grants[s->ngrants++] = (struct grant){now, c[k].cost};
        s->granted += c[k].cost;
        if (s->latency_max > 0) {
            c[k].state = IN_FLIGHT;
            c[k].actual = c[k].cost * uniform(s->actual_lo, s->actual_hi);
            c[k].at = now + uniform(0, s->latency_max);
        } else {
            c[k].at = now + uniform(0, s->think_max);
            c[k].cost = uniform(s->cost_min, s->cost_max);
        }
    }
    cr_assert_float_eq(t.granted, s->granted, 1e-6 * s->granted + 1e-9);
    ddb_throttle_cleanup(&t);
    free(c);
}

/* The most granted in any closed window [t, t + w] that starts at a grant. */
static double max_in_window(const struct sim *s, double w)
{
    double best = 0, sum = 0;
    size_t j = 0;
    for (size_t i = 0; i < s->ngrants; i++) {
        while (j < s->ngrants && s->grants[j].t <= s->grants[i].t + w)
            sum += s->grants[j++].cost;
        if (sum > best)
            best = sum;
        sum -= s->grants[i].cost;
    }
    return best;
}

/* Twenty clients asking for far more than the budget, each request costing up to what
 * ddb_throttle_request_cost() allows (a quarter second of rate, half the default burst). */
static struct sim busy_clients(void)
{
    return (struct sim){
        .rate = 100,
        .burst = 0,
        .duration = 600,
        .clients = 20,
        .cost_min = 0.5,
        .cost_max = 100 * DDB_THROTTLE_REQUEST_S,
        .think_max = 0.5,
    };
}

static void check_windows(const struct sim *s, double burst)
{
    const double windows[] = {1, 5, 600};
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        double w = windows[i];
        double most = max_in_window(s, w);
        cr_assert_leq(most, s->rate * w + burst + 1e-3, "window %g s: %f granted, bound %f", w,
                      most, s->rate * w + burst);
    }
}

Test(throttle, never_grants_more_than_budget_times_window_plus_one_burst)
{
    /* Busy clients keep the bucket near empty; sparse ones let it fill between bursts of demand.
     * Costs go up to the whole burst. */
    struct sim s = busy_clients();
    double burst = DDB_THROTTLE_BURST_S * s.rate;
    s.cost_max = burst;
    simulate(&s);
    check_windows(&s, burst);
    free(s.grants);

    s = busy_clients();
    s.cost_max = burst;
    s.clients = 4;
    s.think_max = 3;
    simulate(&s);
    cr_assert_lt(s.granted / s.duration, 0.9 * s.rate, "the sparse clients should not saturate");
    check_windows(&s, burst);
    free(s.grants);
}

Test(throttle, never_grants_more_than_the_bound_with_an_explicit_burst_and_tiny_costs)
{
    struct sim s = busy_clients();
    s.rate = 3.7;
    s.burst = 20;
    s.cost_min = 0.01;
    s.cost_max = 1;
    s.clients = 7;
    simulate(&s);
    const double windows[] = {1, 5, 600};
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        double most = max_in_window(&s, windows[i]);
        cr_assert_leq(most, s.rate * windows[i] + s.burst + 1e-3, "window %g s: %f", windows[i],
                      most);
    }
    free(s.grants);
}

Test(throttle, grants_within_one_percent_of_the_budget_when_demand_exceeds_it)
{
    struct sim s = busy_clients();
    simulate(&s);
    double per_s = s.granted / s.duration;
    cr_assert(fabs(per_s - s.rate) <= 0.01 * s.rate, "granted %f/s for a budget of %f/s", per_s,
              s.rate);
    free(s.grants);
}

Test(throttle, grants_all_demand_below_the_budget)
{
    /* One client asking for 10 units every second against a budget of 100/s: after the first
     * wait (the bucket starts empty), every request is granted at once. */
    struct ddb_throttle t;
    ddb_throttle_init(&t, 100, 0, 0);
    cr_assert_float_eq(ddb_throttle_take(&t, 0, 10), 0.1, 1e-9);
    for (int i = 1; i <= 600; i++)
        cr_assert_eq(ddb_throttle_take(&t, i, 10), 0, "second %d", i);
    cr_assert_float_eq(t.granted, 6000, 1e-9);
    ddb_throttle_cleanup(&t);
}

static void settle_case(double lo, double hi)
{
    struct sim s = busy_clients();
    s.latency_max = 0.2;
    s.actual_lo = lo;
    s.actual_hi = hi;
    simulate(&s);
    double per_s = s.consumed / s.duration;
    cr_assert(fabs(per_s - s.rate) <= 0.01 * s.rate,
              "actual x[%g, %g]: consumed %f/s for a budget of %f/s (estimates %f/s)", lo, hi,
              per_s, s.rate, s.granted / s.duration);
    free(s.grants);
}

Test(throttle, settle_with_underestimates_keeps_the_consumed_rate_at_the_budget)
{
    settle_case(1.5, 2.5);
}

Test(throttle, settle_with_overestimates_keeps_the_consumed_rate_at_the_budget)
{
    settle_case(0.3, 0.7);
}

Test(throttle, settle_with_mixed_estimates_keeps_the_consumed_rate_at_the_budget)
{
    settle_case(0.25, 4);
}

Test(throttle, a_caller_that_waits_what_take_said_is_granted)
{
    const double starts[] = {0, 1, 12345.678, 1e6, 3.3e7};
    const double rates[] = {0.01, 1, 37.5, 1000, 40000};
    for (size_t a = 0; a < sizeof(starts) / sizeof(starts[0]); a++) {
        for (size_t b = 0; b < sizeof(rates) / sizeof(rates[0]); b++) {
            struct ddb_throttle t;
            double now = starts[a], rate = rates[b];
            ddb_throttle_init(&t, rate, 0, now);
            for (int i = 0; i < 200; i++) {
                double cost = uniform(0.001, 1.5) * t.burst;
                if (i % 5 == 0)
                    ddb_throttle_settle(&t, cost, cost * uniform(0.5, 2));
                double wait = ddb_throttle_take(&t, now, cost);
                if (wait == 0)
                    continue;
                cr_assert_gt(wait, 0);
                now += wait;
                cr_assert_eq(ddb_throttle_take(&t, now, cost), 0,
                             "start %g rate %g cost %g: refused after waiting %g", starts[a], rate,
                             cost, wait);
            }
            ddb_throttle_cleanup(&t);
        }
    }
}

Test(throttle, starts_empty_so_the_first_take_waits)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 0, 100);
    cr_assert_float_eq(t.burst, 5, 1e-12);
    cr_assert_float_eq(ddb_throttle_take(&t, 100, 2), 0.2, 1e-9);
    cr_assert_float_eq(ddb_throttle_take(&t, 100.1, 2), 0.1, 1e-9);
    cr_assert_eq(ddb_throttle_take(&t, 100.2, 2), 0);
    ddb_throttle_cleanup(&t);
}

Test(throttle, the_balance_never_saves_up_more_than_the_burst)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 4, 0);
    cr_assert_eq(ddb_throttle_take(&t, 1000, 4), 0);
    cr_assert_gt(ddb_throttle_take(&t, 1000, 0.5), 0);
    ddb_throttle_cleanup(&t);
}

Test(throttle, a_cost_above_the_burst_is_granted_once_the_bucket_is_full)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 5, 0);
    double now = 0, wait;
    int tries = 0;
    while ((wait = ddb_throttle_take(&t, now, 40)) > 0) {
        now += wait;
        cr_assert_lt(++tries, 10);
    }
    cr_assert_float_eq(now, 0.5, 1e-9); /* the time to fill 5 units at 10/s */
    cr_assert_float_eq(t.tokens, 5 - 40, 1e-9);
    /* The debt is paid before anyone else is served: 1 unit needs (1 + 35) / 10 s. */
    cr_assert_float_eq(ddb_throttle_take(&t, now, 1), 3.6, 1e-9);
    ddb_throttle_cleanup(&t);
}

Test(throttle, a_cost_above_the_burst_is_not_starved_by_smaller_ones)
{
    /* Ten clients keep asking for up to 24 units against 100/s (burst 50); one wants 80. */
    struct ddb_throttle t;
    ddb_throttle_init(&t, 100, 0, 0);
    double next[11] = {0}, big_at = -1, small_after = 0;
    for (;;) {
        int k = 0;
        for (int i = 1; i < 11; i++)
            if (next[i] < next[k])
                k = i;
        double now = next[k];
        if (now > 60)
            break;
        double cost = k == 10 ? 80 : uniform(1, 24);
        double wait = ddb_throttle_take(&t, now, cost);
        cr_assert_geq(wait, 0);
        if (wait > 0) {
            next[k] = now + wait;
            continue;
        }
        if (k == 10) {
            big_at = now;
            next[k] = 1e9; /* done */
        } else {
            if (big_at >= 0)
                small_after += cost;
            next[k] = now + uniform(0, 0.05);
        }
    }
    cr_assert_geq(big_at, 0, "the cost above the burst was never granted");
    cr_assert_leq(big_at, 2, "granted only at %f s", big_at);
    /* and the others go on at the budget afterwards */
    cr_assert_geq(small_after, 0.95 * 100 * (60 - big_at) - 80);
    ddb_throttle_cleanup(&t);
}

Test(throttle, an_abandoned_cost_above_the_burst_holds_others_back_only_briefly)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 5, 0);
    cr_assert_float_eq(ddb_throttle_take(&t, 0, 40), 0.5, 1e-9); /* and never comes back */
    double now = 0.6, wait;
    while ((wait = ddb_throttle_take(&t, now, 1)) > 0)
        now += wait;
    cr_assert_geq(now, 0.5);
    cr_assert_leq(now, 0.5 + DDB_THROTTLE_HOLD_S + 1e-9);
    ddb_throttle_cleanup(&t);
}

Test(throttle, unlimited_always_grants)
{
    const double rates[] = {0, -5};
    for (size_t i = 0; i < 2; i++) {
        struct ddb_throttle t;
        ddb_throttle_init(&t, rates[i], 0, 0);
        for (int k = 0; k < 1000; k++)
            cr_assert_eq(ddb_throttle_take(&t, 0, 1e9), 0);
        ddb_throttle_settle(&t, 1, 1e12);
        cr_assert_eq(ddb_throttle_take(&t, 0, 1e9), 0);
        cr_assert_float_eq(t.granted, 1001e9, 1);
        cr_assert_float_eq(t.consumed, 1e12, 1);
        ddb_throttle_cleanup(&t);
    }
}

Test(throttle, a_zero_cost_is_granted_without_debit)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 0, 0);
    cr_assert_eq(ddb_throttle_take(&t, 0, 0), 0);
    cr_assert_eq(t.tokens, 0);
    ddb_throttle_cleanup(&t);
}

Test(throttle, refund_gives_back_a_grant_up_to_the_burst)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 5, 0);
    cr_assert_eq(ddb_throttle_take(&t, 1, 4), 0);
    cr_assert_float_eq(t.tokens, 1, 1e-9);
    ddb_throttle_refund(&t, 4);
    cr_assert_float_eq(t.tokens, 5, 1e-9);
    cr_assert_float_eq(t.granted, 0, 1e-9);
    ddb_throttle_refund(&t, 100);
    cr_assert_float_eq(t.tokens, 5, 1e-9);
    ddb_throttle_cleanup(&t);
}

Test(throttle, settle_debits_an_underestimate_and_credits_an_overestimate)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 5, 0);
    cr_assert_eq(ddb_throttle_take(&t, 1, 2), 0); /* 5 - 2 = 3 */
    ddb_throttle_settle(&t, 2, 10);               /* 3 + 2 - 10 = -5 */
    cr_assert_float_eq(t.tokens, -5, 1e-9);
    cr_assert_float_eq(t.consumed, 10, 1e-9);
    cr_assert_float_eq(ddb_throttle_take(&t, 1, 1), 0.6, 1e-9);
    ddb_throttle_settle(&t, 20, 1); /* capped at the burst */
    cr_assert_float_eq(t.tokens, 5, 1e-9);
    ddb_throttle_cleanup(&t);
}

Test(throttle, a_clock_reading_from_the_past_adds_nothing)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 5, 10);
    cr_assert_gt(ddb_throttle_take(&t, 9, 1), 0);
    cr_assert_eq(t.tokens, 0);
    cr_assert_eq(t.last, 10);
    ddb_throttle_cleanup(&t);
}

Test(throttle, set_rate_refills_at_the_old_rate_then_uses_the_new_one)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 0, 0);
    ddb_throttle_set_rate(&t, 100, 0.2); /* 2 units saved at 10/s */
    cr_assert_float_eq(t.tokens, 2, 1e-9);
    cr_assert_float_eq(t.burst, 50, 1e-9); /* still half a second of rate */
    cr_assert_float_eq(ddb_throttle_take(&t, 0.2, 12), 0.1, 1e-9);
    ddb_throttle_set_rate(&t, 1, 0.2);
    cr_assert_float_eq(t.burst, 0.5, 1e-9);
    cr_assert_float_eq(t.tokens, 0.5, 1e-9);
    ddb_throttle_cleanup(&t);
}

Test(throttle, set_rate_between_limited_and_unlimited)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 0, 0, 0);
    cr_assert_eq(ddb_throttle_take(&t, 0, 100), 0);
    ddb_throttle_set_rate(&t, 10, 5);
    cr_assert_float_eq(t.burst, 5, 1e-9);
    cr_assert_float_eq(ddb_throttle_take(&t, 5, 1), 0.1, 1e-9); /* starts empty */
    ddb_throttle_set_rate(&t, 0, 6);
    cr_assert_eq(ddb_throttle_take(&t, 6, 1e6), 0);
    ddb_throttle_cleanup(&t);
}

Test(throttle, item_size_is_the_default_until_observed_then_smoothed)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 10, 0, 0);
    cr_assert_eq(ddb_throttle_item_size(&t, 1024), 1024);
    ddb_throttle_observe_item_size(&t, 0);
    ddb_throttle_observe_item_size(&t, -3);
    ddb_throttle_observe_item_size(&t, NAN);
    cr_assert_eq(ddb_throttle_item_size(&t, 1024), 1024);
    ddb_throttle_observe_item_size(&t, 200);
    cr_assert_float_eq(ddb_throttle_item_size(&t, 1024), 200, 1e-9);
    ddb_throttle_observe_item_size(&t, 1200);
    cr_assert_float_eq(ddb_throttle_item_size(&t, 1024), 200 + DDB_THROTTLE_ALPHA * 1000, 1e-9);
    for (int i = 0; i < 100; i++)
        ddb_throttle_observe_item_size(&t, 50);
    cr_assert_float_eq(ddb_throttle_item_size(&t, 1024), 50, 1e-6);
    ddb_throttle_cleanup(&t);
}

Test(throttle, request_cost_is_a_quarter_second_of_rate_and_at_least_one_item)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 400, 0, 0);
    cr_assert_float_eq(ddb_throttle_request_cost(&t, 1), 100, 1e-9);
    cr_assert_float_eq(ddb_throttle_request_cost(&t, 250), 250, 1e-9);
    ddb_throttle_set_rate(&t, 2, 0);
    cr_assert_float_eq(ddb_throttle_request_cost(&t, 0.5), 0.5, 1e-9);
    cr_assert_float_eq(ddb_throttle_request_cost(&t, 0.1), 0.5, 1e-9);
    ddb_throttle_cleanup(&t);
}

Test(throttle, request_cost_of_an_unlimited_bucket_has_no_bound)
{
    struct ddb_throttle t;
    ddb_throttle_init(&t, 0, 0, 0);
    cr_assert(isinf(ddb_throttle_request_cost(&t, 1)));
    ddb_throttle_cleanup(&t);
}

/* ---- threads ---- */

struct shared {
    struct ddb_throttle t;
    pthread_mutex_t clock_lock;
    double clock;
};

struct worker {
    struct shared *sh;
    double granted;
};

static double tick(struct shared *sh)
{
    pthread_mutex_lock(&sh->clock_lock);
    double now = sh->clock += 1e-5;
    pthread_mutex_unlock(&sh->clock_lock);
    return now;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20000; i++) {
        if (ddb_throttle_take(&w->sh->t, tick(w->sh), 0.5) == 0)
            w->granted += 0.5;
    }
    return NULL;
}

Test(throttle, concurrent_takes_lose_no_update_and_respect_the_budget)
{
    enum { T = 8 };
    static struct shared sh;
    struct worker w[T];
    pthread_t th[T];
    ddb_throttle_init(&sh.t, 1000, 0, 0);
    pthread_mutex_init(&sh.clock_lock, NULL);
    sh.clock = 0;
    for (int i = 0; i < T; i++) {
        w[i] = (struct worker){&sh, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    double total = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        total += w[i].granted;
    }
    cr_assert_float_eq(total, sh.t.granted, 1e-9);
    cr_assert_leq(total, 1000 * sh.clock + sh.t.burst + 1e-3);
    cr_assert_geq(total, 1000 * sh.clock - sh.t.burst - 1, "%f in %f s", total, sh.clock);
    pthread_mutex_destroy(&sh.clock_lock);
    ddb_throttle_cleanup(&sh.t);
}
