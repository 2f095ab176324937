/* replay_main.c: runs a fuzz target over every file of its corpus folder(s),
 * so the corpus is a regression suite in builds without libFuzzer (SQLite's
 * fuzzcheck). Exit status 0 when every input ran. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            fprintf(stderr, "replay: cannot open %s\n", argv[i]);
            return 1;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            char *p;
            size_t n;
            if (fs_read_file(path, &p, &n) != 0)
                continue;
            LLVMFuzzerTestOneInput((const uint8_t *)p, n);
            free(p);
            ran++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", ran);
    return ran > 0 ? 0 : 1;
}
