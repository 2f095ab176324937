/* fs.h: the file-system calls storage needs, with errors as -errno:
 * whole writes, fsync of a file and of its directory, recursive mkdir,
 * whole-file reads, and an exclusive lock file for a data directory. */
#ifndef TIDE_CORE_FS_H
#define TIDE_CORE_FS_H

#include <stddef.h>
#include <sys/types.h>

int fs_write_all(int fd, const void *p, size_t n);
int fs_pread_all(int fd, void *p, size_t n, off_t off);
int fs_fsync(int fd);
int fs_fsync_dir(const char *dir);
int fs_mkdir_p(const char *path);
/* Read a whole file into a malloc'd buffer (caller frees), NUL-terminated. */
int fs_read_file(const char *path, char **out, size_t *len);
/* Write `path` atomically: temp file (mode 0644), fsync, rename, fsync of
 * the directory. */
int fs_write_file_atomic(const char *path, const void *p, size_t n);
/* The same with the file's mode (0600 for a file holding secrets). */
int fs_write_file_atomic_mode(const char *path, const void *p, size_t n, mode_t mode);
/* Remove a directory tree. Missing is not an error. */
int fs_rm_rf(const char *path);
/* Take an exclusive flock on DIR/LOCK; returns the fd (keep it open) or -errno. */
int fs_lock_dir(const char *dir);
/* The directory part of `path` into out ("" when path is NULL or has no
 * slash, "/" for "/x"), truncated to cap. */
void fs_dir_of(const char *path, char *out, size_t cap);
/* Bytes used by regular files under path (recursively). */
long long fs_du_bytes(const char *path);

#endif
