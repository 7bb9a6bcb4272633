/* Restore lines: one line of a file written into a table directory, turned into a DynamoDB item
 * (a jansson object mapping attribute names to AttributeValues such as {"S":"x"}). Pure: no I/O,
 * no globals, safe from any thread.
 *
 * The format is detected line by line:
 *  - DDB_IMPORT_EXPORT_LINE: {"Item":{"pk":{"S":"a"},...}}, as ddbfs exports and as DynamoDB's
 *    native export (ExportTableToPointInTime, DYNAMODB_JSON) writes its data files.
 *  - DDB_IMPORT_BARE_ITEM: {"pk":{"S":"a"},...}, an element of a Scan's Items. A line {"Item":V}
 *    (V an object, "Item" the only key) is a bare item when V reads as one AttributeValue all the
 *    way down (one type key holding what that type needs), and an export line otherwise. So
 *    {"Item":{"S":"x"}} is a bare item with one attribute named "Item", and the export of an item
 *    whose only attribute is a key named like a type, {"Item":{"M":{"S":"k"}}}, is an export line.
 *    The two readings exclude each other, so a valid line is never misread.
 *  - DDB_IMPORT_LEGACY: the AWS Data Pipeline export (emr-dynamodb-connector), whose values are
 *    the Java SDK v1 AttributeValue bean as Gson wrote it, with lower-case-first type keys:
 *    {"s":..}, {"nS":[..]}, {"m":{..}}, {"nULLValue":true}, {"bOOL":false}. Two layouts:
 *    - the first, Hive-based export (Hive's map delimiters; DynamoDBExportSerDe reads it back):
 *      name\x03value\x02name\x03value...
 *    - the later "Export DynamoDB table to S3" template (emr-dynamodb-tools DynamoDbExport): one
 *      JSON object per line, {"name":{"s":"text"},...}, recognised by its lower-case type keys.
 *    Type keys match in any case (the SDK v2 connector writes "ss", "null", "bool"); "nullvalue",
 *    "null" and "nul" all mean NULL. Values convert recursively to DynamoDB JSON's upper-case
 *    types. BOOL and NULL also accept the strings "true" and "false", which the connector's reader
 *    (Gson's getAsBoolean) accepted.
 *
 * Lines are parsed with JSON_REJECT_DUPLICATES (an attribute given twice is an error, never a
 * silent overwrite); numbers stay the strings given; attributes keep their order. Checks of the
 * values themselves (key attributes, types, sizes, 38 digits) are ddb_item_check's, in item.h. */
#ifndef DDB_IMPORT_H
#define DDB_IMPORT_H

#include <jansson.h>
#include <stddef.h>

enum ddb_import_format {
    DDB_IMPORT_NONE = 0,
    DDB_IMPORT_EXPORT_LINE, /* {"Item":{...}} */
    DDB_IMPORT_BARE_ITEM,   /* {...} */
    DDB_IMPORT_LEGACY,      /* name\x03{"s":"v"}\x02..., or {"name":{"s":"v"},...} */
};

/* Parses one line (len bytes, no trailing "\n"; one trailing "\r" and a leading UTF-8 byte order
 * mark are ignored). line is borrowed and need not be NUL-terminated.
 *
 * Returns 0 with *item a new reference (the caller json_decref()s it) and *format set;
 * 1 for a blank line (nothing but JSON white space: nothing to store), *item NULL and *format
 * DDB_IMPORT_NONE; -1 with *item NULL and a one-line message in errbuf (when errlen > 0) saying
 * what is wrong and where (column or byte, counted from 1), quoting at most ~80 bytes of the line
 * with control bytes and bytes that are not UTF-8 shown as \xNN. */
int ddb_import_line(const char *line, size_t len, json_t **item, enum ddb_import_format *format,
                    char *errbuf, size_t errlen);

/* A static string naming the format, for logs: "export line", "bare item", "legacy Data Pipeline
 * line" or "none". */
const char *ddb_import_format_name(enum ddb_import_format f);

#endif
