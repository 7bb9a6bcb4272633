/* _schema.json against the real tools: for every case in tests/data/schema, the document made
 * from its DescribeTable goes through `aws dynamodb create-table --cli-input-json` as-is, and the
 * table dynalite then describes gives back the same document (less what dynalite ignores). Also
 * pins down the AWS CLI behaviour the design rests on: it refuses members that are not in the
 * operation's input, which is why time to live is not in the document. */
#include "../../fs/schema.c"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddb/table.h"
#include "testbed.h"

#define CASES DDBFS_TEST_DATA "/schema"

static struct testbed tb;

static void setup(void)
{
    testbed_init(&tb);
}

static void teardown(void)
{
    testbed_cleanup(&tb);
}

TestSuite(schema_roundtrip, .init = setup, .fini = teardown, .timeout = 120);

/* Runs cmd (a shell command line) with stderr joined to stdout. Returns its exit status; *out is
 * what it printed (new string). */
static int run(const char *cmd, char **out)
{
    char *line = NULL;
    cr_assert_geq(asprintf(&line, "%s 2>&1", cmd), 0);
    FILE *p = popen(line, "r");
    cr_assert_not_null(p, "popen %s", line);
    size_t len = 0;
    FILE *m = open_memstream(out, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(m);
    int st = pclose(p);
    free(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Writes text to a new temporary file; returns its path (new string). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/ddbfs-schema-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp");
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* `aws dynamodb OP --cli-input-json file://(doc dumped)`: exit status, output in *out. */
static int aws_with_input(const char *op, const json_t *doc, char **out)
{
    char *text = fs_schema_dump(doc);
    cr_assert_not_null(text);
    char *path = write_temp(text);
    char *cmd = NULL;
    cr_assert_geq(asprintf(&cmd,
                           "aws dynamodb %s --endpoint-url '%s' --cli-input-json 'file://%s' "
                           "--output json",
                           op, testbed_endpoint(), path),
                  0);
    int rc = run(cmd, out);
    unlink(path);
    free(cmd);
    free(path);
    free(text);
    return rc;
}

static json_t *case_table(const char *name)
{
    char *p = NULL;
    cr_assert_geq(asprintf(&p, "%s/%s/describe-table.json", CASES, name), 0);
    json_error_t je;
    json_t *doc = json_load_file(p, 0, &je);
    cr_assert_not_null(doc, "%s: %s", p, je.text);
    free(p);
    json_t *t = json_incref(json_object_get(doc, "Table"));
    json_decref(doc);
    return t;
}

/* The document for a case, renamed to a table name of this run. */
static json_t *case_schema(const char *name, char **table)
{
    json_t *t = case_table(name);
    char err[256] = "";
    json_t *s = fs_schema_from_description(t, err, sizeof err);
    cr_assert_not_null(s, "%s: %s", name, err);
    json_decref(t);
    *table = testbed_table_name("schema");
    json_object_set_new(s, "TableName", json_string(*table));
    return s;
}

/* Leaves out what dynalite 4.0 accepts but ignores (see tests/data/schema/README.md). */
static void strip_unkept(json_t *doc)
{
    static const char *const unkept[] = {"StreamSpecification", "SSESpecification", "TableClass",
                                         "DeletionProtectionEnabled", "OnDemandThroughput"};
    for (size_t i = 0; i < sizeof unkept / sizeof unkept[0]; i++)
        json_object_del(doc, unkept[i]);
    size_t i;
    json_t *ix;
    json_array_foreach(json_object_get(doc, "GlobalSecondaryIndexes"), i, ix)
    {
        json_object_del(ix, "OnDemandThroughput");
    }
}

static void roundtrip(const char *name)
{
    char *table = NULL, *out = NULL;
    json_t *s = case_schema(name, &table);
    int rc = aws_with_input("create-table", s, &out);
    cr_assert_eq(rc, 0, "%s: aws dynamodb create-table refused _schema.json:\n%s", name, out);

    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_wait_active(tb.client, table, 30000, &err), 0, "%s: %s", name, err.message);
    json_t *desc = ddb_describe_table(tb.client, table, &err);
    cr_assert_not_null(desc, "%s: %s", name, err.message);

    char msg[256] = "";
    cr_assert_eq(fs_schema_keys_match(desc, s, msg, sizeof msg), 1, "%s: %s", name, msg);
    json_t *again = fs_schema_from_description(desc, msg, sizeof msg);
    cr_assert_not_null(again, "%s: %s", name, msg);
    strip_unkept(s);
    strip_unkept(again);
    char *want = fs_schema_dump(s), *got = fs_schema_dump(again);
    cr_assert_str_eq(got, want, "%s: the recreated table differs", name);

    free(got);
    free(want);
    json_decref(again);
    json_decref(desc);
    free(out);
    free(table);
    json_decref(s);
}

Test(schema_roundtrip, provisioned_table_with_gsi_and_lsi_is_recreated_by_the_cli)
{
    roundtrip("provisioned-gsi-lsi");
}

Test(schema_roundtrip, on_demand_table_with_gsi_is_recreated_by_the_cli)
{
    roundtrip("on-demand-gsi");
}

Test(schema_roundtrip, table_with_stream_kms_class_and_protection_is_accepted_by_the_cli)
{
    roundtrip("stream-sse-class-ttl");
}

Test(schema_roundtrip, hash_only_table_is_recreated_by_the_cli)
{
    roundtrip("hash-only");
}

Test(schema_roundtrip, the_cli_refuses_a_member_create_table_does_not_take)
{
    char *table = NULL, *out = NULL;
    json_t *s = case_schema("hash-only", &table);
    json_object_set_new(s, "TimeToLiveSpecification",
                        json_pack("{s:b, s:s}", "Enabled", 1, "AttributeName", "exp"));
    cr_assert_neq(aws_with_input("create-table", s, &out), 0);
    cr_assert(strstr(out, "Unknown parameter in input: \"TimeToLiveSpecification\""), "%s", out);
    free(out);
    free(table);
    json_decref(s);
}

Test(schema_roundtrip, the_cli_refuses_a_description_copied_as_is)
{
    json_t *t = case_table("on-demand-gsi");
    char *table = testbed_table_name("schema"), *out = NULL;
    json_object_set_new(t, "TableName", json_string(table));
    cr_assert_neq(aws_with_input("create-table", t, &out), 0);
    cr_assert(strstr(out, "Parameter validation failed"), "%s", out);
    free(out);
    free(table);
    json_decref(t);
}

Test(schema_roundtrip, ttl_specification_passes_the_cli_checks_of_update_time_to_live)
{
    char *table = NULL, *out = NULL;
    json_t *s = case_schema("hash-only", &table);
    cr_assert_eq(aws_with_input("create-table", s, &out), 0, "%s", out);
    free(out);

    json_t *ttl = json_pack("{s:s, s:s}", "TimeToLiveStatus", "ENABLED", "AttributeName", "exp");
    json_t *spec = NULL;
    char err[256] = "";
    cr_assert_eq(fs_schema_ttl_from_description(ttl, &spec, err, sizeof err), 0, "%s", err);
    json_t *req = json_pack("{s:s, s:O}", "TableName", table, "TimeToLiveSpecification", spec);
    int rc = aws_with_input("update-time-to-live", req, &out);
    /* The CLI checks the input before sending it; dynalite 4.0 has no UpdateTimeToLive. */
    cr_assert(rc == 0 || strstr(out, "(UnknownOperationException)"), "%s", out);
    cr_assert_null(strstr(out, "Parameter validation failed"), "%s", out);
    free(out);
    json_decref(req);
    json_decref(spec);
    json_decref(ttl);
    free(table);
    json_decref(s);
}
