/* The Scan answer read as it arrives: however an answer is cut into chunks, the stream says what
 * ddb/page.c says of the whole (tests/support/pagediff.c compares them: verdict, reason, items,
 * "Count", "ConsumedCapacity", LastEvaluatedKey), hands items on in runs rather than bytes, stops
 * when its reader asks, and keeps at most DDB_PAGESTREAM_LEK_MAX bytes of LastEvaluatedKey. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb/pagestream.h"
#include "pagediff.h"
#include "scanpage.h"

static char why[256];

/* An answer read both ways under every chunking the tests use: whole, 1, 2, 3, 7 and 64 bytes at
 * a time, and 20 seeded random cuttings. want is page.c's verdict, so the table says what it
 * holds. */
static void expect_same(const char *body, size_t len, enum ddb_page_err want)
{
    struct ddb_page pg;
    char *copy = malloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    ddb_page_init(&pg);
    enum ddb_page_err e = ddb_page_parse(&pg, copy, len, why, sizeof why);
    cr_expect_eq(e, want, "page.c says %s (%s) of %s", ddb_page_strerror(e), why, body);
    ddb_page_cleanup(&pg);
    free(copy);

    static const size_t steps[] = {0, 1, 2, 3, 7, 64};
    char msg[512];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t step = steps[i] ? steps[i] : len + 1;
        cr_expect_eq(pagediff(body, len, step, 0, msg, sizeof msg), 0, "%s in chunks of %zu: %s",
                     body, step, msg);
    }
    for (uint32_t seed = 1; seed <= 20; seed++)
        cr_expect_eq(pagediff(body, len, 0, seed, msg, sizeof msg), 0, "%s cut by seed %u: %s",
                     body, seed, msg);
}

static void expect_all_same(const char *const *bodies, size_t n, enum ddb_page_err want)
{
    for (size_t i = 0; i < n; i++)
        expect_same(bodies[i], strlen(bodies[i]), want);
}

Test(pagestream, valid_answers_read_in_any_chunks_equal_page_c)
{
    const char *ok[] = {
        "{\"Items\":[]}",
        " {\"Items\" : [ ] } \r\n",
        "{\"Items\":[{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"1.5e3\"}},"
        "{\"pk\":{\"S\":\"b \\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\uD83D\\uDE00 "
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xe0\xa0\x80 \x7f\"},"
        "\"l\":{\"L\":[{\"NULL\":true},{\"BOOL\":false},[[[]]],{\"M\":{}}]}}],"
        "\"Count\":2,\"ScannedCount\":2,"
        "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":12.5},"
        "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"b\"}}}",
        /* whitespace everywhere an item may hold it; LastEvaluatedKey kept as it came */
        "{\n  \"Items\" : [\n    {\n \"pk\" : { \"S\" : \"a b\\n\" } ,\t\"m\": {\"M\": {} }\r\n} ,"
        " { } ],\n  \"Count\" : 2 ,\n  \"LastEvaluatedKey\" : { \"pk\" : { \"S\" : \"a b\" } "
        "}\n}\n",
        /* fuzz_pagestream's first find (page.c kept this newline in its copy) */
        "{\"Items\":[{\n\"a\":{\"S\":\"\\u0041\"},\n\"b\":{\"S\":\"\xc3\xa9\"}}]}",
        /* numbers of every form, inside items and out */
        "{\"Items\":[{\"a\":0,\"b\":-0,\"c\":-12.50e+10,\"d\":1E-2,\"e\":3e9,\"f\":[1,-2,0.0]}],"
        "\"Other\":-1.5e-300,\"Count\":1}",
        "{\"Count\":0,\"Items\":[],\"Count\":0}",
        /* ConsumedCapacity of every shape: skipped when not an object, CapacityUnits read only
         * when a number, the last one winning */
        "{\"Items\":[],\"ConsumedCapacity\":[1,{\"CapacityUnits\":3}]}",
        "{\"Items\":[],\"ConsumedCapacity\":null}",
        "{\"Items\":[],\"ConsumedCapacity\":\"x\"}",
        "{\"Items\":[],\"ConsumedCapacity\":{}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":\"5\"}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":{\"x\":[1]},\"Table\":{}}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":1,\"CapacityUnits\":-2.5e1}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"Capacity\\u0055nits\":4}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":"
        "1.000000000000000000000000000000000000000000000000000000000000000000001e5}}",
        /* names that only look like the answer's: compared raw, as page.c does */
        "{\"It\\u0065ms\":1,\"Items\":[],\"Coun\":\"x\",\"Counts\":\"y\",\"LastEvaluatedKeys\":1}",
        "{\"Items\":[{\"Items\":1,\"Count\":\"x\",\"LastEvaluatedKey\":2}]}",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"a\":1},\"LastEvaluatedKey\":{}}",
    };
    expect_all_same(ok, sizeof ok / sizeof ok[0], DDB_PAGE_OK);
}

Test(pagestream, malformed_json_is_refused_as_page_c_refuses_it_at_the_same_byte)
{
    static const char *bad[] = {
        "",
        "   ",
        "{",
        "{ ",
        "{\"",
        "{\"Items\"",
        "{\"Items\" ",
        "{\"Items\":[",
        "{\"Items\":[ ",
        "{\"Items\":[{",
        "{\"Items\":[{\"pk\":{\"S\":\"a\"}}",
        "{\"Items\":[{\"pk\":{\"S\":\"a\"}},",
        "{\"Items\":[{\"pk\":{\"S\":\"a\"}},]}",
        "{\"Items\":[{\"pk\":{\"S\":\"a}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"a",
        "{\"Items\":[{\"pk\":{\"S\":\"a\tb\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\\x\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\\",
        "{\"Items\":[{\"pk\":{\"S\":\"\\u12G4\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\\u12",
        "{\"Items\":[{\"pk\":{\"S\":\"\xc3\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\xc3",
        "{\"Items\":[{\"pk\":{\"S\":\"\xe2\x82",
        "{\"Items\":[{\"pk\":{\"S\":\"\xed\xa0\x80\"}}]}", /* a UTF-16 surrogate */
        "{\"Items\":[{\"pk\":{\"S\":\"\xc0\xaf\"}}]}",     /* overlong */
        "{\"Items\":[{\"pk\":{\"S\":\"\xe0\x9f\xbf\"}}]}", /* overlong */
        "{\"Items\":[{\"pk\":{\"S\":\"\xf0\x8f\xbf\xbf\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\xf4\x90\x80\x80\"}}]}", /* above U+10FFFF */
        "{\"Items\":[{\"pk\":{\"S\":\"\xf5\x80\x80\x80\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\xff\"}}]}",
        "{\"Items\":[{\"pk\":{\"S\":\"\x80\"}}]}",
        "{\"Items\":[{\"n\":01}]}",
        "{\"Items\":[{\"n\":1.}]}",
        "{\"Items\":[{\"n\":1.e5}]}",
        "{\"Items\":[{\"n\":1e}]}",
        "{\"Items\":[{\"n\":1e+}]}",
        "{\"Items\":[{\"n\":-}]}",
        "{\"Items\":[{\"n\":+1}]}",
        "{\"Items\":[{\"n\":.5}]}",
        "{\"Items\":[{\"n\":1",
        "{\"Items\":[{\"n\":1.",
        "{\"Items\":[{\"n\":-",
        "{\"Items\":[{\"b\":tru}]}",
        "{\"Items\":[{\"b\":tru",
        "{\"Items\":[{\"b\":nul",
        "{\"Items\":[{\"b\":falsy}]}",
        "{\"Items\":[{\"b\":trueX}]}",
        "{\"Items\":[{\"pk\" {}}]}",
        "{\"Items\":[{pk:1}]}",
        "{\"Items\":[{\"a\":1,}]}",
        "{\"Items\":[{\"a\":[1,]}]}",
        "{\"Items\":[{\"a\":[1 2]}]}",
        "{\"Items\":[{\"a\":}]}",
        "{\"Items\":[{\"a\":]}]}",
        "{\"Items\":[{\"a\":1]}]}",
        "{\"Items\":[{}{}]}",
        "{\"Items\":[x]}",
        "{\"Items\":[]} x",
        "{\"Items\":[]}{}",
        "{\"Items\":[]}}",
        "{\"Items\":[],\"Count\":0,}",
        "{\"Items\":[],}",
        "{\"Items\":[] \"Count\":0}",
        "{\"Items\":[],\"Other\"}",
        "{\"Items\":[],\"Other\":}",
        "{\"Items\":[],\"Other\":",
        "{\"Items\":[],\"Count\":-}",
        "{\"Items\":[],\"Count\":1e}",
        "{\"Items\":[],\"Count\":000}",
        "{\"Items\":[],\"Count\":0",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":-}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\"}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":1,}}",
        "{\"Items\":[],\"ConsumedCapacity\":{\"CapacityUnits\":1",
        "{\"Items\":[],\"ConsumedCapacity\":{1:2}}",
        "{\"Items\":[],\"ConsumedCapacity\":",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"a\":}}",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"a\":1",
        "{1:2}",
        "{\"Items\":[]]",
        "{\"Items\":[{\"a\":1}]",
    };
    expect_all_same(bad, sizeof bad / sizeof bad[0], DDB_PAGE_ESYNTAX);
}

Test(pagestream, json_that_is_not_a_scan_answer_is_refused_as_page_c_refuses_it)
{
    static const char *bad[] = {
        "[]",
        " \"x\"",
        "x",
        "{}",
        "{\"Count\":0}",
        "{\"Items\":{}}",
        "{\"Items\":\"x\"}",
        "{\"Items\":",
        "{\"Items\": ",
        "{\"Items\":[1]}",
        "{\"Items\":[t]}",
        "{\"Items\":[[]]}",
        "{\"Items\":[{}, \"x\"]}",
        "{\"Items\":[{}],\"Count\":2}",
        "{\"Items\":[{}],\"Count\":0}",
        "{\"Items\":[{}],\"Count\":1.0}",
        "{\"Items\":[{}],\"Count\":1e0}",
        "{\"Items\":[],\"Count\":-0}",
        "{\"Items\":[{}],\"Count\":\"1\"}",
        "{\"Items\":[{}],\"Count\":null}",
        "{\"Items\":[],\"Count\":",
        "{\"Items\":[],\"Count\":1.5",
        "{\"Items\":[],\"Count\":"
        "11111111111111111111111111111111111111111111111111111111111111111.5}",
        "{\"Items\":[],\"Items\":[]}",
        "{\"Items\":[],\"Items\":",
        "{\"Items\":[],\"Items\":x",
        "{\"Items\":[],\"LastEvaluatedKey\":\"k\"}",
        "{\"Items\":[],\"LastEvaluatedKey\":[]}",
        "{\"Items\":[],\"LastEvaluatedKey\":",
        "{\"It\\u0065ms\":[]}",
    };
    expect_all_same(bad, sizeof bad / sizeof bad[0], DDB_PAGE_ESHAPE);
}

/* An answer whose one item nests n levels of lists inside "x" (the item is level 3). */
static char *nested(size_t n, size_t *len)
{
    char *body = malloc(n * 2 + 64);
    size_t k = (size_t)sprintf(body, "{\"Items\":[{\"x\":");
    memset(body + k, '[', n);
    k += n;
    memset(body + k, ']', n);
    k += n;
    k += (size_t)sprintf(body + k, "}]}");
    *len = k;
    return body;
}

Test(pagestream, nesting_is_counted_as_page_c_counts_it)
{
    size_t len;
    char *body = nested(DDB_PAGE_DEPTH_MAX - 3, &len);
    expect_same(body, len, DDB_PAGE_OK);
    free(body);
    body = nested(DDB_PAGE_DEPTH_MAX - 2, &len);
    expect_same(body, len, DDB_PAGE_EDEPTH);
    free(body);
    body = nested(100000, &len);
    expect_same(body, len, DDB_PAGE_EDEPTH);
    free(body);
    static const char *deep_elsewhere[] = {
        "{\"Items\":[],\"LastEvaluatedKey\":{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "{\"Other\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "{\"Items\":[],\"ConsumedCapacity\":{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    };
    for (size_t i = 0; i < 3; i++) {
        /* Each prefix above, opened to depth 200 and then once more: page.c's limit applies
         * to every member, not only to items. */
        size_t pre = strlen(deep_elsewhere[i]), opened = 0;
        for (size_t j = 0; j < pre; j++) {
            char c = deep_elsewhere[i][j];
            opened += c == '{' || c == '[';
            opened -= c == '}' || c == ']';
        }
        for (size_t extra = 0; extra < 2; extra++) {
            size_t n = pre + DDB_PAGE_DEPTH_MAX - opened + extra;
            char *b = malloc(n + 1);
            memcpy(b, deep_elsewhere[i], pre);
            memset(b + pre, '[', n - pre);
            expect_same(b, n, extra ? DDB_PAGE_EDEPTH : DDB_PAGE_ESYNTAX);
            free(b);
        }
    }
}

Test(pagestream, nul_bytes_anywhere_are_refused_as_page_c_refuses_them)
{
    static const char in_string[] = "{\"Items\":[{\"a\":{\"S\":\"x\0y\"}}]}";
    expect_same(in_string, sizeof in_string - 1, DDB_PAGE_ESYNTAX);
    static const char between[] = "{\"Items\":[]\0}";
    expect_same(between, sizeof between - 1, DDB_PAGE_ESYNTAX);
    static const char item[] = "{\"Items\":[\0]}";
    expect_same(item, sizeof item - 1, DDB_PAGE_ESYNTAX);
    static const char after[] = "{\"Items\":[]} \0";
    expect_same(after, sizeof after - 1, DDB_PAGE_ESYNTAX);
    static const char escape[] = "{\"Items\":[{\"a\":\"\\\0\"}]}";
    expect_same(escape, sizeof escape - 1, DDB_PAGE_ESYNTAX);
    static const char first[] = "\0{\"Items\":[]}";
    expect_same(first, sizeof first - 1, DDB_PAGE_ESHAPE); /* page.c: not an object */
}

Test(pagestream, a_realistic_megabyte_page_cut_at_random_equals_page_c)
{
    size_t len, n;
    char *body = scanpage_make(1024 * 1024, &len, &n);
    cr_assert_not_null(body);
    cr_assert_gt(n, 4000);
    char msg[512];
    for (uint32_t seed = 1; seed <= 8; seed++)
        cr_expect_eq(pagediff(body, len, 0, seed, msg, sizeof msg), 0, "seed %u: %s", seed, msg);
    cr_expect_eq(pagediff(body, len, 16384, 0, msg, sizeof msg), 0, "16 KB chunks: %s", msg);
    free(body);
}

/* A sink that records the calls, and refuses the one numbered stop_at (0: none). */
struct rec {
    int calls, stop_at, begins, ends, bytes_calls;
    char out[4096];
    size_t len;
};

static int refuse(struct rec *r)
{
    return ++r->calls == r->stop_at;
}
static int rec_begin(void *ud)
{
    struct rec *r = ud;
    r->begins++;
    return refuse(r);
}
static int rec_bytes(void *ud, const char *p, size_t n)
{
    struct rec *r = ud;
    r->bytes_calls++;
    if (r->len + n < sizeof r->out) {
        memcpy(r->out + r->len, p, n);
        r->len += n;
    }
    return refuse(r);
}
static int rec_end(void *ud)
{
    struct rec *r = ud;
    r->ends++;
    return refuse(r);
}
static const struct ddb_pagestream_sink rec_sink = {rec_begin, rec_bytes, rec_end};

static enum ddb_page_err feed_str(struct ddb_pagestream *ps, const char *s)
{
    return ddb_pagestream_feed(ps, s, strlen(s), why, sizeof why);
}

Test(pagestream, a_compact_item_in_one_chunk_goes_out_in_one_call_and_whitespace_splits_runs)
{
    struct rec r = {0};
    struct ddb_pagestream *ps = ddb_pagestream_new(&rec_sink, &r);
    struct ddb_pagestream_result res;
    cr_assert_eq(feed_str(ps, "{\"Items\":[{\"a\":{\"S\":\"x y\"},\"b\":[1,2]}"), DDB_PAGE_OK);
    cr_expect_eq(r.bytes_calls, 1);
    cr_expect_eq(r.len, strlen("{\"a\":{\"S\":\"x y\"},\"b\":[1,2]}"));
    cr_assert_eq(feed_str(ps, ",{ \"a\" :\n1 }"), DDB_PAGE_OK);
    cr_expect_eq(r.bytes_calls, 1 + 5, "runs {, \"a\", :, 1, }: got %d", r.bytes_calls - 1);
    cr_assert_eq(feed_str(ps, "]}"), DDB_PAGE_OK);
    cr_assert_eq(ddb_pagestream_finish(ps, &res, why, sizeof why), DDB_PAGE_OK, "%s", why);
    r.out[r.len] = '\0';
    cr_expect_str_eq(r.out, "{\"a\":{\"S\":\"x y\"},\"b\":[1,2]}{\"a\":1}");
    cr_expect_eq(r.begins, 2);
    cr_expect_eq(r.ends, 2);
    cr_expect_eq(res.n_items, 2);
    cr_expect_eq(res.count, -1);
    cr_expect_lt(res.consumed, 0);
    cr_expect_null(res.lek);
    cr_expect_eq(res.lek_len, 0);
    cr_expect_eq(res.bytes,
                 strlen("{\"Items\":[{\"a\":{\"S\":\"x y\"},\"b\":[1,2]},{ \"a\" :\n1 }]}"));
    ddb_pagestream_free(ps);
}

Test(pagestream, a_reader_that_refuses_stops_the_stream_for_good)
{
    const char *body = "{\"Items\":[{\"a\":1},{\"b\":2}],\"Count\":2}";
    /* Calls: begin, bytes, end, begin, bytes, end: refuse each in turn. */
    for (int stop = 1; stop <= 6; stop++) {
        struct rec r = {.stop_at = stop};
        struct ddb_pagestream *ps = ddb_pagestream_new(&rec_sink, &r);
        struct ddb_pagestream_result res;
        cr_expect_eq(feed_str(ps, body), DDB_PAGE_ESTOPPED, "refusing call %d", stop);
        cr_expect_eq(r.calls, stop, "calls after the refusal of call %d", stop);
        cr_expect(strstr(why, ddb_page_strerror(DDB_PAGE_ESTOPPED)) != NULL, "%s", why);
        cr_expect_eq(feed_str(ps, body), DDB_PAGE_ESTOPPED);
        cr_expect_eq(ddb_pagestream_finish(ps, &res, why, sizeof why), DDB_PAGE_ESTOPPED);
        cr_expect_eq(r.calls, stop, "a stopped stream read on");
        ddb_pagestream_free(ps);
    }
}

Test(pagestream, reset_starts_a_new_answer_on_the_same_parser)
{
    struct rec r = {0};
    struct ddb_pagestream *ps = ddb_pagestream_new(&rec_sink, &r);
    struct ddb_pagestream_result res;
    /* An attempt cut inside an item, then one refused, then a whole one. */
    cr_assert_eq(feed_str(ps, "{\"Items\":[{\"a\":\"xy"), DDB_PAGE_OK);
    ddb_pagestream_reset(ps);
    cr_assert_eq(feed_str(ps, "{\"Items\":[],\"LastEvaluatedKey\":{\"k\":1},\"Count\":x"),
                 DDB_PAGE_ESHAPE);
    ddb_pagestream_reset(ps);
    r.len = 0;
    cr_assert_eq(feed_str(ps, "{\"Count\":1,\"Items\":[{\"b\":2}],\"ConsumedCapacity\":"),
                 DDB_PAGE_OK, "%s", why);
    cr_assert_eq(feed_str(ps, "{\"CapacityUnits\":0.5}}"), DDB_PAGE_OK, "%s", why);
    cr_assert_eq(ddb_pagestream_finish(ps, &res, why, sizeof why), DDB_PAGE_OK, "%s", why);
    cr_expect_eq(res.n_items, 1);
    cr_expect_eq(res.count, 1);
    cr_expect_float_eq(res.consumed, 0.5, 1e-12);
    cr_expect_null(res.lek, "the last attempt's LastEvaluatedKey was kept");
    cr_expect_eq(res.bytes, strlen("{\"Count\":1,\"Items\":[{\"b\":2}],\"ConsumedCapacity\":"
                                   "{\"CapacityUnits\":0.5}}"));
    r.out[r.len] = '\0';
    cr_expect_str_eq(r.out, "{\"b\":2}");
    ddb_pagestream_free(ps);
}

/* An answer whose LastEvaluatedKey is exactly n bytes: {"k":"xxx..."}. */
static char *with_lek(size_t n, size_t *len)
{
    char *body = malloc(n + 64);
    size_t k = (size_t)sprintf(body, "{\"Items\":[],\"LastEvaluatedKey\":{\"k\":\"");
    memset(body + k, 'x', n - 8);
    k += n - 8;
    k += (size_t)sprintf(body + k, "\"}}");
    *len = k;
    return body;
}

Test(pagestream, last_evaluated_key_is_kept_as_it_came_up_to_its_limit)
{
    struct rec r = {0};
    struct ddb_pagestream *ps = ddb_pagestream_new(&rec_sink, &r);
    struct ddb_pagestream_result res;
    const char *spaced = "{\"Items\":[],\"LastEvaluatedKey\": { \"pk\" :\n{\"S\":\"a b\"} } }";
    for (size_t step = 1; step <= 8; step++) {
        ddb_pagestream_reset(ps);
        for (size_t at = 0; at < strlen(spaced); at += step)
            cr_assert_eq(
                ddb_pagestream_feed(ps, spaced + at,
                                    step < strlen(spaced) - at ? step : strlen(spaced) - at, why,
                                    sizeof why),
                DDB_PAGE_OK, "%s", why);
        cr_assert_eq(ddb_pagestream_finish(ps, &res, why, sizeof why), DDB_PAGE_OK, "%s", why);
        cr_assert_not_null(res.lek);
        cr_expect_str_eq(res.lek, "{ \"pk\" :\n{\"S\":\"a b\"} }");
        cr_expect_eq(res.lek_len, strlen(res.lek));
    }
    size_t len;
    char *body = with_lek(DDB_PAGESTREAM_LEK_MAX, &len);
    ddb_pagestream_reset(ps);
    cr_assert_eq(ddb_pagestream_feed(ps, body, len, why, sizeof why), DDB_PAGE_OK, "%s", why);
    cr_assert_eq(ddb_pagestream_finish(ps, &res, why, sizeof why), DDB_PAGE_OK, "%s", why);
    cr_expect_eq(res.lek_len, DDB_PAGESTREAM_LEK_MAX);
    free(body);
    body = with_lek(DDB_PAGESTREAM_LEK_MAX + 1, &len);
    ddb_pagestream_reset(ps);
    cr_expect_eq(ddb_pagestream_feed(ps, body, len, why, sizeof why), DDB_PAGE_ESHAPE);
    cr_expect(strstr(why, "LastEvaluatedKey") != NULL, "%s", why);
    free(body);
    ddb_pagestream_free(ps);
}

Test(pagestream, the_reason_names_the_byte_of_the_whole_answer_across_chunks)
{
    struct rec r = {0};
    struct ddb_pagestream *ps = ddb_pagestream_new(&rec_sink, &r);
    struct ddb_pagestream_result res;
    /* byte 16 is the '{' where ':' was expected, in the third chunk */
    cr_assert_eq(feed_str(ps, "{\"Items\":[{"), DDB_PAGE_OK);
    cr_assert_eq(feed_str(ps, "\"pk\""), DDB_PAGE_OK);
    cr_expect_eq(feed_str(ps, " {}}]}"), DDB_PAGE_ESYNTAX);
    cr_expect(strstr(why, "at byte 16") != NULL, "%s", why);
    /* a literal is refused at its first byte (24), though its wrong byte is in the next chunk */
    ddb_pagestream_reset(ps);
    cr_assert_eq(feed_str(ps, "{\"Items\":[],\"Other\":  tr"), DDB_PAGE_OK);
    cr_expect_eq(feed_str(ps, "ux}"), DDB_PAGE_ESYNTAX);
    cr_expect(strstr(why, "at byte 22") != NULL, "%s", why);
    /* cut short: at the end, said so, by finish */
    ddb_pagestream_reset(ps);
    cr_assert_eq(feed_str(ps, "{\"Items\":[{\"pk\""), DDB_PAGE_OK);
    cr_assert_eq(feed_str(ps, ":{\"S\":\"a\"}}"), DDB_PAGE_OK);
    cr_expect_eq(ddb_pagestream_finish(ps, &res, why, sizeof why), DDB_PAGE_ESYNTAX);
    cr_expect(strstr(why, "byte 26: cut short") != NULL, "%s", why);
    ddb_pagestream_free(ps);
}
