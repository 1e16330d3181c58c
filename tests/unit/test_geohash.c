/*
 * tests/unit/test_geohash.c - src/ds/geohash.c against figures redis-server
 * 7.0 gives for the same input (scores of GEOADD, positions of GEOPOS,
 * strings of GEOHASH, distances of GEODIST), and the property a search
 * relies on: every point inside a shape lies in one of the cells of the
 * shape's cover.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ds/geohash.h"
#include "base/util.h"

static void test_scores_match_redis(void **state)
{
    (void)state;
    assert_true(geo_score_of(13.361389, 38.115556) == 3479099956230698ULL);
    assert_true(geo_score_of(15.087269, 37.502669) == 3479447370796909ULL);
    assert_true(geo_score_of(0, 0) == 3377699720527872ULL);
    assert_true(geo_score_of(-180, -85.05112878) == 0);
    /* The far corner overflows 52 bits, as in Redis. */
    assert_true(geo_score_of(180, 85.05112878) == 13510798882111488ULL);
    assert_false(geo_valid(180.000001, 0));
    assert_false(geo_valid(0, 85.06));
    assert_true(geo_valid(-180, -85.05112878));
}

/* GEOPOS's text of a coordinate (Redis's human long double). */
static void assert_coord(double v, const char *want)
{
    char buf[64];
    size_t n = util_ld2str(buf, sizeof buf, (long double)v, 1);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

static void assert_pos(double score, const char *lon, const char *lat)
{
    double x, y;
    geo_decode_score(score, &x, &y);
    assert_coord(x, lon);
    assert_coord(y, lat);
}

static void test_positions_match_redis(void **state)
{
    (void)state;
    assert_pos(3479099956230698.0, "13.36138933897018433", "38.11555639549629859");
    assert_pos(3377699720527872.0, "0.00000268220901489", "0.00000126736058093");
    assert_pos(0, "-179.99999731779098511", "-85.05112751263942528");
    assert_pos(13510798882111488.0, "180", "85.0511287799999991");
}

static void assert_text(double score, const char *want)
{
    char got[GEO_HASH_TEXT_LEN];
    geo_hash_text(score, got);
    assert_memory_equal(got, want, GEO_HASH_TEXT_LEN);
}

static void test_geohash_strings_match_redis(void **state)
{
    (void)state;
    assert_text(3479099956230698.0, "sqc8b49rny0");
    assert_text(3479447370796909.0, "sqdtr74hyu0");
    assert_text(13510798882111488.0, "bp05b5048p0");
    assert_text(0, "00bh0hbj200");
    assert_text(3377699720527872.0, "s0000000000");
}

/* GEODIST's reply: metres / unit, rounded to 4 decimals. */
static double rounded(double v)
{
    return (double)llrint(v * 10000.0) / 10000.0;
}

static void test_distances_match_redis(void **state)
{
    (void)state;
    double lon1, lat1, lon2, lat2;
    geo_decode_score(3479099956230698.0, &lon1, &lat1);
    geo_decode_score(3479447370796909.0, &lon2, &lat2);
    assert_true(rounded(geo_distance(lon1, lat1, lon2, lat2) / 1000) == 166.2742);
    geo_decode_score(13510798882111488.0, &lon1, &lat1);
    geo_decode_score(0, &lon2, &lat2);
    assert_true(rounded(geo_distance(lon1, lat1, lon2, lat2)) == 18919844.5891);
    /* Same longitude: the latitude difference alone. */
    assert_true(geo_distance(10, 0, 10, 1) > 111226 && geo_distance(10, 0, 10, 1) < 111227);
    assert_true(geo_distance(3, 4, 3, 4) == 0);
}

static int covered(const struct geo_cell cells[], double score)
{
    for (int i = 0; i < GEO_COVER_CELLS; i++) {
        double lo, hi;
        if (cells[i].step == 0) continue;
        geo_cell_scores(cells[i], &lo, &hi);
        if (score >= lo && score < hi) return 1;
    }
    return 0;
}

/* Random shapes everywhere (poles and the antimeridian included), random
 * points around them: each point the shape holds is in a covered cell. */
static void test_cover_holds_every_point_inside(void **state)
{
    (void)state;
    uint64_t rng = 42;
    int inside = 0;
    for (int round = 0; round < 3000; round++) {
        struct geo_shape s = {0};
        s.kind = round % 2 ? GEO_BOX : GEO_CIRCLE;
        s.lon = (double)util_rand_below(&rng, 360000) / 1000 - 180;
        s.lat = (double)util_rand_below(&rng, 170000) / 1000 - 85;
        s.unit_m = round % 3 ? 1000 : 1;
        double size = pow(10, (double)util_rand_below(&rng, 70) / 10); /* 1 .. 10^7 */
        s.radius = size / s.unit_m;
        s.width = size / s.unit_m;
        s.height = size * (double)(1 + util_rand_below(&rng, 3)) / s.unit_m;
        struct geo_cell cells[GEO_COVER_CELLS];
        geo_cover(&s, cells);
        double spread = size / 111000.0 * 3 + 0.001;
        for (int k = 0; k < 50; k++) {
            double dx = ((double)util_rand_below(&rng, 2000001) / 1000000 - 1) * spread;
            double dy = ((double)util_rand_below(&rng, 2000001) / 1000000 - 1) * spread;
            double lon = s.lon + dx, lat = s.lat + dy;
            if (!geo_valid(lon, lat)) continue;
            double score = (double)geo_score_of(lon, lat), x, y, dist;
            if (!geo_within(&s, score, &x, &y, &dist)) continue;
            inside++;
            assert_true(covered(cells, score));
        }
    }
    assert_true(inside > 10000); /* the test saw points, not only misses */
}

static void test_cover_drops_far_neighbours(void **state)
{
    (void)state;
    /* A tiny circle in the middle of its cell needs only that cell. */
    struct geo_shape s = {GEO_CIRCLE, 13.361389, 38.115556, 1, 1, 0, 0};
    struct geo_cell cells[GEO_COVER_CELLS];
    geo_cover(&s, cells);
    int kept = 0;
    for (int i = 0; i < GEO_COVER_CELLS; i++)
        kept += cells[i].step != 0;
    assert_true(cells[0].step != 0);
    assert_true(kept < GEO_COVER_CELLS);
    assert_true(covered(cells, (double)geo_score_of(13.361389, 38.115556)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_match_redis),
        cmocka_unit_test(test_positions_match_redis),
        cmocka_unit_test(test_geohash_strings_match_redis),
        cmocka_unit_test(test_distances_match_redis),
        cmocka_unit_test(test_cover_holds_every_point_inside),
        cmocka_unit_test(test_cover_drops_far_neighbours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
