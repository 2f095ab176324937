/* main.c: the `tide` command: subcommand dispatch (serve, version). */
#include <stdio.h>
#include <string.h>

#define TIDE_VERSION "0.1.0"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("tide %s\n", TIDE_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: tide version\n");
    return 2;
}
