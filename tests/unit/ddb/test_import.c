#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddb/import.h"

/* Legacy separators as separate literals, so that "\x02" "abc" is not read as "\x02abc". */
#define STX "\x02"
#define ETX "\x03"

/* Every type, as DynamoDB JSON, in one item; the legacy and export forms below say the same. */
#define EVERY_TYPE                                                                                 \
    "{\"pk\":{\"S\":\"user#1\"},"                                                                  \
    "\"n\":{\"N\":\"12345678901234567890123456789012345678\"},"                                    \
    "\"b\":{\"B\":\"AAEC\"},"                                                                      \
    "\"t\":{\"BOOL\":true},"                                                                       \
    "\"f\":{\"BOOL\":false},"                                                                      \
    "\"z\":{\"NULL\":true},"                                                                       \
    "\"l\":{\"L\":[{\"S\":\"a\"},{\"B\":\"AAE=\"},{\"N\":\"-1.50\"},{\"L\":[]}]},"                 \
    "\"m\":{\"M\":{\"inner\":{\"M\":{\"deep\":{\"B\":\"/w==\"}}},\"s\":{\"S\":\"x\"}}},"           \
    "\"ss\":{\"SS\":[\"a\",\"b\"]},"                                                               \
    "\"ns\":{\"NS\":[\"1\",\"2.5\",\"-1E-130\"]},"                                                 \
    "\"bs\":{\"BS\":[\"AAE=\",\"Ag==\"]},"                                                         \
    "\"u\":{\"S\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\"},"                    \
    "\"e\":{\"S\":\"\"}}"

#define EVERY_TYPE_LEGACY                                                                          \
    "pk" ETX "{\"s\":\"user#1\"}" STX "n" ETX                                                      \
    "{\"n\":\"12345678901234567890123456789012345678\"}" STX "b" ETX "{\"b\":\"AAEC\"}" STX        \
    "t" ETX "{\"bOOL\":true}" STX "f" ETX "{\"bOOL\":false}" STX "z" ETX                           \
    "{\"nULLValue\":true}" STX "l" ETX                                                             \
    "{\"l\":[{\"s\":\"a\"},{\"b\":\"AAE=\"},{\"n\":\"-1.50\"},{\"l\":[]}]}" STX "m" ETX            \
    "{\"m\":{\"inner\":{\"m\":{\"deep\":{\"b\":\"/w==\"}}},\"s\":{\"s\":\"x\"}}}" STX "ss" ETX     \
    "{\"sS\":[\"a\",\"b\"]}" STX "ns" ETX "{\"nS\":[\"1\",\"2.5\",\"-1E-130\"]}" STX "bs" ETX      \
    "{\"bS\":[\"AAE=\",\"Ag==\"]}" STX "u" ETX                                                     \
    "{\"s\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\"}" STX "e" ETX               \
    "{\"s\":\"\"}"

/* The later Data Pipeline export: one JSON object per line, Gson's view of the SDK v1 bean. */
#define EVERY_TYPE_LEGACY_JSON                                                                     \
    "{\"pk\":{\"s\":\"user#1\"},"                                                                  \
    "\"n\":{\"n\":\"12345678901234567890123456789012345678\"},"                                    \
    "\"b\":{\"b\":\"AAEC\"},"                                                                      \
    "\"t\":{\"bOOL\":true},"                                                                       \
    "\"f\":{\"bOOL\":false},"                                                                      \
    "\"z\":{\"nULLValue\":true},"                                                                  \
    "\"l\":{\"l\":[{\"s\":\"a\"},{\"b\":\"AAE=\"},{\"n\":\"-1.50\"},{\"l\":[]}]},"                 \
    "\"m\":{\"m\":{\"inner\":{\"m\":{\"deep\":{\"b\":\"/w==\"}}},\"s\":{\"s\":\"x\"}}},"           \
    "\"ss\":{\"sS\":[\"a\",\"b\"]},"                                                               \
    "\"ns\":{\"nS\":[\"1\",\"2.5\",\"-1E-130\"]},"                                                 \
    "\"bs\":{\"bS\":[\"AAE=\",\"Ag==\"]},"                                                         \
    "\"u\":{\"s\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\"},"                    \
    "\"e\":{\"s\":\"\"}}"

static char errbuf[1024];

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    cr_assert_not_null(j, "bad JSON in test: %s: %s", text, je.text);
    return j;
}

/* Parses line[0..len), expects success in format want, and returns the item. */
static json_t *import_ok_n(const char *line, size_t len, enum ddb_import_format want)
{
    json_t *item = (json_t *)1;
    enum ddb_import_format f = DDB_IMPORT_NONE;
    int rc = ddb_import_line(line, len, &item, &f, errbuf, sizeof(errbuf));
    cr_assert_eq(rc, 0, "ddb_import_line failed: %s", errbuf);
    cr_assert_not_null(item);
    cr_assert_eq(f, want, "format %s, expected %s", ddb_import_format_name(f),
                 ddb_import_format_name(want));
    return item;
}

static json_t *import_ok(const char *line, enum ddb_import_format want)
{
    return import_ok_n(line, strlen(line), want);
}

/* Expects the line to give exactly this item, attributes in this order (json_dumps keeps the
 * insertion order). */
static void expect_item_n(const char *line, size_t len, enum ddb_import_format want,
                          const char *item_json)
{
    json_t *item = import_ok_n(line, len, want);
    json_t *expected = parse(item_json);
    char *got = json_dumps(item, JSON_COMPACT);
    char *exp = json_dumps(expected, JSON_COMPACT);
    cr_assert_str_eq(got, exp);
    cr_assert(json_equal(item, expected));
    free(got);
    free(exp);
    json_decref(expected);
    json_decref(item);
}

static void expect_item(const char *line, enum ddb_import_format want, const char *item_json)
{
    expect_item_n(line, strlen(line), want, item_json);
}

/* Expects an error and returns its message, which must be one bounded line. */
static const char *import_err_n(const char *line, size_t len)
{
    json_t *item = (json_t *)1;
    enum ddb_import_format f = DDB_IMPORT_EXPORT_LINE;
    memset(errbuf, 'X', sizeof(errbuf));
    int rc = ddb_import_line(line, len, &item, &f, errbuf, sizeof(errbuf));
    cr_assert_eq(rc, -1, "expected an error for %.*s", (int)(len > 200 ? 200 : len), line);
    cr_assert_null(item);
    cr_assert_eq(f, DDB_IMPORT_NONE);
    cr_assert(strlen(errbuf) > 10, "message too short: %s", errbuf);
    cr_assert(strlen(errbuf) < 500, "message too long (%zu): %s", strlen(errbuf), errbuf);
    for (const char *p = errbuf; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in message: %s", errbuf);
    return errbuf;
}

static const char *import_err(const char *line)
{
    return import_err_n(line, strlen(line));
}

static void expect_error(const char *line, const char *part)
{
    const char *msg = import_err(line);
    cr_assert(strstr(msg, part), "message \"%s\" does not say \"%s\"", msg, part);
}

/* ---- DynamoDB JSON ---- */

Test(import, export_line_with_every_type_gives_the_inner_item)
{
    expect_item("{\"Item\":" EVERY_TYPE "}", DDB_IMPORT_EXPORT_LINE, EVERY_TYPE);
}

Test(import, bare_item_with_every_type_is_kept_as_given)
{
    expect_item(EVERY_TYPE, DDB_IMPORT_BARE_ITEM, EVERY_TYPE);
}

Test(import, numbers_stay_the_strings_given)
{
    json_t *item = import_ok("{\"Item\":{\"pk\":{\"N\":\"12345678901234567890123456789012345678\"},"
                             "\"x\":{\"N\":\"1.50\"},\"e\":{\"N\":\"1e3\"}}}",
                             DDB_IMPORT_EXPORT_LINE);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "pk"), "N")),
                     "12345678901234567890123456789012345678");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "x"), "N")), "1.50");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "e"), "N")), "1e3");
    json_decref(item);
}

Test(import, attributes_keep_the_order_of_the_line)
{
    static const char *const order[] = {"zeta", "alpha", "mid", "beta", "a"};
    const char *lines[] = {
        "{\"Item\":{\"zeta\":{\"S\":\"1\"},\"alpha\":{\"S\":\"2\"},\"mid\":{\"S\":\"3\"},"
        "\"beta\":{\"S\":\"4\"},\"a\":{\"S\":\"5\"}}}",
        "{\"zeta\":{\"S\":\"1\"},\"alpha\":{\"S\":\"2\"},\"mid\":{\"S\":\"3\"},"
        "\"beta\":{\"S\":\"4\"},\"a\":{\"S\":\"5\"}}",
        "zeta" ETX "{\"s\":\"1\"}" STX "alpha" ETX "{\"s\":\"2\"}" STX "mid" ETX "{\"s\":\"3\"}" STX
        "beta" ETX "{\"s\":\"4\"}" STX "a" ETX "{\"s\":\"5\"}",
    };
    for (size_t l = 0; l < 3; l++) {
        json_t *item = import_ok(lines[l], l == 0   ? DDB_IMPORT_EXPORT_LINE
                                           : l == 1 ? DDB_IMPORT_BARE_ITEM
                                                    : DDB_IMPORT_LEGACY);
        const char *key;
        json_t *v;
        size_t i = 0;
        json_object_foreach(item, key, v)
        {
            cr_assert_str_eq(key, order[i], "line %zu: key %zu is %s", l, i, key);
            i++;
        }
        cr_assert_eq(i, 5);
        json_decref(item);
    }
}

Test(import, non_ascii_text_and_empty_strings_survive)
{
    expect_item("{\"pk\":{\"S\":\"\xe2\x82\xac\\u00e9\\ud83c\\udf89\"},\"e\":{\"S\":\"\"},"
                "\"k\xc3\xa9y\":{\"B\":\"\"}}",
                DDB_IMPORT_BARE_ITEM,
                "{\"pk\":{\"S\":\"\xe2\x82\xac\xc3\xa9\xf0\x9f\x8e\x89\"},\"e\":{\"S\":\"\"},"
                "\"k\xc3\xa9y\":{\"B\":\"\"}}");
}

Test(import, format_names_are_words)
{
    cr_assert_str_eq(ddb_import_format_name(DDB_IMPORT_NONE), "none");
    cr_assert_str_eq(ddb_import_format_name(DDB_IMPORT_EXPORT_LINE), "export line");
    cr_assert_str_eq(ddb_import_format_name(DDB_IMPORT_BARE_ITEM), "bare item");
    cr_assert_str_eq(ddb_import_format_name(DDB_IMPORT_LEGACY), "legacy Data Pipeline line");
    cr_assert_str_eq(ddb_import_format_name((enum ddb_import_format)42), "unknown");
}

/* ---- Item or bare item ---- */

Test(import, an_item_wrapper_around_attributes_is_an_export_line)
{
    expect_item("{\"Item\":{\"pk\":{\"S\":\"a\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"pk\":{\"S\":\"a\"}}");
    expect_item("{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}");
    expect_item("{\"Item\":{}}", DDB_IMPORT_EXPORT_LINE, "{}");
}

Test(import, an_attribute_named_item_holding_one_attribute_value_is_a_bare_item)
{
    expect_item("{\"Item\":{\"S\":\"x\"}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"S\":\"x\"}}");
    expect_item("{\"Item\":{\"N\":\"7\"}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"N\":\"7\"}}");
    expect_item("{\"Item\":{\"BOOL\":false}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"BOOL\":false}}");
    expect_item("{\"Item\":{\"NULL\":true}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"NULL\":true}}");
    expect_item("{\"Item\":{\"L\":[]}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"L\":[]}}");
    expect_item("{\"Item\":{\"SS\":[\"a\"]}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"SS\":[\"a\"]}}");
    expect_item("{\"Item\":{\"M\":{\"k\":{\"S\":\"v\"}}}}", DDB_IMPORT_BARE_ITEM,
                "{\"Item\":{\"M\":{\"k\":{\"S\":\"v\"}}}}");
    expect_item("{\"Item\":{\"M\":{}}}", DDB_IMPORT_BARE_ITEM, "{\"Item\":{\"M\":{}}}");
}

Test(import, an_item_attribute_beside_others_is_a_bare_item)
{
    expect_item("{\"Item\":{\"pk\":{\"S\":\"a\"}},\"pk\":{\"S\":\"b\"}}", DDB_IMPORT_BARE_ITEM,
                "{\"Item\":{\"pk\":{\"S\":\"a\"}},\"pk\":{\"S\":\"b\"}}");
    expect_item("{\"pk\":{\"S\":\"b\"},\"Item\":{\"S\":\"x\"}}", DDB_IMPORT_BARE_ITEM,
                "{\"pk\":{\"S\":\"b\"},\"Item\":{\"S\":\"x\"}}");
}

/* An item whose only attribute is a key named like a type: ddbfs exports it as
 * {"Item":{"M":{"S":"k"}}}, which does not read as one AttributeValue (M's member "S" is not an
 * object), so it comes back as exported. */
Test(import, an_export_of_a_single_attribute_named_like_a_type_round_trips)
{
    expect_item("{\"Item\":{\"M\":{\"S\":\"k\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"M\":{\"S\":\"k\"}}");
    expect_item("{\"Item\":{\"S\":{\"S\":\"k\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"S\":{\"S\":\"k\"}}");
    expect_item("{\"Item\":{\"N\":{\"N\":\"1\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"N\":{\"N\":\"1\"}}");
    expect_item("{\"Item\":{\"B\":{\"B\":\"AA==\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"B\":{\"B\":\"AA==\"}}");
    expect_item("{\"Item\":{\"L\":{\"S\":\"k\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"L\":{\"S\":\"k\"}}");
}

Test(import, an_item_that_is_not_an_object_is_an_error_naming_it)
{
    expect_error("{\"Item\":\"x\"}", "attribute \"Item\" is a string");
    expect_error("{\"Item\":[{\"pk\":{\"S\":\"a\"}}]}", "attribute \"Item\" is an array");
    expect_error("{\"Item\":null}", "attribute \"Item\" is null");
}

/* A map attribute as the only attribute: the export line and the bare item look alike at first,
 * and the whole value decides. */
Test(import, an_export_of_a_single_map_attribute_named_m_round_trips)
{
    expect_item("{\"Item\":{\"M\":{\"M\":{\"a\":{\"S\":\"x\"}}}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"M\":{\"M\":{\"a\":{\"S\":\"x\"}}}}");
    expect_item("{\"Item\":{\"m\":{\"M\":{\"a\":{\"S\":\"x\"}}}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"m\":{\"M\":{\"a\":{\"S\":\"x\"}}}}");
    expect_item("{\"Item\":{\"M\":{\"M\":{\"M\":{\"a\":{\"S\":\"x\"}}}}}}", DDB_IMPORT_BARE_ITEM,
                "{\"Item\":{\"M\":{\"M\":{\"M\":{\"a\":{\"S\":\"x\"}}}}}}");
    expect_item("{\"Item\":{\"M\":{\"k\":{\"L\":[{\"S\":\"a\"},{\"NULL\":true}]}}}}",
                DDB_IMPORT_BARE_ITEM,
                "{\"Item\":{\"M\":{\"k\":{\"L\":[{\"S\":\"a\"},{\"NULL\":true}]}}}}");
    expect_item("{\"Item\":{\"L\":{\"L\":[]}}}", DDB_IMPORT_EXPORT_LINE, "{\"L\":{\"L\":[]}}");
    expect_item("{\"Item\":{\"SS\":{\"SS\":[\"a\"]}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"SS\":{\"SS\":[\"a\"]}}");
}

/* ---- line endings, blank lines, byte order mark ---- */

Test(import, a_crlf_line_ending_is_ignored)
{
    expect_item("{\"Item\":{\"pk\":{\"S\":\"a\"}}}\r", DDB_IMPORT_EXPORT_LINE,
                "{\"pk\":{\"S\":\"a\"}}");
    expect_item("{\"pk\":{\"S\":\"a\"}}\r", DDB_IMPORT_BARE_ITEM, "{\"pk\":{\"S\":\"a\"}}");
    expect_item("pk" ETX "{\"s\":\"a\"}\r", DDB_IMPORT_LEGACY, "{\"pk\":{\"S\":\"a\"}}");
    expect_item("pk" ETX "{\"s\":\"a\"}" STX "n" ETX "{\"n\":\"1\"}\r", DDB_IMPORT_LEGACY,
                "{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"1\"}}");
}

Test(import, blank_lines_give_nothing_to_store)
{
    const char *blanks[] = {"", "\r", "   ", "\t \t", "  \r", "\xef\xbb\xbf", "\xef\xbb\xbf \r"};
    for (size_t i = 0; i < sizeof(blanks) / sizeof(blanks[0]); i++) {
        json_t *item = (json_t *)1;
        enum ddb_import_format f = DDB_IMPORT_LEGACY;
        cr_assert_eq(
            ddb_import_line(blanks[i], strlen(blanks[i]), &item, &f, errbuf, sizeof(errbuf)), 1,
            "blank line %zu", i);
        cr_assert_null(item);
        cr_assert_eq(f, DDB_IMPORT_NONE);
    }
    json_t *item = (json_t *)1;
    enum ddb_import_format f;
    cr_assert_eq(ddb_import_line(NULL, 0, &item, &f, NULL, 0), 1);
    cr_assert_null(item);
}

Test(import, white_space_around_json_is_allowed)
{
    expect_item("  {\"pk\" : {\"S\" : \"a\"} }\t ", DDB_IMPORT_BARE_ITEM, "{\"pk\":{\"S\":\"a\"}}");
}

Test(import, a_utf8_byte_order_mark_before_the_first_line_is_ignored)
{
    expect_item("\xef\xbb\xbf{\"Item\":{\"pk\":{\"S\":\"a\"}}}", DDB_IMPORT_EXPORT_LINE,
                "{\"pk\":{\"S\":\"a\"}}");
    expect_item("\xef\xbb\xbfpk" ETX "{\"s\":\"a\"}", DDB_IMPORT_LEGACY, "{\"pk\":{\"S\":\"a\"}}");
}

/* ---- bad JSON lines ---- */

Test(import, malformed_json_is_an_error_with_its_position)
{
    const char *msg = import_err("{\"pk\":{\"S\":\"a\"},}");
    cr_assert(strstr(msg, "invalid JSON at column 17 (byte 17)"), "%s", msg);
    cr_assert(strstr(msg, "near: {\"pk\":{\"S\":\"a\"},}"), "%s", msg);

    msg = import_err("{\"pk\":{\"S\":\"a\"");
    cr_assert(strstr(msg, "invalid JSON at column 14 (byte 14, the end of the line): '}' expected"),
              "%s", msg);
    msg = import_err("{\"pk\":{\"S\":\"abc");
    cr_assert(strstr(msg, "the end of the line): premature end of input"), "%s", msg);

    msg = import_err("not json at all");
    cr_assert(strstr(msg, "invalid JSON at column 3 (byte 3): invalid token"), "%s", msg);
}

Test(import, the_position_counts_from_the_start_of_the_line)
{
    char line[400];
    int n =
        snprintf(line, sizeof(line), "{\"pk\":{\"S\":\"%0200d\"},\"x\":{\"S\":\"a\"} \"y\"}", 0);
    cr_assert(n > 0 && (size_t)n < sizeof(line));
    const char *msg = import_err(line);
    cr_assert(strstr(msg, "column 232 (byte 232)"), "%s", msg);
    /* The quote is the bytes around the position, with dots where the line goes on. */
    cr_assert(strstr(msg, "near: ...0000"), "%s", msg);
    cr_assert(strstr(msg, "0000\"},\"x\":{\"S\":\"a\"} \"y\"}"), "%s", msg);
}

Test(import, the_column_counts_characters_and_the_byte_counts_bytes)
{
    const char *msg = import_err("{\"\xc3\xa9\xc3\xa9\":{\"S\":\"x\"} z}");
    cr_assert(strstr(msg, "column 17 (byte 19)"), "%s", msg);
    cr_assert(strstr(msg, "near: {\"\xc3\xa9\xc3\xa9\":{\"S\":\"x\"} z}"), "%s", msg);
}

Test(import, invalid_utf8_is_an_error)
{
    const char *msg = import_err("{\"pk\":{\"S\":\"a\xff\xfe\"}}");
    cr_assert(strstr(msg, "not valid UTF-8"), "%s", msg);
    cr_assert(strstr(msg, "byte"), "%s", msg);
    cr_assert(strstr(msg, "\\xff"), "the bad byte is shown escaped: %s", msg);

    msg = import_err("{\"pk\":{\"S\":\"\xed\xa0\x80\"}}"); /* a UTF-16 surrogate */
    cr_assert(strstr(msg, "not valid UTF-8"), "%s", msg);
    msg = import_err("{\"pk\":{\"S\":\"\xc0\xaf\"}}"); /* overlong */
    cr_assert(strstr(msg, "not valid UTF-8"), "%s", msg);
}

Test(import, a_raw_nul_byte_is_an_error_saying_so)
{
    static const char line[] = "{\"pk\":{\"S\":\"a\0b\"}}";
    const char *msg = import_err_n(line, sizeof(line) - 1);
    cr_assert(strstr(msg, "NUL byte at byte 14"), "%s", msg);
    cr_assert(strstr(msg, "\\x00"), "%s", msg);

    static const char legacy[] = "pk" ETX "{\"s\":\"a\"}\0";
    msg = import_err_n(legacy, sizeof(legacy) - 1);
    cr_assert(strstr(msg, "NUL byte at byte 13"), "%s", msg);
}

Test(import, an_escaped_nul_is_an_error)
{
    expect_error("{\"pk\":{\"S\":\"a\\u0000b\"}}",
                 "\\u0000 in a string (NUL characters are not accepted)");
    expect_error("a" ETX "{\"s\":\"\\u0000\"}", "\\u0000 in a string");
}

Test(import, a_line_that_is_json_but_not_an_object_is_an_error)
{
    expect_error("[{\"pk\":{\"S\":\"a\"}}]", "the line is a JSON array, not an object");
    expect_error("5", "the line is a number, not an object");
    expect_error("\"text\"", "the line is a string, not an object");
    expect_error("null", "the line is null, not an object");
    expect_error("true", "the line is a boolean, not an object");
}

Test(import, an_attribute_value_that_is_not_an_object_is_an_error_naming_the_attribute)
{
    expect_error("{\"pk\":5}", "attribute \"pk\" is a number, not an AttributeValue object");
    expect_error("{\"pk\":{\"S\":\"a\"},\"n\":1.5}", "attribute \"n\" is a number");
    expect_error("{\"Item\":{\"pk\":{\"S\":\"a\"},\"s\":\"text\"}}",
                 "Item attribute \"s\" is a string");
    expect_error("{\"pk\":{\"S\":\"a\"},\"l\":[]}", "attribute \"l\" is an array");
}

Test(import, trailing_garbage_after_the_json_is_an_error)
{
    const char *msg = import_err("{\"pk\":{\"S\":\"a\"}} xyz");
    cr_assert(strstr(msg, "end of file expected"), "%s", msg);
    cr_assert(strstr(msg, "column 20 (byte 20)"), "%s", msg);
    expect_error("{\"pk\":{\"S\":\"a\"}}{\"pk\":{\"S\":\"b\"}}", "end of file expected");
    expect_error("{\"Item\":{\"pk\":{\"S\":\"a\"}}},", "end of file expected");
}

Test(import, an_attribute_given_twice_is_an_error)
{
    expect_error("{\"pk\":{\"S\":\"a\"},\"pk\":{\"S\":\"b\"}}",
                 "duplicate object key (an attribute or map key given twice)");
    expect_error("{\"m\":{\"M\":{\"k\":{\"S\":\"a\"},\"k\":{\"S\":\"b\"}}}}",
                 "duplicate object key");
    expect_error("pk" ETX "{\"s\":\"a\"}" STX "pk" ETX "{\"s\":\"b\"}",
                 "attribute \"pk\" at byte 14: the attribute appears twice");
}

Test(import, a_message_quotes_at_most_about_80_bytes_of_the_line)
{
    size_t n = 100000;
    char *line = malloc(n + 64);
    cr_assert_not_null(line);
    int k = snprintf(line, 64, "{\"pk\":{\"S\":\"");
    memset(line + k, 'a', n);
    memcpy(line + k + n, "\"}, oops}", 10);
    const char *msg = import_err(line);
    size_t run = 0, longest = 0;
    for (const char *p = msg; *p; p++) {
        run = *p == 'a' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    cr_assert(longest <= 80, "quoted %zu bytes: %s", longest, msg);
    free(line);

    /* A long attribute name is cut too. */
    char name[300];
    memset(name, 'n', sizeof(name));
    char bad[400];
    snprintf(bad, sizeof(bad), "{\"%.*s\":7}", (int)sizeof(name), name);
    msg = import_err(bad);
    cr_assert(strstr(msg, "nnn...\" is a number"), "%s", msg);
    cr_assert(strlen(msg) < 200, "%s", msg);
}

Test(import, a_json_line_with_a_raw_control_byte_reports_the_json_error)
{
    expect_error("{\"pk\":{\"S\":\"a" ETX "b\"}}", "control character 0x3");
    expect_error("{\"pk\":{\"S\":\"a" STX "b\"}}", "control character 0x2");
}

/* ---- legacy Data Pipeline / EMR Hive lines ---- */

Test(import, legacy_line_with_every_type_equals_its_json)
{
    expect_item(EVERY_TYPE_LEGACY, DDB_IMPORT_LEGACY, EVERY_TYPE);
}

Test(import, legacy_line_and_its_json_equivalent_give_equal_items)
{
    json_t *a = import_ok(EVERY_TYPE_LEGACY, DDB_IMPORT_LEGACY);
    json_t *b = import_ok("{\"Item\":" EVERY_TYPE "}", DDB_IMPORT_EXPORT_LINE);
    json_t *c = import_ok(EVERY_TYPE, DDB_IMPORT_BARE_ITEM);
    cr_assert(json_equal(a, b));
    cr_assert(json_equal(a, c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

Test(import, legacy_json_line_with_every_type_equals_its_json)
{
    expect_item(EVERY_TYPE_LEGACY_JSON, DDB_IMPORT_LEGACY, EVERY_TYPE);
    json_t *a = import_ok(EVERY_TYPE_LEGACY_JSON, DDB_IMPORT_LEGACY);
    json_t *b = import_ok(EVERY_TYPE_LEGACY, DDB_IMPORT_LEGACY);
    cr_assert(json_equal(a, b));
    json_decref(a);
    json_decref(b);
}

/* DynamoDbExport (the "Export DynamoDB table to S3" template) wrote the item map as Gson JSON. */
Test(import, legacy_json_line_as_the_export_template_wrote_it)
{
    expect_item("{\"id\":{\"s\":\"Seattle\"},\"scores\":{\"nS\":[\"100\",\"30\",\"45\"]}}",
                DDB_IMPORT_LEGACY,
                "{\"id\":{\"S\":\"Seattle\"},\"scores\":{\"NS\":[\"100\",\"30\",\"45\"]}}");
    /* The SDK v2 connector writes all lower case. */
    expect_item("{\"id\":{\"s\":\"a\"},\"t\":{\"bool\":true},\"z\":{\"null\":true},"
                "\"ss\":{\"ss\":[\"x\"]}}",
                DDB_IMPORT_LEGACY,
                "{\"id\":{\"S\":\"a\"},\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true},"
                "\"ss\":{\"SS\":[\"x\"]}}");
    /* One lower-case key is enough; upper-case values pass through unchanged. */
    expect_item("{\"pk\":{\"S\":\"a\"},\"n\":{\"n\":\"1\"},\"m\":{\"M\":{\"k\":{\"s\":\"v\"}}}}",
                DDB_IMPORT_LEGACY,
                "{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"1\"},\"m\":{\"M\":{\"k\":{\"S\":\"v\"}}}}");
    /* An attribute named Item, alone. */
    expect_item("{\"Item\":{\"s\":\"x\"}}", DDB_IMPORT_LEGACY, "{\"Item\":{\"S\":\"x\"}}");
    expect_item("{\"Item\":{\"m\":{\"k\":{\"n\":\"1\"}}}}", DDB_IMPORT_LEGACY,
                "{\"Item\":{\"M\":{\"k\":{\"N\":\"1\"}}}}");
}

Test(import, legacy_json_line_errors_name_the_attribute)
{
    expect_error("{\"pk\":{\"s\":\"a\"},\"x\":{\"q\":\"1\"}}",
                 "legacy Data Pipeline line: attribute \"x\": unknown type key \"q\"");
    expect_error("{\"pk\":{\"s\":\"a\"},\"x\":{\"s\":\"1\",\"n\":\"1\"}}",
                 "attribute \"x\": the value has 2 type keys");
    expect_error("{\"pk\":{\"s\":\"a\"},\"m\":{\"m\":{\"k\":{\"l\":[{}]}}}}",
                 "attribute \"m\".k[0]: the value {} has no type key");
    /* Without a lower-case key it is DynamoDB JSON, and ddb_item_check judges the types. */
    expect_item("{\"pk\":{\"S\":\"a\"},\"x\":{\"q\":\"1\"}}", DDB_IMPORT_BARE_ITEM,
                "{\"pk\":{\"S\":\"a\"},\"x\":{\"q\":\"1\"}}");
}

/* The example in emr-dynamodb-connector's DynamoDBItemWritable. */
Test(import, legacy_line_from_the_connectors_own_example)
{
    expect_item("id" ETX "{\"s\":\"Seattle\"}" STX "scores" ETX "{\"nS\":[\"100\",\"30\",\"45\"]}",
                DDB_IMPORT_LEGACY,
                "{\"id\":{\"S\":\"Seattle\"},\"scores\":{\"NS\":[\"100\",\"30\",\"45\"]}}");
}

Test(import, legacy_type_keys_match_in_any_case)
{
    expect_item("a" ETX "{\"S\":\"x\"}" STX "b" ETX "{\"Ss\":[\"x\"]}" STX "c" ETX
                "{\"NS\":[\"1\"]}" STX "d" ETX "{\"bs\":[\"AA==\"]}" STX "e" ETX
                "{\"B\":\"AA==\"}" STX "f" ETX "{\"N\":\"2\"}" STX "g" ETX
                "{\"M\":{\"k\":{\"S\":\"v\"}}}" STX "h" ETX "{\"L\":[{\"N\":\"1\"}]}",
                DDB_IMPORT_LEGACY,
                "{\"a\":{\"S\":\"x\"},\"b\":{\"SS\":[\"x\"]},\"c\":{\"NS\":[\"1\"]},"
                "\"d\":{\"BS\":[\"AA==\"]},\"e\":{\"B\":\"AA==\"},\"f\":{\"N\":\"2\"},"
                "\"g\":{\"M\":{\"k\":{\"S\":\"v\"}}},\"h\":{\"L\":[{\"N\":\"1\"}]}}");
}

Test(import, legacy_null_and_bool_in_every_spelling)
{
    expect_item("a" ETX "{\"nULLValue\":true}" STX "b" ETX "{\"nULL\":true}" STX "c" ETX
                "{\"null\":true}" STX "d" ETX "{\"NullValue\":true}" STX "e" ETX
                "{\"nul\":true}" STX "f" ETX "{\"bOOL\":true}" STX "g" ETX "{\"bool\":false}" STX
                "h" ETX "{\"BOOL\":true}",
                DDB_IMPORT_LEGACY,
                "{\"a\":{\"NULL\":true},\"b\":{\"NULL\":true},\"c\":{\"NULL\":true},"
                "\"d\":{\"NULL\":true},\"e\":{\"NULL\":true},\"f\":{\"BOOL\":true},"
                "\"g\":{\"BOOL\":false},\"h\":{\"BOOL\":true}}");
}

/* Gson's getAsBoolean reads "true" from a string, so the connector's reader accepted it. */
Test(import, legacy_bool_given_as_a_string_becomes_a_boolean)
{
    expect_item("a" ETX "{\"bool\":\"true\"}" STX "b" ETX "{\"bOOL\":\"FALSE\"}" STX "c" ETX
                "{\"nULLValue\":\"true\"}",
                DDB_IMPORT_LEGACY,
                "{\"a\":{\"BOOL\":true},\"b\":{\"BOOL\":false},\"c\":{\"NULL\":true}}");
    /* Anything else is passed on for ddb_item_check to refuse. */
    expect_item("a" ETX "{\"bool\":\"yes\"}", DDB_IMPORT_LEGACY, "{\"a\":{\"BOOL\":\"yes\"}}");
}

/* Old Gson versions escaped '=' as \u003d (HTML-safe output); it is the same string. */
Test(import, legacy_html_escaped_base64_decodes)
{
    expect_item("b" ETX "{\"b\":\"AAE\\u003d\"}" STX "bs" ETX "{\"bS\":[\"Ag\\u003d\\u003d\"]}",
                DDB_IMPORT_LEGACY, "{\"b\":{\"B\":\"AAE=\"},\"bs\":{\"BS\":[\"Ag==\"]}}");
}

Test(import, legacy_binary_inside_maps_and_lists_converts)
{
    expect_item("x" ETX "{\"m\":{\"bin\":{\"b\":\"AAEC\"},\"set\":{\"bS\":[\"AA==\"]},"
                "\"list\":{\"l\":[{\"b\":\"/w==\"},{\"m\":{\"deeper\":{\"b\":\"AQ==\"}}}]}}}",
                DDB_IMPORT_LEGACY,
                "{\"x\":{\"M\":{\"bin\":{\"B\":\"AAEC\"},\"set\":{\"BS\":[\"AA==\"]},"
                "\"list\":{\"L\":[{\"B\":\"/w==\"},{\"M\":{\"deeper\":{\"B\":\"AQ==\"}}}]}}}}");
}

Test(import, legacy_names_may_hold_any_text_but_the_separators)
{
    expect_item("{odd" ETX "{\"s\":\"x\"}" STX " spaced name " ETX "{\"s\":\"y\"}" STX
                "\xc3\xa9t\xc3\xa9" ETX "{\"s\":\"z\"}" STX "Item" ETX "{\"s\":\"w\"}",
                DDB_IMPORT_LEGACY,
                "{\"{odd\":{\"S\":\"x\"},\" spaced name \":{\"S\":\"y\"},"
                "\"\xc3\xa9t\xc3\xa9\":{\"S\":\"z\"},\"Item\":{\"S\":\"w\"}}");
    /* A name that looks like JSON, with a '{' first and the JSON attempt failing. */
    expect_item("{\"a\":1}" ETX "{\"s\":\"x\"}", DDB_IMPORT_LEGACY,
                "{\"{\\\"a\\\":1}\":{\"S\":\"x\"}}");
}

Test(import, legacy_values_may_have_white_space_around_them)
{
    expect_item("a" ETX " { \"s\" : \"x\" } " STX "b" ETX "{\"n\":\"1\"}", DDB_IMPORT_LEGACY,
                "{\"a\":{\"S\":\"x\"},\"b\":{\"N\":\"1\"}}");
}

Test(import, legacy_stray_separators_are_errors)
{
    expect_error(STX "a" ETX "{\"s\":\"x\"}", "attribute 1 at byte 1 is empty");
    expect_error("a" ETX "{\"s\":\"x\"}" STX, "attribute 2 at byte 13 is empty");
    expect_error("a" ETX "{\"s\":\"x\"}" STX STX "b" ETX "{\"s\":\"y\"}",
                 "attribute 2 at byte 13 is empty");
    expect_error("a" ETX "{\"s\":\"x\"}" STX "b{\"s\":\"y\"}",
                 "attribute 2 at byte 13 has no \\x03 between its name and its value");
    expect_error(ETX "{\"s\":\"x\"}", "attribute 1 at byte 1 has an empty name");
    expect_error("a" ETX "{\"s\":\"x\"}" STX ETX "{\"s\":\"y\"}",
                 "attribute 2 at byte 13 has an empty name");
    expect_error("a" ETX "b" ETX "{\"s\":\"x\"}",
                 "attribute \"a\" at byte 1: a second \\x03 at byte 4");
    expect_error("a" ETX "{\"s\":\"x\"}" ETX, "a second \\x03 at byte 12");
    /* A lone STX in an otherwise ordinary line. */
    expect_error("pk" STX "{\"s\":\"x\"}", "attribute 1 at byte 1 has no \\x03");
}

Test(import, legacy_unknown_type_key_is_an_error)
{
    expect_error("a" ETX "{\"x\":\"1\"}", "attribute \"a\" at byte 1: unknown type key \"x\"");
    expect_error("a" ETX "{\"string\":\"1\"}", "unknown type key \"string\"; expected one of s, n");
    expect_error("ok" ETX "{\"s\":\"1\"}" STX "m" ETX
                 "{\"m\":{\"k\":{\"l\":[{\"s\":\"a\"},{\"q\":1}]}}}",
                 "attribute \"m\".k[1] at byte 14: unknown type key \"q\"");
}

Test(import, legacy_value_with_two_type_keys_or_none_is_an_error)
{
    expect_error("a" ETX "{\"s\":\"x\",\"n\":\"1\"}",
                 "the value has 2 type keys (\"s\", \"n\"); expected exactly one");
    expect_error("a" ETX "{}", "the value {} has no type key");
    expect_error("a" ETX "{\"m\":{\"k\":{}}}", "attribute \"a\".k at byte 1: the value {} has no");
}

Test(import, legacy_values_that_are_not_json_objects_are_errors)
{
    expect_error("a" ETX "\"x\"",
                 "attribute \"a\" at byte 1: the value is a string, not an object");
    expect_error("a" ETX "{\"l\":[\"x\"]}", "attribute \"a\"[0] at byte 1: the value is a string");
    expect_error("a" ETX "{\"m\":\"x\"}", "\"m\" holds a string, not an object of attributes");
    expect_error("a" ETX "{\"L\":{}}", "\"L\" holds an object, not an array of values");
    const char *msg = import_err("a" ETX "{\"s\":\"x\"}" STX "b" ETX "{\"s\":}");
    cr_assert(strstr(msg, "attribute \"b\" at byte 13: invalid JSON value at byte 20"), "%s", msg);
    msg = import_err("a" ETX "{\"s\":\"x\"}" STX "b" ETX);
    cr_assert(
        strstr(msg,
               "attribute \"b\" at byte 13: invalid JSON value at byte 14 (the end of the value)"),
        "%s", msg);
    expect_error("a" ETX "{\"s\":\"x\"} junk", "end of file expected");
    expect_error("a" ETX "{\"s\":\"\xff\"}", "not valid UTF-8");
}

Test(import, legacy_name_that_is_not_utf8_is_an_error)
{
    expect_error("a\xff" ETX "{\"s\":\"x\"}",
                 "attribute \"a\\xff\" at byte 1: the name is not valid");
}

/* ---- size and speed ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The best of a few runs, in seconds. */
static double time_parse(const char *line, size_t len, enum ddb_import_format want)
{
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        json_t *item = import_ok_n(line, len, want);
        double t = now() - t0;
        json_decref(item);
        best = t < best ? t : best;
    }
    return best;
}

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

/* jansson parses about 65 MB/s of string on the reference machine (a 400 KB line in 6 ms; 10 ms
 * for 400 KB of small attributes), and ddb_import_line adds only memchr passes. The bound is there
 * to catch quadratic work, with room for a loaded machine; under valgrind or a sanitizer only the
 * times are printed. */
#define SPEED_BOUND 0.1

static void check_speed(const char *what, double t)
{
    cr_log_info("%s: %.3f ms", what, t * 1e3);
    if (!RUNNING_ON_VALGRIND && !UNDER_SANITIZER)
        cr_assert(t < SPEED_BOUND, "%s took %.3f ms", what, t * 1e3);
}

/* {"Item":{"pk":{"S":"a"},"big":{"S":"abc..."}}} with n bytes of string. */
static char *big_string_line(size_t n, size_t *len)
{
    char *line = malloc(n + 128);
    cr_assert_not_null(line);
    int k = snprintf(line, 128, "{\"Item\":{\"pk\":{\"S\":\"a\"},\"big\":{\"S\":\"");
    for (size_t i = 0; i < n; i++)
        line[k + i] = (char)('a' + i % 26);
    *len = k + n;
    *len += snprintf(line + *len, 16, "\"}}}");
    return line;
}

Test(import, a_400_kb_item_line_parses_quickly)
{
    size_t len;
    char *line = big_string_line(400 * 1024, &len);
    check_speed("400 KB string line", time_parse(line, len, DDB_IMPORT_EXPORT_LINE));
    free(line);
}

Test(import, parse_time_grows_linearly_with_the_line)
{
    size_t len_small, len_big;
    char *small = big_string_line(400 * 1024, &len_small);
    char *big = big_string_line(4000 * 1024, &len_big);
    double t_small = time_parse(small, len_small, DDB_IMPORT_EXPORT_LINE);
    double t_big = time_parse(big, len_big, DDB_IMPORT_EXPORT_LINE);
    cr_log_info("400 KB: %.3f ms, 4000 KB: %.3f ms", t_small * 1e3, t_big * 1e3);
    cr_assert(t_big < 30 * t_small, "10 times the line took %.1f times as long", t_big / t_small);
    free(small);
    free(big);
}

Test(import, a_400_kb_line_of_many_attributes_parses_quickly)
{
    size_t cap = 500 * 1024, len = 0, llen = 0;
    char *json = malloc(cap), *legacy = malloc(cap);
    cr_assert(json && legacy);
    len += snprintf(json + len, cap - len, "{\"pk\":{\"S\":\"a\"}");
    llen += snprintf(legacy + llen, cap - llen, "pk" ETX "{\"s\":\"a\"}");
    for (int i = 0; len < 400 * 1024; i++) {
        len += snprintf(json + len, cap - len, ",\"attr%06d\":{\"N\":\"%d\"}", i, i);
        llen += snprintf(legacy + llen, cap - llen, STX "attr%06d" ETX "{\"n\":\"%d\"}", i, i);
    }
    len += snprintf(json + len, cap - len, "}");
    check_speed("400 KB line of small attributes", time_parse(json, len, DDB_IMPORT_BARE_ITEM));
    check_speed("400 KB legacy line of small attributes",
                time_parse(legacy, llen, DDB_IMPORT_LEGACY));

    json_t *a = import_ok_n(json, len, DDB_IMPORT_BARE_ITEM);
    json_t *b = import_ok_n(legacy, llen, DDB_IMPORT_LEGACY);
    cr_assert(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(json);
    free(legacy);
}

Test(import, a_16_mb_line_is_parsed)
{
    size_t n = (16u << 20) - 64;
    char *line = malloc(n + 64);
    cr_assert_not_null(line);
    int k = snprintf(line, 64, "{\"pk\":{\"S\":\"a\"},\"big\":{\"B\":\"");
    memset(line + k, 'A', n - k - 8);
    size_t len = n - 8;
    memcpy(line + len, "\"}}\r", 4);
    len += 4;
    json_t *item = import_ok_n(line, len, DDB_IMPORT_BARE_ITEM);
    const char *b = json_string_value(json_object_get(json_object_get(item, "big"), "B"));
    cr_assert_not_null(b);
    cr_assert_eq(strlen(b), n - k - 8);
    json_decref(item);

    /* The same as a legacy line. */
    k = snprintf(line, 64, "pk" ETX "{\"s\":\"a\"}" STX "big" ETX "{\"b\":\"");
    memset(line + k, 'A', n - k - 8);
    len = n - 8;
    memcpy(line + len, "\"}", 2);
    len += 2;
    item = import_ok_n(line, len, DDB_IMPORT_LEGACY);
    cr_assert_eq(strlen(json_string_value(json_object_get(json_object_get(item, "big"), "B"))),
                 n - k - 8);
    json_decref(item);
    free(line);
}

Test(import, the_line_need_not_be_nul_terminated)
{
    char line[] = "{\"pk\":{\"S\":\"a\"}}XXXX";
    expect_item_n(line, strlen(line) - 4, DDB_IMPORT_BARE_ITEM, "{\"pk\":{\"S\":\"a\"}}");
    char legacy[] = "pk" ETX "{\"s\":\"a\"}" STX "x";
    expect_item_n(legacy, strlen(legacy) - 2, DDB_IMPORT_LEGACY, "{\"pk\":{\"S\":\"a\"}}");
}

Test(import, a_small_error_buffer_is_enough)
{
    char small[8];
    json_t *item;
    enum ddb_import_format f;
    cr_assert_eq(ddb_import_line("{]", 2, &item, &f, small, sizeof(small)), -1);
    cr_assert_eq(strlen(small), 7);
    cr_assert_eq(ddb_import_line("{]", 2, &item, &f, NULL, 0), -1);
    cr_assert_null(item);
}

/* ---- data-driven cases: tests/data/import/<case>/{input,expected} ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    cr_assert_not_null(data);
    cr_assert_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* The next line of data[*pos..len), without its "\n"; NULL at the end. */
static const char *next_line(const char *data, size_t len, size_t *pos, size_t *line_len)
{
    if (*pos >= len)
        return NULL;
    const char *start = data + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    *line_len = nl ? (size_t)(nl - start) : len - *pos;
    *pos += *line_len + (nl ? 1 : 0);
    return start;
}

static void run_case(const char *dir)
{
    char path[512];
    size_t in_len, exp_len, in_pos = 0, exp_pos = 0, n, m;
    snprintf(path, sizeof(path), "%s/input", dir);
    char *input = read_file(path, &in_len);
    snprintf(path, sizeof(path), "%s/expected", dir);
    char *expected = read_file(path, &exp_len);
    const char *line, *want;
    int lineno = 0;

    while ((line = next_line(input, in_len, &in_pos, &n))) {
        lineno++;
        want = next_line(expected, exp_len, &exp_pos, &m);
        cr_assert_not_null(want, "%s: no expectation for line %d", dir, lineno);
        char *w = strndup(want, m);
        char *tab = strchr(w, '\t');
        json_t *item = NULL;
        enum ddb_import_format f;
        int rc = ddb_import_line(line, n, &item, &f, errbuf, sizeof(errbuf));
        if (strcmp(w, "blank") == 0) {
            cr_assert_eq(rc, 1, "%s:%d: expected a blank line (%s)", dir, lineno, errbuf);
        } else if (tab && strncmp(w, "error\t", 6) == 0) {
            cr_assert_eq(rc, -1, "%s:%d: expected an error", dir, lineno);
            cr_assert(strstr(errbuf, tab + 1), "%s:%d: \"%s\" does not say \"%s\"", dir, lineno,
                      errbuf, tab + 1);
        } else {
            cr_assert_not_null(tab, "%s: bad expectation for line %d", dir, lineno);
            *tab = '\0';
            cr_assert_eq(rc, 0, "%s:%d: %s", dir, lineno, errbuf);
            cr_assert_str_eq(ddb_import_format_name(f), w, "%s:%d", dir, lineno);
            char *got = json_dumps(item, JSON_COMPACT);
            cr_assert_str_eq(got, tab + 1, "%s:%d", dir, lineno);
            free(got);
            json_decref(item);
        }
        free(w);
    }
    cr_assert_null(next_line(expected, exp_len, &exp_pos, &m), "%s: more expectations than lines",
                   dir);
    cr_assert(lineno > 0, "%s: no lines", dir);
    free(input);
    free(expected);
}

Test(import, every_case_in_the_data_folder_gives_what_it_expects)
{
    const char *root = DDBFS_TEST_DATA "/import";
    DIR *d = opendir(root);
    struct dirent *e;
    char dir[512];
    int cases = 0;

    cr_assert_not_null(d, "cannot open %s", root);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
        DIR *sub = opendir(dir);
        if (!sub)
            continue; /* README.md */
        closedir(sub);
        run_case(dir);
        cases++;
    }
    closedir(d);
    cr_assert(cases >= 5, "only %d cases", cases);
}
