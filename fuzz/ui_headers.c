/* ui_headers.c: fuzz target for the request headers the dashboard's asset
 * serving parses (api/ui.c): If-None-Match lists and Accept-Encoding with
 * q-values. Input: one header value, split at the first NUL into an
 * If-None-Match value and an ETag to look for (the Accept-Encoding check
 * reads the whole input). Invariants: no read outside the NUL-terminated
 * copies (ASan); "*" and an exact single tag always match; an ETag never
 * matches a value that does not contain it. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *all = malloc(size + 1);
    if (all == NULL)
        return 0;
    memcpy(all, data, size);
    all[size] = 0;
    (void)ui_accepts_gzip(all);
    const char *inm = all;
    const char *tag = all + strlen(all) + (strlen(all) < size ? 1 : 0);
    bool m = ui_etag_matches(inm, tag);
    /* a match is the tag itself in the list, or "*" */
    assert(!m || tag[0] == 0 || strstr(inm, tag) != NULL || strchr(inm, '*') != NULL);
    if (tag[0] != 0 && strncmp(tag, "W/", 2) != 0 && strcspn(tag, ", \t") == strlen(tag))
        assert(ui_etag_matches(tag, tag));
    assert(ui_etag_matches("*", tag));
    free(all);
    return 0;
}
