/* auth.c: bearer and basic credentials per scope (see auth.h), checked by
 * http.c on the header call of every request, before any body is read.
 *
 * Invariant: secrets are compared byte by byte over the whole length the
 * client sent, so the time taken says nothing about how many leading bytes
 * matched nor how long the secret is. A missing or wrong credential is never
 * told apart in the answer (both are 401).
 */
#include "api/auth.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct auth_creds *creds(const struct auth *a, enum auth_scope s)
{
    if (a == NULL)
        return NULL;
    if (s == AUTH_WRITE)
        return &a->write;
    if (s == AUTH_READ)
        return &a->read;
    return NULL;
}

static bool set(const char *s)
{
    return s != NULL && s[0] != 0;
}

bool auth_required(const struct auth *a, enum auth_scope s)
{
    const struct auth_creds *c = creds(a, s);
    return c != NULL && (set(c->bearer) || set(c->basic));
}

bool auth_equal(const char *given, size_t n, const char *secret)
{
    size_t sn = strlen(secret);
    if (sn == 0)
        return false;
    volatile unsigned char acc = (unsigned char)(n != sn);
    for (size_t i = 0; i < n; i++)
        acc |= (unsigned char)(given[i] ^ secret[i % sn]);
    return acc == 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long auth_base64_decode(const char *in, size_t n, char *out, size_t cap)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return (long)o;
}

/* The credentials after "<scheme> " in `h`, or NULL when the scheme differs. */
static const char *after_scheme(const char *h, const char *scheme)
{
    size_t n = strlen(scheme);
    if (strncasecmp(h, scheme, n) != 0 || (h[n] != ' ' && h[n] != '\t'))
        return NULL;
    h += n;
    while (*h == ' ' || *h == '\t')
        h++;
    return h;
}

static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

bool auth_check(const struct auth *a, enum auth_scope s, const char *authorization)
{
    const struct auth_creds *c = creds(a, s);
    if (c == NULL || (!set(c->bearer) && !set(c->basic)))
        return true;
    if (authorization == NULL)
        return false;
    const char *tok = after_scheme(authorization, "Bearer");
    if (tok == NULL)
        tok = after_scheme(authorization, "Token"); /* InfluxDB 2.x clients */
    if (tok != NULL)
        return set(c->bearer) && auth_equal(tok, trimmed_len(tok), c->bearer);
    const char *b64 = after_scheme(authorization, "Basic");
    if (b64 != NULL && set(c->basic)) {
        char plain[768];
        long n = auth_base64_decode(b64, trimmed_len(b64), plain, sizeof plain);
        return n >= 0 && auth_equal(plain, (size_t)n, c->basic);
    }
    return false;
}

const char *auth_challenge(const struct auth *a, enum auth_scope s)
{
    const struct auth_creds *c = creds(a, s);
    if (c != NULL && set(c->basic))
        return "Basic realm=\"tide\", charset=\"UTF-8\"";
    return "Bearer realm=\"tide\"";
}
