/* DescribeTable answers as ddbfs reads them (ddb/table.c: ddb_table_info_parse). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "ddb/table.h"

static int parse(const char *text, struct ddb_table_info *info, struct ddb_error *err)
{
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert(doc != NULL, "bad test JSON: %s", text);
    ddb_error_clear(err);
    int rc = ddb_table_info_parse(json_object_get(doc, "Table"), info, err);
    json_decref(doc);
    return rc;
}

Test(table, reads_the_key_schema_and_the_capacities)
{
    struct ddb_table_info info;
    struct ddb_error err;
    cr_assert_eq(parse("{\"Table\":{\"TableName\":\"orders\","
                       "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
                       "{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}],"
                       "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},"
                       "{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
                       "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":100,"
                       "\"WriteCapacityUnits\":50},\"ItemCount\":7}}",
                       &info, &err),
                 0, "%s", err.message);
    cr_assert_str_eq(info.name, "orders");
    cr_assert_str_eq(info.key.hash_name, "pk");
    cr_assert_eq(info.key.hash_type, 'S');
    cr_assert_str_eq(info.key.range_name, "sk");
    cr_assert_eq(info.key.range_type, 'N');
    cr_assert_eq(info.on_demand, 0);
    cr_assert_float_eq(info.read_capacity, 100.0, 1e-9);
    cr_assert_float_eq(info.write_capacity, 50.0, 1e-9);
    cr_assert_eq(info.item_count, 7);
    ddb_table_info_cleanup(&info);
}

/* Found by fuzz_error_response (LeakSanitizer): a second HASH key overwrote the first one's name,
 * which leaked. Such a key schema is not a table's: it is refused. */
Test(table, refuses_a_key_schema_with_two_keys_of_one_kind)
{
    static const char *const kinds[] = {"HASH", "RANGE"};
    for (size_t i = 0; i < 2; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"Table\":{\"TableName\":\"t\","
                 "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
                 "{\"AttributeName\":\"sk\",\"AttributeType\":\"S\"}],"
                 "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},"
                 "{\"AttributeName\":\"sk\",\"KeyType\":\"%s\"},"
                 "{\"AttributeName\":\"pk\",\"KeyType\":\"%s\"}]}}",
                 kinds[i], kinds[i]);
        struct ddb_table_info info;
        struct ddb_error err;
        cr_assert_eq(parse(text, &info, &err), -1, "%s", kinds[i]);
        cr_assert_eq(err.code, DDB_EPROTOCOL);
        cr_assert(strstr(err.message, "key schema") != NULL, "%s", err.message);
        cr_assert_null(info.name); /* cleaned up */
    }
}
