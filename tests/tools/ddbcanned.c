/* ddbcanned: a canned DynamoDB server for the client-ceiling benchmark (tests/bench/ceiling.py).
 *
 * It holds one table of N made-up items and answers ListTables, DescribeTable (ItemCount and
 * TableSizeBytes set, on demand), DescribeTimeToLive and Scan, at memory speed: one page template
 * of realistic items (about 215 bytes each, every DynamoDB type) is rendered at start, and each
 * Scan answer is that template copied with its keys patched in, so that the N items are served
 * exactly once across the segments of a parallel scan. Scan honours Segment/TotalSegments,
 * ExclusiveStartKey -> LastEvaluatedKey, Limit and ReturnConsumedCapacity (always reported).
 * Pages hold at most --page-bytes of item JSON (default 1 MB, as DynamoDB's).
 *
 * HTTP/1.1 with keep-alive, a thread per connection, on 127.0.0.1 and a free port. No signature
 * check (like dynalite). It writes the port to PORT_FILE (tmp + rename) and prints
 * "ddbcanned: listening on http://127.0.0.1:PORT" on stdout; on SIGTERM/SIGINT it prints what it
 * served on stderr and exits 0.
 *
 * usage: ddbcanned --items N [--table NAME] [--port-file FILE] [--page-bytes B] [--watch-pid PID]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define KEY_DIGITS 14
#define HEAD_MAX (64u << 10)
#define BODY_MAX (1u << 20)

struct canned {
    const char *table;
    uint64_t items;
    size_t page_bytes;
    /* The template: n_tpl items, item i at tpl + off[i] (len[i] bytes, no separator), its key's
     * digits at tpl + key[i]. */
    char *tpl;
    size_t n_tpl;
    size_t *off, *len, *key;
    uint64_t tpl_bytes; /* sum of len */
    atomic_uint_fast64_t served_items, served_pages, requests, connections;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* Item i of the template: ~215 bytes, varied types and lengths. */
static int render_item(char *out, size_t cap, size_t i, size_t *key_at)
{
    static const char *notes[] = {"", "at door", "gift", "call first"};
    const char *prefix = "{\"pk\":{\"S\":\"order#";
    int n = snprintf(out, cap,
                     "%s%0*d\"},\"cust\":{\"S\":\"c-%05zu\"},\"amt\":{\"N\":\"%zu.%02zu\"},"
                     "\"ok\":{\"BOOL\":%s},\"tags\":{\"SS\":[\"a\",\"t%zu\"]},"
                     "\"ln\":{\"L\":[{\"M\":{\"s\":{\"S\":\"A-%zu\"},\"n\":{\"N\":\"%zu\"}}}]},"
                     "\"note\":{%s%s%s},\"sig\":{\"B\":\"c2ln%cA==\"}}",
                     prefix, KEY_DIGITS, 0, (i * 7919) % 100000, i % 997, i % 100,
                     i % 3 ? "true" : "false", i % 13, i % 500, 1 + i % 9,
                     i % 4 ? "\"S\":\"" : "\"NULL\":true", i % 4 ? notes[i % 4] : "",
                     i % 4 ? "\"" : "", "ABCDEFGH"[i % 8]);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    *key_at = strlen(prefix);
    return n;
}

static int build_template(struct canned *c)
{
    size_t cap = c->page_bytes + 4096, used = 0, nmax = c->page_bytes / 100 + 1;
    c->tpl = malloc(cap);
    c->off = calloc(nmax, sizeof *c->off);
    c->len = calloc(nmax, sizeof *c->len);
    c->key = calloc(nmax, sizeof *c->key);
    if (!c->tpl || !c->off || !c->len || !c->key)
        return -1;
    for (size_t i = 0; i < nmax; i++) {
        char item[512];
        size_t key_at;
        int n = render_item(item, sizeof item, i, &key_at);
        if (n < 0)
            return -1;
        if (c->tpl_bytes + (size_t)n > c->page_bytes && i > 0)
            break;
        memcpy(c->tpl + used, item, (size_t)n);
        c->off[i] = used;
        c->len[i] = (size_t)n;
        c->key[i] = used + key_at;
        used += (size_t)n;
        c->tpl_bytes += (size_t)n;
        c->n_tpl = i + 1;
    }
    return 0;
}

static void put_key(char *at, uint64_t k)
{
    for (int d = KEY_DIGITS - 1; d >= 0; d--) {
        at[d] = (char)('0' + k % 10);
        k /= 10;
    }
}

/* ---- answers ---- */

struct out {
    char *p;
    size_t len, cap;
};

static int out_add(struct out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n)
            cap *= 2;
        char *q = realloc(o->p, cap);
        if (!q)
            return -1;
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

static int out_addf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_addf(struct out *o, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    return out_add(o, tmp, (size_t)n);
}

/* An error answer as DynamoDB gives it. */
static int error_body(struct out *o, long *status, const char *type, const char *msg)
{
    *status = 400;
    return out_addf(o, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#%s\",\"message\":\"%s\"}",
                    type, msg);
}

static int describe(struct canned *c, struct out *o)
{
    uint64_t avg = c->tpl_bytes / c->n_tpl;
    return out_addf(o,
                    "{\"Table\":{\"TableName\":\"%s\",\"TableStatus\":\"ACTIVE\","
                    "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
                    "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
                    "\"BillingModeSummary\":{\"BillingMode\":\"PAY_PER_REQUEST\"},"
                    "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0,"
                    "\"NumberOfDecreasesToday\":0},"
                    "\"ItemCount\":%" PRIu64 ",\"TableSizeBytes\":%" PRIu64 ","
                    "\"CreationDateTime\":1700000000,"
                    "\"TableArn\":\"arn:aws:dynamodb:us-east-1:000000000000:table/%s\"}}",
                    c->table, c->items, c->items * avg, c->table);
}

/* The index after ExclusiveStartKey's "pk", or -1 when it is not one of ours. */
static int64_t start_after(const json_t *esk)
{
    const char *s = json_string_value(json_object_get(json_object_get(esk, "pk"), "S"));
    if (!s || strncmp(s, "order#", 6) != 0 || strlen(s + 6) != KEY_DIGITS)
        return -1;
    uint64_t k;
    if (parse_u64(s + 6, &k) != 0)
        return -1;
    return (int64_t)k + 1;
}

static int scan(struct canned *c, const char *body, size_t blen, struct out *o, long *status)
{
    json_error_t je;
    json_t *req = json_loadb(body, blen, 0, &je);
    int rc = -1;
    if (!req)
        return error_body(o, status, "SerializationException", "the request is not JSON");
    const char *table = json_string_value(json_object_get(req, "TableName"));
    json_t *seg = json_object_get(req, "Segment"), *tot = json_object_get(req, "TotalSegments");
    json_int_t segment = json_integer_value(seg), total = tot ? json_integer_value(tot) : 1;
    json_int_t limit = json_integer_value(json_object_get(req, "Limit"));
    json_t *esk = json_object_get(req, "ExclusiveStartKey");
    if (!table || strcmp(table, c->table) != 0) {
        rc = error_body(o, status, "ResourceNotFoundException", "Requested resource not found");
        goto out;
    }
    if (total < 1 || total > 1000000 || segment < 0 || segment >= total || (!seg != !tot)) {
        rc = error_body(o, status, "ValidationException", "bad Segment/TotalSegments");
        goto out;
    }
    uint64_t lo = c->items * (uint64_t)segment / (uint64_t)total;
    uint64_t hi = c->items * (uint64_t)(segment + 1) / (uint64_t)total;
    uint64_t from = lo;
    if (esk) {
        int64_t a = start_after(esk);
        if (a < 0 || (uint64_t)a < lo || (uint64_t)a > hi) {
            rc = error_body(o, status, "ValidationException",
                            "The provided starting key is invalid");
            goto out;
        }
        from = (uint64_t)a;
    }
    uint64_t n = hi - from;
    if (n > c->n_tpl)
        n = c->n_tpl;
    if (limit > 0 && (uint64_t)limit < n)
        n = (uint64_t)limit;
    /* Template items are placed by position in the page; the key is the global index. */
    uint64_t bytes = 0;
    if (out_addf(o, "{\"Items\":[") != 0)
        goto out;
    size_t items_at = o->len;
    for (uint64_t i = 0; i < n; i++) {
        if (i && out_add(o, ",", 1) != 0)
            goto out;
        size_t at = o->len;
        if (out_add(o, c->tpl + c->off[i], c->len[i]) != 0)
            goto out;
        put_key(o->p + at + (c->key[i] - c->off[i]), from + i);
        bytes += c->len[i];
    }
    (void)items_at;
    double cu = (double)((bytes + 4095) / 4096) * 0.5;
    if (out_addf(o,
                 "],\"Count\":%" PRIu64 ",\"ScannedCount\":%" PRIu64
                 ",\"ConsumedCapacity\":{\"TableName\":\"%s\",\"CapacityUnits\":%.1f}",
                 n, n, c->table, cu) != 0)
        goto out;
    if (from + n < hi) {
        char key[KEY_DIGITS + 1];
        put_key(key, from + n - 1);
        key[KEY_DIGITS] = '\0';
        if (out_addf(o, ",\"LastEvaluatedKey\":{\"pk\":{\"S\":\"order#%s\"}}", key) != 0)
            goto out;
    }
    if (out_add(o, "}", 1) != 0)
        goto out;
    atomic_fetch_add(&c->served_items, n);
    atomic_fetch_add(&c->served_pages, 1);
    rc = 0;
out:
    json_decref(req);
    return rc;
}

static int answer(struct canned *c, const char *target, const char *body, size_t blen,
                  struct out *o, long *status)
{
    *status = 200;
    atomic_fetch_add(&c->requests, 1);
    const char *op = strrchr(target, '.');
    op = op ? op + 1 : target;
    if (strcmp(op, "ListTables") == 0)
        return out_addf(o, "{\"TableNames\":[\"%s\"]}", c->table);
    if (strcmp(op, "DescribeTable") == 0)
        return describe(c, o);
    if (strcmp(op, "DescribeTimeToLive") == 0)
        return out_addf(o, "{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"DISABLED\"}}");
    if (strcmp(op, "Scan") == 0)
        return scan(c, body, blen, o, status);
    return error_body(o, status, "UnknownOperationException", "not canned");
}

/* ---- HTTP ---- */

struct conn {
    struct canned *c;
    int fd;
};

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* A header's value in head (NUL-terminated), copied into out; -1 when absent. */
static int header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
    }
    return -1;
}

static void *serve(void *arg)
{
    struct conn *k = arg;
    char *in = malloc(HEAD_MAX + BODY_MAX);
    size_t have = 0;
    struct out o = {0};
    if (!in)
        goto out;
    for (;;) {
        /* Read up to the end of the head, then the body. */
        char *end = NULL;
        while (!(end = memmem(in, have, "\r\n\r\n", 4))) {
            if (have >= HEAD_MAX)
                goto out;
            ssize_t r = read(k->fd, in + have, HEAD_MAX - have);
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        size_t head_len = (size_t)(end - in) + 4;
        char saved = in[head_len - 2];
        in[head_len - 2] = '\0';
        char cl[32] = "0", target[128] = "";
        header(in, "Content-Length", cl, sizeof cl);
        header(in, "X-Amz-Target", target, sizeof target);
        in[head_len - 2] = saved;
        uint64_t blen;
        if (parse_u64(cl, &blen) != 0 || blen > BODY_MAX)
            goto out;
        while (have < head_len + blen) {
            ssize_t r = read(k->fd, in + have, head_len + blen - have);
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        o.len = 0;
        long status = 200;
        if (answer(k->c, target, in + head_len, (size_t)blen, &o, &status) != 0)
            goto out;
        char hdr[256];
        int hn = snprintf(hdr, sizeof hdr,
                          "HTTP/1.1 %ld %s\r\nContent-Type: application/x-amz-json-1.0\r\n"
                          "Content-Length: %zu\r\nx-amzn-RequestId: canned-%" PRIuFAST64 "\r\n\r\n",
                          status, status == 200 ? "OK" : "Bad Request", o.len,
                          atomic_load(&k->c->requests));
        struct iovec iov[2] = {{hdr, (size_t)hn}, {o.p, o.len}};
        if (write_all(k->fd, iov, 2) != 0)
            goto out;
        /* Keep what follows (a pipelined request). */
        memmove(in, in + head_len + blen, have - head_len - blen);
        have -= head_len + blen;
    }
out:
    free(o.p);
    free(in);
    close(k->fd);
    free(k);
    return NULL;
}

static void *watch(void *arg)
{
    pid_t pid = (pid_t)(intptr_t)arg;
    while (!stop) {
        if (kill(pid, 0) != 0 && errno == ESRCH) {
            stop = 1;
            kill(getpid(), SIGTERM);
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int write_port(const char *file, unsigned port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", file, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, file);
}

static void usage(void)
{
    fprintf(stderr, "usage: ddbcanned --items N [--table NAME] [--port-file FILE] "
                    "[--page-bytes B] [--watch-pid PID]\n");
}

int main(int argc, char **argv)
{
    struct canned c = {.table = "bench", .page_bytes = 1u << 20};
    const char *port_file = NULL;
    uint64_t watch_pid = 0, v;
    int have_items = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--items") == 0 && parse_u64(val, &c.items) == 0)
            have_items = 1;
        else if (strcmp(a, "--table") == 0)
            c.table = val;
        else if (strcmp(a, "--port-file") == 0)
            port_file = val;
        else if (strcmp(a, "--page-bytes") == 0 && parse_u64(val, &v) == 0 && v >= 1024 &&
                 v <= (64u << 20))
            c.page_bytes = v;
        else if (strcmp(a, "--watch-pid") == 0 && parse_u64(val, &watch_pid) == 0)
            ;
        else {
            fprintf(stderr, "ddbcanned: bad option %s %s\n", a, val);
            usage();
            return 2;
        }
    }
    if (!have_items || c.items >= 100000000000000ull || strlen(c.table) > 200) {
        usage();
        return 2;
    }
    if (build_template(&c) != 0) {
        fprintf(stderr, "ddbcanned: out of memory\n");
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 256) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        perror("ddbcanned: listen on 127.0.0.1");
        return 1;
    }
    unsigned port = ntohs(sa.sin_port);
    if (port_file && write_port(port_file, port) != 0) {
        perror("ddbcanned: writing the port file");
        return 1;
    }
    printf("ddbcanned: listening on http://127.0.0.1:%u (table %s, %" PRIu64
           " items, %zu items of %" PRIu64 " bytes on average per page)\n",
           port, c.table, c.items, c.n_tpl, c.tpl_bytes / c.n_tpl);
    fflush(stdout);

    struct sigaction sact = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sact, NULL);
    sigaction(SIGINT, &sact, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (watch_pid)
        pthread_create(&t, &attr, watch, (void *)(intptr_t)watch_pid);
    while (!stop) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue; /* EINTR at a signal: the loop checks stop */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *k = malloc(sizeof *k);
        if (!k) {
            close(fd);
            continue;
        }
        k->c = &c;
        k->fd = fd;
        atomic_fetch_add(&c.connections, 1);
        if (pthread_create(&t, &attr, serve, k) != 0) {
            close(fd);
            free(k);
        }
    }
    fprintf(stderr,
            "ddbcanned: %" PRIuFAST64 " requests on %" PRIuFAST64 " connections, %" PRIuFAST64
            " Scan pages, %" PRIuFAST64 " items served\n",
            atomic_load(&c.requests), atomic_load(&c.connections), atomic_load(&c.served_pages),
            atomic_load(&c.served_items));
    return 0;
}
