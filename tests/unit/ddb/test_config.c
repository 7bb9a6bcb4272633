#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddb/config.h"
#include "fake_env.h"
#include "ddb/ini.h"

/* Each test gets a temporary HOME and an environment of its own, read through the injected
 * getenv: the process's environment and the real ~/.aws are never looked at. */

static struct fake_env env;
static char home[64];
static char config_path[128];
static char credentials_path[128];
static struct ddb_config cfg;
static struct ddb_error err;

static void setenv_fake(const char *name, const char *value)
{
    fake_env_set(&env, name, value);
}

static void setup(void)
{
    memset(&env, 0, sizeof env);
    memset(&cfg, 0, sizeof cfg);
    memset(&err, 0, sizeof err);
    snprintf(home, sizeof home, "/tmp/ddbfs-config-XXXXXX");
    cr_assert_not_null(mkdtemp(home));
    char dir[128];
    snprintf(dir, sizeof dir, "%s/.aws", home);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(config_path, sizeof config_path, "%s/.aws/config", home);
    snprintf(credentials_path, sizeof credentials_path, "%s/.aws/credentials", home);
    setenv_fake("HOME", home);
}

static void teardown(void)
{
    ddb_config_cleanup(&cfg);
    unlink(config_path);
    unlink(credentials_path);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/.aws", home);
    rmdir(dir);
    rmdir(home);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Loads with these options; returns ddb_config_load's result. */
static int load(const char *profile, const char *region, const char *endpoint)
{
    struct ddb_config_opts opts = {
        .profile = profile,
        .region = region,
        .endpoint = endpoint,
        .getenv = fake_env_get,
        .getenv_ud = &env,
    };
    ddb_config_cleanup(&cfg);
    return ddb_config_load(&opts, &cfg, &err);
}

static void load_ok(const char *profile, const char *region, const char *endpoint)
{
    int rc = load(profile, region, endpoint);
    cr_assert_eq(rc, 0, "load failed: %s", err.message);
}

/* ---- profile and files ---- */

Test(config, uses_the_default_profile_when_none_is_named)
{
    load_ok(NULL, "us-east-1", NULL);
    cr_assert_str_eq(cfg.profile, "default");
    cr_assert_eq(cfg.profile_explicit, 0);
}

Test(config, takes_the_profile_from_aws_profile_without_making_it_explicit)
{
    fake_env_write_file(credentials_path, "[dev]\naws_access_key_id = AKID\n");
    setenv_fake("AWS_PROFILE", "dev");
    load_ok(NULL, "us-east-1", NULL);
    cr_assert_str_eq(cfg.profile, "dev");
    cr_assert_eq(cfg.profile_explicit, 0);
}

Test(config, prefers_the_profile_option_to_aws_profile)
{
    fake_env_write_file(config_path,
               "[profile ops]\nregion = eu-west-1\n[profile dev]\nregion = us-west-2\n");
    setenv_fake("AWS_PROFILE", "dev");
    load_ok("ops", NULL, NULL);
    cr_assert_str_eq(cfg.profile, "ops");
    cr_assert_eq(cfg.profile_explicit, 1);
    cr_assert_str_eq(cfg.region, "eu-west-1");
}

Test(config, finds_the_files_under_home)
{
    load_ok(NULL, "us-east-1", NULL);
    cr_assert_str_eq(cfg.config_path, config_path);
    cr_assert_str_eq(cfg.credentials_path, credentials_path);
}

Test(config, takes_the_files_from_the_environment)
{
    char other_config[160], other_credentials[160];
    snprintf(other_config, sizeof other_config, "%s/cfg", home);
    snprintf(other_credentials, sizeof other_credentials, "%s/creds", home);
    fake_env_write_file(other_config, "[default]\nregion = ap-south-1\n");
    fake_env_write_file(config_path, "[default]\nregion = us-east-1\n");
    setenv_fake("AWS_CONFIG_FILE", other_config);
    setenv_fake("AWS_SHARED_CREDENTIALS_FILE", other_credentials);
    load_ok(NULL, NULL, NULL);
    cr_assert_str_eq(cfg.config_path, other_config);
    cr_assert_str_eq(cfg.credentials_path, other_credentials);
    cr_assert_str_eq(cfg.region, "ap-south-1");
    cr_assert_not_null(cfg.config);
    cr_assert_null(cfg.credentials);
    unlink(other_config);
}

Test(config, expands_a_tilde_in_the_file_variables)
{
    char other_config[160];
    snprintf(other_config, sizeof other_config, "%s/cfg", home);
    fake_env_write_file(other_config, "[default]\nregion = ap-south-1\n");
    setenv_fake("AWS_CONFIG_FILE", "~/cfg");
    load_ok(NULL, NULL, NULL);
    cr_assert_str_eq(cfg.config_path, other_config);
    cr_assert_str_eq(cfg.region, "ap-south-1");
    unlink(other_config);
}

Test(config, accepts_missing_files)
{
    load_ok(NULL, "us-east-1", NULL);
    cr_assert_null(cfg.config);
    cr_assert_null(cfg.credentials);
}

Test(config, reads_profile_x_sections_in_the_config_file_and_plain_names_in_credentials)
{
    fake_env_write_file(config_path, "[dev]\nregion = wrong-1\n[profile dev]\nregion = eu-west-1\n");
    fake_env_write_file(credentials_path, "[profile dev]\naws_access_key_id = WRONG\n"
                                 "[dev]\naws_access_key_id = AKID\n");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.region, "eu-west-1");
    cr_assert_str_eq(ddb_config_profile_get(&cfg, "aws_access_key_id", 0, 1), "AKID");
    cr_assert_null(ddb_config_profile_get(&cfg, "aws_access_key_id", 1, 0));
}

Test(config, reads_the_default_profile_from_default_or_profile_default)
{
    fake_env_write_file(config_path, "[default]\nregion = us-east-2\n");
    load_ok(NULL, NULL, NULL);
    cr_assert_str_eq(cfg.region, "us-east-2");

    fake_env_write_file(config_path, "[profile default]\nregion = us-west-1\n");
    load_ok(NULL, NULL, NULL);
    cr_assert_str_eq(cfg.region, "us-west-1");
}

Test(config, does_not_take_a_plain_profile_section_of_the_config_file)
{
    fake_env_write_file(config_path, "[dev]\nregion = eu-west-1\n");
    cr_assert_eq(load("dev", NULL, NULL), -1);
    cr_assert_eq(err.code, DDB_ECONFIG);
    cr_assert(strstr(err.message, "The config profile (dev) could not be found") != NULL, "%s",
              err.message);
}

Test(config, looks_in_the_config_file_then_in_the_credentials_file)
{
    fake_env_write_file(config_path, "[profile dev]\nregion = eu-west-1\nk = from-config\n");
    fake_env_write_file(credentials_path, "[dev]\nk = from-credentials\nonly = here\n");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(ddb_config_profile_get(&cfg, "k", 1, 1), "from-config");
    cr_assert_str_eq(ddb_config_profile_get(&cfg, "k", 0, 1), "from-credentials");
    cr_assert_str_eq(ddb_config_profile_get(&cfg, "only", 1, 1), "here");
    cr_assert_null(ddb_config_profile_get(&cfg, "only", 1, 0));
}

Test(config, reports_an_unknown_profile_and_the_files_it_read)
{
    fake_env_write_file(config_path, "[default]\nregion = us-east-1\n");
    setenv_fake("AWS_PROFILE", "nope");
    cr_assert_eq(load(NULL, NULL, NULL), -1);
    cr_assert_eq(err.code, DDB_ECONFIG);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "The config profile (nope) could not be found (%s was read, %s does not exist)",
             config_path, credentials_path);
    cr_assert_str_eq(err.message, expected);
}

Test(config, reports_an_explicit_default_profile_that_is_nowhere)
{
    cr_assert_eq(load("default", "us-east-1", NULL), -1);
    cr_assert(strstr(err.message, "The config profile (default) could not be found") != NULL, "%s",
              err.message);
}

Test(config, finds_a_profile_that_is_only_in_the_credentials_file)
{
    fake_env_write_file(credentials_path, "[dev]\n");
    load_ok("dev", "us-east-1", NULL);
    cr_assert_str_eq(cfg.profile, "dev");
}

Test(config, names_the_file_and_line_of_a_malformed_file)
{
    fake_env_write_file(credentials_path, "[default]\naws_access_key_id = AKID\noops\n");
    cr_assert_eq(load(NULL, "us-east-1", NULL), -1);
    cr_assert_eq(err.code, DDB_ECONFIG);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s line 3: expected [section] or key = value",
             credentials_path);
    cr_assert_str_eq(err.message, expected);
}

Test(config, leaves_a_config_that_can_be_cleaned_up_after_a_failure)
{
    cr_assert_eq(load("nope", NULL, NULL), -1);
    ddb_config_cleanup(&cfg);
    ddb_config_cleanup(&cfg);
    cr_assert_null(cfg.profile);
}

/* ---- region ---- */

Test(config, takes_the_region_option_first)
{
    fake_env_write_file(config_path, "[default]\nregion = from-profile\n");
    setenv_fake("AWS_REGION", "from-aws-region");
    setenv_fake("AWS_DEFAULT_REGION", "from-default-region");
    load_ok(NULL, "from-option", NULL);
    cr_assert_str_eq(cfg.region, "from-option");
    cr_assert_str_eq(cfg.region_from, "option");
}

Test(config, takes_aws_region_before_aws_default_region)
{
    fake_env_write_file(config_path, "[default]\nregion = from-profile\n");
    setenv_fake("AWS_REGION", "from-aws-region");
    setenv_fake("AWS_DEFAULT_REGION", "from-default-region");
    load_ok(NULL, NULL, NULL);
    cr_assert_str_eq(cfg.region, "from-aws-region");
    cr_assert_str_eq(cfg.region_from, "AWS_REGION");
}

Test(config, takes_aws_default_region_before_the_profile)
{
    fake_env_write_file(config_path, "[default]\nregion = from-profile\n");
    setenv_fake("AWS_DEFAULT_REGION", "from-default-region");
    setenv_fake("AWS_REGION", "");
    load_ok(NULL, NULL, NULL);
    cr_assert_str_eq(cfg.region, "from-default-region");
    cr_assert_str_eq(cfg.region_from, "AWS_DEFAULT_REGION");
}

Test(config, takes_the_region_of_the_profile_last)
{
    fake_env_write_file(config_path, "[profile dev]\nregion = eu-central-1\n");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.region, "eu-central-1");
    char expected[256];
    snprintf(expected, sizeof expected, "profile dev in %s", config_path);
    cr_assert_str_eq(cfg.region_from, expected);
}

Test(config, takes_a_region_from_the_credentials_file)
{
    fake_env_write_file(credentials_path, "[dev]\nregion = sa-east-1\n");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.region, "sa-east-1");
}

Test(config, says_how_to_give_a_region_when_there_is_none)
{
    fake_env_write_file(config_path, "[default]\noutput = json\n");
    cr_assert_eq(load(NULL, NULL, NULL), -1);
    cr_assert_eq(err.code, DDB_ECONFIG);
    cr_assert(strstr(err.message, "no region") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "SOURCE") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "-o region=") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "AWS_REGION") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, config_path) != NULL, "%s", err.message);
}

Test(config, rejects_a_region_that_cannot_be_a_host_name)
{
    cr_assert_eq(load(NULL, "us-east-1.evil.com/", NULL), -1);
    cr_assert_eq(err.code, DDB_ECONFIG);
    cr_assert(strstr(err.message, "not a valid region") != NULL, "%s", err.message);
}

Test(config, a_bad_region_spanning_continuation_lines_is_quoted_on_one_line)
{
    fake_env_write_file(config_path, "[default]\nregion = us-east\n  x = y\n");
    cr_assert_eq(load(NULL, NULL, NULL), -1);
    cr_assert(strstr(err.message, "not a valid region") != NULL, "%s", err.message);
    cr_assert(strchr(err.message, '\n') == NULL, "%s", err.message);
}

/* ---- endpoint ---- */

static void write_endpoint_profile(void)
{
    fake_env_write_file(config_path, "[profile dev]\n"
                            "region = us-east-1\n"
                            "services = local\n"
                            "endpoint_url = http://profile:1\n"
                            "[services local]\n"
                            "dynamodb =\n"
                            "  endpoint_url = http://services:2\n");
}

static void set_endpoint_env(void)
{
    setenv_fake("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb-env:3");
    setenv_fake("AWS_ENDPOINT_URL", "http://env:4");
}

Test(config, takes_the_endpoint_option_first)
{
    write_endpoint_profile();
    set_endpoint_env();
    load_ok("dev", NULL, "https://option:5");
    cr_assert_str_eq(cfg.endpoint, "https://option:5");
    cr_assert_str_eq(cfg.endpoint_from, "option");
}

Test(config, takes_aws_endpoint_url_dynamodb_before_aws_endpoint_url)
{
    write_endpoint_profile();
    set_endpoint_env();
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "http://dynamodb-env:3");
    cr_assert_str_eq(cfg.endpoint_from, "AWS_ENDPOINT_URL_DYNAMODB");
}

Test(config, takes_aws_endpoint_url_before_the_profile)
{
    write_endpoint_profile();
    setenv_fake("AWS_ENDPOINT_URL", "http://env:4");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "http://env:4");
    cr_assert_str_eq(cfg.endpoint_from, "AWS_ENDPOINT_URL");
}

Test(config, takes_the_services_section_before_the_profile_endpoint_url)
{
    write_endpoint_profile();
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "http://services:2");
    char expected[256];
    snprintf(expected, sizeof expected, "[services local] in %s (profile dev)", config_path);
    cr_assert_str_eq(cfg.endpoint_from, expected);
}

Test(config, takes_the_profile_endpoint_url_when_services_has_no_dynamodb)
{
    fake_env_write_file(config_path, "[profile dev]\nregion = us-east-1\nservices = local\n"
                            "endpoint_url = http://profile:1\n"
                            "[services local]\ns3 =\n  endpoint_url = http://s3:9\n");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "http://profile:1");
    char expected[256];
    snprintf(expected, sizeof expected, "profile dev in %s", config_path);
    cr_assert_str_eq(cfg.endpoint_from, expected);
}

Test(config, defaults_to_the_regional_endpoint)
{
    load_ok(NULL, "eu-west-1", NULL);
    cr_assert_str_eq(cfg.endpoint, "https://dynamodb.eu-west-1.amazonaws.com");
    cr_assert_str_eq(cfg.endpoint_from, "default for region eu-west-1");
}

Test(config, uses_the_china_domain_for_china_regions)
{
    load_ok(NULL, "cn-north-1", NULL);
    cr_assert_str_eq(cfg.endpoint, "https://dynamodb.cn-north-1.amazonaws.com.cn");
}

Test(config, ignores_configured_endpoints_when_the_environment_says_so)
{
    write_endpoint_profile();
    set_endpoint_env();
    setenv_fake("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "https://dynamodb.us-east-1.amazonaws.com");

    load_ok("dev", NULL, "http://option:5");
    cr_assert_str_eq(cfg.endpoint, "http://option:5");
}

Test(config, ignores_configured_endpoints_when_the_profile_says_so)
{
    fake_env_write_file(config_path, "[profile dev]\nregion = us-east-1\n"
                            "ignore_configured_endpoint_urls = True\n"
                            "endpoint_url = http://profile:1\n");
    setenv_fake("AWS_ENDPOINT_URL", "http://env:4");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "https://dynamodb.us-east-1.amazonaws.com");

    /* The environment's setting wins over the profile's. */
    setenv_fake("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false");
    load_ok("dev", NULL, NULL);
    cr_assert_str_eq(cfg.endpoint, "http://env:4");
}

Test(config, rejects_an_endpoint_that_is_not_an_http_url)
{
    cr_assert_eq(load(NULL, "us-east-1", "localhost:8000"), -1);
    cr_assert_eq(err.code, DDB_ECONFIG);
    cr_assert(strstr(err.message, "http:// or https://") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "option") != NULL, "%s", err.message);

    setenv_fake("AWS_ENDPOINT_URL", "ftp://host");
    cr_assert_eq(load(NULL, "us-east-1", NULL), -1);
    cr_assert(strstr(err.message, "AWS_ENDPOINT_URL") != NULL, "%s", err.message);

    cr_assert_eq(load(NULL, "us-east-1", "http://"), -1);
}

/* ---- environment ---- */

Test(config, treats_an_empty_variable_as_unset)
{
    setenv_fake("AWS_REGION", "");
    setenv_fake("AWS_DEFAULT_REGION", "us-west-2");
    load_ok(NULL, NULL, NULL);
    cr_assert_null(ddb_config_env(&cfg, "AWS_REGION"));
    cr_assert_str_eq(ddb_config_env(&cfg, "AWS_DEFAULT_REGION"), "us-west-2");
    cr_assert_eq(cfg.getenv, fake_env_get);
    cr_assert_eq(cfg.getenv_ud, &env);
}
