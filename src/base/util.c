/*
 * src/base/util.c - conversions, clocks, PRNG and key slots (contracts in util.h).
 *
 * The parsers follow Redis's rules exactly because clients can tell the
 * difference (INCR "01" must fail, INCRBYFLOAT must print "10.6").  They
 * never trust a NUL terminator: the command layer hands out slices of the
 * request buffer.
 */
#include <stdarg.h>
#include "base/util.h"
#include "raft/raft_assert.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest text a valid long long can have is 20 bytes ("-9223372036854775808"). */
#define LL_TEXT_MAX 20

/* Stores +-v in *out if it fits a long long; 1 ok, 0 out of range.  The
 * magnitude of LLONG_MIN has no positive long long, hence the special case. */
static int apply_sign(unsigned long long v, int negative, long long *out)
{
    const unsigned long long max = (unsigned long long)LLONG_MAX;

    if (v > max + (negative ? 1 : 0)) return 0;
    if (negative)
        *out = v == max + 1 ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 1;
}

int util_str2ll(const char *s, size_t len, long long *out)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    unsigned long long v;
    int negative = 0;

    if (len == 0 || len > LL_TEXT_MAX) return 0;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 1;
    }
    if (*p == '-') {
        negative = 1;
        if (++p == end) return 0;
    }
    /* Only "0" itself may start with a zero: "-0" and "007" are not numbers
     * Redis would print back the same way. */
    if (*p < '1' || *p > '9') return 0;
    v = (unsigned long long)(*p++ - '0');
    for (; p < end; p++) {
        unsigned d = (unsigned)*p - '0';
        if (d > 9) return 0;
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    return apply_sign(v, negative, out);
}

/* Rejections shared by the float parsers, applied after strto{d,ld} ran on
 * the NUL-terminated copy text[0..len). */
static int float_text_ok(const char *text, size_t len, const char *end, int range_err, int is_inf,
                         int is_zero, int is_nan)
{
    if (text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r')) return 0;
    if ((size_t)(end - text) != len) return 0;      /* trailing junk or NUL inside */
    if (range_err && (is_inf || is_zero)) return 0; /* overflow or underflow */
    return !is_nan;
}

int util_str2ld(const char *s, size_t len, long double *out)
{
    char text[UTIL_LONG_DOUBLE_CHARS_MAX];
    char *end;
    long double v;

    if (len == 0 || len >= sizeof(text)) return 0;
    memcpy(text, s, len);
    text[len] = '\0';
    errno = 0;
    v = strtold(text, &end);
    if (!float_text_ok(text, len, end, errno == ERANGE, isinf(v), v == 0, isnan(v))) return 0;
    *out = v;
    return 1;
}

int util_str2d(const char *s, size_t len, double *out)
{
    char small[UTIL_LONG_DOUBLE_CHARS_MAX];
    char *text = small, *end;
    double v;
    int ok;

    if (len == 0) return 0;
    /* Redis parses scores of any length; only absurd ones pay for a copy. */
    if (len >= sizeof(small) && (text = malloc(len + 1)) == NULL) return 0;
    memcpy(text, s, len);
    text[len] = '\0';
    errno = 0;
    v = strtod(text, &end);
    ok = float_text_ok(text, len, end, errno == ERANGE, isinf(v), v == 0, isnan(v));
    if (text != small) free(text);
    if (ok) *out = v;
    return ok;
}

/* Two decimal digits per table lookup halve the divisions of ll2str. */
static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546"
    "4748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293"
    "949596979899";

/* The digits of u, written backwards ending at end; returns where they start. */
static char *digits_back(char *end, unsigned long long u)
{
    char *p = end;
    while (u >= 100) {
        unsigned idx = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = digit_pairs[idx + 1];
        *--p = digit_pairs[idx];
    }
    if (u >= 10) {
        *--p = digit_pairs[u * 2 + 1];
        *--p = digit_pairs[u * 2];
    } else {
        *--p = (char)('0' + u);
    }
    return p;
}

static size_t put_digits(char *buf, size_t cap, const char *p, size_t n)
{
    if (n + 1 > cap) {
        if (cap > 0) buf[0] = '\0';
        return 0;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return n;
}

size_t util_ll2str(char *buf, size_t cap, long long v)
{
    char tmp[UTIL_LL_STR_SIZE];
    /* Magnitude in unsigned arithmetic so LLONG_MIN needs no special case. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char *p = digits_back(tmp + sizeof(tmp), u);
    if (v < 0) *--p = '-';
    ASSERT(p >= tmp);
    return put_digits(buf, cap, p, (size_t)(tmp + sizeof(tmp) - p));
}

size_t util_ull2str(char *buf, size_t cap, unsigned long long v)
{
    char tmp[UTIL_LL_STR_SIZE];
    char *p = digits_back(tmp + sizeof(tmp), v);
    ASSERT(p >= tmp);
    return put_digits(buf, cap, p, (size_t)(tmp + sizeof(tmp) - p));
}

static size_t put_text(char *buf, size_t cap, const char *text, size_t n)
{
    if (n + 1 > cap) {
        if (cap > 0) buf[0] = '\0';
        return 0;
    }
    memcpy(buf, text, n + 1);
    return n;
}

size_t util_ld2str(char *buf, size_t cap, long double v, int humanfriendly)
{
    int n;
    size_t l;

    /* Spelled out because libcs disagree on "inf", "INF", "-nan", ... */
    if (isinf(v)) return v > 0 ? put_text(buf, cap, "inf", 3) : put_text(buf, cap, "-inf", 4);
    if (isnan(v)) return put_text(buf, cap, "nan", 3);
    n = snprintf(buf, cap, humanfriendly ? "%.17Lf" : "%.17Lg", v);
    if (n < 0 || (size_t)n + 1 > cap) {
        if (cap > 0) buf[0] = '\0';
        return 0;
    }
    l = (size_t)n;
    if (humanfriendly) {
        /* 17 fractional digits of an 80/128-bit long double round small
         * decimals back to what the user typed; the zeros after them are
         * noise.  "%.17Lf" always prints a point, so stripping stops there. */
        if (memchr(buf, '.', l) != NULL) {
            while (buf[l - 1] == '0')
                l--;
            if (buf[l - 1] == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') {
            buf[0] = '0';
            l = 1;
        }
        buf[l] = '\0';
    }
    return l;
}

uint64_t util_rand64(uint64_t *state)
{
    /* splitmix64: a Weyl sequence (odd increment, so period 2^64) pushed
     * through a xorshift-multiply finalizer. */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Config-file memory units; "k" is decimal and "kb" binary, as redis.conf
 * documents. */
static const struct {
    char name[3];
    long long mul;
} mem_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1000},
    {"kb", 1024},
    {"m", 1000 * 1000},
    {"mb", 1024 * 1024},
    {"g", 1000LL * 1000 * 1000},
    {"gb", 1024LL * 1024 * 1024},
};

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Multiplier for the unit suffix u[0..n), 0 if it is not a unit. */
static long long unit_multiplier(const char *u, size_t n)
{
    for (size_t i = 0; i < sizeof(mem_units) / sizeof(mem_units[0]); i++) {
        const char *name = mem_units[i].name;
        size_t k = 0;
        while (k < n && name[k] != '\0' && ascii_lower((unsigned char)u[k]) == name[k])
            k++;
        if (k == n && name[k] == '\0') return mem_units[i].mul;
    }
    return 0;
}

int util_memtoll(const char *s, size_t len, long long *out)
{
    size_t i = 0, digits_at;
    unsigned long long v = 0;
    long long mul;
    int negative = 0;

    if (len > 0 && s[0] == '-') {
        negative = 1;
        i = 1;
    }
    digits_at = i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (i == digits_at) return 0;
    mul = unit_multiplier(s + i, len - i);
    if (mul == 0) return 0;
    if (v > UINT64_MAX / (unsigned long long)mul) return 0;
    return apply_sign(v * (unsigned long long)mul, negative, out);
}

/* Byte-at-a-time table for the XMODEM CRC (poly 0x1021, MSB first). */
static const uint16_t crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
    0xc18c, 0xd1ad, 0xe1ce, 0xf1ef, 0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de, 0x2462, 0x3443, 0x0420, 0x1401,
    0x64e6, 0x74c7, 0x44a4, 0x5485, 0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4, 0xb75b, 0xa77a, 0x9719, 0x8738,
    0xf7df, 0xe7fe, 0xd79d, 0xc7bc, 0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b, 0x5af5, 0x4ad4, 0x7ab7, 0x6a96,
    0x1a71, 0x0a50, 0x3a33, 0x2a12, 0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41, 0xedae, 0xfd8f, 0xcdec, 0xddcd,
    0xad2a, 0xbd0b, 0x8d68, 0x9d49, 0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78, 0x9188, 0x81a9, 0xb1ca, 0xa1eb,
    0xd10c, 0xc12d, 0xf14e, 0xe16f, 0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e, 0x02b1, 0x1290, 0x22f3, 0x32d2,
    0x4235, 0x5214, 0x6277, 0x7256, 0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405, 0xa7db, 0xb7fa, 0x8799, 0x97b8,
    0xe75f, 0xf77e, 0xc71d, 0xd73c, 0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab, 0x5844, 0x4865, 0x7806, 0x6827,
    0x18c0, 0x08e1, 0x3882, 0x28a3, 0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92, 0xfd2e, 0xed0f, 0xdd6c, 0xcd4d,
    0xbdaa, 0xad8b, 0x9de8, 0x8dc9, 0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8, 0x6e17, 0x7e36, 0x4e55, 0x5e74,
    0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

uint16_t util_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ p[i]) & 0xff]);
    return crc;
}

unsigned util_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);

    if (open != NULL) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        /* "{}" hashes the whole key, so such keys do not all collide. */
        if (close != NULL && close != open + 1)
            return util_crc16(open + 1, (size_t)(close - open - 1)) & (UTIL_CLUSTER_SLOTS - 1);
    }
    return util_crc16(key, len) & (UTIL_CLUSTER_SLOTS - 1);
}

int util_secret_eq(const char *secret, size_t secret_len, const char *given, size_t len)
{
    size_t slen = secret_len;
    unsigned char diff = (unsigned char)(slen != len);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(given[i] ^ (i < slen ? secret[i] : 0));
    return diff == 0;
}

void *util_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

void *util_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) abort();
    return p;
}

void *util_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

char *util_xmemdup(const void *p, size_t n)
{
    char *d = util_xmalloc(n + 1);
    if (n) memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

void util_hex(char *out, const unsigned char *raw, size_t digits)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < digits; i++)
        out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
}

uint64_t util_rand_below(uint64_t *state, uint64_t n)
{
    /* Rejection of the top partial range keeps it exactly uniform. */
    ASSERT(n > 0);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = util_rand64(state);
    } while (r >= limit);
    return r % n;
}

int util_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int util_path_suffixed(char *out, size_t cap, const char *path, const char *suffix)
{
    int n = snprintf(out, cap, "%s%s", path, suffix);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}
