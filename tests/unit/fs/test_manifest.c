/* The manifest's text: what sha256sum -c reads, what a restore checks against. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../fs/manifest.c"

static const char *SHA_A = "5836b453296a24a22ca1801ace9a1fd910ad8d58e07e94e210b1a6bdd1b958a4";
static const char *SHA_B = "9cbe8843cee35e26855584a1d9a39eb1d5d699109eede2076307ff3cfebd1b44";
static const char *SHA_S = "c2f350b1f9d9e98f9290cb650b6126821ad48a9308beb6b9e88635ef1b83aaa2";

static char *two_segments(size_t *len)
{
    struct fs_manifest m;
    fs_manifest_init(&m);
    cr_assert_eq(fs_manifest_set_table(&m, "orders"), 0);
    m.nseg = 2;
    m.time = 1700000000;
    memcpy(m.schema_sha, SHA_S, 65);
    cr_assert_eq(fs_manifest_add(&m, "segment-0000-of-0002.json", 250, 30000, SHA_A), 0);
    cr_assert_eq(fs_manifest_add(&m, "segment-0001-of-0002.json", 7, 900, SHA_B), 0);
    char *text = fs_manifest_format(&m, len);
    fs_manifest_cleanup(&m);
    cr_assert_not_null(text);
    return text;
}

Test(manifest, is_a_sha256sum_file_with_its_counts_in_comments)
{
    size_t len;
    char *text = two_segments(&len);
    cr_expect_eq(strlen(text), len);
    cr_expect_not_null(strstr(text, "# ddbfs manifest 1\n# table: orders\n# segments: 2\n"));
    cr_expect_not_null(strstr(text, "# items: 257\n# bytes: 30900\n"));
    cr_expect_not_null(strstr(text, "# time: 2023-11-14T22:13:20Z\n"));
    cr_expect_not_null(strstr(text, "# segment: segment-0001-of-0002.json items=7 bytes=900\n"));
    /* Every line is either a comment or "<64 hex>  <name>", as sha256sum -c wants. */
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl);
        cr_expect(line[0] == '#' || (nl - line > 66 && line[64] == ' ' && line[65] == ' '),
                  "line: %.*s", (int)(nl - line), line);
        line = nl + 1;
    }
    cr_expect_not_null(strstr(text, "  _schema.json\n"));
    free(text);
}

Test(manifest, parses_what_it_formats)
{
    size_t len;
    char *text = two_segments(&len);
    struct fs_manifest m;
    fs_manifest_init(&m);
    char msg[256] = "";
    cr_assert_eq(fs_manifest_parse(text, len, &m, msg, sizeof msg), 0, "%s", msg);
    cr_expect_str_eq(m.table, "orders");
    cr_expect_eq(m.nseg, 2);
    cr_expect_eq(m.n, 2);
    cr_expect_eq(m.items, 257);
    cr_expect_eq(m.bytes, 30900);
    cr_expect_str_eq(m.schema_sha, SHA_S);
    const struct fs_manifest_seg *s = fs_manifest_find(&m, "segment-0001-of-0002.json");
    cr_assert_not_null(s);
    cr_expect_eq(s->items, 7);
    cr_expect_eq(s->bytes, 900);
    cr_expect_str_eq(s->sha, SHA_B);
    fs_manifest_cleanup(&m);
    free(text);
}

static void expect_refused(const char *text, const char *want)
{
    struct fs_manifest m;
    fs_manifest_init(&m);
    char msg[256] = "";
    cr_expect_eq(fs_manifest_parse(text, strlen(text), &m, msg, sizeof msg), -1);
    cr_expect_not_null(strstr(msg, want), "message: %s (want %s)", msg, want);
    cr_expect_eq(m.n, 0); /* cleaned up */
}

Test(manifest, refuses_what_is_not_one)
{
    expect_refused("hello\n", "not a ddbfs manifest");
    expect_refused("# ddbfs manifest 1\n# segments: x\n", "line 2: the segment count");
    expect_refused("# ddbfs manifest 1\n# segment: a.json items=1\n", "line 2: expected");
    expect_refused("# ddbfs manifest 1\n# segments: 2\n# segment: a.json items=1 bytes=2\n"
                   "5836b453296a24a22ca1801ace9a1fd910ad8d58e07e94e210b1a6bdd1b958a4  a.json\n",
                   "says 2 segments but lists 1");
    expect_refused("# ddbfs manifest 1\n# segment: a.json items=1 bytes=2\n",
                   "no checksum line for a.json");
    expect_refused("# ddbfs manifest 1\n"
                   "5836b453296a24a22ca1801ace9a1fd910ad8d58e07e94e210b1a6bdd1b958a4  b.json\n",
                   "line 2: a checksum for a file that no");
}

Test(manifest, sorts_after_every_segment_name)
{
    /* rsync copies in byte order: the manifest must come after segment-*.json(.gz). */
    cr_expect(strcmp("segment-9999-of-9999.json.gz", FS_MANIFEST_NAME) < 0);
    cr_expect(strcmp("segment-999999-of-999999.json", FS_MANIFEST_NAME) < 0);
    cr_expect(strcmp("_schema.json", FS_MANIFEST_NAME) < 0);
}

Test(manifest, hex_is_lowercase_and_64_digits)
{
    unsigned char d[32];
    for (int i = 0; i < 32; i++)
        d[i] = (unsigned char)(i * 8 + 1);
    char out[65];
    fs_sha256_hex(d, out);
    cr_expect_eq(strlen(out), 64);
    cr_expect_eq(strncmp(out, "0109111921", 10), 0);
}

Test(manifest, a_shard_has_its_own_name_and_both_kinds_are_recognised)
{
    char name[FS_MANIFEST_NAME_MAX];
    fs_manifest_name(0, 1, name, sizeof name);
    cr_assert_str_eq(name, "segments.sha256");
    fs_manifest_name(2, 3, name, sizeof name);
    cr_assert_str_eq(name, "segments-2-of-3.sha256");
    cr_assert(strcmp(name, "segment-9999-of-9999.json") > 0, "sorts after the segments");
    cr_assert(fs_manifest_name_is("segments.sha256"));
    cr_assert(fs_manifest_name_is("segments-2-of-3.sha256"));
    cr_assert(!fs_manifest_name_is("segments-3-of-3.sha256"));
    cr_assert(!fs_manifest_name_is("segments-02-of-3.sha256"));
    cr_assert(!fs_manifest_name_is("segments-0-of-1.sha256"));
    cr_assert(!fs_manifest_name_is("segments-1-of-2.sha256x"));
    cr_assert(!fs_manifest_name_is("segment-0000-of-0004.json"));
}
