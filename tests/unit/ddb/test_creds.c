#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ddb/config.h"
#include "fake_env.h"
#include "ddb/creds.h"

/* Each test gets a temporary HOME and an environment of its own, read through the injected
 * getenv: the process's environment and the real ~/.aws are never looked at.
 *
 * The keys below are fake, but the tests treat them as real ones: they are compared without being
 * printed, and no message may contain them. */

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEXAMPLETOKENxyzzy"
static struct fake_env env;
static char home[64];
static char config_path[128];
static char credentials_path[128];
static char count_path[128];
static struct ddb_config cfg;
static struct ddb_error err;
static struct ddb_creds_provider *prov;
static struct ddb_credentials creds;

#define assert_secret_eq(got, want)                                                                \
    cr_assert((got) != NULL && strcmp((got), (want)) == 0, "%s differs (value not shown)", #got)

static void assert_no_secret(const char *text)
{
    cr_assert_null(strstr(text, SECRET), "a message holds the secret key");
    cr_assert_null(strstr(text, TOKEN), "a message holds the session token");
}

static void setenv_fake(const char *name, const char *value)
{
    fake_env_set(&env, name, value);
}

static void setup(void)
{
    memset(&env, 0, sizeof env);
    memset(&cfg, 0, sizeof cfg);
    memset(&err, 0, sizeof err);
    memset(&creds, 0, sizeof creds);
    prov = NULL;
    snprintf(home, sizeof home, "/tmp/ddbfs-creds-XXXXXX");
    cr_assert_not_null(mkdtemp(home));
    char dir[128];
    snprintf(dir, sizeof dir, "%s/.aws", home);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(config_path, sizeof config_path, "%s/.aws/config", home);
    snprintf(credentials_path, sizeof credentials_path, "%s/.aws/credentials", home);
    snprintf(count_path, sizeof count_path, "%s/count", home);
    setenv_fake("HOME", home);
    setenv_fake("AWS_REGION", "us-east-1");
    /* The chain ends with instance metadata: never ask 169.254.169.254 from a test. */
    setenv_fake("AWS_EC2_METADATA_DISABLED", "true");
}

static void teardown(void)
{
    ddb_credentials_cleanup(&creds);
    ddb_creds_provider_free(prov);
    ddb_config_cleanup(&cfg);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(creds, .init = setup, .fini = teardown);

static void load_config(const char *profile)
{
    struct ddb_config_opts opts = {
        .profile = profile,
        .getenv = fake_env_get,
        .getenv_ud = &env,
    };
    cr_assert_eq(ddb_config_load(&opts, &cfg, &err), 0, "config: %s", err.message);
}

/* Loads the configuration and makes a provider that must succeed. */
static void provider_ok(const char *profile)
{
    load_config(profile);
    prov = ddb_creds_provider_new(&cfg, &err);
    assert_no_secret(err.message);
    cr_assert_not_null(prov, "provider: %s", err.message);
}

/* Loads the configuration and makes a provider that must fail; returns the error code. */
static enum ddb_err provider_fails(const char *profile)
{
    load_config(profile);
    prov = ddb_creds_provider_new(&cfg, &err);
    cr_assert_null(prov, "a provider was made");
    assert_no_secret(err.message);
    return err.code;
}

/* Writes an executable script in HOME and points the default profile's credential_process at it.
 */
static void write_process(const char *body)
{
    char path[160], text[4096];
    snprintf(path, sizeof path, "%s/process.sh", home);
    snprintf(text, sizeof text, "#!/bin/sh\nCOUNT='%s'\n%s", count_path, body);
    fake_env_write_file(path, text);
    cr_assert_eq(chmod(path, 0700), 0);
    snprintf(text, sizeof text, "[default]\ncredential_process = %s\n", path);
    fake_env_write_file(config_path, text);
}

/* The number of times the script ran (it counts in count_path). */
static int process_runs(void)
{
    FILE *f = fopen(count_path, "r");
    int n = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%d", &n) != 1)
        n = -1;
    fclose(f);
    return n;
}

#define COUNT_STEP "n=$(cat \"$COUNT\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > \"$COUNT\"\n"

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return timegm(&tm);
}

/* ---- environment and files ---- */

Test(creds, takes_keys_from_the_environment)
{
    setenv_fake("AWS_ACCESS_KEY_ID", "AKIDENV");
    setenv_fake("AWS_SECRET_ACCESS_KEY", SECRET);
    setenv_fake("AWS_SESSION_TOKEN", TOKEN);
    provider_ok(NULL);
    cr_assert_str_eq(ddb_creds_source(prov), "environment");
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKIDENV");
    assert_secret_eq(creds.secret_access_key, SECRET);
    assert_secret_eq(creds.session_token, TOKEN);
    cr_assert_eq(creds.expiration, 0);
    cr_assert_str_eq(creds.source, "environment");
}

Test(creds, prefers_the_environment_when_the_profile_comes_from_aws_profile)
{
    fake_env_write_file(credentials_path, "[dev]\naws_access_key_id = AKIDFILE\n"
                                 "aws_secret_access_key = other\n");
    setenv_fake("AWS_PROFILE", "dev");
    setenv_fake("AWS_ACCESS_KEY_ID", "AKIDENV");
    setenv_fake("AWS_SECRET_ACCESS_KEY", SECRET);
    provider_ok(NULL);
    cr_assert_str_eq(ddb_creds_source(prov), "environment");
}

Test(creds, skips_the_environment_when_the_profile_is_named_by_option)
{
    fake_env_write_file(credentials_path, "[dev]\naws_access_key_id = AKIDFILE\n"
                                 "aws_secret_access_key = " SECRET "\n");
    setenv_fake("AWS_ACCESS_KEY_ID", "AKIDENV");
    setenv_fake("AWS_SECRET_ACCESS_KEY", "env-secret");
    provider_ok("dev");
    cr_assert_str_eq(ddb_creds_source(prov), "shared credentials file");
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKIDFILE");
    assert_secret_eq(creds.secret_access_key, SECRET);
    cr_assert_null(creds.session_token);
}

Test(creds, takes_keys_and_session_token_from_the_credentials_file)
{
    fake_env_write_file(credentials_path, "[default]\naws_access_key_id = AKIDFILE\n"
                                 "aws_secret_access_key = " SECRET "\n"
                                 "aws_session_token = " TOKEN "\n");
    fake_env_write_file(config_path, "[default]\naws_access_key_id = AKIDCONFIG\n"
                            "aws_secret_access_key = other\n");
    provider_ok(NULL);
    cr_assert_str_eq(ddb_creds_source(prov), "shared credentials file");
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKIDFILE");
    assert_secret_eq(creds.secret_access_key, SECRET);
    assert_secret_eq(creds.session_token, TOKEN);
}

Test(creds, takes_keys_from_the_config_file)
{
    fake_env_write_file(config_path, "[profile dev]\naws_access_key_id = AKIDCONFIG\n"
                            "aws_secret_access_key = " SECRET "\n");
    fake_env_write_file(credentials_path, "[other]\naws_access_key_id = X\naws_secret_access_key = Y\n");
    provider_ok("dev");
    cr_assert_str_eq(ddb_creds_source(prov), "config file");
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKIDCONFIG");
    assert_secret_eq(creds.secret_access_key, SECRET);
}

Test(creds, reports_a_key_without_its_secret_in_a_file)
{
    fake_env_write_file(credentials_path, "[dev]\naws_access_key_id = AKIDFILE\n"
                                 "aws_session_token = " TOKEN "\n");
    cr_assert_eq(provider_fails("dev"), DDB_ECREDENTIALS);
    char expected[512];
    snprintf(expected, sizeof expected,
             "profile dev in %s has aws_access_key_id but no aws_secret_access_key",
             credentials_path);
    cr_assert_str_eq(err.message, expected);
}

Test(creds, reports_a_secret_without_its_key_in_a_file)
{
    fake_env_write_file(config_path, "[default]\naws_secret_access_key = " SECRET "\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "has aws_secret_access_key but no aws_access_key_id") != NULL,
              "%s", err.message);
    cr_assert(strstr(err.message, config_path) != NULL, "%s", err.message);
}

Test(creds, reports_a_key_without_its_secret_in_the_environment)
{
    setenv_fake("AWS_ACCESS_KEY_ID", "AKIDENV");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY") != NULL, "%s",
              err.message);
}

Test(creds, reports_a_secret_without_its_key_in_the_environment)
{
    setenv_fake("AWS_SECRET_ACCESS_KEY", SECRET);
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "AWS_SECRET_ACCESS_KEY but not AWS_ACCESS_KEY_ID") != NULL, "%s",
              err.message);
}

Test(creds, says_what_was_tried_and_what_to_do_when_there_are_none)
{
    fake_env_write_file(config_path, "[default]\nregion = us-east-1\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "environment (AWS_ACCESS_KEY_ID not set)") != NULL, "%s",
              err.message);
    cr_assert(strstr(err.message, "credential_process (not set in profile default)") != NULL, "%s",
              err.message);
    cr_assert(strstr(err.message, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") != NULL, "%s",
              err.message);
    cr_assert(strstr(err.message, credentials_path) != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "configure credential_process") != NULL, "%s", err.message);
}

Test(creds, says_the_environment_was_skipped_for_a_named_profile)
{
    fake_env_write_file(config_path, "[profile dev]\nregion = us-east-1\n");
    setenv_fake("AWS_ACCESS_KEY_ID", "AKIDENV");
    setenv_fake("AWS_SECRET_ACCESS_KEY", SECRET);
    cr_assert_eq(provider_fails("dev"), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "skipped: profile dev was named by option") != NULL, "%s",
              err.message);
}

/* ---- credential_process ---- */

Test(creds, runs_credential_process_and_reads_its_json)
{
    write_process(COUNT_STEP "cat <<EOF\n"
                             "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\",\n"
                             " \"SecretAccessKey\": \"" SECRET "\",\n"
                             " \"SessionToken\": \"" TOKEN "\",\n"
                             " \"Expiration\": \"2099-11-22T10:00:00Z\"}\n"
                             "EOF\n");
    provider_ok(NULL);
    cr_assert_str_eq(ddb_creds_source(prov), "credential_process");
    cr_assert_eq(process_runs(), 1);
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKIDPROC");
    assert_secret_eq(creds.secret_access_key, SECRET);
    assert_secret_eq(creds.session_token, TOKEN);
    cr_assert_eq(creds.expiration, utc(2099, 11, 22, 10, 0, 0));
    cr_assert_str_eq(creds.source, "credential_process");
    cr_assert_eq(process_runs(), 1, "ran again although the credentials were fresh");
}

Test(creds, reads_expirations_with_fractions_and_offsets)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\","
                  " \"Expiration\": \"2099-01-01T12:30:00.123+02:00\"}'\n");
    provider_ok(NULL);
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_eq(creds.expiration, utc(2099, 1, 1, 10, 30, 0));
}

Test(creds, does_not_need_an_expiration_or_a_session_token)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n");
    provider_ok(NULL);
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
    cr_assert_eq(creds.expiration, 0);
    cr_assert_null(creds.session_token);
}

Test(creds, finds_credential_process_in_the_credentials_file)
{
    char path[160], text[512];
    snprintf(path, sizeof path, "%s/p.sh", home);
    fake_env_write_file(path, "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                     "\"SecretAccessKey\": \"S\"}'\n");
    cr_assert_eq(chmod(path, 0700), 0);
    snprintf(text, sizeof text, "[dev]\ncredential_process = %s\n", path);
    fake_env_write_file(credentials_path, text);
    provider_ok("dev");
    cr_assert_str_eq(ddb_creds_source(prov), "credential_process");
}

Test(creds, refreshes_from_the_process_inside_the_refresh_window)
{
    write_process(COUNT_STEP "cat <<EOF\n"
                             "{\"Version\": 1, \"AccessKeyId\": \"AKID$n\",\n"
                             " \"SecretAccessKey\": \"" SECRET "\",\n"
                             " \"Expiration\": \"2099-01-01T00:00:00Z\"}\n"
                             "EOF\n");
    time_t exp = utc(2099, 1, 1, 0, 0, 0);
    provider_ok(NULL);
    cr_assert_eq(process_runs(), 1);

    /* Before the window: the cached credentials. */
    cr_assert_eq(ddb_creds_get(prov, exp - DDB_CREDS_REFRESH_S - 1, &creds, &err), 0, "%s",
                 err.message);
    cr_assert_str_eq(creds.access_key_id, "AKID1");
    cr_assert_eq(process_runs(), 1);
    ddb_credentials_cleanup(&creds);

    /* Inside it: the process runs again and its answer is used. */
    cr_assert_eq(ddb_creds_get(prov, exp - 60, &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKID2");
    cr_assert_eq(process_runs(), 2);
    ddb_credentials_cleanup(&creds);

    /* peek never runs it. */
    cr_assert_eq(ddb_creds_peek(prov, exp - 30, &creds), 0);
    cr_assert_str_eq(creds.access_key_id, "AKID2");
    assert_secret_eq(creds.secret_access_key, SECRET);
    cr_assert_eq(process_runs(), 2);
    ddb_credentials_cleanup(&creds);
    cr_assert_eq(ddb_creds_peek(prov, exp, &creds), -1);
    cr_assert_null(creds.access_key_id);
}

Test(creds, keeps_the_cached_credentials_when_a_refresh_fails_until_they_expire)
{
    cr_redirect_stderr();
    write_process(COUNT_STEP "if [ $n -gt 1 ]; then echo 'helper failed' >&2; exit 1; fi\n"
                             "cat <<EOF\n"
                             "{\"Version\": 1, \"AccessKeyId\": \"AKID$n\",\n"
                             " \"SecretAccessKey\": \"" SECRET "\",\n"
                             " \"SessionToken\": \"" TOKEN "\",\n"
                             " \"Expiration\": \"2099-01-01T00:00:00Z\"}\n"
                             "EOF\n");
    time_t exp = utc(2099, 1, 1, 0, 0, 0);
    provider_ok(NULL);

    cr_assert_eq(ddb_creds_get(prov, exp - 60, &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, "AKID1");
    cr_assert_eq(process_runs(), 2);
    ddb_credentials_cleanup(&creds);

    cr_assert_eq(ddb_creds_get(prov, exp, &creds, &err), -1);
    cr_assert_eq(err.code, DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "exited with status 1") != NULL, "%s", err.message);
    assert_no_secret(err.message);
    cr_assert_null(creds.access_key_id);

    fflush(stderr);
    char logged[8192];
    size_t n = fread(logged, 1, sizeof logged - 1, cr_get_redirected_stderr());
    logged[n] = '\0';
    cr_assert(strstr(logged, "helper failed") != NULL, "the process's stderr was not passed on");
    cr_assert(strstr(logged, "could not refresh") != NULL, "no warning: %s", logged);
    assert_no_secret(logged);
}

struct getter {
    pthread_t thread;
    time_t now;
    int rc;
    char key[32];
};

static void *get_in_thread(void *arg)
{
    struct getter *g = arg;
    struct ddb_credentials c = {0};
    struct ddb_error e = {0};
    g->rc = ddb_creds_get(prov, g->now, &c, &e);
    if (g->rc == 0)
        snprintf(g->key, sizeof g->key, "%s", c.access_key_id);
    ddb_credentials_cleanup(&c);
    return NULL;
}

Test(creds, refreshes_once_for_many_threads)
{
    write_process(COUNT_STEP "if [ $n -eq 1 ]; then e=2099-01-01T00:00:00Z; else "
                             "e=2099-06-01T00:00:00Z; sleep 0.2; fi\n"
                             "cat <<EOF\n"
                             "{\"Version\": 1, \"AccessKeyId\": \"AKID$n\",\n"
                             " \"SecretAccessKey\": \"" SECRET "\", \"Expiration\": \"$e\"}\n"
                             "EOF\n");
    time_t exp = utc(2099, 1, 1, 0, 0, 0);
    provider_ok(NULL);

    struct getter g[8];
    for (int i = 0; i < 8; i++) {
        g[i].now = exp - 60;
        g[i].rc = -2;
        cr_assert_eq(pthread_create(&g[i].thread, NULL, get_in_thread, &g[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(g[i].thread, NULL);
        cr_assert_eq(g[i].rc, 0);
        cr_assert_str_eq(g[i].key, "AKID2");
    }
    cr_assert_eq(process_runs(), 2);
}

Test(creds, reports_a_process_that_exits_with_an_error)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET
                  "\"}'\nexit 3\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    char expected[512];
    snprintf(expected, sizeof expected,
             "credential_process of profile default (%s/process.sh) exited with status 3", home);
    cr_assert_str_eq(err.message, expected);
}

Test(creds, reports_output_that_is_not_json_without_quoting_it)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": " SECRET
                  "}'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "printed invalid JSON") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "profile default") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "process.sh") != NULL, "%s", err.message);
}

Test(creds, reports_json_that_is_not_an_object)
{
    write_process("echo '[1, 2]'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "not an object") != NULL, "%s", err.message);
}

Test(creds, rejects_versions_other_than_1)
{
    write_process("echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET
                  "\"}'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "Version 2; only Version 1 is supported") != NULL, "%s",
              err.message);

    ddb_config_cleanup(&cfg);
    write_process("echo '{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET "\"}'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "no \"Version\": 1") != NULL, "%s", err.message);
}

Test(creds, reports_a_missing_secret_from_the_process)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SessionToken\": \"" TOKEN
                  "\"}'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "printed no SecretAccessKey string") != NULL, "%s", err.message);
}

Test(creds, reports_an_expiration_that_is_not_iso_8601)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET
                  "\", \"Expiration\": \"tomorrow\"}'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "Expiration that is not an ISO 8601 time") != NULL, "%s",
              err.message);
}

Test(creds, reports_credentials_that_have_already_expired)
{
    write_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET
                  "\", \"Expiration\": \"2001-01-01T00:00:00Z\"}'\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "already expired") != NULL, "%s", err.message);
}

Test(creds, caps_the_output_of_the_process)
{
    write_process("head -c 100000 /dev/zero | tr '\\0' a\n");
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "printed more than") != NULL, "%s", err.message);
}

Test(creds, kills_a_process_that_takes_too_long)
{
    setenv_fake("DDBFS_CREDENTIAL_PROCESS_TIMEOUT_S", "1");
    write_process("exec sleep 30\n");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(provider_fails(NULL), DDB_ECREDENTIALS);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 10);
    cr_assert(strstr(err.message, "did not finish within 1 seconds and was killed") != NULL, "%s",
              err.message);
}

Test(creds, prefers_file_keys_to_credential_process)
{
    write_process(COUNT_STEP "exit 1\n");
    fake_env_write_file(credentials_path, "[default]\naws_access_key_id = AKIDFILE\n"
                                 "aws_secret_access_key = " SECRET "\n");
    provider_ok(NULL);
    cr_assert_str_eq(ddb_creds_source(prov), "shared credentials file");
    cr_assert_eq(process_runs(), 0);
}

Test(creds, says_how_to_use_a_profile_that_assumes_a_role_or_uses_sso)
{
    fake_env_write_file(config_path, "[profile admin]\nrole_arn = arn:aws:iam::1:role/a\n"
                                     "source_profile = base\n[profile base]\n"
                                     "aws_access_key_id = A\naws_secret_access_key = " SECRET "\n"
                                     "[profile sso]\nsso_session = corp\n");
    cr_assert_eq(provider_fails("admin"), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "profile admin assumes a role (role_arn with source_profile") !=
                  NULL,
              "%s", err.message);
    cr_assert(strstr(err.message, "credential_process = aws configure export-credentials "
                                  "--profile admin --format process") != NULL,
              "%s", err.message);
    ddb_config_cleanup(&cfg);
    cr_assert_eq(provider_fails("sso"), DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, "profile sso signs in with IAM Identity Center") != NULL, "%s",
              err.message);
    ddb_config_cleanup(&cfg);
    provider_ok("base");
    cr_assert_str_eq(ddb_creds_source(prov), "config file");
}

/* ---- struct ddb_credentials ---- */

Test(creds, copies_and_cleans_up_credentials)
{
    struct ddb_credentials src = {.access_key_id = strdup("AKID"),
                                  .secret_access_key = strdup(SECRET),
                                  .session_token = NULL,
                                  .expiration = 42,
                                  .source = "environment"};
    cr_assert_eq(ddb_credentials_copy(&creds, &src), 0);
    ddb_credentials_cleanup(&src);
    cr_assert_null(src.secret_access_key);
    cr_assert_eq(src.expiration, 0);
    cr_assert_str_eq(creds.access_key_id, "AKID");
    assert_secret_eq(creds.secret_access_key, SECRET);
    cr_assert_null(creds.session_token);
    cr_assert_eq(creds.expiration, 42);
    cr_assert_str_eq(creds.source, "environment");
    ddb_credentials_cleanup(&creds);
    ddb_credentials_cleanup(&creds);
    ddb_creds_provider_free(NULL);
}
