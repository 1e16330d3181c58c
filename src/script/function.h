/*
 * src/script/function.h - the library registry of Redis 7.0's functions
 * (FUNCTION LOAD, FCALL): which libraries are loaded, their code, and the
 * functions each registered, found by name.
 *
 * Replicated state, as the keyspace: it changes only when a FUNCTION
 * LOAD, DELETE, FLUSH or RESTORE entry is applied (or a snapshot loads),
 * identically on every node, since loading a library runs its code under
 * the engine's instruction budget with nothing that differs between nodes
 * in reach (src/script/script.h). Reads (FUNCTION LIST, DUMP, STATS, FCALL_RO, a
 * no-writes FCALL) never change it.
 *
 * Names. A library's name is matched exactly; a function's name without
 * regard to case (FCALL TEST finds test), and is unique across libraries.
 * Both are letters, digits and '_' only.
 *
 * Ownership: the registry owns its libraries; each library owns its code,
 * its name and its functions, whose Lua functions the engine (borrowed for
 * the registry's life; it must outlive it) holds until the library goes.
 * Pointers returned into the registry (a struct function_lib, a struct
 * script_lib_fn) live until the next call that changes it.
 *
 * Errors are Redis's replies ("ERR Library 'x' already exists", ...),
 * written to the resp_out the caller gives.
 */
#ifndef FUNCTION_H
#define FUNCTION_H

#include <stddef.h>
#include <stdint.h>

#include "resp/writer.h"
#include "ds/dict.h"

struct script_engine;
struct script_lib_fn;

/* A loaded library. */
struct function_lib {
    char *name;
    char *code; /* the whole code as loaded, shebang line included */
    size_t code_len;
    struct script_lib_fn *fns; /* the functions it registered, in order */
    size_t nfns;
};

struct function_registry {
    struct script_engine *engine; /* borrowed */
    struct dict libs;             /* name -> struct function_lib */
    struct dict fns;              /* lower-case function name -> struct script_lib_fn */
    size_t nfns;
};

/* An empty registry whose libraries run on e. */
struct function_registry *function_registry_new(struct script_engine *e);
void function_registry_free(struct function_registry *r);

/* Loads a library from its code ("#!lua name=<name>\n..."): parses the
 * shebang line, runs the code, and adds the library, replacing one of the
 * same name when replace is set (else that is an error). On any error the
 * registry is as it was. 0, with the library's name in *name_out (when
 * not NULL; valid until the registry changes), or -1 with the error reply
 * written to err_out. */
int function_load(struct function_registry *r, const char *code, size_t len, int replace,
                  struct resp_out *err_out, const char **name_out);
/* function_load without the name: for loading a snapshot's libraries
 * (each code as function_each_library gave it, replace 0 into an empty
 * registry; an error means the snapshot does not match this server). */
int function_load_code(struct function_registry *r, const char *code, size_t len, int replace,
                       struct resp_out *err_out);
/* Calls fn with each library's code (what function_load_code takes back);
 * stops at, and returns, the first non-zero fn returns; 0 after all. The
 * order is the registry's own (not the load order). */
int function_each_library(const struct function_registry *r,
                          int (*fn)(void *ud, const char *code, size_t len), void *ud);
/* Calls fn with each library (FUNCTION LIST). */
void function_each_lib(const struct function_registry *r,
                       void (*fn)(void *ud, const struct function_lib *lib), void *ud);

/* Deletes library name; -1 if there is none. */
int function_delete(struct function_registry *r, const char *name, size_t len);
/* Removes every library. */
void function_flush(struct function_registry *r);
/* The function called name (any case), or NULL. */
const struct script_lib_fn *function_find(const struct function_registry *r, const char *name,
                                          size_t len);
size_t function_lib_count(const struct function_registry *r);
size_t function_fn_count(const struct function_registry *r);

/* FUNCTION DUMP: every library's code in a payload of this server's own
 * format (a magic, a format version, the codes, a checksum), which only
 * function_restore reads. Returns it (the caller frees it), its length in
 * *len. */
char *function_dump(const struct function_registry *r, size_t *len);

/* FUNCTION RESTORE's policies (Redis's). */
enum function_restore_policy {
    FUNCTION_RESTORE_APPEND,  /* add them; a library name already loaded fails it all */
    FUNCTION_RESTORE_REPLACE, /* add them, replacing libraries of the same names */
    FUNCTION_RESTORE_FLUSH,   /* drop every library first */
};
/* Loads a FUNCTION DUMP payload by policy. All or nothing: 0, or -1 with
 * the error (a bad payload, a library or function that collides) written
 * to err_out and the registry unchanged. */
int function_restore(struct function_registry *r, const char *payload, size_t len,
                     enum function_restore_policy policy, struct resp_out *err_out);

#endif
