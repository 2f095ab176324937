/* fuzz/routeros_reply.c: the RouterOS API reply decoder
 * (collect/routeros_wire.c) on arbitrary bytes, fed whole and in random
 * splits. Checks, beyond "no crash, no leak": every sentence handed over
 * has a known type, words that are UTF-8 and within the caps, a tag that
 * lies inside one of its words; the same input split differently gives the
 * same sentences and drops. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/routeros_wire.h"

struct tally {
    uint64_t hash;
    size_t sentences, dropped;
};

static int on_sentence(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct tally *t = ctx;
    if (s == NULL) {
        assert(why != ROS_DROP_NONE);
        t->dropped++;
        t->hash = t->hash * 31 + (uint64_t)why;
        return 0;
    }
    assert(s->type >= ROS_RE && s->type <= ROS_EMPTY);
    t->sentences++;
    t->hash = t->hash * 131 + (uint64_t)s->type;
    for (size_t i = 0; i < s->nwords; i++) {
        assert(s->words[i].n > 0 && s->words[i].n <= 256);
        assert(ros_utf8_valid(s->words[i].p, s->words[i].n));
        for (size_t j = 0; j < s->words[i].n; j++)
            t->hash = t->hash * 257 + (uint8_t)s->words[i].p[j];
    }
    struct strv v;
    (void)ros_get(s, "ret", &v);
    return 0;
}

static int run(const uint8_t *data, size_t size, size_t step, struct tally *t)
{
    struct ros_dec d;
    ros_dec_init(&d);
    d.max_word = 256;
    d.max_words = 16;
    d.max_sentence = 1024;
    int rc = 0;
    for (size_t i = 0; i < size && rc == 0; i += step) {
        size_t n = size - i < step ? size - i : step;
        rc = ros_dec_feed(&d, data + i, n, on_sentence, t, NULL);
    }
    ros_dec_fini(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tally a = {0}, b = {0};
    int ra = run(data, size, size ? size : 1, &a);
    size_t step = size ? (size_t)(data[0] % 7) + 1 : 1;
    int rb = run(data, size, step, &b);
    assert(ra == rb);
    assert(a.sentences == b.sentences && a.dropped == b.dropped && a.hash == b.hash);
    return 0;
}
