/* The Scan answer scanner: spans of items copied out byte for byte mean what jansson reads,
 * the answer's other members are found, and every malformed answer is refused with a reason. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "ddb/page.h"

static struct ddb_page pg;
static char why[256];

static void setup(void)
{
    ddb_page_init(&pg);
}
static void teardown(void)
{
    ddb_page_cleanup(&pg);
}
TestSuite(page, .init = setup, .fini = teardown);

static enum ddb_page_err parse(const char *body)
{
    return ddb_page_parse(&pg, body, strlen(body), why, sizeof why);
}

/* Item i copied out, as a NUL-terminated string (caller frees). */
static char *item(const char *body, size_t i)
{
    char *out = malloc(pg.items[i].len + 1);
    size_t n = ddb_page_item_copy(body, &pg.items[i], out);
    out[n] = '\0';
    return out;
}

static void expect_same_json(const char *got, const json_t *want)
{
    json_error_t je;
    json_t *g = json_loads(got, 0, &je);
    cr_assert_not_null(g, "copy is not JSON: %s (%s)", got, je.text);
    cr_expect(json_equal(g, want), "copy %s differs", got);
    json_decref(g);
}

Test(page, items_are_copied_out_as_they_are_with_count_capacity_and_last_key)
{
    const char *body = "{\"Items\":[{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"1.5e3\"}},"
                       "{\"pk\":{\"S\":\"b \\\" \\\\ \\u00e9 "
                       "caf\xc3\xa9\"},\"l\":{\"L\":[{\"NULL\":true},{\"BOOL\":false}]}}],"
                       "\"Count\":2,\"ScannedCount\":2,"
                       "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":12.5},"
                       "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"b\"}}}";
    cr_assert_eq(parse(body), DDB_PAGE_OK, "%s", why);
    cr_assert_eq(pg.n_items, 2);
    cr_expect_eq(pg.count, 2);
    cr_expect_float_eq(pg.consumed, 12.5, 1e-9);
    json_t *want = json_loads(body, 0, NULL);
    for (size_t i = 0; i < 2; i++) {
        char *got = item(body, i);
        cr_expect_eq(strlen(got), pg.items[i].len, "a compact item is copied byte for byte");
        expect_same_json(got, json_array_get(json_object_get(want, "Items"), i));
        free(got);
    }
    cr_assert_gt(pg.lek_len, 0);
    cr_expect_eq(strncmp(body + pg.lek_off, "{\"pk\":{\"S\":\"b\"}}", pg.lek_len), 0);
    json_decref(want);
}

Test(page, members_in_any_order_and_absent_ones_are_reported_as_absent)
{
    cr_assert_eq(parse(" { \"Other\" : [1, {\"x\": null}], \"Items\" : [ ] } \n"), DDB_PAGE_OK,
                 "%s", why);
    cr_expect_eq(pg.n_items, 0);
    cr_expect_eq(pg.count, -1);
    cr_expect_lt(pg.consumed, 0);
    cr_expect_eq(pg.lek_len, 0);
}

Test(page, whitespace_inside_an_item_is_dropped_so_a_line_never_breaks)
{
    const char *body =
        "{\"Items\": [ {\n \"pk\" : { \"S\" : \"a b\\n\" } ,\t\"m\": {\"M\": {} }\r\n} ]}";
    cr_assert_eq(parse(body), DDB_PAGE_OK, "%s", why);
    cr_assert_eq(pg.n_items, 1);
    cr_expect(pg.items[0].spaced);
    char *got = item(body, 0);
    cr_expect_str_eq(got, "{\"pk\":{\"S\":\"a b\\n\"},\"m\":{\"M\":{}}}");
    free(got);
}

Test(page, whitespace_before_a_string_with_an_escape_or_utf8_is_dropped_too)
{
    /* (Found by fuzzing an incremental reader against this one: the whitespace was forgotten when such a string was read, and
     * the copy kept the newline.) */
    const char *body = "{\"Items\":[{\n\"a\":{\"S\":\"\\u0041\"},\n\"b\":{\"S\":\"\xc3\xa9\"}}]}";
    cr_assert_eq(parse(body), DDB_PAGE_OK, "%s", why);
    cr_assert_eq(pg.n_items, 1);
    cr_expect(pg.items[0].spaced);
    char *got = item(body, 0);
    cr_expect_str_eq(got, "{\"a\":{\"S\":\"\\u0041\"},\"b\":{\"S\":\"\xc3\xa9\"}}");
    free(got);
}

Test(page, a_page_larger_than_the_first_span_array_keeps_every_item)
{
    size_t n = 5000;
    char *body = malloc(n * 32 + 64);
    size_t len = (size_t)sprintf(body, "{\"Items\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(body + len, "%s{\"pk\":{\"N\":\"%zu\"}}", i ? "," : "", i);
    len += (size_t)sprintf(body + len, "],\"Count\":%zu}", n);
    cr_assert_eq(ddb_page_parse(&pg, body, len, why, sizeof why), DDB_PAGE_OK, "%s", why);
    cr_assert_eq(pg.n_items, n);
    char want[64];
    sprintf(want, "{\"pk\":{\"N\":\"%zu\"}}", n - 1);
    char *got = item(body, n - 1);
    cr_expect_str_eq(got, want);
    free(got);
    /* The same page object parses the next answer from scratch. */
    cr_assert_eq(parse("{\"Items\":[{}]}"), DDB_PAGE_OK);
    cr_expect_eq(pg.n_items, 1);
    free(body);
}

/* Every malformed answer is an error of the right kind, and leaves no items behind. */
static void expect_refused(const char *body, enum ddb_page_err want)
{
    enum ddb_page_err e = parse(body);
    cr_expect_eq(e, want, "answer %s: got %s (%s), want %s", body, ddb_page_strerror(e), why,
                 ddb_page_strerror(want));
    cr_expect_eq(pg.n_items, 0, "answer %s left items", body);
    cr_expect_neq(why[0], '\0', "no reason given for %s", body);
}

Test(page, malformed_json_is_refused_with_a_reason)
{
    const char *bad[] = {
        "",
        "{",
        "{\"Items\":[{\"pk\":{\"S\":\"a\"}}",              /* cut short */
        "{\"Items\":[{\"pk\":{\"S\":\"a\"}},]}",           /* trailing comma */
        "{\"Items\":[{\"pk\":{\"S\":\"a}}]}",              /* unterminated string */
        "{\"Items\":[{\"pk\":{\"S\":\"a\tb\"}}]}",         /* raw control character */
        "{\"Items\":[{\"pk\":{\"S\":\"\\x\"}}]}",          /* bad escape */
        "{\"Items\":[{\"pk\":{\"S\":\"\\u12G4\"}}]}",      /* bad \\u */
        "{\"Items\":[{\"pk\":{\"S\":\"\xc3\"}}]}",         /* cut UTF-8 */
        "{\"Items\":[{\"pk\":{\"S\":\"\xed\xa0\x80\"}}]}", /* UTF-16 surrogate in UTF-8 */
        "{\"Items\":[{\"pk\":{\"S\":\"\xff\"}}]}",         /* never UTF-8 */
        "{\"Items\":[{\"n\":01}]}",                        /* leading zero */
        "{\"Items\":[{\"n\":1.}]}",
        "{\"Items\":[{\"n\":-}]}",
        "{\"Items\":[{\"b\":tru}]}",
        "{\"Items\":[{\"pk\" {}}]}", /* no colon */
        "{\"Items\":[{pk:1}]}",      /* bare name */
        "{\"Items\":[]} x",          /* bytes after */
        "{\"Items\":[]}{}",
        "{\"Items\":[],\"Count\":0,}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(bad[i], DDB_PAGE_ESYNTAX);
}

Test(page, json_that_is_not_a_scan_answer_is_refused)
{
    const char *bad[] = {
        "[]",
        "{}",              /* no Items */
        "{\"Items\":{}}",  /* not an array */
        "{\"Items\":[1]}", /* an item that is not an object */
        "{\"Items\":[{}, \"x\"]}",
        "{\"Items\":[{}],\"Count\":2}", /* an item missing */
        "{\"Items\":[{}],\"Count\":1.0}",
        "{\"Items\":[{}],\"Count\":\"1\"}",
        "{\"Items\":[],\"Items\":[]}",
        "{\"Items\":[],\"LastEvaluatedKey\":\"k\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(bad[i], DDB_PAGE_ESHAPE);
}

Test(page, nesting_deeper_than_the_limit_is_refused_not_a_stack_overflow)
{
    size_t depth = 100000;
    char *body = malloc(depth * 2 + 64);
    size_t len = (size_t)sprintf(body, "{\"Items\":[{\"x\":");
    memset(body + len, '[', depth);
    len += depth;
    memset(body + len, ']', depth);
    len += depth;
    len += (size_t)sprintf(body + len, "}]}");
    cr_expect_eq(ddb_page_parse(&pg, body, len, why, sizeof why), DDB_PAGE_EDEPTH, "%s", why);
    cr_expect_eq(pg.n_items, 0);
    free(body);
}

Test(page, the_reason_names_the_byte_and_says_when_the_answer_was_cut_short)
{
    parse("{\"Items\":[{\"pk\":{\"S\":\"a\"}}");
    cr_expect(strstr(why, "cut short") != NULL, "%s", why);
    parse("{\"Items\":[{\"pk\" {}}]}");
    cr_expect(strstr(why, "at byte 16") != NULL, "%s", why);
}

Test(page, nul_bytes_inside_the_body_are_refused_and_a_body_without_the_sentinel_too)
{
    static const char in_string[] = "{\"Items\":[{\"a\":{\"S\":\"x\0y\"}}]}";
    cr_expect_eq(ddb_page_parse(&pg, in_string, sizeof in_string - 1, why, sizeof why),
                 DDB_PAGE_ESYNTAX, "%s", why);
    static const char between[] = "{\"Items\":[]\0}";
    cr_expect_eq(ddb_page_parse(&pg, between, sizeof between - 1, why, sizeof why),
                 DDB_PAGE_ESYNTAX, "%s", why);
    static const char unterminated[] = "{\"Items\":[]}X";
    cr_expect_eq(ddb_page_parse(&pg, unterminated, sizeof unterminated - 2, why, sizeof why),
                 DDB_PAGE_ESYNTAX);
    cr_expect(strstr(why, "NUL") != NULL, "%s", why);
}
