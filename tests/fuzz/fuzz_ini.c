/* libFuzzer target: the AWS CLI's INI dialect (ddb/ini.c) of ~/.aws/config and credentials. The
 * lookups touch sections, sub-sections and keys the way the config and credential code does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddb/ini.h"

static void assert_one_line(const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n') {
            fprintf(stderr, "ini message holds a newline: %s\n", msg);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024] = "";
    struct ddb_ini *ini = ddb_ini_parse((const char *)data, size, "fuzz.ini", err, sizeof err);
    if (!ini) {
        assert_one_line(err);
        return 0;
    }
    static const char *const sections[] = {"default", "profile dev", "services local", "a", ""};
    static const char *const keys[] = {"region", "aws_access_key_id", "endpoint_url", "a", ""};
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        (void)ddb_ini_has_section(ini, sections[i]);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            (void)ddb_ini_get(ini, sections[i], keys[k]);
            (void)ddb_ini_get_sub(ini, sections[i], "dynamodb", keys[k]);
            (void)ddb_ini_get_sub(ini, sections[i], keys[k], keys[k]);
        }
    }
    ddb_ini_free(ini);
    return 0;
}
