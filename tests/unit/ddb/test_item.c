#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "ddb/item.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "bad JSON in test: %s: %s", text, je.text);
    return j;
}

static struct ddb_key_schema pk_sk = {"pk", 'S', "sk", 'N'};
static struct ddb_key_schema pk_only = {"pk", 'S', NULL, 0};

/* ---- size ---- */

struct size_case {
    size_t size;
    const char *item;
};

/* Sizes computed by dynalite's itemSize (db/index.js) for these items, which are ASCII so that
 * its UTF-16 count equals DynamoDB's UTF-8 count. */
static const struct size_case dynalite_sizes[] = {
    {7, "{\"name\":{\"S\":\"abc\"}}"},
    {4, "{\"n\":{\"N\":\"123\"}}"},
    {3, "{\"n\":{\"N\":\"1\"}}"},
    {3, "{\"n\":{\"N\":\"12\"}}"},
    {4, "{\"n\":{\"N\":\"1.2\"}}"},
    {4, "{\"n\":{\"N\":\"-1\"}}"},
    {2, "{\"n\":{\"N\":\"0\"}}"},
    {3, "{\"n\":{\"N\":\"1000\"}}"},
    {3, "{\"n\":{\"N\":\"0.001\"}}"},
    {21, "{\"n\":{\"N\":\"12345678901234567890123456789012345678\"}}"},
    {22, "{\"n\":{\"N\":\"-12345678901234567890123456789012345678\"}}"},
    {4, "{\"n\":{\"N\":\"1.5e20\"}}"},
    {5, "{\"n\":{\"N\":\"100.100\"}}"},
    {21, "{\"n\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"}}"},
    {3, "{\"n\":{\"N\":\"1E-130\"}}"},
    {4, "{\"b\":{\"B\":\"YWJj\"}}"},
    {2, "{\"b\":{\"B\":\"YQ==\"}}"},
    {1, "{\"b\":{\"B\":\"\"}}"},
    {2, "{\"t\":{\"BOOL\":false}}"},
    {2, "{\"z\":{\"NULL\":true}}"},
    {5, "{\"ss\":{\"SS\":[\"a\",\"bc\"]}}"},
    {9, "{\"ns\":{\"NS\":[\"1\",\"12\",\"-0.5\"]}}"},
    {6, "{\"bs\":{\"BS\":[\"YWJj\",\"YQ==\"]}}"},
    {9, "{\"l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"}]}}"},
    {4, "{\"l\":{\"L\":[]}}"},
    {7, "{\"m\":{\"M\":{\"k\":{\"S\":\"v\"}}}}"},
    {4, "{\"m\":{\"M\":{}}}"},
    {51,
     "{\"pk\":{\"S\":\"user#1\"},\"sk\":{\"N\":\"42\"},\"data\":{\"M\":{\"tags\":{\"SS\":[\"x\","
     "\"yz\"]},\"list\":{\"L\":[{\"BOOL\":true},{\"NULL\":true},{\"M\":{\"deep\":{\"B\":"
     "\"AAEC\"}}}]}}}}"},
};

Test(item, size_matches_dynalite_for_every_type)
{
    for (size_t i = 0; i < sizeof(dynalite_sizes) / sizeof(dynalite_sizes[0]); i++) {
        json_t *item = parse(dynalite_sizes[i].item);
        cr_expect_eq(ddb_item_size(item), dynalite_sizes[i].size, "%s: %zu, dynalite says %zu",
                     dynalite_sizes[i].item, ddb_item_size(item), dynalite_sizes[i].size);
        json_decref(item);
    }
}

Test(item, size_counts_names_and_strings_in_utf8_bytes)
{
    /* "é" is 2 bytes, "日本" 6: DynamoDB counts 8 where dynalite's UTF-16 count says 3. */
    json_t *item = parse("{\"\xc3\xa9\":{\"S\":\"\xe6\x97\xa5\xe6\x9c\xac\"}}");
    cr_assert_eq(ddb_item_size(item), 8);
    json_decref(item);
}

Test(item, size_of_numbers_ignores_leading_and_trailing_zeros_and_the_spelling)
{
    const char *same[] = {"1.5", "01.50", "15e-1", "0.15E1", "+1.5"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"n\":{\"N\":\"%s\"}}", same[i]);
        json_t *item = parse(text);
        cr_expect_eq(ddb_item_size(item), 1 + 3, "%s", same[i]); /* "01|50": 2 pairs + 1 */
        json_decref(item);
    }
}

Test(item, size_of_a_non_object_is_zero)
{
    json_t *a = json_array();
    cr_assert_eq(ddb_item_size(a), 0);
    cr_assert_eq(ddb_item_size(NULL), 0);
    json_decref(a);
}

/* ---- check ---- */

static void expect_ok(const char *text, const struct ddb_key_schema *key)
{
    char err[512] = "untouched";
    json_t *item = parse(text);
    cr_expect_eq(ddb_item_check(item, key, err, sizeof(err)), 0, "%s rejected: %s", text, err);
    json_decref(item);
}

static void expect_error(const char *text, const struct ddb_key_schema *key, const char *want)
{
    char err[512] = "";
    json_t *item = parse(text);
    cr_expect_eq(ddb_item_check(item, key, err, sizeof(err)), -1, "%s accepted", text);
    cr_expect_str_eq(err, want, "%s", text);
    json_decref(item);
}

Test(item, check_accepts_a_well_formed_item_of_every_type)
{
    expect_ok("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"s\":{\"S\":\"\"},\"b\":{\"B\":\"\"},"
              "\"b2\":{\"B\":\"YQ==\"},\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true},"
              "\"ss\":{\"SS\":[\"a\",\"b\"]},\"ns\":{\"NS\":[\"1\",\"-2.5e3\"]},"
              "\"bs\":{\"BS\":[\"YQ==\",\"Yg==\"]},\"l\":{\"L\":[{\"S\":\"x\"},{\"L\":[]}]},"
              "\"m\":{\"M\":{\"k\":{\"M\":{\"j\":{\"N\":\"0\"}}}}}}",
              &pk_sk);
    expect_ok("{\"pk\":{\"S\":\"a\"}}", &pk_only);
    expect_ok("{\"anything\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"},"
              "\"tiny\":{\"N\":\"-1E-130\"},\"zero\":{\"N\":\"0e999\"}}",
              NULL);
}

Test(item, check_rejects_an_item_that_is_not_an_object)
{
    expect_error("[]", NULL,
                 "The item is not a JSON object of attribute names and AttributeValues");
}

Test(item, check_rejects_values_that_are_not_one_typed_attribute_value)
{
    expect_error("{\"a\":\"x\"}", NULL,
                 "Supplied AttributeValue is not an object, must contain exactly one of the "
                 "supported datatypes (attribute a)");
    expect_error("{\"a\":{}}", NULL,
                 "Supplied AttributeValue is empty, must contain exactly one of the supported "
                 "datatypes (attribute a)");
    expect_error("{\"a\":{\"S\":\"x\",\"N\":\"1\"}}", NULL,
                 "Supplied AttributeValue has more than one datatypes set, must contain exactly "
                 "one of the supported datatypes (attribute a)");
    expect_error("{\"a\":{\"SX\":\"x\"}}", NULL,
                 "Supplied AttributeValue has an unsupported datatype SX (attribute a)");
}

Test(item, check_rejects_a_value_of_the_wrong_json_kind_for_its_type)
{
    expect_error("{\"a\":{\"S\":1}}", NULL,
                 "The value of a S attribute must be a string (attribute a)");
    expect_error("{\"a\":{\"N\":1}}", NULL,
                 "The value of a N attribute must be a string of digits (attribute a)");
    expect_error("{\"a\":{\"B\":[]}}", NULL,
                 "The value of a B attribute must be a base64 string (attribute a)");
    expect_error("{\"a\":{\"BOOL\":\"true\"}}", NULL,
                 "The value of a BOOL attribute must be true or false (attribute a)");
    expect_error("{\"a\":{\"L\":{}}}", NULL,
                 "The value of a L attribute must be an array (attribute a)");
    expect_error("{\"a\":{\"M\":[]}}", NULL,
                 "The value of a M attribute must be an object (attribute a)");
    expect_error("{\"a\":{\"SS\":\"x\"}}", NULL,
                 "The value of a SS attribute must be an array (attribute a)");
    expect_error("{\"a\":{\"SS\":[\"x\",2]}}", NULL,
                 "The members of a SS attribute must be strings (attribute a)");
}

Test(item, check_rejects_null_false)
{
    expect_error("{\"a\":{\"NULL\":false}}", NULL,
                 "Null attribute value types must have the value of true (attribute a)");
}

Test(item, check_rejects_numbers_dynamodb_would_refuse)
{
    expect_error("{\"a\":{\"N\":\"abc\"}}", NULL,
                 "The parameter cannot be converted to a numeric value: abc (attribute a)");
    const char *bad[] = {"", "-", ".", "1e", "1e+", "1.2.3", "1 ", " 1", "0x10", "1e5x", "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128], want[256];
        snprintf(text, sizeof(text), "{\"a\":{\"N\":\"%s\"}}", bad[i]);
        snprintf(want, sizeof(want),
                 "The parameter cannot be converted to a numeric value: %s (attribute a)", bad[i]);
        expect_error(text, NULL, want);
    }
    expect_error("{\"a\":{\"N\":\"123456789012345678901234567890123456789\"}}", NULL,
                 "Attempting to store more than 38 significant digits in a Number (attribute a)");
    expect_error("{\"a\":{\"N\":\"1e126\"}}", NULL,
                 "Number overflow. Attempting to store a number with magnitude larger than "
                 "supported range (attribute a)");
    expect_error("{\"a\":{\"N\":\"1e-131\"}}", NULL,
                 "Number underflow. Attempting to store a number with magnitude smaller than "
                 "supported range (attribute a)");
    /* Trailing zeros are not significant; leading zeros of a fraction are not either. */
    expect_ok("{\"a\":{\"N\":\"100000000000000000000000000000000000000000000\"},"
              "\"b\":{\"N\":\"0.000000000000000000000000000000000000000000001\"}}",
              NULL);
}

Test(item, check_rejects_binary_that_is_not_base64)
{
    expect_error("{\"a\":{\"B\":\"YWJ\"}}", NULL,
                 "Base64 encoded length is expected a multiple of 4 bytes but found: 3 "
                 "(attribute a)");
    expect_error("{\"a\":{\"B\":\"YW!j\"}}", NULL,
                 "Invalid base64 character at offset 2 (attribute a)");
    expect_error("{\"a\":{\"B\":\"Y===\"}}", NULL,
                 "Invalid base64 character at offset 1 (attribute a)");
    expect_error("{\"a\":{\"B\":\"YQ=a\"}}", NULL,
                 "Invalid base64 character at offset 2 (attribute a)");
    expect_error("{\"a\":{\"BS\":[\"YQ==\",\"YQ\"]}}", NULL,
                 "Base64 encoded length is expected a multiple of 4 bytes but found: 2 "
                 "(attribute a)");
}

Test(item, check_rejects_empty_sets_and_duplicates)
{
    expect_error("{\"a\":{\"SS\":[]}}", NULL, "A string set may not be empty (attribute a)");
    expect_error("{\"a\":{\"NS\":[]}}", NULL, "A number set may not be empty (attribute a)");
    expect_error("{\"a\":{\"BS\":[]}}", NULL, "A binary set may not be empty (attribute a)");
    expect_error("{\"a\":{\"SS\":[\"x\",\"y\",\"x\"]}}", NULL,
                 "Input collection contains duplicates: x (attribute a)");
    expect_error("{\"a\":{\"BS\":[\"YQ==\",\"YQ==\"]}}", NULL,
                 "Input collection contains duplicates: YQ== (attribute a)");
    /* Numbers are compared by value. */
    expect_error("{\"a\":{\"NS\":[\"1\",\"2\",\"1.0\"]}}", NULL,
                 "Input collection contains duplicates (attribute a)");
    expect_error("{\"a\":{\"NS\":[\"-0\",\"0.00\"]}}", NULL,
                 "Input collection contains duplicates (attribute a)");
    expect_error("{\"a\":{\"NS\":[\"1e2\",\"100\"]}}", NULL,
                 "Input collection contains duplicates (attribute a)");
    expect_ok("{\"a\":{\"NS\":[\"1\",\"-1\",\"10\",\"0.1\"]},\"b\":{\"SS\":[\"x\",\"X\",\"x \"]}}",
              NULL);
    expect_error("{\"a\":{\"NS\":[\"1\",\"z\"]}}", NULL,
                 "The parameter cannot be converted to a numeric value: z (attribute a)");
}

Test(item, check_names_the_path_of_a_nested_error)
{
    expect_error(
        "{\"ok\":{\"S\":\"x\"},\"a\":{\"L\":[{\"S\":\"x\"},{\"M\":{\"b\":{\"NULL\":false}}}]}}",
        NULL, "Null attribute value types must have the value of true (attribute a[1].b)");
    expect_error("{\"m\":{\"M\":{\"x\":{\"L\":[{\"N\":\"q\"}]}}}}", NULL,
                 "The parameter cannot be converted to a numeric value: q (attribute m.x[0])");
}

/* Found by tests/e2e/test_badinput.py: a name or value holding a newline split the log line that
 * quotes it. Every message is one printable line, and a long name is cut between characters. */
Test(item, check_messages_stay_one_line_whatever_names_and_values_hold)
{
    expect_error("{\"bad\\nname\":{\"N\":\"x\\ny\"}}", NULL,
                 "The parameter cannot be converted to a numeric value: x\\x0ay "
                 "(attribute bad\\x0aname)");
    expect_error("{\"a\\u001b[31m\":{\"X\\t\":\"y\"}}", NULL,
                 "Supplied AttributeValue has an unsupported datatype X\\x09 "
                 "(attribute a\\x1b[31m)");
    expect_error("{\"s\":{\"SS\":[\"\\r\",\"\\r\"]}}", NULL,
                 "Input collection contains duplicates: \\x0d (attribute s)");
}

Test(item, check_messages_cut_long_names_between_characters)
{
    /* "a" then 100 two-byte characters: the quote is cut at a character boundary. */
    char text[512], err[1024] = "";
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"a");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "\xc3\xa9");
    snprintf(text + n, sizeof(text) - n, "\":{\"N\":\"q\"}}");
    json_t *item = parse(text);
    cr_assert_eq(ddb_item_check(item, NULL, err, sizeof(err)), -1);
    const char *dots = strstr(err, "...)");
    cr_assert_not_null(dots, "%s", err);
    cr_assert(((unsigned char)dots[-1] & 0xc0) == 0x80 && (unsigned char)dots[-2] == 0xc3,
              "the cut is between characters: %s", err);
    json_decref(item);
}

static char *nested(int levels)
{
    /* levels of L around a string: {"a":{"L":[{"L":[ ... {"S":"x"} ... ]}]}} */
    size_t cap = 64 + (size_t)levels * 16;
    char *s = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(s + n, cap - n, "{\"a\":");
    for (int i = 0; i < levels; i++)
        n += (size_t)snprintf(s + n, cap - n, "{\"L\":[");
    n += (size_t)snprintf(s + n, cap - n, "{\"S\":\"x\"}");
    for (int i = 0; i < levels; i++)
        n += (size_t)snprintf(s + n, cap - n, "]}");
    snprintf(s + n, cap - n, "}");
    return s;
}

Test(item, check_rejects_nesting_deeper_than_32_levels)
{
    char *ok = nested(31); /* 31 lists and the string: 32 levels */
    char *deep = nested(32);
    expect_ok(ok, NULL);
    char err[512] = "";
    json_t *item = parse(deep);
    cr_assert_eq(ddb_item_check(item, NULL, err, sizeof(err)), -1);
    cr_assert(strncmp(err, "Nesting Levels have exceeded supported limits", 45) == 0, "%s", err);
    json_decref(item);
    free(ok);
    free(deep);
}

Test(item, check_rejects_a_missing_key)
{
    expect_error("{\"pk\":{\"S\":\"a\"},\"x\":{\"N\":\"1\"}}", &pk_sk,
                 "Missing the key sk in the item");
    expect_error("{\"sk\":{\"N\":\"1\"}}", &pk_sk, "Missing the key pk in the item");
}

Test(item, check_rejects_a_key_of_the_wrong_type)
{
    expect_error("{\"pk\":{\"N\":\"1\"},\"sk\":{\"N\":\"1\"}}", &pk_sk,
                 "Type mismatch for key pk expected: S actual: N");
    expect_error("{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"1\"}}", &pk_sk,
                 "Type mismatch for key sk expected: N actual: S");
    expect_error("{\"pk\":{\"SS\":[\"a\"]},\"sk\":{\"N\":\"1\"}}", &pk_sk,
                 "Type mismatch for key pk expected: S actual: SS");
    expect_error("{\"pk\":{\"NULL\":true}}", &pk_only,
                 "Type mismatch for key pk expected: S actual: NULL");
}

Test(item, check_rejects_an_empty_string_or_binary_key)
{
    expect_error("{\"pk\":{\"S\":\"\"},\"sk\":{\"N\":\"1\"}}", &pk_sk,
                 "The AttributeValue for a key attribute cannot contain an empty string value. "
                 "Key: pk");
    struct ddb_key_schema bin = {"id", 'B', NULL, 0};
    expect_error("{\"id\":{\"B\":\"\"}}", &bin,
                 "The AttributeValue for a key attribute cannot contain an empty binary value. "
                 "Key: id");
    expect_ok("{\"id\":{\"B\":\"AA==\"}}", &bin);
}

static json_t *item_with(const char *name, char type, size_t bytes)
{
    char *v = malloc(bytes + 1);
    memset(v, 'x', bytes);
    v[bytes] = '\0';
    json_t *item = json_object();
    json_t *av = json_object();
    char t[2] = {type, '\0'};
    json_object_set_new(av, t, json_string(v));
    json_object_set_new(item, name, av);
    free(v);
    return item;
}

Test(item, check_rejects_keys_over_dynamodb_key_size_limits)
{
    char err[512];
    json_t *item = item_with("pk", 'S', 2048);
    json_object_set_new(item, "sk", json_pack("{s:s}", "N", "1"));
    cr_assert_eq(ddb_item_check(item, &pk_sk, err, sizeof(err)), 0, "%s", err);
    json_decref(item);

    item = item_with("pk", 'S', 2049);
    cr_assert_eq(ddb_item_check(item, &pk_only, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "Size of hashkey has exceeded the maximum size limit of 2048 bytes (2049 "
                          "bytes). Key: pk");
    json_decref(item);

    struct ddb_key_schema ss = {"pk", 'S', "sk", 'S'};
    item = item_with("sk", 'S', 1025);
    json_object_set_new(item, "pk", json_pack("{s:s}", "S", "a"));
    cr_assert_eq(ddb_item_check(item, &ss, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "Aggregated size of all range keys has exceeded the size limit of 1024 "
                          "bytes (1025 bytes). Key: sk");
    json_decref(item);
}

Test(item, check_accepts_exactly_400_kb_and_rejects_one_byte_more)
{
    char err[512];
    /* name "d" (1 byte) + value */
    json_t *item = item_with("d", 'S', DDB_ITEM_MAX - 1);
    cr_assert_eq(ddb_item_size(item), DDB_ITEM_MAX);
    cr_assert_eq(ddb_item_check(item, NULL, err, sizeof(err)), 0, "%s", err);
    json_decref(item);

    item = item_with("d", 'S', DDB_ITEM_MAX);
    cr_assert_eq(ddb_item_check(item, NULL, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "Item size has exceeded the maximum allowed size (409601 bytes)");
    json_decref(item);

    item = item_with("d", 'S', 412344);
    cr_assert_eq(ddb_item_check(item, NULL, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "Item size has exceeded the maximum allowed size (412345 bytes)");
    json_decref(item);
}

Test(item, check_works_without_an_error_buffer_and_truncates_a_small_one)
{
    json_t *item = parse("{\"pk\":{\"S\":\"a\"}}");
    cr_assert_eq(ddb_item_check(item, &pk_sk, NULL, 0), -1);
    char small[8];
    cr_assert_eq(ddb_item_check(item, &pk_sk, small, sizeof(small)), -1);
    cr_assert_str_eq(small, "Missing");
    json_decref(item);
}

/* ---- key identity ---- */

static char *key_of(const char *text, const struct ddb_key_schema *key)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    json_t *item = parse(text);
    int rc = ddb_item_key_append(item, key, &b);
    json_decref(item);
    if (rc < 0) {
        buf_cleanup(&b);
        return NULL;
    }
    char *s = strdup(buf_str(&b));
    buf_cleanup(&b);
    return s;
}

Test(item, key_string_is_the_canonical_form_of_the_key)
{
    char *k =
        key_of("{\"x\":{\"S\":\"zz\"},\"sk\":{\"N\":\"42\"},\"pk\":{\"S\":\"user#1\"}}", &pk_sk);
    cr_assert_str_eq(k, "S:6:user#1|N:4:42e1"); /* numbers in canonical form */
    free(k);
    k = key_of("{\"pk\":{\"S\":\"a\"}}", &pk_only);
    cr_assert_str_eq(k, "S:1:a");
    free(k);
}

Test(item, key_strings_are_equal_for_equal_keys_whatever_the_other_attributes)
{
    char *a = key_of("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"v\":{\"S\":\"one\"}}", &pk_sk);
    char *b = key_of("{\"w\":{\"BOOL\":true},\"sk\":{\"N\":\"1\"},\"pk\":{\"S\":\"a\"}}", &pk_sk);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}

Test(item, key_strings_differ_for_different_keys)
{
    const char *items[] = {
        "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}",
        "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"2\"}}",
        "{\"pk\":{\"S\":\"b\"},\"sk\":{\"N\":\"1\"}}",
        "{\"pk\":{\"S\":\"a|N:1:1\"},\"sk\":{\"N\":\"1\"}}",
        "{\"pk\":{\"S\":\"ab\"},\"sk\":{\"N\":\"1\"}}",
        "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"11\"}}",
        "{\"pk\":{\"B\":\"YQ==\"},\"sk\":{\"N\":\"1\"}}",
        "{\"pk\":{\"N\":\"1\"},\"sk\":{\"N\":\"1\"}}",
        "{\"pk\":{\"S\":\"1\"},\"sk\":{\"N\":\"1\"}}",
    };
    enum { N = sizeof(items) / sizeof(items[0]) };
    char *keys[N];
    for (size_t i = 0; i < N; i++) {
        keys[i] = key_of(items[i], &pk_sk);
        cr_assert_not_null(keys[i], "%s", items[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            cr_expect_str_neq(keys[i], keys[j], "%s and %s", items[i], items[j]);
    for (size_t i = 0; i < N; i++)
        free(keys[i]);
}

Test(item, numbers_in_keys_compare_by_value_as_dynamodb_does)
{
    /* "1", "1.0" and "10E-1" are one key to DynamoDB (a batch holding two of them is refused as
     * duplicates), and a server may echo any spelling in UnprocessedItems. */
    char *a = key_of("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}", &pk_sk);
    char *b = key_of("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1.0\"}}", &pk_sk);
    char *c = key_of("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"10E-1\"}}", &pk_sk);
    cr_expect_str_eq(a, b);
    cr_expect_str_eq(a, c);
    free(a);
    free(b);
    free(c);
}

Test(item, key_strings_separate_hash_and_range_unambiguously)
{
    struct ddb_key_schema ss = {"pk", 'S', "sk", 'S'};
    char *a = key_of("{\"pk\":{\"S\":\"ab\"},\"sk\":{\"S\":\"c\"}}", &ss);
    char *b = key_of("{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"bc\"}}", &ss);
    char *c = key_of("{\"pk\":{\"S\":\"a|S:1:b\"},\"sk\":{\"S\":\"c\"}}", &ss);
    cr_assert_str_neq(a, b);
    cr_assert_str_neq(a, c);
    cr_assert_str_neq(b, c);
    free(a);
    free(b);
    free(c);
}

Test(item, key_strings_keep_embedded_nul_bytes)
{
    struct buf x, y;
    buf_init(&x, 1024);
    buf_init(&y, 1024);
    json_t *i1 = json_pack("{s:{s:s%}}", "pk", "S", "a\0b", (size_t)3);
    json_t *i2 = json_pack("{s:{s:s%}}", "pk", "S", "a\0c", (size_t)3);
    cr_assert_eq(ddb_item_key_append(i1, &pk_only, &x), 0);
    cr_assert_eq(ddb_item_key_append(i2, &pk_only, &y), 0);
    cr_assert_eq(x.len, y.len);
    cr_assert_neq(memcmp(x.data, y.data, x.len), 0);
    json_decref(i1);
    json_decref(i2);
    buf_cleanup(&x);
    buf_cleanup(&y);
}

Test(item, key_append_fails_on_a_missing_key_and_leaves_the_buffer_as_it_was)
{
    struct buf b;
    buf_init(&b, 1024);
    cr_assert_eq(buf_addstr(&b, "prefix;"), BUF_OK);
    json_t *item = parse("{\"pk\":{\"S\":\"a\"}}");
    cr_assert_eq(ddb_item_key_append(item, &pk_sk, &b), -1);
    cr_assert_str_eq(buf_str(&b), "prefix;");
    cr_assert_eq(b.len, 7);
    cr_assert_eq(ddb_item_key_append(item, &pk_only, &b), 0);
    cr_assert_str_eq(buf_str(&b), "prefix;S:1:a");
    json_decref(item);
    buf_cleanup(&b);
}

Test(item, key_append_fails_when_the_buffer_cap_is_reached)
{
    struct buf b;
    buf_init(&b, 4);
    json_t *item = parse("{\"pk\":{\"S\":\"abcdef\"}}");
    cr_assert_eq(ddb_item_key_append(item, &pk_only, &b), -1);
    cr_assert_eq(b.len, 0);
    json_decref(item);
    buf_cleanup(&b);
}

/* ---- key schema ---- */

Test(item, key_schema_copy_duplicates_the_names)
{
    struct ddb_key_schema dst;
    cr_assert_eq(ddb_key_schema_copy(&dst, &pk_sk), 0);
    cr_assert_str_eq(dst.hash_name, "pk");
    cr_assert_str_eq(dst.range_name, "sk");
    cr_assert_neq(dst.hash_name, pk_sk.hash_name);
    cr_assert_eq(dst.hash_type, 'S');
    cr_assert_eq(dst.range_type, 'N');
    ddb_key_schema_cleanup(&dst);
    cr_assert_null(dst.hash_name);
    cr_assert_null(dst.range_name);
    ddb_key_schema_cleanup(&dst);

    cr_assert_eq(ddb_key_schema_copy(&dst, &pk_only), 0);
    cr_assert_str_eq(dst.hash_name, "pk");
    cr_assert_null(dst.range_name);
    ddb_key_schema_cleanup(&dst);
    ddb_key_schema_cleanup(NULL);
}
