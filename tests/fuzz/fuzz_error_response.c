/* libFuzzer target: an error answer's body (ddb/error.c: __type, message or Message, a body that
 * is not JSON), and a DescribeTable answer's table as ddbfs reads it (ddb/table.c's key schema and
 * capacities, fs/schema.c's CreateTable request and TTL). The first byte picks the HTTP status. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb/error.h"
#include "ddb/table.h"
#include "fs/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {400, 403, 404, 413, 500, 503, 200, 301};
    struct ddb_error e;
    char errbuf[1024];

    if (size < 1)
        return 0;
    ddb_error_clear(&e);
    ddb_error_from_response(&e, statuses[data[0] % 8], (const char *)data + 1, size - 1,
                            "fuzz-request-id");
    for (const char *p = e.message; *p; p++) {
        if (*p == '\n') {
            fprintf(stderr, "error message holds a newline: %s\n", e.message);
            abort();
        }
    }

    json_t *root = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    json_t *table = json_object_get(root, "Table");
    if (table) {
        struct ddb_table_info info;
        memset(&info, 0, sizeof info);
        ddb_error_clear(&e);
        if (ddb_table_info_parse(table, &info, &e) == 0)
            ddb_table_info_cleanup(&info);
        json_t *schema = fs_schema_from_description(table, errbuf, sizeof errbuf);
        if (schema) {
            char *text = fs_schema_dump(schema);
            (void)fs_schema_keys_match(schema, schema, errbuf, sizeof errbuf);
            free(text);
            json_decref(schema);
        }
    }
    json_t *ttl = json_object_get(root, "TimeToLiveDescription");
    if (ttl) {
        json_t *spec = NULL;
        if (fs_schema_ttl_from_description(ttl, &spec, errbuf, sizeof errbuf) == 0)
            json_decref(spec);
    }
    json_decref(root);
    return 0;
}
