/* Profile, files, region and endpoint, resolved in the AWS CLI's order (see config.h).
 *
 * As botocore does, the profile's settings come from the config file ([profile NAME], or
 * [default] / [profile default] for "default") and also from the credentials file ([NAME]), so a
 * region written in ~/.aws/credentials counts; the config file is looked at first. */
#include "ddb/config.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/limits.h"
#include "ddb/ini.h"

#define PATH_TEXT_MAX 4096 /* a file path we build */

const char *ddb_config_env(const struct ddb_config *cfg, const char *name)
{
    const char *v = cfg->getenv ? cfg->getenv(name, cfg->getenv_ud) : getenv(name);
    return v && v[0] ? v : NULL;
}

/* The section that holds profile NAME in the config file. */
static const char *config_section(const struct ddb_config *cfg, char *out, size_t outlen)
{
    if (strcmp(cfg->profile, "default") == 0 && ddb_ini_has_section(cfg->config, "default"))
        return "default";
    snprintf(out, outlen, "profile %s", cfg->profile);
    return out;
}

/* ddb_config_profile_get that also says which file the value came from (NULL when not found). */
static const char *profile_lookup(const struct ddb_config *cfg, const char *key, int from_config,
                                  int from_credentials, const char **path)
{
    char sect[DDB_CONFIG_FROM_MAX];
    const char *v = NULL;
    *path = NULL;
    if (from_config && cfg->config) {
        const char *name = config_section(cfg, sect, sizeof sect);
        v = ddb_ini_get(cfg->config, name, key);
        if (!v && strcmp(name, "default") == 0)
            v = ddb_ini_get(cfg->config, "profile default", key);
        if (v)
            *path = cfg->config_path;
    }
    if (!v && from_credentials && cfg->credentials) {
        v = ddb_ini_get(cfg->credentials, cfg->profile, key);
        if (v)
            *path = cfg->credentials_path;
    }
    return v;
}

const char *ddb_config_profile_get(const struct ddb_config *cfg, const char *key, int from_config,
                                   int from_credentials)
{
    const char *path;
    return profile_lookup(cfg, key, from_config, from_credentials, &path);
}

static int profile_exists(const struct ddb_config *cfg)
{
    char sect[DDB_CONFIG_FROM_MAX];
    if (cfg->config) {
        if (ddb_ini_has_section(cfg->config, config_section(cfg, sect, sizeof sect)))
            return 1;
        if (strcmp(cfg->profile, "default") == 0 &&
            ddb_ini_has_section(cfg->config, "profile default"))
            return 1;
    }
    return cfg->credentials && ddb_ini_has_section(cfg->credentials, cfg->profile);
}

/* path from a variable (with a leading "~/" expanded) or $HOME/rel. New string or NULL. */
static char *file_path(const struct ddb_config *cfg, const char *var, const char *rel,
                       struct ddb_error *err)
{
    const char *v = ddb_config_env(cfg, var);
    const char *home = ddb_config_env(cfg, "HOME");
    char pwbuf[1024];
    struct passwd pw, *pwp = NULL;
    char *out = NULL;

    if (v && !(v[0] == '~' && (v[1] == '/' || v[1] == '\0'))) {
        out = strdup(v);
        if (!out)
            ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return out;
    }
    if (!home && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp && pwp->pw_dir &&
        pwp->pw_dir[0])
        home = pwp->pw_dir;
    if (!home) {
        ddb_error_set(err, DDB_ECONFIG, "cannot find the home directory for %s: set HOME or %s",
                      v ? v : rel, var);
        return NULL;
    }
    struct buf b;
    buf_init(&b, PATH_TEXT_MAX);
    if (buf_addstr(&b, home) || buf_addstr(&b, v ? v + 1 : "/") || (!v && buf_addstr(&b, rel))) {
        ddb_error_set(err, DDB_ECONFIG, "the path of %s is too long", v ? var : rel);
        buf_cleanup(&b);
        return NULL;
    }
    out = buf_detach(&b, NULL);
    if (!out)
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
    return out;
}

static int load_file(const char *path, struct ddb_ini **out, struct ddb_error *err)
{
    char msg[DDB_ERRMSG_MAX];
    int missing = 0;
    *out = ddb_ini_load(path, &missing, msg, sizeof msg);
    if (!*out && !missing) {
        ddb_error_set(err, DDB_ECONFIG, "%s", msg);
        return -1;
    }
    return 0;
}

static int set_string(char **dst, const char *src, struct ddb_error *err)
{
    *dst = strdup(src);
    if (!*dst) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return -1;
    }
    return 0;
}

static void set_from(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_from(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, DDB_CONFIG_FROM_MAX, fmt, ap);
    va_end(ap);
}

static int is_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

/* botocore's check of region names: they go into a host name. */
static int region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 63 || r[0] == '-' || r[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int url_valid(const char *u)
{
    size_t skip;
    if (strncasecmp(u, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(u, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    if (u[skip] == '\0' || u[skip] == '/')
        return 0;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

static void files_read(const struct ddb_config *cfg, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s %s, %s %s", cfg->config_path,
             cfg->config ? "was read" : "does not exist", cfg->credentials_path,
             cfg->credentials ? "was read" : "does not exist");
}

static int resolve_region(const struct ddb_config_opts *opts, struct ddb_config *cfg,
                          struct ddb_error *err)
{
    const char *r = NULL, *path;
    if (opts->region && opts->region[0]) {
        r = opts->region;
        set_from(cfg->region_from, "option");
    } else if ((r = ddb_config_env(cfg, "AWS_REGION"))) {
        set_from(cfg->region_from, "AWS_REGION");
    } else if ((r = ddb_config_env(cfg, "AWS_DEFAULT_REGION"))) {
        set_from(cfg->region_from, "AWS_DEFAULT_REGION");
    } else if ((r = profile_lookup(cfg, "region", 1, 1, &path)) && r[0]) {
        set_from(cfg->region_from, "profile %s in %s", cfg->profile, path);
    } else {
        ddb_error_set(err, DDB_ECONFIG,
                      "no region: give one as the SOURCE argument or with -o region=, set "
                      "AWS_REGION, or add \"region = ...\" to profile %s in %s",
                      cfg->profile, cfg->config_path);
        return -1;
    }
    if (!region_valid(r)) {
        /* The value may come from a file, continuation lines included: one printable line. */
        char shown[65];
        size_t i;
        for (i = 0; r[i] && i < sizeof shown - 1; i++)
            shown[i] = (r[i] >= 0x20 && r[i] < 0x7f) ? r[i] : '?';
        shown[i] = '\0';
        ddb_error_set(err, DDB_ECONFIG,
                      "region \"%s\" (from %s) is not a valid region name such as us-east-1", shown,
                      cfg->region_from);
        return -1;
    }
    return set_string(&cfg->region, r, err);
}

/* The profile's "services = NAME" -> [services NAME] SERVICE = endpoint_url = URL (config file
 * only, as botocore). Borrowed or NULL; from (DDB_CONFIG_FROM_MAX bytes) says where. */
static const char *services_endpoint(const struct ddb_config *cfg, const char *service, char *from)
{
    const char *path;
    const char *services = profile_lookup(cfg, "services", 1, 1, &path);
    char sect[DDB_CONFIG_FROM_MAX];
    if (!services || !services[0] || !cfg->config)
        return NULL;
    snprintf(sect, sizeof sect, "services %s", services);
    const char *e = ddb_ini_get_sub(cfg->config, sect, service, "endpoint_url");
    if (!e || !e[0])
        return NULL;
    set_from(from, "[%s] in %s (profile %s)", sect, cfg->config_path, cfg->profile);
    return e;
}

const char *ddb_config_service_endpoint(const struct ddb_config *cfg, const char *service,
                                        const char *env_name, char *from)
{
    const char *e, *path;
    char var[128];
    const char *ignore = ddb_config_env(cfg, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!ignore)
        ignore = ddb_config_profile_get(cfg, "ignore_configured_endpoint_urls", 1, 1);
    if (is_true(ignore))
        return NULL;
    snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", env_name);
    if ((e = ddb_config_env(cfg, var))) {
        set_from(from, "%s", var);
    } else if ((e = ddb_config_env(cfg, "AWS_ENDPOINT_URL"))) {
        set_from(from, "AWS_ENDPOINT_URL");
    } else if ((e = services_endpoint(cfg, service, from))) {
        /* from set */
    } else if ((e = profile_lookup(cfg, "endpoint_url", 1, 1, &path)) && e[0]) {
        set_from(from, "profile %s in %s", cfg->profile, path);
    } else {
        return NULL;
    }
    return e;
}

static int resolve_endpoint(const struct ddb_config_opts *opts, struct ddb_config *cfg,
                            struct ddb_error *err)
{
    const char *e = NULL, *path = NULL;
    const char *ignore = ddb_config_env(cfg, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!ignore)
        ignore = ddb_config_profile_get(cfg, "ignore_configured_endpoint_urls", 1, 1);

    if (opts->endpoint && opts->endpoint[0]) {
        e = opts->endpoint;
        set_from(cfg->endpoint_from, "option");
    } else if (is_true(ignore)) {
        e = NULL;
    } else if ((e = ddb_config_env(cfg, "AWS_ENDPOINT_URL_DYNAMODB"))) {
        set_from(cfg->endpoint_from, "AWS_ENDPOINT_URL_DYNAMODB");
    } else if ((e = ddb_config_env(cfg, "AWS_ENDPOINT_URL"))) {
        set_from(cfg->endpoint_from, "AWS_ENDPOINT_URL");
    } else if ((e = services_endpoint(cfg, "dynamodb", cfg->endpoint_from))) {
        /* endpoint_from set */
    } else if ((e = profile_lookup(cfg, "endpoint_url", 1, 1, &path)) && e[0]) {
        set_from(cfg->endpoint_from, "profile %s in %s", cfg->profile, path);
    } else {
        e = NULL;
    }

    if (!e) {
        /* The China partition has its own domain. */
        const char *domain =
            strncmp(cfg->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        struct buf b;
        buf_init(&b, PATH_TEXT_MAX);
        if (buf_addf(&b, "https://dynamodb.%s.%s", cfg->region, domain)) {
            buf_cleanup(&b);
            ddb_error_set(err, DDB_ENOMEM, "out of memory");
            return -1;
        }
        cfg->endpoint = buf_detach(&b, NULL);
        set_from(cfg->endpoint_from, "default for region %s", cfg->region);
        return 0;
    }
    if (!url_valid(e)) {
        ddb_error_set(err, DDB_ECONFIG,
                      "endpoint \"%.200s\" (from %s) is not a URL: it must start with http:// "
                      "or https:// followed by a host",
                      e, cfg->endpoint_from);
        return -1;
    }
    return set_string(&cfg->endpoint, e, err);
}

int ddb_config_load(const struct ddb_config_opts *opts, struct ddb_config *out,
                    struct ddb_error *err)
{
    memset(out, 0, sizeof(*out));
    out->getenv = opts->getenv;
    out->getenv_ud = opts->getenv_ud;

    const char *profile = NULL;
    int named = 0;
    if (opts->profile && opts->profile[0]) {
        profile = opts->profile;
        out->profile_explicit = 1;
        named = 1;
    } else if ((profile = ddb_config_env(out, "AWS_PROFILE"))) {
        named = 1;
    } else {
        profile = "default";
    }
    if (set_string(&out->profile, profile, err) < 0)
        return -1;

    out->config_path = file_path(out, "AWS_CONFIG_FILE", ".aws/config", err);
    if (!out->config_path)
        return -1;
    out->credentials_path = file_path(out, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", err);
    if (!out->credentials_path)
        return -1;
    if (load_file(out->config_path, &out->config, err) < 0 ||
        load_file(out->credentials_path, &out->credentials, err) < 0)
        return -1;

    if (named && !profile_exists(out)) {
        char files[DDB_ERRMSG_MAX];
        files_read(out, files, sizeof files);
        ddb_error_set(err, DDB_ECONFIG, "The config profile (%s) could not be found (%s)",
                      out->profile, files);
        return -1;
    }

    if (resolve_region(opts, out, err) < 0 || resolve_endpoint(opts, out, err) < 0)
        return -1;
    return 0;
}

void ddb_config_cleanup(struct ddb_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->profile);
    free(cfg->region);
    free(cfg->endpoint);
    free(cfg->config_path);
    free(cfg->credentials_path);
    ddb_ini_free(cfg->config);
    ddb_ini_free(cfg->credentials);
    memset(cfg, 0, sizeof(*cfg));
}
