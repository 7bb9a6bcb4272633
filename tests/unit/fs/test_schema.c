/* fs/schema.c lives in the ddbfs executable, not a library: compile it into this test. */
#include "../../../fs/schema.c"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CASES DDBFS_TEST_DATA "/schema"

/* ---- helpers ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&s, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(m);
    fclose(f);
    return s;
}

static char *case_path(const char *name, const char *file)
{
    char *p = NULL;
    cr_assert_geq(asprintf(&p, "%s/%s/%s", CASES, name, file), 0);
    return p;
}

/* The member `member` of the JSON file name/file (new reference), or NULL when the file is absent.
 */
static json_t *load_member(const char *name, const char *file, const char *member)
{
    char *p = case_path(name, file);
    json_error_t je;
    json_t *doc = json_load_file(p, 0, &je);
    free(p);
    if (!doc)
        return NULL;
    json_t *m = member ? json_incref(json_object_get(doc, member)) : json_incref(doc);
    json_decref(doc);
    return m;
}

static json_t *case_schema(const char *name)
{
    json_t *table = load_member(name, "describe-table.json", "Table");
    cr_assert_not_null(table, "%s: no describe-table.json", name);
    char err[256] = "";
    json_t *s = fs_schema_from_description(table, err, sizeof err);
    cr_assert_not_null(s, "%s: %s", name, err);
    json_decref(table);
    return s;
}

/* Checks one case folder: the dump is byte for byte expected.json, and the TTL specification is
 * expected-ttl.json (or none when that file is absent). */
static void check_case(const char *name)
{
    json_t *s = case_schema(name);
    char *got = fs_schema_dump(s);
    char *path = case_path(name, "expected.json");
    char *want = slurp(path);
    cr_assert_not_null(want, "%s: cannot read %s", name, path);
    cr_assert_str_eq(got, want, "%s: _schema.json differs from expected.json", name);

    json_t *ttl = load_member(name, "describe-ttl.json", "TimeToLiveDescription");
    json_t *want_spec = load_member(name, "expected-ttl.json", NULL);
    json_t *spec = NULL;
    char err[256] = "";
    cr_assert_eq(fs_schema_ttl_from_description(ttl, &spec, err, sizeof err), 0, "%s: %s", name,
                 err);
    if (want_spec)
        cr_assert(json_equal(spec, want_spec), "%s: wrong TimeToLiveSpecification", name);
    else
        cr_assert_null(spec, "%s: TTL is off but a specification was made", name);

    json_decref(spec);
    json_decref(want_spec);
    json_decref(ttl);
    free(want);
    free(path);
    free(got);
    json_decref(s);
}

/* Runs fn on the name of every case folder; returns how many there were. */
static int each_case(void (*fn)(const char *name))
{
    DIR *d = opendir(CASES);
    cr_assert_not_null(d, "cannot open %s", CASES);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = NULL;
        struct stat st;
        cr_assert_geq(asprintf(&p, "%s/%s", CASES, e->d_name), 0);
        int is_dir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        if (!is_dir)
            continue;
        fn(e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    cr_assert_not_null(v, "bad test JSON: %s at %d:%d", je.text, je.line, je.column);
    return v;
}

/* The document for the description in text; NULL allowed (then err holds why). */
static json_t *from_text(const char *text, char *err, size_t errlen)
{
    json_t *t = parse(text);
    json_t *s = fs_schema_from_description(t, err, errlen);
    json_decref(t);
    return s;
}

static json_t *must_from_text(const char *text)
{
    char err[256] = "";
    json_t *s = from_text(text, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    return s;
}

static void assert_error(const char *text, const char *needle)
{
    char err[256] = "";
    json_t *s = from_text(text, err, sizeof err);
    cr_assert_null(s, "expected an error containing \"%s\"", needle);
    cr_assert(strstr(err, needle), "error \"%s\" does not contain \"%s\"", err, needle);
}

#define KEYS_PK                                                                                    \
    "\"TableName\":\"t\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":"   \
    "\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]"
#define ON_DEMAND                                                                                  \
    "\"BillingModeSummary\":{\"BillingMode\":\"PAY_PER_REQUEST\"},"                                \
    "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0,"                 \
    "\"NumberOfDecreasesToday\":0}"
#define PROVISIONED "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":4,\"WriteCapacityUnits\":2}"

/* ---- the recorded cases ---- */

Test(schema, every_case_folder_gives_its_expected_document_and_ttl)
{
    cr_assert_geq(each_case(check_case), 4);
}

Test(schema, provisioned_table_keeps_capacities_of_table_and_gsi_and_every_projection)
{
    check_case("provisioned-gsi-lsi");
    json_t *s = case_schema("provisioned-gsi-lsi");
    cr_assert_str_eq(json_string_value(json_object_get(s, "BillingMode")), "PROVISIONED");
    json_t *gsi = json_array_get(json_object_get(s, "GlobalSecondaryIndexes"), 0);
    json_t *want = parse("{\"ProjectionType\":\"INCLUDE\",\"NonKeyAttributes\":[\"total\","
                         "\"currency\"]}");
    cr_assert(json_equal(json_object_get(gsi, "Projection"), want));
    json_t *lsi = json_array_get(json_object_get(s, "LocalSecondaryIndexes"), 0);
    cr_assert_not_null(json_object_get(lsi, "Projection"));
    cr_assert_null(json_object_get(lsi, "ProvisionedThroughput"), "an LSI has no capacity");
    json_decref(want);
    json_decref(s);
}

Test(schema, on_demand_table_and_its_gsis_carry_no_provisioned_throughput)
{
    check_case("on-demand-gsi");
    json_t *s = case_schema("on-demand-gsi");
    cr_assert_str_eq(json_string_value(json_object_get(s, "BillingMode")), "PAY_PER_REQUEST");
    cr_assert_null(json_object_get(s, "ProvisionedThroughput"));
    json_t *gsi = json_array_get(json_object_get(s, "GlobalSecondaryIndexes"), 0);
    cr_assert_not_null(gsi);
    cr_assert_null(json_object_get(gsi, "ProvisionedThroughput"));
    json_decref(s);
}

Test(schema, stream_kms_encryption_class_and_protection_are_kept_and_ttl_is_separate)
{
    check_case("stream-sse-class-ttl");
    json_t *s = case_schema("stream-sse-class-ttl");
    cr_assert_null(json_object_get(s, "TimeToLiveSpecification"), "CreateTable takes no TTL");
    cr_assert_null(json_object_get(s, "WarmThroughput"));
    json_decref(s);
}

Test(schema, hash_only_table_has_a_single_key_and_definition)
{
    check_case("hash-only");
    json_t *s = case_schema("hash-only");
    cr_assert_eq(json_array_size(json_object_get(s, "KeySchema")), 1);
    cr_assert_eq(json_array_size(json_object_get(s, "AttributeDefinitions")), 1);
    json_decref(s);
}

/* The members of CreateTable's input shape (the AWS CLI lists them when it rejects another). */
static const char *const table_members[] = {"AttributeDefinitions",
                                            "TableName",
                                            "KeySchema",
                                            "LocalSecondaryIndexes",
                                            "GlobalSecondaryIndexes",
                                            "BillingMode",
                                            "ProvisionedThroughput",
                                            "StreamSpecification",
                                            "SSESpecification",
                                            "Tags",
                                            "TableClass",
                                            "DeletionProtectionEnabled",
                                            "WarmThroughput",
                                            "ResourcePolicy",
                                            "OnDemandThroughput",
                                            NULL};
static const char *const gsi_members[] = {
    "IndexName",          "KeySchema",      "Projection", "ProvisionedThroughput",
    "OnDemandThroughput", "WarmThroughput", NULL};
static const char *const lsi_members[] = {"IndexName", "KeySchema", "Projection", NULL};
static const char *const throughput_members[] = {"ReadCapacityUnits", "WriteCapacityUnits", NULL};
static const char *const projection_members[] = {"ProjectionType", "NonKeyAttributes", NULL};
static const char *const key_members[] = {"AttributeName", "KeyType", NULL};

static void assert_members_in(const json_t *obj, const char *const *allowed, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(*a, k);
        cr_assert(ok, "%s: %s is not a CreateTable input member", where, k);
    }
}

static void assert_index_list(const json_t *list, const char *const *allowed, const char *where)
{
    size_t i;
    json_t *ix;
    json_array_foreach(list, i, ix)
    {
        assert_members_in(ix, allowed, where);
        assert_members_in(json_object_get(ix, "Projection"), projection_members, where);
        assert_members_in(json_object_get(ix, "ProvisionedThroughput"), throughput_members, where);
        size_t j;
        json_t *k;
        json_array_foreach(json_object_get(ix, "KeySchema"), j, k)
        {
            assert_members_in(k, key_members, where);
        }
    }
}

static void assert_only_create_table_members(const char *name)
{
    json_t *s = case_schema(name);
    assert_members_in(s, table_members, name);
    assert_members_in(json_object_get(s, "ProvisionedThroughput"), throughput_members, name);
    assert_index_list(json_object_get(s, "GlobalSecondaryIndexes"), gsi_members, name);
    assert_index_list(json_object_get(s, "LocalSecondaryIndexes"), lsi_members, name);
    json_decref(s);
}

Test(schema, never_copies_a_read_only_field_of_the_description)
{
    each_case(assert_only_create_table_members);
}

/* ---- billing ---- */

Test(schema, zero_capacities_without_a_billing_summary_mean_on_demand)
{
    json_t *s = must_from_text("{" KEYS_PK ",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":0,"
                               "\"WriteCapacityUnits\":0}}");
    cr_assert_str_eq(json_string_value(json_object_get(s, "BillingMode")), "PAY_PER_REQUEST");
    cr_assert_null(json_object_get(s, "ProvisionedThroughput"));
    json_decref(s);
}

Test(schema, billing_summary_wins_over_the_reported_capacities)
{
    json_t *s = must_from_text("{" KEYS_PK ",\"BillingModeSummary\":{\"BillingMode\":"
                               "\"PAY_PER_REQUEST\"}," PROVISIONED "}");
    cr_assert_str_eq(json_string_value(json_object_get(s, "BillingMode")), "PAY_PER_REQUEST");
    cr_assert_null(json_object_get(s, "ProvisionedThroughput"));
    json_decref(s);
}

Test(schema, provisioned_capacity_written_as_a_whole_real_is_an_integer)
{
    json_t *s = must_from_text("{" KEYS_PK ",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":5.0,"
                               "\"WriteCapacityUnits\":3,\"NumberOfDecreasesToday\":2}}");
    json_t *want = parse("{\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":3}");
    cr_assert(json_equal(json_object_get(s, "ProvisionedThroughput"), want));
    json_decref(want);
    json_decref(s);
}

Test(schema, provisioned_table_with_a_zero_capacity_is_refused)
{
    assert_error("{" KEYS_PK ",\"BillingModeSummary\":{\"BillingMode\":\"PROVISIONED\"},"
                 "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0}}",
                 "table: provisioned");
    assert_error("{" KEYS_PK ",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":3,"
                 "\"WriteCapacityUnits\":0}}",
                 "table: provisioned");
}

Test(schema, provisioned_gsi_without_capacity_is_refused)
{
    assert_error("{" KEYS_PK "," PROVISIONED ",\"GlobalSecondaryIndexes\":[{\"IndexName\":\"g\","
                 "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
                 "\"Projection\":{\"ProjectionType\":\"ALL\"}}]}",
                 "index g: provisioned");
}

Test(schema, on_demand_maxima_are_kept_only_when_set)
{
    json_t *s = must_from_text(
        "{" KEYS_PK "," ON_DEMAND ",\"OnDemandThroughput\":{\"MaxReadRequestUnits\":-1,"
        "\"MaxWriteRequestUnits\":-1},\"GlobalSecondaryIndexes\":[{\"IndexName\":\"g\","
        "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],\"Projection\":"
        "{\"ProjectionType\":\"KEYS_ONLY\"},\"OnDemandThroughput\":{\"MaxReadRequestUnits\":-1,"
        "\"MaxWriteRequestUnits\":50}}]}");
    cr_assert_null(json_object_get(s, "OnDemandThroughput"), "-1 means no maximum");
    json_t *gsi = json_array_get(json_object_get(s, "GlobalSecondaryIndexes"), 0);
    json_t *want = parse("{\"MaxWriteRequestUnits\":50}");
    cr_assert(json_equal(json_object_get(gsi, "OnDemandThroughput"), want));
    json_decref(want);
    json_decref(s);
}

/* ---- keys, definitions, indexes ---- */

Test(schema, attribute_definitions_keep_only_the_key_attributes)
{
    json_t *s = must_from_text(
        "{\"TableName\":\"t\",\"AttributeDefinitions\":[{\"AttributeName\":\"x\","
        "\"AttributeType\":\"N\"},{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
        "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]," ON_DEMAND "}");
    json_t *want = parse("[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}]");
    cr_assert(json_equal(json_object_get(s, "AttributeDefinitions"), want));
    json_decref(want);
    json_decref(s);
}

Test(schema, key_schema_lists_hash_before_range)
{
    json_t *s = must_from_text(
        "{\"TableName\":\"t\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
        "\"AttributeType\":\"S\"},{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}],"
        "\"KeySchema\":[{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"},{\"AttributeName\":"
        "\"pk\",\"KeyType\":\"HASH\"}]," ON_DEMAND "}");
    json_t *want = parse("[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":"
                         "\"sk\",\"KeyType\":\"RANGE\"}]");
    cr_assert(json_equal(json_object_get(s, "KeySchema"), want));
    json_decref(want);
    json_decref(s);
}

Test(schema, a_key_without_its_attribute_definition_is_refused)
{
    assert_error("{\"TableName\":\"t\",\"AttributeDefinitions\":[],\"KeySchema\":[{"
                 "\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]," ON_DEMAND "}",
                 "key attribute pk has no definition");
    assert_error("{" KEYS_PK "," ON_DEMAND ",\"GlobalSecondaryIndexes\":[{\"IndexName\":\"g\","
                 "\"KeySchema\":[{\"AttributeName\":\"email\",\"KeyType\":\"HASH\"}],"
                 "\"Projection\":{\"ProjectionType\":\"ALL\"}}]}",
                 "key attribute email has no definition");
}

Test(schema, a_broken_key_schema_is_refused)
{
    assert_error("{\"TableName\":\"t\",\"AttributeDefinitions\":[],\"KeySchema\":[]," ON_DEMAND "}",
                 "table: KeySchema is not a list");
    assert_error("{\"TableName\":\"t\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
                 "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\","
                 "\"KeyType\":\"RANGE\"}]," ON_DEMAND "}",
                 "table: KeySchema has no HASH key");
}

Test(schema, an_index_without_a_projection_is_refused)
{
    assert_error("{" KEYS_PK "," ON_DEMAND ",\"GlobalSecondaryIndexes\":[{\"IndexName\":\"g\","
                 "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}]}",
                 "index g: Projection has no ProjectionType");
}

Test(schema, an_empty_index_list_is_left_out)
{
    json_t *s = must_from_text("{" KEYS_PK "," ON_DEMAND ",\"GlobalSecondaryIndexes\":[],"
                               "\"LocalSecondaryIndexes\":[]}");
    cr_assert_null(json_object_get(s, "GlobalSecondaryIndexes"));
    cr_assert_null(json_object_get(s, "LocalSecondaryIndexes"));
    json_decref(s);
}

Test(schema, a_description_without_a_table_name_is_refused)
{
    assert_error("{\"KeySchema\":[]}", "no TableName");
    char err[64] = "";
    cr_assert_null(fs_schema_from_description(NULL, err, sizeof err));
    cr_assert_str_not_empty(err);
    json_t *t = parse("[]");
    cr_assert_null(fs_schema_from_description(t, NULL, 0), "a NULL errbuf is allowed");
    json_decref(t);
}

/* ---- stream, encryption, class, protection ---- */

Test(schema, a_disabled_stream_gives_no_stream_specification)
{
    json_t *s = must_from_text("{" KEYS_PK "," ON_DEMAND
                               ",\"StreamSpecification\":{\"StreamEnabled\":false}}");
    cr_assert_null(json_object_get(s, "StreamSpecification"));
    json_decref(s);
    assert_error("{" KEYS_PK "," ON_DEMAND ",\"StreamSpecification\":{\"StreamEnabled\":true}}",
                 "without a StreamViewType");
}

Test(schema, only_kms_encryption_that_is_on_gives_an_sse_specification)
{
    static const char *const off[] = {
        "{" KEYS_PK "," ON_DEMAND "}",
        "{" KEYS_PK "," ON_DEMAND ",\"SSEDescription\":{\"Status\":\"DISABLED\"}}",
        "{" KEYS_PK "," ON_DEMAND
        ",\"SSEDescription\":{\"Status\":\"DISABLING\",\"SSEType\":\"KMS\"}}",
        "{" KEYS_PK "," ON_DEMAND
        ",\"SSEDescription\":{\"Status\":\"ENABLED\",\"SSEType\":\"AES256\"}}",
    };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        json_t *s = must_from_text(off[i]);
        cr_assert_null(json_object_get(s, "SSESpecification"), "case %zu", i);
        json_decref(s);
    }
    json_t *s = must_from_text("{" KEYS_PK "," ON_DEMAND ",\"SSEDescription\":{\"Status\":"
                               "\"ENABLING\",\"SSEType\":\"KMS\"}}");
    json_t *want = parse("{\"Enabled\":true,\"SSEType\":\"KMS\"}");
    cr_assert(json_equal(json_object_get(s, "SSESpecification"), want),
              "no key ARN: no KMSMasterKeyId");
    json_decref(want);
    json_decref(s);
}

Test(schema, deletion_protection_appears_only_when_on)
{
    json_t *s = must_from_text("{" KEYS_PK "," ON_DEMAND ",\"DeletionProtectionEnabled\":false,"
                               "\"TableClassSummary\":{\"TableClass\":\"STANDARD\"}}");
    cr_assert_null(json_object_get(s, "DeletionProtectionEnabled"));
    cr_assert_str_eq(json_string_value(json_object_get(s, "TableClass")), "STANDARD");
    json_decref(s);
}

/* ---- time to live ---- */

static json_t *ttl_spec(const char *text, int *rc, char *err, size_t errlen)
{
    json_t *ttl = text ? parse(text) : NULL;
    json_t *sentinel = json_string("overwritten"), *spec = sentinel;
    *rc = fs_schema_ttl_from_description(ttl, &spec, err, errlen);
    cr_assert_neq(spec, sentinel, "*spec is always set");
    json_decref(sentinel);
    json_decref(ttl);
    return spec;
}

Test(schema, ttl_that_is_off_gives_no_specification)
{
    static const char *const off[] = {
        NULL,
        "{\"TimeToLiveStatus\":\"DISABLED\"}",
        "{\"TimeToLiveStatus\":\"DISABLING\",\"AttributeName\":\"exp\"}",
        "{}",
    };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        int rc;
        char err[128] = "";
        json_t *spec = ttl_spec(off[i], &rc, err, sizeof err);
        cr_assert_eq(rc, 0, "case %zu: %s", i, err);
        cr_assert_null(spec, "case %zu", i);
    }
}

Test(schema, ttl_being_enabled_counts_as_on)
{
    int rc;
    char err[128] = "";
    json_t *spec = ttl_spec("{\"TimeToLiveStatus\":\"ENABLING\",\"AttributeName\":\"exp\"}", &rc,
                            err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    json_t *want = parse("{\"Enabled\":true,\"AttributeName\":\"exp\"}");
    cr_assert(json_equal(spec, want));
    json_decref(want);
    json_decref(spec);
}

Test(schema, ttl_enabled_without_an_attribute_is_refused)
{
    int rc;
    char err[128] = "";
    json_t *spec = ttl_spec("{\"TimeToLiveStatus\":\"ENABLED\"}", &rc, err, sizeof err);
    cr_assert_eq(rc, -1);
    cr_assert_null(spec);
    cr_assert(strstr(err, "no AttributeName"), "%s", err);
}

/* ---- dump ---- */

Test(schema, dump_is_indented_by_two_and_ends_with_one_newline)
{
    json_t *s = case_schema("hash-only");
    char *d = fs_schema_dump(s);
    size_t n = strlen(d);
    cr_assert_geq(n, 2);
    cr_assert_eq(d[n - 1], '\n');
    cr_assert_neq(d[n - 2], '\n');
    cr_assert(!strncmp(d, "{\n  \"TableName\": \"counters\",\n", 29), "%s", d);
    json_error_t je;
    json_t *back = json_loads(d, 0, &je);
    cr_assert(json_equal(back, s), "the dump parses back to the same document");
    json_decref(back);
    free(d);
    json_decref(s);
}

Test(schema, dump_is_the_same_whatever_order_members_were_added_in)
{
    json_t *s = case_schema("provisioned-gsi-lsi");
    char *want = fs_schema_dump(s);
    /* The same document with every object's members inserted in reverse. */
    json_t *r = parse("{\"LocalSecondaryIndexes\":[{\"Projection\":{\"ProjectionType\":"
                      "\"KEYS_ONLY\"},\"KeySchema\":[{\"KeyType\":\"HASH\",\"AttributeName\":"
                      "\"customer\"},{\"KeyType\":\"RANGE\",\"AttributeName\":\"created_at\"}],"
                      "\"IndexName\":\"by_created\"}]}");
    json_t *rest = json_deep_copy(s);
    json_object_del(rest, "LocalSecondaryIndexes");
    const char *keys[16];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(rest, k, v)
    {
        keys[n++] = k;
    }
    while (n > 0) {
        n--;
        json_object_set(r, keys[n], json_object_get(rest, keys[n]));
    }
    cr_assert(json_equal(r, s));
    char *got = fs_schema_dump(r);
    cr_assert_str_eq(got, want);
    char *again = fs_schema_dump(s);
    cr_assert_str_eq(again, want, "two dumps of one document are identical");
    free(again);
    free(got);
    json_decref(rest);
    json_decref(r);
    free(want);
    json_decref(s);
}

Test(schema, dump_puts_unknown_members_after_known_ones_by_name)
{
    json_t *s = parse("{\"zeta\":1,\"Tags\":[],\"TableName\":\"t\",\"alpha\":2}");
    char *d = fs_schema_dump(s);
    cr_assert_str_eq(d, "{\n  \"TableName\": \"t\",\n  \"Tags\": [],\n  \"alpha\": 2,\n"
                        "  \"zeta\": 1\n}\n");
    free(d);
    json_decref(s);
    cr_assert_null(fs_schema_dump(NULL));
}

/* ---- keys_match ---- */

static int keys_match_text(const char *a, const char *b, char *err, size_t errlen)
{
    json_t *ja = parse(a), *jb = parse(b);
    int r = fs_schema_keys_match(ja, jb, err, errlen);
    json_decref(ja);
    json_decref(jb);
    return r;
}

#define DOC(defs, keys) "{\"AttributeDefinitions\":[" defs "],\"KeySchema\":[" keys "]}"
#define DEF(n, t) "{\"AttributeName\":\"" n "\",\"AttributeType\":\"" t "\"}"
#define KEY(n, t) "{\"AttributeName\":\"" n "\",\"KeyType\":\"" t "\"}"

Test(schema, keys_match_a_description_and_the_document_made_from_it)
{
    json_t *table = load_member("provisioned-gsi-lsi", "describe-table.json", "Table");
    json_t *s = case_schema("provisioned-gsi-lsi");
    char err[256] = "";
    cr_assert_eq(fs_schema_keys_match(table, s, err, sizeof err), 1, "%s", err);
    cr_assert_eq(fs_schema_keys_match(s, s, err, sizeof err), 1, "%s", err);
    json_decref(s);
    json_decref(table);
}

Test(schema, keys_match_ignores_other_definitions_and_their_order)
{
    char err[256] = "";
    cr_assert_eq(keys_match_text(DOC(DEF("pk", "S") "," DEF("sk", "N"),
                                     KEY("pk", "HASH") "," KEY("sk", "RANGE")),
                                 DOC(DEF("x", "B") "," DEF("sk", "N") "," DEF("pk", "S"),
                                     KEY("sk", "RANGE") "," KEY("pk", "HASH")),
                                 err, sizeof err),
                 1, "%s", err);
}

Test(schema, keys_match_names_a_different_hash_key_type)
{
    char err[256] = "";
    cr_assert_eq(keys_match_text(DOC(DEF("id", "S"), KEY("id", "HASH")),
                                 DOC(DEF("id", "N"), KEY("id", "HASH")), err, sizeof err),
                 0);
    cr_assert_str_eq(err, "hash key: id (S) vs id (N)");
}

Test(schema, keys_match_names_a_missing_range_key)
{
    char err[256] = "";
    cr_assert_eq(keys_match_text(DOC(DEF("id", "S") "," DEF("ts", "N"),
                                     KEY("id", "HASH") "," KEY("ts", "RANGE")),
                                 DOC(DEF("id", "S"), KEY("id", "HASH")), err, sizeof err),
                 0);
    cr_assert_str_eq(err, "range key: ts (N) vs none");
}

Test(schema, keys_match_names_both_differences_at_once)
{
    char err[256] = "";
    cr_assert_eq(keys_match_text(
                     DOC(DEF("a", "S"), KEY("a", "HASH")),
                     DOC(DEF("b", "S") "," DEF("c", "B"), KEY("b", "HASH") "," KEY("c", "RANGE")),
                     err, sizeof err),
                 0);
    cr_assert_str_eq(err, "hash key: a (S) vs b (S); range key: none vs c (B)");
}

Test(schema, keys_match_says_which_document_has_no_readable_key)
{
    char err[256] = "";
    cr_assert_eq(keys_match_text(DOC(DEF("id", "S"), KEY("id", "HASH")), "{}", err, sizeof err), 0);
    cr_assert(strstr(err, "second schema: KeySchema"), "%s", err);
    cr_assert_eq(keys_match_text(DOC("", KEY("id", "HASH")), DOC(DEF("id", "S"), KEY("id", "HASH")),
                                 err, sizeof err),
                 0);
    cr_assert_str_eq(err, "first schema: key id has no AttributeType S, N or B");
}
