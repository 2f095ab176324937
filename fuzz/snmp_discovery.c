/* fuzz/snmp_discovery.c: what a v3 agent may answer to Tide's engine ID
 * discovery request (collect/snmp_discovery.c's snmp_discovery_engine_id),
 * as arbitrary bytes; the first four bytes are the msgID asked for. Checks,
 * beyond "no crash, no read past the end":
 *   - the answer is 0, TIDE_ENOTFOUND or TIDE_EPARSE;
 *   - an accepted engine ID has 5..32 bytes and is bytes of the input;
 *   - Tide's own request never yields an engine ID (it carries none). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/snmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int32_t msg_id = (int32_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                               (uint32_t)data[2] << 8 | data[3]);
    uint8_t id[SNMP_ENGINE_ID_MAX];
    size_t n = 0;
    int rc = snmp_discovery_engine_id(data + 4, size - 4, msg_id, id, &n);
    assert(rc == 0 || rc == TIDE_ENOTFOUND || rc == TIDE_EPARSE);
    if (rc == 0) {
        assert(n >= 5 && n <= SNMP_ENGINE_ID_MAX);
        assert(memmem(data + 4, size - 4, id, n) != NULL);
    }
    uint8_t req[SNMP_DISCOVERY_REQUEST_MAX];
    size_t rn = snmp_discovery_request(req, msg_id, msg_id);
    assert(rn <= sizeof req);
    assert(snmp_discovery_engine_id(req, rn, msg_id, id, &n) == TIDE_EPARSE);
    return 0;
}
