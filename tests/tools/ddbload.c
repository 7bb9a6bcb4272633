/* ddbload: fills a table with the test bed's items (tests/support/testbed.h), for the end-to-end
 * tests and the benchmarks.
 *
 *   ddbload [--endpoint URL] [--region R] --table T --items N [--start I] [--create KEYSPEC]
 *           [--pad BYTES]
 *
 *   --endpoint  DynamoDB URL (default: DDBFS_TEST_ENDPOINT, as set by tests/harness/with-dynalite)
 *   --region    default: AWS_REGION, else us-east-1
 *   --items     how many items: testbed_item(I) ... testbed_item(I + N - 1)
 *   --start     the first item's number I (default 0; item 0 is the ~400 KB one)
 *   --create    create the table first, on-demand, with this key: HASH:TYPE[,RANGE:TYPE], e.g.
 *               pk:S,sk:N (the test items' keys); without it the table must exist
 *   --pad       add an attribute "pad" (S) of BYTES characters to every item but item 0, to make
 *               a table of a given size quickly
 *   --lines F   instead of the test bed's items, store the items of file F (one per line, in any
 *               format ddb/import.h reads; --items is then not needed)
 *
 * Prints one line on stdout when done: "ddbload: T: N items stored in S s (W WCU)".
 * Exit status 0 when every item was stored, 1 otherwise (the reasons on stderr), 2 on bad usage. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddb/batch.h"
#include "ddb/client.h"
#include "ddb/config.h"
#include "ddb/creds.h"
#include "ddb/http.h"
#include "ddb/import.h"
#include "ddb/table.h"
#include "testbed.h"

#define ME "ddbload"
#define WAIT_ACTIVE_MS 30000
#define PAD_MAX (300L * 1024)

struct args {
    const char *endpoint;
    const char *region;
    const char *table;
    const char *create; /* KEYSPEC or NULL */
    long items;
    long start;
    long pad;
    const char *lines; /* a file of items, or NULL */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: " ME " [--endpoint URL] [--region R] --table T --items N [--start I]\n"
               "              [--create HASH:TYPE[,RANGE:TYPE]] [--pad BYTES] [--lines FILE]\n");
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, ME ": %s: '%s' is not a number from %ld to %ld\n", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"region", required_argument, NULL, 'r'},
        {"table", required_argument, NULL, 't'},
        {"items", required_argument, NULL, 'n'},
        {"start", required_argument, NULL, 's'},
        {"create", required_argument, NULL, 'c'},
        {"pad", required_argument, NULL, 'p'},
        {"lines", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->items = -1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            a->endpoint = optarg;
            break;
        case 'r':
            a->region = optarg;
            break;
        case 't':
            a->table = optarg;
            break;
        case 'c':
            a->create = optarg;
            break;
        case 'n':
            if (parse_long("--items", optarg, 0, 100000000, &a->items) != 0)
                return -1;
            break;
        case 's':
            if (parse_long("--start", optarg, 0, 100000000, &a->start) != 0)
                return -1;
            break;
        case 'p':
            if (parse_long("--pad", optarg, 0, PAD_MAX, &a->pad) != 0)
                return -1;
            break;
        case 'l':
            a->lines = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || !a->table || (a->items < 0 && !a->lines)) {
        usage(stderr);
        return -1;
    }
    if (!a->endpoint)
        a->endpoint = getenv("DDBFS_TEST_ENDPOINT");
    if (!a->endpoint || !*a->endpoint) {
        fprintf(stderr, ME ": no --endpoint and DDBFS_TEST_ENDPOINT is not set\n");
        return -1;
    }
    if (!a->region)
        a->region = getenv("AWS_REGION");
    if (!a->region || !*a->region)
        a->region = "us-east-1";
    return 0;
}

/* "NAME:T" into key->*_name and *_type. Returns 0 or -1. */
static int parse_key_part(const char *s, size_t len, char **name, char *type)
{
    const char *colon = memchr(s, ':', len);
    if (!colon || colon == s || (size_t)(colon - s) != len - 2 || !strchr("SNB", colon[1]))
        return -1;
    *name = strndup(s, (size_t)(colon - s));
    *type = colon[1];
    return *name ? 0 : -1;
}

static int parse_keyspec(const char *spec, struct ddb_key_schema *key)
{
    memset(key, 0, sizeof *key);
    const char *comma = strchr(spec, ',');
    size_t hash_len = comma ? (size_t)(comma - spec) : strlen(spec);
    if (parse_key_part(spec, hash_len, &key->hash_name, &key->hash_type) != 0 ||
        (comma &&
         parse_key_part(comma + 1, strlen(comma + 1), &key->range_name, &key->range_type) != 0)) {
        fprintf(stderr, ME ": --create: '%s' is not HASH:TYPE[,RANGE:TYPE] (TYPE S, N or B)\n",
                spec);
        return -1;
    }
    return 0;
}

static int create_table(struct ddb_client *c, const char *table, const struct ddb_key_schema *key,
                        struct ddb_error *err)
{
    char ht[2] = {key->hash_type, '\0'}, rt[2] = {key->range_type, '\0'};
    json_t *defs = json_pack("[{s:s, s:s}]", "AttributeName", key->hash_name, "AttributeType", ht);
    json_t *keys = json_pack("[{s:s, s:s}]", "AttributeName", key->hash_name, "KeyType", "HASH");
    if (key->range_name) {
        json_array_append_new(
            defs, json_pack("{s:s, s:s}", "AttributeName", key->range_name, "AttributeType", rt));
        json_array_append_new(
            keys, json_pack("{s:s, s:s}", "AttributeName", key->range_name, "KeyType", "RANGE"));
    }
    json_t *req = json_pack("{s:s, s:o, s:o, s:s}", "TableName", table, "AttributeDefinitions",
                            defs, "KeySchema", keys, "BillingMode", "PAY_PER_REQUEST");
    int rc = req ? ddb_create_table(c, req, err) : -1;
    json_decref(req);
    if (rc == 0)
        rc = ddb_wait_active(c, table, WAIT_ACTIVE_MS, err);
    return rc;
}

/* The table's key schema from DescribeTable. */
static int describe_key(struct ddb_client *c, const char *table, struct ddb_key_schema *key,
                        struct ddb_error *err)
{
    struct ddb_table_info info;
    memset(&info, 0, sizeof info);
    json_t *t = ddb_describe_table(c, table, err);
    int rc = -1;
    if (!t || ddb_table_info_parse(t, &info, err) != 0)
        goto out;
    rc = ddb_key_schema_copy(key, &info.key);
out:
    ddb_table_info_cleanup(&info);
    json_decref(t);
    return rc;
}

static json_t *make_item(long i, const char *pad)
{
    json_t *item = testbed_item(i);
    if (item && pad && i != 0)
        json_object_set_new(item, "pad", json_pack("{s:s}", "S", pad));
    return item;
}

struct rejects {
    long n;
};

static void on_reject(long tag, const struct ddb_error *err, void *ud)
{
    struct rejects *r = ud;
    if (r->n++ < 10)
        fprintf(stderr, ME ": item %ld rejected: %s\n", tag, err->message);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct args a;
    struct ddb_config cfg;
    struct ddb_error err;
    struct ddb_key_schema key;
    struct ddb_creds_provider *creds = NULL;
    struct ddb_http *http = NULL;
    struct ddb_client *client = NULL;
    struct ddb_writer *writer = NULL;
    struct rejects rejects = {0};
    char *pad = NULL;
    int status = 1;

    memset(&cfg, 0, sizeof cfg);
    memset(&key, 0, sizeof key);
    ddb_error_clear(&err);
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    if (a.create && parse_keyspec(a.create, &key) != 0)
        return 2;
    json_object_seed(0);

    struct ddb_config_opts co = {.region = a.region, .endpoint = a.endpoint};
    if (ddb_config_load(&co, &cfg, &err) != 0)
        goto fail;
    if (!(creds = ddb_creds_provider_new(&cfg, &err)) || !(http = ddb_http_new(NULL, &err)))
        goto fail;
    struct ddb_client_opts clo = {
        .endpoint = cfg.endpoint,
        .region = cfg.region,
        .creds = creds,
        .transport = ddb_http_transport(http),
    };
    if (!(client = ddb_client_new(&clo, &err)))
        goto fail;
    if (a.create ? create_table(client, a.table, &key, &err)
                 : describe_key(client, a.table, &key, &err))
        goto fail;

    if (a.pad > 0) {
        pad = malloc((size_t)a.pad + 1);
        if (!pad)
            goto fail;
        for (long k = 0; k < a.pad; k++)
            pad[k] = (char)('A' + k % 26);
        pad[a.pad] = '\0';
    }

    double t0 = now_s();
    struct ddb_writer_opts wo = {.table = a.table, .key = &key};
    if (!(writer = ddb_writer_new(client, &wo, on_reject, &rejects, &err)))
        goto fail;
    if (a.lines) {
        FILE *f = fopen(a.lines, "r");
        if (!f) {
            ddb_error_set(&err, DDB_EINVAL, "cannot open %s", a.lines);
            goto fail;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        long no = 0;
        a.items = 0;
        while ((len = getline(&line, &cap, f)) > 0) {
            no++;
            if (line[len - 1] == '\n')
                len--;
            json_t *item = NULL;
            enum ddb_import_format fmt;
            char msg[512];
            int r = ddb_import_line(line, (size_t)len, &item, &fmt, msg, sizeof msg);
            if (r == 1)
                continue;
            if (r < 0) {
                fprintf(stderr, ME ": %s line %ld: %s\n", a.lines, no, msg);
                rejects.n++;
                continue;
            }
            a.items++;
            if (ddb_writer_put(writer, item, no, &err) != 0)
                break;
        }
        free(line);
        fclose(f);
        if (err.code)
            goto fail;
    }
    for (long i = a.start; !a.lines && i < a.start + a.items; i++) {
        json_t *item = make_item(i, pad);
        if (!item) {
            ddb_error_set(&err, DDB_ENOMEM, "could not build item %ld", i);
            goto fail;
        }
        if (ddb_writer_put(writer, item, i, &err) != 0)
            goto fail;
    }
    if (ddb_writer_flush(writer, &err) != 0)
        goto fail;
    struct ddb_writer_stats ws;
    ddb_writer_get_stats(writer, &ws);
    if (ws.items_stored != a.items) {
        fprintf(stderr, ME ": %s: %ld of %ld items stored\n", a.table, ws.items_stored, a.items);
        goto out;
    }
    printf(ME ": %s: %ld items stored in %.2f s (%.0f WCU)\n", a.table, ws.items_stored,
           now_s() - t0, ws.consumed);
    status = 0;
    goto out;

fail:
    fprintf(stderr, ME ": %s: %s%s%s\n", a.table, ddb_strerror(err.code),
            err.message[0] ? ": " : "", err.message);
out:
    ddb_writer_free(writer);
    ddb_http_free(http); /* first: ends every call still running */
    ddb_client_free(client);
    ddb_creds_provider_free(creds);
    ddb_config_cleanup(&cfg);
    ddb_key_schema_cleanup(&key);
    free(pad);
    if (rejects.n)
        fprintf(stderr, ME ": %s: %ld items rejected\n", a.table, rejects.n);
    return status;
}
