#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"
#include "ddb/ini.h"

static char errbuf[1024];

static struct ddb_ini *parse(const char *text)
{
    return ddb_ini_parse(text, strlen(text), "test.ini", errbuf, sizeof errbuf);
}

static void assert_parse_error(const char *text, const char *expected)
{
    struct ddb_ini *ini = parse(text);
    cr_assert_null(ini, "parsed: %s", text);
    cr_assert_str_eq(errbuf, expected);
}

Test(ini, reads_sections_and_keys)
{
    struct ddb_ini *ini = parse("[default]\nregion = us-east-1\n"
                                "[profile dev]\nregion=eu-west-1\noutput = json\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "region"), "us-east-1");
    cr_assert_str_eq(ddb_ini_get(ini, "profile dev", "region"), "eu-west-1");
    cr_assert_str_eq(ddb_ini_get(ini, "profile dev", "output"), "json");
    cr_assert_null(ddb_ini_get(ini, "default", "output"));
    cr_assert_null(ddb_ini_get(ini, "profile prod", "region"));
    ddb_ini_free(ini);
}

Test(ini, skips_comments_and_blank_lines)
{
    struct ddb_ini *ini = parse("# a comment\n; another\n\n[default]\n   # indented comment\n"
                                "\n\nregion = us-east-1\n\t\n; last\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "region"), "us-east-1");
    ddb_ini_free(ini);
}

Test(ini, strips_comments_after_blanks_in_values_only)
{
    struct ddb_ini *ini =
        parse("[default] # the default profile\n"
              "a = one # comment\nb = two ; comment\nc = x#y;z\nd = ;all comment\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "a"), "one");
    cr_assert_str_eq(ddb_ini_get(ini, "default", "b"), "two");
    cr_assert_str_eq(ddb_ini_get(ini, "default", "c"), "x#y;z");
    cr_assert_str_eq(ddb_ini_get(ini, "default", "d"), "");
    ddb_ini_free(ini);
}

Test(ini, keeps_equal_signs_after_the_first_in_values)
{
    struct ddb_ini *ini = parse("[default]\nsecret = abc/def+g==\nurl = http://h:8000/?a=b\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "secret"), "abc/def+g==");
    cr_assert_str_eq(ddb_ini_get(ini, "default", "url"), "http://h:8000/?a=b");
    ddb_ini_free(ini);
}

Test(ini, accepts_a_colon_as_the_delimiter)
{
    struct ddb_ini *ini = parse("[default]\nregion: us-west-2\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "region"), "us-west-2");
    ddb_ini_free(ini);
}

Test(ini, reads_indented_sub_sections)
{
    struct ddb_ini *ini = parse("[services local]\n"
                                "dynamodb =\n"
                                "  endpoint_url = http://localhost:8000\n"
                                "\n"
                                "  region = local  # comment\n"
                                "s3 =\n"
                                "\tendpoint_url = http://localhost:9000\n"
                                "other = value\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "services local", "dynamodb"), "");
    cr_assert_str_eq(ddb_ini_get_sub(ini, "services local", "dynamodb", "endpoint_url"),
                     "http://localhost:8000");
    cr_assert_str_eq(ddb_ini_get_sub(ini, "services local", "dynamodb", "region"), "local");
    cr_assert_str_eq(ddb_ini_get_sub(ini, "services local", "s3", "endpoint_url"),
                     "http://localhost:9000");
    cr_assert_str_eq(ddb_ini_get(ini, "services local", "other"), "value");
    cr_assert_null(ddb_ini_get(ini, "services local", "endpoint_url"));
    cr_assert_null(ddb_ini_get_sub(ini, "services local", "other", "endpoint_url"));
    cr_assert_null(ddb_ini_get_sub(ini, "services local", "sqs", "endpoint_url"));
    ddb_ini_free(ini);
}

Test(ini, appends_indented_lines_to_a_non_empty_value)
{
    struct ddb_ini *ini = parse("[default]\nca = first\n    second\n  third\nregion = x\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "ca"), "first\nsecond\nthird");
    cr_assert_str_eq(ddb_ini_get(ini, "default", "region"), "x");
    ddb_ini_free(ini);
}

Test(ini, treats_an_indented_first_key_as_a_key)
{
    struct ddb_ini *ini = parse("[default]\n  region = a\n  output = b\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "region"), "a");
    cr_assert_str_eq(ddb_ini_get(ini, "default", "output"), "b");
    ddb_ini_free(ini);
}

Test(ini, handles_crlf_line_ends_and_a_bom)
{
    struct ddb_ini *ini = parse("\xef\xbb\xbf[default]\r\nregion = us-east-1\r\n"
                                "[services s]\r\ndynamodb =\r\n  endpoint_url = http://h\r\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "default", "region"), "us-east-1");
    cr_assert_str_eq(ddb_ini_get_sub(ini, "services s", "dynamodb", "endpoint_url"), "http://h");
    ddb_ini_free(ini);
}

Test(ini, lower_cases_keys_but_not_section_names)
{
    struct ddb_ini *ini = parse("[Dev]\nAWS_Access_Key_ID = AKID\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "Dev", "aws_access_key_id"), "AKID");
    cr_assert_null(ddb_ini_get(ini, "Dev", "AWS_Access_Key_ID"));
    cr_assert_null(ddb_ini_get(ini, "dev", "aws_access_key_id"));
    ddb_ini_free(ini);
}

Test(ini, trims_section_names_and_joins_inner_blanks)
{
    struct ddb_ini *ini = parse("[  profile \t  dev ]\nregion = a\n[empty]\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "profile dev", "region"), "a");
    cr_assert(ddb_ini_has_section(ini, "empty"));
    cr_assert_not(ddb_ini_has_section(ini, "missing"));
    ddb_ini_free(ini);
}

Test(ini, lets_the_later_of_repeated_keys_and_sections_win)
{
    struct ddb_ini *ini = parse("[a]\nk = 1\nj = x\n[b]\n[a]\nk = 2\n");
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "a", "k"), "2");
    cr_assert_str_eq(ddb_ini_get(ini, "a", "j"), "x");
    ddb_ini_free(ini);
}

Test(ini, reads_only_len_bytes)
{
    const char *text = "[a]\nk = 1\n[b]\nk = 2\n";
    struct ddb_ini *ini = ddb_ini_parse(text, 9, "t", errbuf, sizeof errbuf);
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_str_eq(ddb_ini_get(ini, "a", "k"), "1");
    cr_assert_not(ddb_ini_has_section(ini, "b"));
    ddb_ini_free(ini);
}

Test(ini, parses_an_empty_text)
{
    struct ddb_ini *ini = ddb_ini_parse("", 0, "t", errbuf, sizeof errbuf);
    cr_assert_not_null(ini);
    cr_assert_not(ddb_ini_has_section(ini, "default"));
    ddb_ini_free(ini);
    ddb_ini_free(NULL);
}

Test(ini, names_the_file_and_line_of_a_line_that_is_not_a_pair)
{
    assert_parse_error("[default]\nregion = a\n\nbroken\n",
                       "test.ini line 4: expected [section] or key = value");
    assert_parse_error("[default]\n= value\n",
                       "test.ini line 2: expected [section] or key = value");
}

Test(ini, rejects_a_key_before_any_section)
{
    assert_parse_error("# c\nregion = a\n", "test.ini line 2: key = value before any [section]");
}

Test(ini, rejects_malformed_section_headers)
{
    assert_parse_error("[default\n",
                       "test.ini line 1: expected ']' at the end of the section header");
    assert_parse_error("[a]\n[ ]\n", "test.ini line 2: empty section name");
    assert_parse_error("[a] b\n",
                       "test.ini line 1: unexpected text after the section header's ']'");
}

Test(ini, rejects_a_sub_section_line_without_equals)
{
    assert_parse_error("[services s]\ndynamodb =\n  endpoint_url: http://h\n",
                       "test.ini line 3: expected key = value in an indented sub-section");
}

Test(ini, rejects_a_nul_byte)
{
    const char text[] = "[a]\nk = v\0w\n";
    struct ddb_ini *ini = ddb_ini_parse(text, sizeof text - 1, "t", errbuf, sizeof errbuf);
    cr_assert_null(ini);
    cr_assert_str_eq(errbuf, "t line 2: unexpected NUL byte");
}

Test(ini, never_quotes_the_broken_line)
{
    const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    char text[256];
    snprintf(text, sizeof text, "[default]\n%s\n", secret);
    cr_assert_null(parse(text));
    cr_assert_null(strstr(errbuf, secret), "the message quotes the line");
}

Test(ini, loads_a_file_with_services)
{
    int missing = -1;
    struct ddb_ini *ini = ddb_ini_load(DDBFS_TEST_DATA "/aws-config/services/config", &missing,
                                       errbuf, sizeof errbuf);
    cr_assert_not_null(ini, "%s", errbuf);
    cr_assert_eq(missing, 0);
    cr_assert_str_eq(ddb_ini_get(ini, "profile local", "region"), "eu-west-1");
    cr_assert_str_eq(ddb_ini_get(ini, "profile local", "services"), "local-ddb");
    cr_assert_str_eq(ddb_ini_get_sub(ini, "services local-ddb", "dynamodb", "endpoint_url"),
                     "http://localhost:8000");
    cr_assert_str_eq(ddb_ini_get_sub(ini, "services local-ddb", "s3", "endpoint_url"),
                     "http://localhost:9000");
    ddb_ini_free(ini);
}

Test(ini, names_the_path_and_line_of_a_broken_file)
{
    int missing = -1;
    const char *path = DDBFS_TEST_DATA "/aws-config/broken/credentials";
    cr_assert_null(ddb_ini_load(path, &missing, errbuf, sizeof errbuf));
    cr_assert_eq(missing, 0);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s line 7: expected [section] or key = value", path);
    cr_assert_str_eq(errbuf, expected);
}

Test(ini, reports_a_missing_file_as_missing_without_an_error)
{
    int missing = -1;
    errbuf[0] = 'x';
    cr_assert_null(ddb_ini_load("/nonexistent/ddbfs/config", &missing, errbuf, sizeof errbuf));
    cr_assert_eq(missing, 1);
    cr_assert_str_eq(errbuf, "");
}

Test(ini, refuses_a_directory)
{
    int missing = -1;
    cr_assert_null(ddb_ini_load("/", &missing, errbuf, sizeof errbuf));
    cr_assert_eq(missing, 0);
    cr_assert_str_eq(errbuf, "/: is a directory, not a file");
}

Test(ini, refuses_a_file_larger_than_the_cap)
{
    char dir[] = "/tmp/ddbfs-ini-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/config", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[default]\n", f);
    for (size_t n = 10; n <= DDB_CONFIG_FILE_MAX; n += 10)
        fputs("# comment\n", f);
    fclose(f);

    int missing = -1;
    cr_assert_null(ddb_ini_load(path, &missing, errbuf, sizeof errbuf));
    cr_assert_eq(missing, 0);
    cr_assert(strstr(errbuf, "larger than") != NULL, "%s", errbuf);
    cr_assert(strncmp(errbuf, path, strlen(path)) == 0, "%s", errbuf);
    unlink(path);
    rmdir(dir);
}
