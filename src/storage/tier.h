/* tier.h: rollup tiers inside storage (tier.c, rollup.c), never included
 * outside storage/. Filled in by item 3 of issue 12; until tiers are
 * configured, tier_usage() adds nothing. */
#ifndef TIDE_STORAGE_TIER_H
#define TIDE_STORAGE_TIER_H

#include "storage/storage.h"

struct storage;

/* Append one storage_tier_info per rollup tier to u->tiers. 0 or -ENOMEM. */
int tier_usage(struct storage *s, struct storage_usage *u);

#endif
