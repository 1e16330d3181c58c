/*
 * src/ds/geohash.h - the geohash arithmetic of the GEO commands (src/ds/geohash.c;
 * the commands are in src/types/t_geo.c), computed exactly as Redis 7.0 computes
 * it, so that scores, distances, geohash strings and search results agree
 * with redis-server's on the same input.
 *
 * A position is stored as the score of a sorted set member: a 52-bit
 * integer that interleaves 26 bits of latitude (even bits) with 26 bits of
 * longitude (odd bits), each the cell index of the coordinate in its range
 * (longitude -180..180, latitude -85.05112878..85.05112878, Web Mercator's
 * limits). A score decodes to the centre of its cell, so a position reads
 * back with an error below a metre.
 *
 * A search (a circle of a radius, or a box of a width and a height, around a
 * centre) covers its shape with at most 9 cells of one step (precision): the
 * centre's cell and its 8 neighbours, minus those outside the shape's
 * bounding box. Each cell is a range of scores [lo, hi) of the set; every
 * member found there is then tested against the shape itself.
 *
 * Distances use the haversine formula on a sphere of radius 6372797.560856
 * metres, as Redis does. Nothing here knows the keyspace.
 */
#ifndef GEOHASH_H
#define GEOHASH_H

#include <stddef.h>
#include <stdint.h>

#define GEO_STEP_MAX 26 /* bits per coordinate: a score has 52 */
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN -180.0
#define GEO_LONG_MAX 180.0
#define GEO_HASH_TEXT_LEN 11 /* GEOHASH's strings */
#define GEO_COVER_CELLS 9

/* A cell: bits interleaved as above, step bits per coordinate. A cell
 * with step 0 is "none" (a cover's dropped neighbour). */
struct geo_cell {
    uint64_t bits;
    unsigned step;
};

struct geo_range {
    double min, max;
};

enum geo_shape_kind { GEO_CIRCLE, GEO_BOX };

/* What a search looks for. radius, width and height are in the caller's
 * unit; unit_m is that unit in metres (distances found are in metres). */
struct geo_shape {
    enum geo_shape_kind kind;
    double lon, lat;
    double unit_m;
    double radius;        /* GEO_CIRCLE */
    double width, height; /* GEO_BOX: the whole box, centred */
};

/* 1 if lon,lat is a position a score can hold. */
int geo_valid(double lon, double lat);

/* The cell of step (1..GEO_STEP_MAX) holding lon,lat in the given ranges;
 * 0 if the point is outside them or outside the valid positions. */
int geo_encode(struct geo_range lon_r, struct geo_range lat_r, double lon, double lat,
               unsigned step, struct geo_cell *out);

/* The score of a valid position (its step-26 cell, as an integer < 2^52). */
uint64_t geo_score_of(double lon, double lat);

/* The position a score stands for: the centre of its cell, clamped to the
 * valid positions. */
void geo_decode_score(double score, double *lon, double *lat);

/* The scores of the members inside cell: [*lo, *hi). */
void geo_cell_scores(struct geo_cell cell, double *lo, double *hi);

/* The cells a search of shape walks, in Redis's order: centre, north,
 * south, east, west, north-east, north-west, south-east, south-west; a
 * dropped one has step 0. */
void geo_cover(const struct geo_shape *shape, struct geo_cell cells[GEO_COVER_CELLS]);

/* Great-circle distance in metres between two positions (degrees). */
double geo_distance(double lon1, double lat1, double lon2, double lat2);

/* 1 and *dist (metres from the centre) if the position of score is inside
 * shape. */
int geo_within(const struct geo_shape *shape, double score, double *lon, double *lat, double *dist);

/* The standard geohash string (latitude -90..90) of a score's position:
 * GEO_HASH_TEXT_LEN base-32 characters, not NUL-terminated. */
void geo_hash_text(double score, char out[GEO_HASH_TEXT_LEN]);

#endif
