/* libFuzzer target: one restore line in any format (ddb/import.c), then the checks an item goes
 * through before it is sent (ddb/item.c: check, size, key).
 *
 * Besides "no crash, no leak, no undefined behaviour", it asserts what the restore contract needs:
 * an error message is one printable line (no newline or other control byte: it goes into a log
 * line), and a valid item survives the trip through an export line unchanged (what ddbfs writes,
 * ddbfs reads back as the same item, whatever format it came in). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "ddb/import.h"
#include "ddb/item.h"

static void assert_one_line(const char *msg, const char *what)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "%s message holds control byte 0x%02x: %s\n", what, *p, msg);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ddb_key_schema key = {"pk", 'S', "sk", 'N'};
    char err[DDB_ERRMSG_MAX];
    json_t *item = NULL, *again = NULL;
    enum ddb_import_format fmt, fmt2;
    struct buf kb;
    char *line = NULL;

    buf_init(&kb, DDB_ITEM_MAX);
    int rc = ddb_import_line((const char *)data, size, &item, &fmt, err, sizeof err);
    if (rc < 0) {
        assert_one_line(err, "import");
        goto out;
    }
    if (rc == 1)
        goto out;
    (void)ddb_item_size(item);
    (void)ddb_item_key_append(item, &key, &kb);
    if (ddb_item_check(item, NULL, err, sizeof err) != 0) {
        assert_one_line(err, "item check");
        goto out;
    }
    if (ddb_item_check(item, &key, err, sizeof err) != 0)
        assert_one_line(err, "key check");

    /* A valid item, written as ddbfs exports it and read back, is the same item. */
    json_t *wrapped = json_pack("{s:O}", "Item", item);
    line = json_dumps(wrapped, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(wrapped);
    if (!line)
        goto out;
    if (ddb_import_line(line, strlen(line), &again, &fmt2, err, sizeof err) != 0 ||
        !json_equal(item, again)) {
        fprintf(stderr, "a valid item does not survive an export line: %s\n(%s)\n", line,
                again ? "read back differently" : err);
        abort();
    }
out:
    free(line);
    json_decref(again);
    json_decref(item);
    buf_cleanup(&kb);
    return 0;
}
