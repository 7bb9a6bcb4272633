/* scanfloor: the server-bound floor of an export, for tests/bench/peers.py. A parallel Scan over
 * plain HTTP (libcurl, one thread and one kept-alive connection per segment) that writes each
 * response's bytes as they are to OUT/segment-I and does nothing else: no JSON tree, no item
 * conversion. Whatever ddbfs does on top of this is its own overhead.
 *
 *   scanfloor --endpoint URL --table T --segments N --out DIR [--region R]
 *             [--return-consumed-capacity TOTAL]
 *
 * With --return-consumed-capacity TOTAL each Scan also asks for ConsumedCapacity, as ddbfs's do
 * (its throttle is corrected by it): the floor of an exporter that makes the same requests, since
 * computing the figure costs the server time of its own.
 *
 * Requests are signed with SigV4 (ddb/sigv4.c) from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 * (and AWS_SESSION_TOKEN) in the environment. The next page's ExclusiveStartKey is the balanced
 * object after the response's last "LastEvaluatedKey": (item bytes inside strings are escaped,
 * so the unescaped key can only be the response's own).
 *
 * Prints "scanfloor: T: N items in P pages, B bytes in S s" and exits 0, or 1 with the reason on
 * stderr. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "ddb/sigv4.h"

#define ME "scanfloor"
#define SEGMENTS_MAX 64
#define LEK "\"LastEvaluatedKey\":"
#define COUNT "\"Count\":"

struct args {
    const char *endpoint, *table, *out, *region;
    const char *consumed; /* "" or the request's ReturnConsumedCapacity member and a comma */
    long segments;
};

struct seg {
    const struct args *a;
    long index;
    long items, pages;
    long long bytes;
    int failed;
    pthread_t thread;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    return buf_add(b, p, size * n) == BUF_OK ? size * n : 0;
}

/* The end of the JSON value starting at s[0] ('{'), or NULL when unbalanced. */
static const char *object_end(const char *s, const char *end)
{
    int depth = 0, in_string = 0;
    for (const char *p = s; p < end; p++) {
        if (in_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_string = 0;
        } else if (*p == '"') {
            in_string = 1;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

static const char *last_occurrence(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = len >= n ? len - n + 1 : 0; i-- > 0;)
        if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
            return s + i;
    return NULL;
}

/* One signed Scan request: body into resp. Returns 0 or -1 (reason printed). */
static int scan_page(CURL *h, const struct args *a, const char *host, const char *body,
                     struct buf *resp)
{
    struct ddb_header hs[] = {
        {"Content-Type", "application/x-amz-json-1.0"},
        {"Host", host},
        {"X-Amz-Target", "DynamoDB_20120810.Scan"},
    };
    struct ddb_sigv4_request sr = {.method = "POST", .path = "/", .headers = hs, .nheaders = 3,
                                   .body = body, .body_len = strlen(body)};
    struct ddb_sigv4_params sp = {
        .access_key_id = getenv("AWS_ACCESS_KEY_ID"),
        .secret_access_key = getenv("AWS_SECRET_ACCESS_KEY"),
        .session_token = getenv("AWS_SESSION_TOKEN"),
        .region = a->region,
        .service = "dynamodb",
        .now = time(NULL),
        .normalize_path = 1,
    };
    struct ddb_sigv4_result sig;
    struct curl_slist *list = NULL;
    char line[2048];
    int rc = -1;
    ddb_sigv4_result_init(&sig);
    if (ddb_sigv4_sign(&sr, &sp, &sig) != 0) {
        fprintf(stderr, ME ": could not sign the request\n");
        goto out;
    }
    const char *fixed[] = {"Content-Type: application/x-amz-json-1.0",
                           "X-Amz-Target: DynamoDB_20120810.Scan", "Expect:"};
    for (size_t i = 0; i < 3; i++)
        list = curl_slist_append(list, fixed[i]);
    snprintf(line, sizeof line, "X-Amz-Date: %s", sig.amz_date);
    list = curl_slist_append(list, line);
    snprintf(line, sizeof line, "Authorization: %s", sig.authorization.data);
    list = curl_slist_append(list, line);
    if (sp.session_token) {
        snprintf(line, sizeof line, "X-Amz-Security-Token: %s", sp.session_token);
        list = curl_slist_append(list, line);
    }
    buf_reset(resp);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status != 200) {
        fprintf(stderr, ME ": Scan of %s failed: %s, HTTP %ld: %.300s\n", a->table,
                curl_easy_strerror(cc), status, resp->data ? resp->data : "");
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(list);
    ddb_sigv4_result_cleanup(&sig);
    return rc;
}

static void *run_segment(void *ud)
{
    struct seg *s = ud;
    const struct args *a = s->a;
    struct buf resp, body;
    char path[4096];
    FILE *f = NULL;
    CURL *h = curl_easy_init();
    const char *host = strstr(a->endpoint, "://");
    host = host ? host + 3 : a->endpoint;
    buf_init(&resp, (size_t)64 << 20);
    buf_init(&body, (size_t)1 << 20);
    s->failed = 1;
    snprintf(path, sizeof path, "%s/segment-%04ld", a->out, s->index);
    if (!h || !(f = fopen(path, "wb"))) {
        fprintf(stderr, ME ": cannot open %s\n", path);
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, a->endpoint);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    buf_addf(&body, "{\"TableName\":\"%s\",%s\"Segment\":%ld,\"TotalSegments\":%ld}", a->table,
             a->consumed, s->index, a->segments);
    for (;;) {
        if (!body.data || scan_page(h, a, host, body.data, &resp) != 0)
            goto out;
        if (fwrite(resp.data, 1, resp.len, f) != resp.len) {
            fprintf(stderr, ME ": cannot write %s\n", path);
            goto out;
        }
        s->pages++;
        s->bytes += (long long)resp.len;
        const char *c = last_occurrence(resp.data, resp.len, COUNT);
        if (c)
            s->items += strtol(c + strlen(COUNT), NULL, 10);
        const char *k = last_occurrence(resp.data, resp.len, LEK);
        if (!k)
            break;
        const char *start = k + strlen(LEK);
        const char *end = object_end(start, resp.data + resp.len);
        if (!end) {
            fprintf(stderr, ME ": unbalanced LastEvaluatedKey in a response\n");
            goto out;
        }
        buf_reset(&body);
        buf_addf(&body,
                   "{\"TableName\":\"%s\",%s\"Segment\":%ld,\"TotalSegments\":%ld,"
                   "\"ExclusiveStartKey\":%.*s}",
                   a->table, a->consumed, s->index, a->segments, (int)(end - start), start);
    }
    s->failed = 0;
out:
    if (f && fclose(f) != 0)
        s->failed = 1;
    curl_easy_cleanup(h);
    buf_cleanup(&resp);
    buf_cleanup(&body);
    return NULL;
}

int main(int argc, char **argv)
{
    struct args a = {.region = "us-east-1", .segments = 0, .consumed = ""};
    int bad = argc % 2 == 0; /* options come in pairs */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--endpoint"))
            a.endpoint = argv[i + 1];
        else if (!strcmp(argv[i], "--table"))
            a.table = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            a.out = argv[i + 1];
        else if (!strcmp(argv[i], "--region"))
            a.region = argv[i + 1];
        else if (!strcmp(argv[i], "--segments"))
            a.segments = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--return-consumed-capacity") && !strcmp(argv[i + 1], "TOTAL"))
            a.consumed = "\"ReturnConsumedCapacity\":\"TOTAL\",";
        else
            bad = 1;
    }
    if (bad || !a.endpoint || !a.table || !a.out || a.segments < 1 || a.segments > SEGMENTS_MAX ||
        !getenv("AWS_ACCESS_KEY_ID") || !getenv("AWS_SECRET_ACCESS_KEY")) {
        fprintf(stderr, "usage: " ME " --endpoint URL --table T --segments N(1-%d) --out DIR "
                        "[--region R] [--return-consumed-capacity TOTAL]\n  (with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set)\n",
                SEGMENTS_MAX);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct seg segs[SEGMENTS_MAX];
    memset(segs, 0, sizeof segs);
    double t0 = now_s();
    long started = 0;
    for (long i = 0; i < a.segments; i++) {
        segs[i].a = &a;
        segs[i].index = i;
        segs[i].failed = 1;
        if (pthread_create(&segs[i].thread, NULL, run_segment, &segs[i]) != 0) {
            fprintf(stderr, ME ": cannot start a thread\n");
            break;
        }
        started++;
    }
    long items = 0, pages = 0;
    long long bytes = 0;
    int failed = started != a.segments;
    for (long i = 0; i < started; i++) {
        pthread_join(segs[i].thread, NULL);
        items += segs[i].items;
        pages += segs[i].pages;
        bytes += segs[i].bytes;
        failed |= segs[i].failed;
    }
    curl_global_cleanup();
    if (failed)
        return 1;
    printf(ME ": %s: %ld items in %ld pages, %lld bytes in %.2f s\n", a.table, items, pages, bytes,
           now_s() - t0);
    return 0;
}
