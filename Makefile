# raftcache build. `make` builds build/raftcache; `make test` runs every suite.
# Layout conventions (no per-file rules needed when adding a file):
#   resp/*.c  -> build/libresp.a   (pure: libc only)
#   raft/*.c  -> build/libraft.a   (pure: libc only)
#   src/*.c   -> build/raftcache   (links both libraries, libev, hiredis, sqlite3)
#   tests/unit/test_resp_*.c -> linked with libresp.a (+ hiredis as an oracle)
#   tests/unit/test_raft_*.c -> linked with libraft.a
#   tests/unit/test_*.c      -> linked with the server objects (minus main.o)
#   tests/sim/*.c            -> build/sim (links libraft.a)
#   tests/clients/*.c        -> real clients driven by the integration suite

CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP
LDLIBS_SRV = -lev -lhiredis -lsqlite3 -lm
B        := build

RESP_SRC := $(wildcard resp/*.c)
RAFT_SRC := $(wildcard raft/*.c)
SRV_SRC  := $(wildcard src/*.c)
RESP_OBJ := $(RESP_SRC:%.c=$(B)/%.o)
RAFT_OBJ := $(RAFT_SRC:%.c=$(B)/%.o)
SRV_OBJ  := $(SRV_SRC:%.c=$(B)/%.o)
SRV_LIB_OBJ := $(filter-out $(B)/src/main.o,$(SRV_OBJ))

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
SIM_SRC   := $(wildcard tests/sim/*.c)

.PHONY: all deps test unit sim integration redis-tests run clean check-deps \
        bench bench-cluster bench-snapshot bench-raft format chaos chaos-short chaos-checker
all: $(B)/raftcache

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libresp.a: $(RESP_OBJ)
	@mkdir -p $(B)
	rm -f $@ && ar rcs $@ $^

$(B)/libraft.a: $(RAFT_OBJ)
	@mkdir -p $(B)
	rm -f $@ && ar rcs $@ $^

$(B)/raftcache: $(SRV_OBJ) $(B)/libresp.a $(B)/libraft.a
	$(CC) $(CFLAGS) -o $@ $(SRV_OBJ) $(B)/libresp.a $(B)/libraft.a $(LDLIBS_SRV)

$(B)/tests/test_resp_%: $(B)/tests/unit/test_resp_%.o $(B)/libresp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka -lhiredis

$(B)/tests/test_raft_%: $(B)/tests/unit/test_raft_%.o $(B)/libraft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(SRV_LIB_OBJ) $(B)/libresp.a $(B)/libraft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_SRV)

$(B)/sim: $(SIM_SRC:%.c=$(B)/%.o) $(B)/libraft.a
	$(CC) $(CFLAGS) -o $@ $^ -lm

$(B)/bench_raft: $(B)/tests/bench/bench_raft.o $(B)/libraft.a
	$(CC) $(CFLAGS) -o $@ $^ -lm

SEEDS ?= 2000
sim: $(B)/sim
	$(B)/sim --seeds $(SEEDS)

bench-raft: $(B)/bench_raft
	$(B)/bench_raft

$(B)/tests/hiredis_client: tests/clients/hiredis_client.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lhiredis

deps:
	@scripts/deps.sh

check-deps:
	@scripts/check-deps.sh

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

integration: $(B)/raftcache $(B)/tests/hiredis_client
	@scripts/run-integration.sh

# Redis's own suite against a single node, then against the leader of a
# 3-node cluster.
redis-tests: $(B)/raftcache
	@redis-tests/run.sh
	@RT_CLUSTER_NODES=3 redis-tests/run.sh

test: deps
	$(MAKE) all
	$(MAKE) check-deps
	$(MAKE) unit
	$(MAKE) sim
	$(MAKE) integration
	$(MAKE) redis-tests
	$(MAKE) chaos-checker
	$(MAKE) chaos-short

run: deps
	$(MAKE) all
	@scripts/run-cluster.sh

bench: deps
	$(MAKE) all
	@scripts/bench.sh

bench-cluster: deps
	$(MAKE) all
	@scripts/bench-cluster.sh

bench-snapshot: deps
	$(MAKE) all
	@scripts/bench-snapshot.sh

# Jepsen-style fault test (tests/chaos/, as root): real nodes in network
# namespaces, a seeded nemesis, a checked history. SEED empty: a random seed,
# printed. OUT: results dir (default build/chaos/<seed>-<date>).
TIME  ?= 120
NODES ?= 5
SEED  ?=
OUT   ?=
CHAOS_SHORT_SEED ?= 1
chaos: deps
	$(MAKE) all
	/usr/bin/python3 tests/chaos/run.py --time $(TIME) --nodes $(NODES) \
	    $(if $(SEED),--seed $(SEED)) $(if $(OUT),--out $(OUT))

# The checker's own tests: hand-made and generated histories.
chaos-checker:
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/chaos/test_checker.py

# The CI variant: about two minutes, one fixed seed, 5 nodes.
chaos-short: deps
	$(MAKE) all
	/usr/bin/python3 tests/chaos/run.py --time 90 --nodes 5 --seed $(CHAOS_SHORT_SEED)

format:
	clang-format -i $(RESP_SRC) $(RAFT_SRC) $(SRV_SRC) $(wildcard */*.h) $(UNIT_SRC)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
