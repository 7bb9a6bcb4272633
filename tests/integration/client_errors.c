/* Bad configuration and bad targets give one clear error and a clean failure, never a crash or a
 * hang. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ddb/table.h"
#include "fake_env.h"
#include "testbed.h"

static char home[64];

static void make_home(void)
{
    snprintf(home, sizeof home, "/tmp/ddbfs-home-XXXXXX");
    cr_assert_not_null(mkdtemp(home));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fake_env_write_file(path, text);
}

Test(client_errors, no_credentials_anywhere_is_one_clear_error)
{
    make_home();
    struct fake_env e = {0};
    fake_env_set(&e, "HOME", home);
    fake_env_set(&e, "AWS_EC2_METADATA_DISABLED", "true"); /* never 169.254.169.254 */
    struct ddb_config_opts o = {.region = "us-east-1",
                                .endpoint = "http://127.0.0.1:9",
                                .getenv = fake_env_get,
                                .getenv_ud = &e};
    struct ddb_config cfg;
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_config_load(&o, &cfg, &err), 0, "%s", err.message);
    struct ddb_creds_provider *p = ddb_creds_provider_new(&cfg, &err);
    cr_expect_null(p);
    cr_expect_eq(err.code, DDB_ECREDENTIALS);
    cr_expect(strstr(err.message, "AWS_ACCESS_KEY_ID") != NULL, "says what to do: %s", err.message);
    ddb_creds_provider_free(p);
    ddb_config_cleanup(&cfg);
}

Test(client_errors, an_unknown_profile_is_named_in_the_error)
{
    make_home();
    char aws[128];
    snprintf(aws, sizeof aws, "%s/.aws", home);
    mkdir(aws, 0700);
    write_file(aws, "credentials",
               "[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t\n");
    struct fake_env e = {0};
    fake_env_set(&e, "HOME", home);
    struct ddb_config_opts o = {
        .profile = "nosuchprofile", .region = "us-east-1", .getenv = fake_env_get, .getenv_ud = &e};
    struct ddb_config cfg;
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_expect_neq(ddb_config_load(&o, &cfg, &err), 0);
    cr_expect_eq(err.code, DDB_ECONFIG);
    cr_expect(strstr(err.message, "nosuchprofile") != NULL, "%s", err.message);
    ddb_config_cleanup(&cfg);
}

Test(client_errors, a_malformed_credentials_file_names_its_path_and_line)
{
    make_home();
    char aws[128];
    snprintf(aws, sizeof aws, "%s/.aws", home);
    mkdir(aws, 0700);
    write_file(aws, "credentials",
               "[default]\naws_access_key_id = AKIDTEST\nthis line is broken\n");
    struct fake_env e = {0};
    fake_env_set(&e, "HOME", home);
    struct ddb_config_opts o = {.region = "us-east-1", .getenv = fake_env_get, .getenv_ud = &e};
    struct ddb_config cfg;
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_expect_neq(ddb_config_load(&o, &cfg, &err), 0);
    cr_expect(strstr(err.message, "credentials") != NULL, "names the file: %s", err.message);
    cr_expect(strstr(err.message, "3") != NULL, "names the line: %s", err.message);
    ddb_config_cleanup(&cfg);
}

static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s); /* nothing listens there now */
    return ntohs(a.sin_port);
}

Test(client_errors, an_unreachable_endpoint_fails_with_the_cause_within_the_retry_window,
     .timeout = 60)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    struct fake_env e = {0};
    fake_env_set(&e, "HOME", "/nonexistent");
    fake_env_set(&e, "AWS_ACCESS_KEY_ID", "AKIDTEST");
    fake_env_set(&e, "AWS_SECRET_ACCESS_KEY", "s3cr3t");
    struct ddb_config_opts o = {
        .region = "us-east-1", .endpoint = url, .getenv = fake_env_get, .getenv_ud = &e};
    struct ddb_config cfg;
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_config_load(&o, &cfg, &err), 0, "%s", err.message);
    struct ddb_creds_provider *p = ddb_creds_provider_new(&cfg, &err);
    cr_assert_not_null(p, "%s", err.message);
    struct ddb_http *h = ddb_http_new(NULL, &err);
    struct ddb_client_opts co = {.endpoint = url,
                                 .region = "us-east-1",
                                 .creds = p,
                                 .transport = ddb_http_transport(h),
                                 .backoff = {.base_ms = 25, .cap_ms = 500, .window_ms = 2000}};
    struct ddb_client *c = ddb_client_new(&co, &err);
    cr_assert_not_null(c, "%s", err.message);
    time_t t0 = time(NULL);
    char **names = NULL;
    size_t n;
    cr_expect_neq(ddb_list_tables(c, &names, &n, &err), 0);
    cr_expect_eq(err.code, DDB_ENETWORK, "code %d: %s", err.code, err.message);
    cr_expect(strstr(err.message, url) != NULL, "names the endpoint: %s", err.message);
    cr_expect(strstr(err.message, "gave up") != NULL, "says it retried: %s", err.message);
    cr_expect_gt(err.attempts, 1, "it retried");
    cr_expect_leq(time(NULL) - t0, 10, "it stops within the window");
    ddb_http_free(h);
    ddb_client_free(c);
    ddb_creds_provider_free(p);
    ddb_config_cleanup(&cfg);
}

Test(client_errors, an_unknown_table_fails_at_once_with_aws_message)
{
    struct testbed tb;
    testbed_init(&tb);
    struct ddb_error err;
    ddb_error_clear(&err);
    json_t *t = ddb_describe_table(tb.client, "no-such-table", &err);
    cr_expect_null(t);
    cr_expect_eq(err.code, DDB_ENOTFOUND);
    cr_expect_eq(err.attempts, 1, "not retried");
    cr_expect_str_eq(err.type, "ResourceNotFoundException");
    cr_expect(strlen(err.message) > 0);
    testbed_cleanup(&tb);
}
