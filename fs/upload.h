/* What the upload files share (fs/upload.c, fs/spool.c): one file being written into a table
 * directory. Not for the rest of fs/, which sees struct fs_upload only through fs.h. */
#ifndef FS_UPLOAD_H
#define FS_UPLOAD_H

#include <openssl/evp.h>
#include <pthread.h>
#include <zlib.h>

#include "base/limits.h"
#include "fs/fs.h"

enum kind { UP_DATA, UP_SCHEMA, UP_TTL, UP_MANIFEST };

/* A line travelling with its item through the writer, for the rejects file. */
struct raw_line {
    size_t len;
    char data[];
};

struct fs_upload {
    struct fs_upload *next_open, *prev_open; /* fs->uploads, under fs->lock */
    struct fs *fs;
    struct fs_table *t;
    struct fs_written *entry;
    char *path; /* "table/name" */
    char *meant; /* the name the tool means (rsync's temp name seen through) */
    enum kind kind;
    EVP_MD_CTX *sha;        /* data files: sha256 of the bytes received (for the manifest check) */
    long told_stored, told_rejected; /* already counted in the table's progress */
    double told_wcu;
    off_t offset; /* bytes received */

    /* Data files: */
    unsigned char head[2];
    int nhead;
    int gz; /* 0 unknown, 1 plain, 2 gzip */
    z_stream *z;
    int z_done; /* the gzip stream ended (Z_STREAM_END) and nothing followed */
    int z_bad;  /* the gzip data was corrupt: reported, nothing after it is read */
    struct buf line;
    int skipping; /* inside an over-long line */
    long line_no;
    struct ddb_writer *writer;
    long items; /* given to the writer */

    /* Documents: */
    struct buf doc;

    pthread_mutex_t lock; /* rejects, from the writer's thread too */
    long rejected;
    long logged;
    char first[DDB_ERRMSG_MAX];
    int rejects_fd;
    char *rejects_path;

    int spool_fd; /* >= 0: a data file in a pending table, kept until the schema comes */
    char *spool_path;
    int spool_done; /* handed to the table's spool list */
    int dirty;    /* received bytes since the last flush */
    int doc_bad;  /* the document could not be taken whole (EFBIG): never applied */
    int result;   /* of the last flush */
    int doc_done; /* the document was applied */
};

/* spool.c: a data file written into a pending table before its _schema.json waits in a spool
 * file (0600, under the cache directory) until the schema creates the table. */
/* Opens u's spool file. 0, -ENOMEM or -EIO (logged). */
int fs_spool_open(struct fs_upload *u);
/* Writes size bytes at u->offset. 0 or -EIO (logged). */
int fs_spool_write(struct fs_upload *u, const char *buf, size_t size);
/* At close: the bytes are on disk and the file joins the table's spool list. 0 or a negative errno. */
int fs_spool_close(struct fs_upload *u);
/* After the schema created t: stores every file that was waiting for it, in order. 0, or -EIO
 * when some item of them could not be stored (each logged, as for any restore). */
int fs_spool_replay(struct fs_table *t, const char *schema_path);

#endif
