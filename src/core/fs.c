/* fs.c: file-system helpers with -errno returns (see fs.h). */
#include "core/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_pread_all(int fd, void *p, size_t n, off_t off)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = pread(fd, c, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        c += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int fs_fsync(int fd)
{
    return fdatasync(fd) == 0 ? 0 : -errno;
}

int fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int fs_mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int fs_read_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    char *p = malloc((size_t)st.st_size + 1);
    if (p == NULL) {
        close(fd);
        return -ENOMEM;
    }
    int rc = fs_pread_all(fd, p, (size_t)st.st_size, 0);
    close(fd);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p[st.st_size] = 0;
    *out = p;
    if (len)
        *len = (size_t)st.st_size;
    return 0;
}

int fs_write_file_atomic(const char *path, const void *p, size_t n)
{
    return fs_write_file_atomic_mode(path, p, n, 0644);
}

int fs_write_file_atomic_mode(const char *path, const void *p, size_t n, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = fs_write_all(fd, p, n);
    if (rc == 0)
        rc = fs_fsync(fd);
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        return fs_fsync_dir(dir[0] ? dir : "/");
    }
    return fs_fsync_dir(".");
}

int fs_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : -errno;
    DIR *d = opendir(path);
    if (d == NULL)
        return -errno;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int)sizeof sub) {
            rc = -ENAMETOOLONG;
            continue;
        }
        int r = fs_rm_rf(sub);
        if (r != 0)
            rc = r;
    }
    closedir(d);
    if (rmdir(path) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int fs_lock_dir(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/LOCK", dir) >= (int)sizeof p)
        return -ENAMETOOLONG;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

long long fs_du_bytes(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    long long total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int)sizeof sub)
            continue;
        total += fs_du_bytes(sub);
    }
    closedir(d);
    return total;
}

void fs_dir_of(const char *path, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = 0;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash == NULL)
        return;
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/x.yml" */
    snprintf(out, cap, "%.*s", (int)n, path);
}
