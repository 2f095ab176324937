/* snmp_value.c: SNMP varbind values turned into what a series holds: a
 * float64 sample or a label string (snmp.h). Pure functions over struct
 * snmp_vb, with no net-snmp in sight, so they are tested byte for byte.
 *
 * Counter64 → float64: exact for every value below 2^53; above, the
 * conversion rounds to the nearest float64 (53 significant bits: a counter
 * of bytes near 2^60 moves in steps of 128). rate() over such a counter
 * stays right to a relative 1e-16; equality with the device's integer does
 * not (docs/collect/snmp.md).
 */
#include <stdio.h>
#include <string.h>

#include "collect/snmp.h"
#include "core/utf8.h"

int snmp_value_number(const struct snmp_vb *vb, double *v)
{
    switch (vb->type) {
    case SNMP_T_INTEGER:
        *v = (double)vb->i;
        return 0;
    case SNMP_T_COUNTER32:
    case SNMP_T_GAUGE32:
    case SNMP_T_TIMETICKS:
    case SNMP_T_UINTEGER:
    case SNMP_T_COUNTER64:
        *v = (double)vb->u;
        return 0;
    default:
        return TIDE_ENOTFOUND;
    }
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return false;
    return utf8_valid(s, n);
}

size_t snmp_value_text(const struct snmp_vb *vb, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    out[0] = 0;
    int w = 0;
    switch (vb->type) {
    case SNMP_T_OCTET_STR: {
        size_t n = vb->s_n;
        while (n > 0 && vb->s[n - 1] == 0) /* C strings padded by some agents */
            n--;
        if (printable(vb->s, n)) {
            if (n >= cap)
                n = cap - 1;
            while (n > 0 && !utf8_valid(vb->s, n)) /* never cut a character */
                n--;
            memcpy(out, vb->s, n);
            out[n] = 0;
            return n;
        }
        size_t len = 0;
        if (cap > 2) {
            memcpy(out, "0x", 2);
            len = 2;
        }
        for (size_t i = 0; i < vb->s_n && len + 3 <= cap; i++)
            len += (size_t)snprintf(out + len, cap - len, "%02X", (unsigned char)vb->s[i]);
        out[len < cap ? len : cap - 1] = 0;
        return strlen(out);
    }
    case SNMP_T_OID: {
        uint32_t sub[SNMP_OID_MAX];
        size_t n = vb->s_n < SNMP_OID_MAX ? vb->s_n : SNMP_OID_MAX;
        memcpy(sub, vb->s, n * sizeof *sub);
        snmp_oid_format(sub, n, out, cap);
        return strlen(out);
    }
    case SNMP_T_IPADDRESS:
        if (vb->s_n != 4)
            return 0;
        w = snprintf(out, cap, "%u.%u.%u.%u", (unsigned char)vb->s[0], (unsigned char)vb->s[1],
                     (unsigned char)vb->s[2], (unsigned char)vb->s[3]);
        break;
    case SNMP_T_INTEGER:
        w = snprintf(out, cap, "%lld", (long long)vb->i);
        break;
    case SNMP_T_COUNTER32:
    case SNMP_T_GAUGE32:
    case SNMP_T_TIMETICKS:
    case SNMP_T_UINTEGER:
    case SNMP_T_COUNTER64:
        w = snprintf(out, cap, "%llu", (unsigned long long)vb->u);
        break;
    default:
        return 0;
    }
    return w < 0 ? 0 : strlen(out);
}

const char *snmp_type_name(uint8_t type)
{
    switch (type) {
    case SNMP_T_INTEGER:
        return "INTEGER";
    case SNMP_T_OCTET_STR:
        return "OCTET STRING";
    case SNMP_T_NULL:
        return "NULL";
    case SNMP_T_OID:
        return "OID";
    case SNMP_T_IPADDRESS:
        return "IpAddress";
    case SNMP_T_COUNTER32:
        return "Counter32";
    case SNMP_T_GAUGE32:
        return "Gauge32";
    case SNMP_T_TIMETICKS:
        return "Timeticks";
    case SNMP_T_OPAQUE:
        return "Opaque";
    case SNMP_T_COUNTER64:
        return "Counter64";
    case SNMP_T_UINTEGER:
        return "UInteger32";
    case SNMP_T_NOSUCHOBJECT:
        return "noSuchObject";
    case SNMP_T_NOSUCHINSTANCE:
        return "noSuchInstance";
    case SNMP_T_ENDOFMIBVIEW:
        return "endOfMibView";
    default:
        return "unknown";
    }
}
