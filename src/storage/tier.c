/* tier.c: rollup tiers: their files, their stats. */
#include "storage/engine.h"
#include "storage/tier.h"

int tier_usage(struct storage *s, struct storage_usage *u)
{
    (void)s;
    (void)u;
    return 0;
}
