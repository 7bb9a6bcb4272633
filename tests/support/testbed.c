#include "testbed.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddb/table.h"

const char *testbed_endpoint(void)
{
    const char *e = getenv("DDBFS_TEST_ENDPOINT");
    if (!e || !*e)
        cr_assert_fail("DDBFS_TEST_ENDPOINT is not set: run this test through tests/harness/with-dynalite");
    return e;
}

void testbed_init(struct testbed *tb)
{
    memset(tb, 0, sizeof *tb);
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_config_opts o = {.region = "us-east-1", .endpoint = testbed_endpoint()};
    if (ddb_config_load(&o, &tb->cfg, &err) != 0)
        cr_assert_fail("config: %s", err.message);
    tb->creds = ddb_creds_provider_new(&tb->cfg, &err);
    if (!tb->creds)
        cr_assert_fail("credentials: %s", err.message);
    tb->http = ddb_http_new(NULL, &err);
    if (!tb->http)
        cr_assert_fail("http: %s", err.message);
    struct ddb_client_opts co = {
        .endpoint = tb->cfg.endpoint,
        .region = tb->cfg.region,
        .creds = tb->creds,
        .transport = ddb_http_transport(tb->http),
    };
    tb->client = ddb_client_new(&co, &err);
    if (!tb->client)
        cr_assert_fail("client: %s", err.message);
}

void testbed_cleanup(struct testbed *tb)
{
    ddb_http_free(tb->http); /* first: ends every call still running */
    ddb_client_free(tb->client);
    ddb_creds_provider_free(tb->creds);
    ddb_config_cleanup(&tb->cfg);
}

char *testbed_table_name(const char *prefix)
{
    static int counter;
    char *s = NULL;
    if (asprintf(&s, "%s-%d-%d", prefix, (int)getpid(), counter++) < 0)
        return NULL;
    return s;
}

void testbed_create_table(struct testbed *tb, const char *table, const char *hash_name,
                          const char *hash_type, const char *range_name, const char *range_type)
{
    json_t *defs = json_pack("[{s:s, s:s}]", "AttributeName", hash_name, "AttributeType", hash_type);
    json_t *keys = json_pack("[{s:s, s:s}]", "AttributeName", hash_name, "KeyType", "HASH");
    if (range_name) {
        json_array_append_new(defs, json_pack("{s:s, s:s}", "AttributeName", range_name,
                                              "AttributeType", range_type));
        json_array_append_new(keys, json_pack("{s:s, s:s}", "AttributeName", range_name, "KeyType",
                                              "RANGE"));
    }
    json_t *req = json_pack("{s:s, s:o, s:o, s:s}", "TableName", table, "AttributeDefinitions", defs,
                            "KeySchema", keys, "BillingMode", "PAY_PER_REQUEST");
    struct ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_create_table(tb->client, req, &err);
    json_decref(req);
    if (rc != 0)
        cr_assert_fail("CreateTable %s: %s", table, err.message);
    if (ddb_wait_active(tb->client, table, 30000, &err) != 0)
        cr_assert_fail("waiting for %s: %s", table, err.message);
}

static int cmp_json_str(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    return strcmp(json_string_value(x), json_string_value(y));
}

json_t *testbed_normalize(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if ((!strcmp(k, "SS") || !strcmp(k, "NS") || !strcmp(k, "BS")) && json_is_array(x)) {
                size_t n = json_array_size(x);
                json_t **el = calloc(n ? n : 1, sizeof *el);
                for (size_t i = 0; i < n; i++)
                    el[i] = json_array_get(x, i);
                qsort(el, n, sizeof *el, cmp_json_str);
                json_t *arr = json_array();
                for (size_t i = 0; i < n; i++)
                    json_array_append(arr, el[i]);
                free(el);
                json_object_set_new(out, k, arr);
            } else {
                json_object_set_new(out, k, testbed_normalize(x));
            }
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x)
            json_array_append_new(out, testbed_normalize(x));
        return out;
    }
    return json_deep_copy(v);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *testbed_base64_random(size_t n, unsigned *seed)
{
    unsigned char *raw = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        raw[i] = (unsigned char)rand_r(seed);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)raw[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    free(raw);
    return out;
}

json_t *testbed_item(long i)
{
    unsigned seed = (unsigned)i * 2654435761u + 1;
    char pk[64], sk[16], n38[64], nneg[64], small[32];
    snprintf(pk, sizeof pk, "user#%05ld", i / 4);
    snprintf(sk, sizeof sk, "%ld", i % 4);
    /* 38 significant digits, canonical (no leading or trailing zeros). */
    snprintf(n38, sizeof n38, "1234567890123456789012345678901234%04ld", 1000 + i % 9000);
    snprintf(nneg, sizeof nneg, "-98765432109876543210.12345678901234%03ld1", i % 1000);
    snprintf(small, sizeof small, "%ld.5", i);
    char *bin = testbed_base64_random(1 + (size_t)(i % 300), &seed);
    char *bin2 = testbed_base64_random(16, &seed);
    char *bin3 = testbed_base64_random(7, &seed);
    json_t *item = json_pack(
        "{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:b}, s:{s:b},"
        " s:{s:[{s:s}, {s:s}, {s:b}, {s:{s:{s:s}}}, {s:s}]},"
        " s:{s:{s:{s:s}, s:{s:{s:{s:s}, s:{s:[{s:s}]}}}}},"
        " s:{s:[s, s, s]}, s:{s:[s, s, s]}, s:{s:[s, s]}, s:{s:s}}",
        "pk", "S", pk, "sk", "N", sk, "num38", "N", n38, "numneg", "N", nneg,
        "half", "N", small, "bin", "B", bin, "flag", "BOOL", (int)(i & 1), "nothing", "NULL", 1,
        "list", "L", "S", "first", "N", "42", "BOOL", 0, "M", "inner", "B", bin3, "B", bin2,
        "map", "M", "name", "S", "Grüße aus Köln — 東京 🚀", "deep", "M", "bin", "B", bin3, "list",
        "L", "B", bin2, "tags", "SS", "zeta", "alpha", "ünïcode",
        "nums", "NS", "3", "-1.5", "12345678901234567890123456789012345678", "bins", "BS", bin2,
        bin3, "text", "S", "plain ASCII text");
    if (i % 5 == 0)
        json_object_set_new(item, "empty", json_pack("{s:s}", "S", ""));
    if (i % 3 == 0)
        json_object_del(item, "nothing"); /* not every item has every attribute */
    if (i == 0) {
        /* Close to 400 KB: DynamoDB counts names and values. */
        size_t n = 400 * 1024 - 2000;
        char *big = malloc(n + 1);
        for (size_t k = 0; k < n; k++)
            big[k] = (char)('a' + k % 26);
        big[n] = '\0';
        json_object_set_new(item, "big", json_pack("{s:s}", "S", big));
        free(big);
    }
    free(bin);
    free(bin2);
    free(bin3);
    if (!item)
        cr_assert_fail("json_pack failed for item %ld", i);
    return item;
}
