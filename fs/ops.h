/* The FUSE operations table. */
#ifndef FS_OPS_H
#define FS_OPS_H

struct fuse_operations;
extern const struct fuse_operations fs_ops;

struct fs;
/* Started in FUSE's init (after the fork): the HTTP engine's I/O thread and the client. */
int fs_start_io(struct fs *fs);
/* At unmount: stops the scans, the client and the I/O thread. */
void fs_stop_io(struct fs *fs);

#endif
