/*
 * tests/fuzz/fuzz_config.c - libFuzzer target for the config file parser
 * (src/config/config_load.c: config_load_file(), the words splitter and every
 * directive's value parser behind it).
 *
 * The input is the text of a config file, loaded on top of the defaults from
 * a file in a private temporary directory (so a relative include names a
 * file that does not exist there). Properties: no crash, no leak, and a
 * refusal always produces the FATAL CONFIG FILE ERROR block; an accepted
 * file leaves a configuration whose every directive formats (CONFIG GET's
 * view) without error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        char dir[] = "/tmp/fuzz-config-XXXXXX";
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/raftcache.conf", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();

    struct config c;
    config_init_defaults(&c);
    char err[4096] = "";
    int rc = config_load_file(&c, path, err, sizeof err);
    if (rc != 0 && !strstr(err, "FATAL CONFIG FILE ERROR")) {
        fprintf(stderr, "fuzz_config: refusal %d without the error block: %s\n", rc, err);
        abort();
    }
    for (int i = 0; i < config_defs_count; i++) {
        char buf[256];
        if (config_format_value(&c, &config_defs[i], buf, sizeof buf) < 0) abort();
    }
    config_free(&c);
    return 0;
}
