/* routeros_wire.h: the MikroTik RouterOS API wire format, both ways.
 *
 * A word is a length then that many bytes; the length takes 1 to 5 bytes:
 *
 *   0x00000000-0x0000007F  0xxxxxxx                              (1 byte)
 *   0x00000080-0x00003FFF  10xxxxxx xxxxxxxx                     (2 bytes)
 *   0x00004000-0x001FFFFF  110xxxxx + 2 bytes                    (3 bytes)
 *   0x00200000-0x0FFFFFFF  1110xxxx + 3 bytes                    (4 bytes)
 *   0x10000000-0xFFFFFFFF  11110xxx + 4 bytes                    (5 bytes)
 *
 * (big-endian; a first byte 0xF8-0xFF is a reserved control byte). A
 * sentence is words ending in the empty word. A reply sentence's first word
 * is its type: !re (one row), !done (end of a command, maybe =ret=),
 * !trap (an error: =category=, =message=), !fatal (the router closes the
 * connection), !empty (v7: no rows). Attribute words are "=key=value",
 * ".tag=N" names the command the reply belongs to.
 *
 * The decoder is a streaming state machine: feed it whatever bytes arrived
 * and it calls back once per complete sentence. A sentence that breaks a
 * cap (a word past max_word, more words or bytes than max_words /
 * max_sentence), holds bytes that are not UTF-8 or has an unknown type is
 * consumed and reported as dropped (the callback gets NULL and the reason);
 * the stream stays in step. Only a reserved control byte or a length past
 * ROS_WORD_HARD_MAX is fatal: the stream cannot be followed any further.
 *
 * Ownership: a ros_dec owns its buffers; a sentence handed to the callback
 * points into them and is valid during the call only.
 * Thread: none; one decoder per connection.
 */
#ifndef TIDE_COLLECT_ROUTEROS_WIRE_H
#define TIDE_COLLECT_ROUTEROS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strv.h"

#define ROS_WORD_MAX_DEFAULT (64 * 1024)       /* bytes of one word */
#define ROS_WORDS_MAX_DEFAULT 1024             /* words of one sentence */
#define ROS_SENTENCE_MAX_DEFAULT (1024 * 1024) /* bytes of one sentence */
#define ROS_WORD_HARD_MAX (16u * 1024 * 1024)  /* a longer length is garbage */

enum ros_type { ROS_RE = 1, ROS_DONE, ROS_TRAP, ROS_FATAL, ROS_EMPTY };

/* One reply sentence; every view points into the decoder. */
struct ros_sentence {
    enum ros_type type;
    struct strv tag;    /* the .tag value; n = 0 when untagged */
    const struct strv *words; /* every word after the type, .tag included */
    size_t nwords;
};

/* Why a sentence was dropped (the callback's `why`, counted by the caller). */
enum ros_drop {
    ROS_DROP_NONE = 0,
    ROS_DROP_WORD_SIZE,  /* a word longer than max_word */
    ROS_DROP_WORDS,      /* more than max_words words */
    ROS_DROP_SIZE,       /* more than max_sentence bytes */
    ROS_DROP_UTF8,       /* a word that is not UTF-8 */
    ROS_DROP_TYPE,       /* an unknown first word */
};

/* A complete sentence (s != NULL, why = 0) or a dropped one (s = NULL).
 * A non-zero return stops the feed; ros_dec_feed returns it. */
typedef int ros_sentence_fn(void *ctx, const struct ros_sentence *s, enum ros_drop why);

struct ros_dec {
    /* Caps (set by ros_dec_init to the defaults; change before feeding). */
    size_t max_word, max_words, max_sentence;
    /* Stream state. */
    uint8_t lenbuf[5];
    unsigned lenhave, lenneed; /* length bytes read, and needed (0 = at a word start) */
    uint32_t wordlen, wordhave; /* the current word's length, bytes seen */
    bool in_word;
    bool skip_word;            /* the current word is being discarded */
    enum ros_drop drop;        /* the current sentence is being discarded: why */
    size_t nwords;             /* words of the current sentence */
    struct buf bytes;          /* the current sentence's words, back to back */
    size_t *offs;              /* start of word i in bytes; cap_offs of them */
    size_t cap_offs;
    struct strv *views;
    size_t cap_views;
};

void ros_dec_init(struct ros_dec *d);
void ros_dec_fini(struct ros_dec *d);
/* Forget a partial sentence (a new connection). */
void ros_dec_reset(struct ros_dec *d);
/* Feed n bytes. 0, the callback's non-zero return, -ENOMEM, or TIDE_EPARSE
 * (fatal: a control byte or a length past ROS_WORD_HARD_MAX; `e` says
 * which) after which the decoder must be reset. */
int ros_dec_feed(struct ros_dec *d, const void *p, size_t n, ros_sentence_fn *fn, void *ctx,
                 struct err *e);

/* "=key=value" attribute of a sentence; found = true with *v set. */
bool ros_get(const struct ros_sentence *s, const char *key, struct strv *v);
/* The name of a drop reason ("word too long", ...). */
const char *ros_drop_name(enum ros_drop why);

/* Encoding: append a length, a word, or a whole sentence (words then the
 * empty word). 0 or -ENOMEM / TIDE_ELIMIT (the buf's cap). */
int ros_put_len(struct buf *b, uint32_t len);
int ros_put_word(struct buf *b, const char *p, size_t n);
int ros_put_sentence(struct buf *b, const char *const *words, size_t n);

/* Whether bytes are UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool ros_utf8_valid(const char *p, size_t n);

#endif
