/* routeros_wire.c: the RouterOS API's words and sentences (routeros_wire.h):
 * the length encodings, a streaming reply decoder with caps, and the
 * encoder of command sentences. */
#include "collect/routeros_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void ros_dec_init(struct ros_dec *d)
{
    memset(d, 0, sizeof *d);
    d->max_word = ROS_WORD_MAX_DEFAULT;
    d->max_words = ROS_WORDS_MAX_DEFAULT;
    d->max_sentence = ROS_SENTENCE_MAX_DEFAULT;
    buf_init(&d->bytes, 0);
}

void ros_dec_fini(struct ros_dec *d)
{
    buf_fini(&d->bytes);
    free(d->offs);
    free(d->views);
    memset(d, 0, sizeof *d);
}

void ros_dec_reset(struct ros_dec *d)
{
    d->lenhave = d->lenneed = 0;
    d->wordlen = d->wordhave = 0;
    d->in_word = d->skip_word = false;
    d->drop = ROS_DROP_NONE;
    d->nwords = 0;
    buf_reset(&d->bytes);
}

const char *ros_drop_name(enum ros_drop why)
{
    switch (why) {
    case ROS_DROP_WORD_SIZE: return "word too long";
    case ROS_DROP_WORDS: return "too many words";
    case ROS_DROP_SIZE: return "sentence too long";
    case ROS_DROP_UTF8: return "not UTF-8";
    case ROS_DROP_TYPE: return "unknown reply type";
    default: return "none";
    }
}

bool ros_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

/* Bytes of the length that starts with c; 0 for a control byte. */
static unsigned len_bytes(uint8_t c)
{
    if ((c & 0x80) == 0)
        return 1;
    if ((c & 0xC0) == 0x80)
        return 2;
    if ((c & 0xE0) == 0xC0)
        return 3;
    if ((c & 0xF0) == 0xE0)
        return 4;
    if ((c & 0xF8) == 0xF0)
        return 5;
    return 0;
}

static uint32_t len_value(const uint8_t *b, unsigned n)
{
    switch (n) {
    case 1: return b[0];
    case 2: return ((uint32_t)(b[0] & 0x3F) << 8) | b[1];
    case 3: return ((uint32_t)(b[0] & 0x1F) << 16) | ((uint32_t)b[1] << 8) | b[2];
    case 4:
        return ((uint32_t)(b[0] & 0x0F) << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) |
               b[3];
    default:
        return ((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 8) | b[4];
    }
}

static int type_of(struct strv w, enum ros_type *t)
{
    static const struct {
        const char *word;
        enum ros_type type;
    } types[] = {{"!re", ROS_RE},
                 {"!done", ROS_DONE},
                 {"!trap", ROS_TRAP},
                 {"!fatal", ROS_FATAL},
                 {"!empty", ROS_EMPTY}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strv_eq_c(w, types[i].word)) {
            *t = types[i].type;
            return 0;
        }
    return -1;
}

/* The empty word arrived: hand the sentence over (or its drop) and reset. */
static int sentence_end(struct ros_dec *d, ros_sentence_fn *fn, void *ctx)
{
    size_t nw = d->nwords;
    enum ros_drop why = d->drop;
    d->nwords = 0;
    d->drop = ROS_DROP_NONE;
    if (nw == 0)
        return 0; /* an empty sentence (keep-alive): nothing to say */
    struct ros_sentence s = {0};
    if (why == ROS_DROP_NONE) {
        if (mem_grow((void **)&d->views, &d->cap_views, nw, sizeof *d->views) != 0) {
            buf_reset(&d->bytes);
            return -ENOMEM;
        }
        for (size_t i = 0; i < nw; i++) {
            size_t end = i + 1 < nw ? d->offs[i + 1] : d->bytes.len;
            d->views[i] = (struct strv){d->bytes.p + d->offs[i], end - d->offs[i]};
        }
        if (type_of(d->views[0], &s.type) != 0)
            why = ROS_DROP_TYPE;
    }
    int rc;
    if (why != ROS_DROP_NONE) {
        rc = fn(ctx, NULL, why);
    } else {
        s.words = d->views + 1;
        s.nwords = nw - 1;
        for (size_t i = 0; i < s.nwords; i++)
            if (s.words[i].n >= 5 && memcmp(s.words[i].p, ".tag=", 5) == 0)
                s.tag = (struct strv){s.words[i].p + 5, s.words[i].n - 5};
        rc = fn(ctx, &s, ROS_DROP_NONE);
    }
    buf_reset(&d->bytes);
    return rc;
}

/* A word of length len starts: decide whether it is kept. */
static int word_begin(struct ros_dec *d, uint32_t len)
{
    d->wordlen = len;
    d->wordhave = 0;
    d->in_word = true;
    d->skip_word = d->drop != ROS_DROP_NONE;
    if (d->drop == ROS_DROP_NONE) {
        if (len > d->max_word)
            d->drop = ROS_DROP_WORD_SIZE;
        else if (d->nwords >= d->max_words)
            d->drop = ROS_DROP_WORDS;
        else if (d->bytes.len + len > d->max_sentence)
            d->drop = ROS_DROP_SIZE;
        if (d->drop != ROS_DROP_NONE) {
            d->skip_word = true;
            buf_reset(&d->bytes);
        }
    }
    if (!d->skip_word) {
        if (mem_grow((void **)&d->offs, &d->cap_offs, d->nwords + 1, sizeof *d->offs) != 0 ||
            buf_reserve(&d->bytes, len + 1) != 0)
            return -ENOMEM;
        d->offs[d->nwords] = d->bytes.len;
    }
    d->nwords++;
    return 0;
}

static void word_end(struct ros_dec *d)
{
    d->in_word = false;
    if (!d->skip_word && d->drop == ROS_DROP_NONE) {
        size_t off = d->offs[d->nwords - 1];
        if (!ros_utf8_valid(d->bytes.p + off, d->bytes.len - off)) {
            d->drop = ROS_DROP_UTF8;
            buf_reset(&d->bytes);
        }
    }
}

int ros_dec_feed(struct ros_dec *d, const void *data, size_t n, ros_sentence_fn *fn, void *ctx,
                 struct err *e)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < n) {
        if (d->in_word) {
            size_t want = d->wordlen - d->wordhave;
            size_t take = n - i < want ? n - i : want;
            if (!d->skip_word && d->drop == ROS_DROP_NONE &&
                buf_append(&d->bytes, p + i, take) != 0)
                return -ENOMEM;
            d->wordhave += (uint32_t)take;
            i += take;
            if (d->wordhave == d->wordlen)
                word_end(d);
            continue;
        }
        if (d->lenneed == 0) {
            d->lenneed = len_bytes(p[i]);
            d->lenhave = 0;
            if (d->lenneed == 0) {
                unsigned c = p[i];
                ros_dec_reset(d);
                return ERR_SET(e, TIDE_EPARSE, "routeros: control byte 0x%02X where a length "
                                               "was expected", c);
            }
        }
        d->lenbuf[d->lenhave++] = p[i++];
        if (d->lenhave < d->lenneed)
            continue;
        uint32_t len = len_value(d->lenbuf, d->lenneed);
        d->lenneed = 0;
        if (len > ROS_WORD_HARD_MAX) {
            ros_dec_reset(d);
            return ERR_SET(e, TIDE_EPARSE, "routeros: word length %u is past %u", len,
                           ROS_WORD_HARD_MAX);
        }
        if (len == 0) {
            int rc = sentence_end(d, fn, ctx);
            if (rc != 0)
                return rc;
            continue;
        }
        int rc = word_begin(d, len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

bool ros_get(const struct ros_sentence *s, const char *key, struct strv *v)
{
    size_t kn = strlen(key);
    for (size_t i = 0; i < s->nwords; i++) {
        struct strv w = s->words[i];
        if (w.n >= kn + 2 && w.p[0] == '=' && memcmp(w.p + 1, key, kn) == 0 && w.p[kn + 1] == '=') {
            *v = (struct strv){w.p + kn + 2, w.n - kn - 2};
            return true;
        }
    }
    return false;
}

int ros_put_len(struct buf *b, uint32_t len)
{
    uint8_t x[5];
    size_t n;
    if (len < 0x80) {
        x[0] = (uint8_t)len, n = 1;
    } else if (len < 0x4000) {
        x[0] = (uint8_t)((len >> 8) | 0x80), x[1] = (uint8_t)len, n = 2;
    } else if (len < 0x200000) {
        x[0] = (uint8_t)((len >> 16) | 0xC0), x[1] = (uint8_t)(len >> 8), x[2] = (uint8_t)len;
        n = 3;
    } else if (len < 0x10000000) {
        x[0] = (uint8_t)((len >> 24) | 0xE0), x[1] = (uint8_t)(len >> 16);
        x[2] = (uint8_t)(len >> 8), x[3] = (uint8_t)len, n = 4;
    } else {
        x[0] = 0xF0, x[1] = (uint8_t)(len >> 24), x[2] = (uint8_t)(len >> 16);
        x[3] = (uint8_t)(len >> 8), x[4] = (uint8_t)len, n = 5;
    }
    return buf_append(b, x, n);
}

int ros_put_word(struct buf *b, const char *p, size_t n)
{
    if (n > UINT32_MAX)
        return TIDE_ELIMIT;
    int rc = ros_put_len(b, (uint32_t)n);
    return rc == 0 && n > 0 ? buf_append(b, p, n) : rc;
}

int ros_put_sentence(struct buf *b, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = ros_put_word(b, words[i], strlen(words[i]));
        if (rc != 0)
            return rc;
    }
    return ros_put_len(b, 0);
}
