/* The AWS CLI's INI dialect for ~/.aws/credentials and ~/.aws/config: [section] headers, key = value,
 * comments starting with # or ; (at line start, or after whitespace in a value), and indented
 * continuation lines that form sub-sections (e.g. "dynamodb =\n  endpoint_url = ..." in a
 * [services NAME] section). Pure: parses a string it is given. */
#ifndef DDB_INI_H
#define DDB_INI_H

#include <stddef.h>

struct ddb_ini; /* opaque */

/* Parses text (len bytes, need not be NUL-terminated). Returns a new object (free with
 * ddb_ini_free) or NULL with a message naming file_name and the line in errbuf. */
struct ddb_ini *ddb_ini_parse(const char *text, size_t len, const char *file_name, char *errbuf,
                              size_t errlen);
void ddb_ini_free(struct ddb_ini *ini);

/* Reads and parses a file. Missing file: returns NULL with *missing = 1 and no error.
 * Other failures: NULL, *missing = 0, message in errbuf. */
struct ddb_ini *ddb_ini_load(const char *path, int *missing, char *errbuf, size_t errlen);

/* Borrowed value, or NULL. Section names are as written between brackets with surrounding spaces
 * trimmed, e.g. "default", "profile dev", "services local". Top-level keys were lower-cased when
 * the file was read (as the CLI does), so look them up in lower case. */
const char *ddb_ini_get(const struct ddb_ini *ini, const char *section, const char *key);
/* A key of a sub-section: ("services local", "dynamodb", "endpoint_url"). */
const char *ddb_ini_get_sub(const struct ddb_ini *ini, const char *section, const char *sub,
                            const char *key);
/* 1 when the section exists (even empty). */
int ddb_ini_has_section(const struct ddb_ini *ini, const char *section);

#endif
