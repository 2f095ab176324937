/* body_pool.h: the memory of big response bodies, kept for the next ones
 * (body_pool.c). http.c hands an offloaded request's response buffer a
 * pooled allocation and gives MHD body_pool_release() to free the body
 * once sent. Thread-safe.
 */
#ifndef TIDE_API_BODY_POOL_H
#define TIDE_API_BODY_POOL_H

#include "core/buf.h"

/* When b holds no allocation, give it a pooled one (if any); b then owns it
 * as if it had grown to that capacity itself. */
void body_pool_take(struct buf *b);

/* Free p (a body from buf_take()), or keep it for body_pool_take() when it
 * is big and the pool has room. MHD's free callback. */
void body_pool_release(void *p);

/* Free what the pool holds (at server shutdown). */
void body_pool_drain(void);

#endif
