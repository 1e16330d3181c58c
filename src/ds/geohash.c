/*
 * src/ds/geohash.c - geohash cells, covers and distances (see geohash.h). The
 * floating-point expressions keep Redis's order of operations: a different
 * but equal formula could round differently and move a member across a
 * search's edge.
 */
#include "ds/geohash.h"

#include <math.h>

#define EARTH_RADIUS_M 6372797.560856
#define MERCATOR_MAX 20037726.37
#define DEG_TO_RAD (M_PI / 180.0)

#define EVEN_BITS 0x5555555555555555ULL /* latitude */
#define ODD_BITS 0xaaaaaaaaaaaaaaaaULL  /* longitude */

static const struct geo_range LON_WGS84 = {GEO_LONG_MIN, GEO_LONG_MAX};
static const struct geo_range LAT_WGS84 = {GEO_LAT_MIN, GEO_LAT_MAX};

static double rad(double deg)
{
    return deg * DEG_TO_RAD;
}

static double deg(double r)
{
    return r / DEG_TO_RAD;
}

/* The 32 bits of v spread to the even bits of the result. */
static uint64_t spread(uint32_t v)
{
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & EVEN_BITS;
    return x;
}

/* The even bits of v gathered into 32 bits (spread's inverse). */
static uint32_t gather(uint64_t v)
{
    uint64_t x = v & EVEN_BITS;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

int geo_valid(double lon, double lat)
{
    return lon >= GEO_LONG_MIN && lon <= GEO_LONG_MAX && lat >= GEO_LAT_MIN && lat <= GEO_LAT_MAX;
}

int geo_encode(struct geo_range lon_r, struct geo_range lat_r, double lon, double lat,
               unsigned step, struct geo_cell *out)
{
    out->bits = 0;
    out->step = step;
    if (step == 0 || step > 32 || !geo_valid(lon, lat)) return 0;
    if (lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max) return 0;
    double lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    double lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    lat_off *= (double)(1ULL << step);
    lon_off *= (double)(1ULL << step);
    out->bits = spread((uint32_t)lat_off) | (spread((uint32_t)lon_off) << 1);
    return 1;
}

uint64_t geo_score_of(double lon, double lat)
{
    struct geo_cell c;
    geo_encode(LON_WGS84, LAT_WGS84, lon, lat, GEO_STEP_MAX, &c);
    return c.bits << (52 - 2 * c.step);
}

/* The cell's extent in the given ranges. */
static void cell_area(struct geo_range lon_r, struct geo_range lat_r, struct geo_cell c,
                      struct geo_range *lon, struct geo_range *lat)
{
    uint32_t ilat = gather(c.bits), ilon = gather(c.bits >> 1);
    double cells = (double)(1ULL << c.step);
    double lat_scale = lat_r.max - lat_r.min, lon_scale = lon_r.max - lon_r.min;
    lat->min = lat_r.min + (ilat * 1.0 / cells) * lat_scale;
    lat->max = lat_r.min + ((ilat + 1) * 1.0 / cells) * lat_scale;
    lon->min = lon_r.min + (ilon * 1.0 / cells) * lon_scale;
    lon->max = lon_r.min + ((ilon + 1) * 1.0 / cells) * lon_scale;
}

static double clamp(double v, double lo, double hi)
{
    return v > hi ? hi : v < lo ? lo : v;
}

void geo_decode_score(double score, double *lon, double *lat)
{
    /* A score that no GEOADD wrote converts as the x86-64 conversion does,
     * the same on every replica. */
    uint64_t bits;
    if (score >= 0)
        bits = score < 18446744073709551616.0 ? (uint64_t)score : 0;
    else
        bits = score > -9223372036854775808.0 ? (uint64_t)(int64_t)score : 1ULL << 63;
    struct geo_cell c = {bits, GEO_STEP_MAX};
    struct geo_range lo, la;
    cell_area(LON_WGS84, LAT_WGS84, c, &lo, &la);
    *lon = clamp((lo.min + lo.max) / 2, GEO_LONG_MIN, GEO_LONG_MAX);
    *lat = clamp((la.min + la.max) / 2, GEO_LAT_MIN, GEO_LAT_MAX);
}

void geo_cell_scores(struct geo_cell cell, double *lo, double *hi)
{
    unsigned shift = 52 - 2 * cell.step;
    *lo = (double)(cell.bits << shift);
    *hi = (double)((cell.bits + 1) << shift);
}

/* The cell d steps along one coordinate: the bits of mask (EVEN_BITS for
 * latitude, ODD_BITS for longitude) count as one number, carrying across
 * the other coordinate's bits. */
static struct geo_cell move(struct geo_cell c, uint64_t mask, int d)
{
    if (d == 0) return c;
    unsigned drop = 64 - 2 * c.step;
    uint64_t self = c.bits & mask, other = c.bits & ~mask;
    uint64_t fill = ~mask >> drop; /* the other coordinate's bits, all set */
    if (d > 0)
        self = self + (fill + 1);
    else
        self = (self | fill) - (fill + 1);
    self &= mask >> drop;
    c.bits = self | other;
    return c;
}

static struct geo_cell shift(struct geo_cell c, int east, int north)
{
    return move(move(c, ODD_BITS, east), EVEN_BITS, north);
}

/* Redis's estimate of the step whose cells are about the size of a search
 * of range_m metres at latitude lat. */
static unsigned estimate_step(double range_m, double lat)
{
    if (range_m == 0) return GEO_STEP_MAX;
    int step = 1;
    while (range_m < MERCATOR_MAX) {
        range_m *= 2;
        step++;
    }
    step -= 2;
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > GEO_STEP_MAX) step = GEO_STEP_MAX;
    return (unsigned)step;
}

/* The shape's bounding box: lon/lat min and max. */
static void bounding_box(const struct geo_shape *s, struct geo_range *lon, struct geo_range *lat)
{
    double half_h = s->unit_m * (s->kind == GEO_CIRCLE ? s->radius : s->height / 2);
    double half_w = s->unit_m * (s->kind == GEO_CIRCLE ? s->radius : s->width / 2);
    double lat_delta = deg(half_h / EARTH_RADIUS_M);
    double lon_delta_top = deg(half_w / EARTH_RADIUS_M / cos(rad(s->lat + lat_delta)));
    double lon_delta_bottom = deg(half_w / EARTH_RADIUS_M / cos(rad(s->lat - lat_delta)));
    /* The wider edge is the one nearer the equator. */
    double lon_delta = s->lat < 0 ? lon_delta_bottom : lon_delta_top;
    lon->min = s->lon - lon_delta;
    lon->max = s->lon + lon_delta;
    lat->min = s->lat - lat_delta;
    lat->max = s->lat + lat_delta;
}

/* The centre's cell at step and its 8 neighbours, in cover order. */
static void cells_at(const struct geo_shape *s, unsigned step, struct geo_cell cells[])
{
    static const int dirs[GEO_COVER_CELLS][2] = {{0, 0}, {0, 1},  {0, -1}, {1, 0},  {-1, 0},
                                                 {1, 1}, {-1, 1}, {1, -1}, {-1, -1}};
    struct geo_cell centre;
    geo_encode(LON_WGS84, LAT_WGS84, s->lon, s->lat, step, &centre);
    for (int i = 0; i < GEO_COVER_CELLS; i++)
        cells[i] = shift(centre, dirs[i][0], dirs[i][1]);
}

enum { C_CENTRE, C_N, C_S, C_E, C_W, C_NE, C_NW, C_SE, C_SW };

static void drop(struct geo_cell cells[], int a, int b, int c)
{
    cells[a] = cells[b] = cells[c] = (struct geo_cell){0, 0};
}

void geo_cover(const struct geo_shape *s, struct geo_cell cells[GEO_COVER_CELLS])
{
    struct geo_range blon, blat;
    bounding_box(s, &blon, &blat);
    double radius_m =
        s->kind == GEO_CIRCLE
            ? s->radius
            : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
    radius_m *= s->unit_m;
    unsigned step = estimate_step(radius_m, s->lat);
    cells_at(s, step, cells);
    /* A step too coarse near the edge of its cell leaves part of the box
     * outside the 9 cells: one step coarser then. */
    struct geo_range lon, lat;
    int coarser = 0;
    cell_area(LON_WGS84, LAT_WGS84, cells[C_N], &lon, &lat);
    coarser |= lat.max < blat.max;
    cell_area(LON_WGS84, LAT_WGS84, cells[C_S], &lon, &lat);
    coarser |= lat.min > blat.min;
    cell_area(LON_WGS84, LAT_WGS84, cells[C_E], &lon, &lat);
    coarser |= lon.max < blon.max;
    cell_area(LON_WGS84, LAT_WGS84, cells[C_W], &lon, &lat);
    coarser |= lon.min > blon.min;
    if (step > 1 && coarser) cells_at(s, --step, cells);
    if (step < 2) return;
    /* Neighbours beyond the box's edges hold nothing of it. */
    cell_area(LON_WGS84, LAT_WGS84, cells[C_CENTRE], &lon, &lat);
    if (lat.min < blat.min) drop(cells, C_S, C_SW, C_SE);
    if (lat.max > blat.max) drop(cells, C_N, C_NE, C_NW);
    if (lon.min < blon.min) drop(cells, C_W, C_SW, C_NW);
    if (lon.max > blon.max) drop(cells, C_E, C_SE, C_NE);
}

static double lat_distance(double lat1, double lat2)
{
    return EARTH_RADIUS_M * fabs(rad(lat2) - rad(lat1));
}

double geo_distance(double lon1, double lat1, double lon2, double lat2)
{
    double v = sin((rad(lon2) - rad(lon1)) / 2);
    if (v == 0.0) return lat_distance(lat1, lat2);
    double lat1r = rad(lat1), lat2r = rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_M * asin(sqrt(a));
}

int geo_within(const struct geo_shape *s, double score, double *lon, double *lat, double *dist)
{
    geo_decode_score(score, lon, lat);
    if (s->kind == GEO_CIRCLE) {
        *dist = geo_distance(s->lon, s->lat, *lon, *lat);
        return *dist <= s->radius * s->unit_m;
    }
    if (lat_distance(*lat, s->lat) > s->height * s->unit_m / 2) return 0;
    if (geo_distance(*lon, *lat, s->lon, *lat) > s->width * s->unit_m / 2) return 0;
    *dist = geo_distance(s->lon, s->lat, *lon, *lat);
    return 1;
}

void geo_hash_text(double score, char out[GEO_HASH_TEXT_LEN])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const struct geo_range lon_std = {-180, 180}, lat_std = {-90, 90};
    double lon, lat;
    geo_decode_score(score, &lon, &lat);
    struct geo_cell c;
    geo_encode(lon_std, lat_std, lon, lat, GEO_STEP_MAX, &c);
    /* 52 bits make 10 characters and 2 bits; the 11th is 0 as in Redis. */
    for (int i = 0; i < GEO_HASH_TEXT_LEN - 1; i++)
        out[i] = alphabet[(c.bits >> (47 - 5 * i)) & 31];
    out[GEO_HASH_TEXT_LEN - 1] = alphabet[0];
}
