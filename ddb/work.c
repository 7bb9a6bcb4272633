/* The worker pool: a mutex, a condition variable and a FIFO of jobs. */
#include "ddb/work.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#define WORKERS_MAX 64

struct job {
    struct job *next;
    ddb_work_fn *fn;
    void *ud;
};

struct ddb_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    int stopping; /* no new jobs; threads exit when the queue is empty */
    int joined;
    int n;
    pthread_t threads[WORKERS_MAX];
};

static void *worker_main(void *arg)
{
    struct ddb_workers *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->lock);
        struct job *j = w->head;
        if (!j)
            break; /* stopping, and nothing left */
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->lock);
        j->fn(j->ud);
        free(j);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct ddb_workers *ddb_workers_new(int n, struct ddb_error *err)
{
    if (n < 1 || n > WORKERS_MAX) {
        ddb_error_set(err, DDB_EINVAL, "workers: %d threads is not 1 to %d", n, WORKERS_MAX);
        return NULL;
    }
    struct ddb_workers *w = calloc(1, sizeof *w);
    if (!w) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (; w->n < n; w->n++)
        if (pthread_create(&w->threads[w->n], NULL, worker_main, w) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (w->n < n) {
        ddb_error_set(err, DDB_ENOMEM, "could not start %d worker threads", n);
        ddb_workers_free(w);
        return NULL;
    }
    return w;
}

int ddb_workers_submit(struct ddb_workers *w, ddb_work_fn *fn, void *ud)
{
    struct job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (struct job){.next = NULL, .fn = fn, .ud = ud};
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -1;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int ddb_workers_on_worker(struct ddb_workers *w)
{
    pthread_t self = pthread_self();
    for (int i = 0; i < w->n; i++)
        if (pthread_equal(self, w->threads[i]))
            return 1;
    return 0;
}

void ddb_workers_stop(struct ddb_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    int joined = w->joined;
    w->joined = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (joined)
        return;
    for (int i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
}

void ddb_workers_free(struct ddb_workers *w)
{
    if (!w)
        return;
    ddb_workers_stop(w);
    /* Nothing can be queued after stop, but a job refused midway leaves nothing either. */
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
