/* libFuzzer target: ~/.aws/config and ~/.aws/credentials as ddb/config.c loads them (profile,
 * region, endpoint, services sections). The input is the config file, then the byte \f, then the
 * credentials file; its first byte picks the profile. The files are written into a private
 * temporary directory; the environment is injected (nothing of the process's is read). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddb/config.h"

static char dir[64];
static char config_path[128];
static char credentials_path[128];
static const char *profile;

static void remove_dir(void)
{
    unlink(config_path);
    unlink(credentials_path);
    rmdir(dir);
}

static const char *get(const char *name, void *ud)
{
    (void)ud;
    if (!strcmp(name, "AWS_CONFIG_FILE"))
        return config_path;
    if (!strcmp(name, "AWS_SHARED_CREDENTIALS_FILE"))
        return credentials_path;
    if (!strcmp(name, "AWS_PROFILE"))
        return profile;
    if (!strcmp(name, "HOME"))
        return dir;
    return NULL;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const profiles[] = {NULL, "dev", "default", "local"};
    struct ddb_config cfg;
    struct ddb_error err;

    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", "/tmp/ddbfs-fuzz-config.XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(config_path, sizeof config_path, "%s/config", dir);
        snprintf(credentials_path, sizeof credentials_path, "%s/credentials", dir);
        atexit(remove_dir);
    }
    if (size < 1)
        return 0;
    profile = profiles[data[0] % 4];
    data++, size--;
    const uint8_t *ff = memchr(data, '\f', size);
    size_t nconfig = ff ? (size_t)(ff - data) : size;
    write_file(config_path, data, nconfig);
    if (ff)
        write_file(credentials_path, ff + 1, size - nconfig - 1);
    else
        unlink(credentials_path);

    struct ddb_config_opts o = {.getenv = get};
    memset(&cfg, 0, sizeof cfg);
    ddb_error_clear(&err);
    if (ddb_config_load(&o, &cfg, &err) == 0) {
        static const char *const keys[] = {"region", "aws_access_key_id", "aws_secret_access_key",
                                           "endpoint_url", "credential_process", "role_arn"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            (void)ddb_config_profile_get(&cfg, keys[i], 1, 1);
    }
    /* Not asserted here: a message quoting a value that spans continuation lines holds their
     * newlines ("region \"us-east\n  x = y\" ... is not a valid region name"); it is printed to
     * the terminal before mounting, not into a log line. */
    ddb_config_cleanup(&cfg); /* after a failure too (config.h) */
    return 0;
}
