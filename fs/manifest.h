/* The manifest of a table's backup, pure (no fs state): its text form and its parser.
 *
 * The manifest is `segments.sha256` in each table directory. Its name sorts byte-wise after every
 * `segment-*` file (rsync sorts) and readdir lists it last (cp and tar follow readdir), so copy
 * tools reach it after the segments. It is a `sha256sum -c` file whose `#` comment lines (which
 * sha256sum ignores) carry the rest:
 *
 *   # ddbfs manifest 1
 *   # table: orders
 *   # segments: 4
 *   # items: 1000
 *   # bytes: 123456
 *   # time: 2026-11-22T05:30:00Z
 *   # schema-sha256: <hex>
 *   # segment: segment-0000-of-0004.json items=250 bytes=30000
 *   ...
 *   <hex>  _schema.json
 *   <hex>  segment-0000-of-0004.json
 *   ...
 */
#ifndef FS_MANIFEST_H
#define FS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FS_MANIFEST_NAME "segments.sha256"
/* With shard=K/M each host's manifest covers its own segments and is named
 * segments-K-of-M.sha256, so that M hosts copying into one directory do not overwrite each
 * other's (the name still sorts after every segment-* file). */
#define FS_MANIFEST_NAME_MAX 64
#define FS_MANIFEST_MAX (64u << 20) /* a manifest written into a table: at most this many bytes */

struct fs_manifest_seg {
    char *name; /* owned */
    long items;
    uint64_t bytes;
    char sha[65]; /* lowercase hex, "" when the manifest has no checksum line for it */
};

/* Embedded: fs_manifest_init (cannot fail) / fs_manifest_cleanup. */
struct fs_manifest {
    char *table; /* owned */
    const char *file; /* the manifest's own name (borrowed, static or caller's); NULL: the default */
    unsigned nseg;
    long items;
    uint64_t bytes;
    time_t time;
    char schema_sha[65];
    struct fs_manifest_seg *segs; /* n of them, owned */
    size_t n, cap;
};

void fs_manifest_init(struct fs_manifest *m);
void fs_manifest_cleanup(struct fs_manifest *m);
/* Sets the table name (copied). 0, or -1 when out of memory. */
int fs_manifest_set_table(struct fs_manifest *m, const char *table);
/* Appends a segment (name copied; sha: 64 hex digits or NULL) and adds to the totals. 0 or -1. */
int fs_manifest_add(struct fs_manifest *m, const char *name, long items, uint64_t bytes,
                    const char *sha);
/* A segment by name (borrowed), or NULL. */
const struct fs_manifest_seg *fs_manifest_find(const struct fs_manifest *m, const char *name);
/* The text (a new string, NUL-terminated, *len bytes), or NULL when out of memory. */
char *fs_manifest_format(const struct fs_manifest *m, size_t *len);
/* Parses text into m (initialised by the caller). 0, or -1 with msg ("line 3: ...") and m
 * cleaned up. Lines it does not know (other comments, blank lines) are skipped. */
int fs_manifest_parse(const char *text, size_t len, struct fs_manifest *m, char *msg,
                      size_t msglen);
/* The manifest's name for shard k of m hosts (m <= 1: no shard) into out. */
void fs_manifest_name(unsigned k, unsigned m, char *out, size_t len);
/* 1 when name is a manifest's name: segments.sha256 or segments-K-of-M.sha256. */
int fs_manifest_name_is(const char *name);
/* 32 bytes as 64 lowercase hex digits and a NUL. */
void fs_sha256_hex(const unsigned char digest[32], char out[65]);

#endif
