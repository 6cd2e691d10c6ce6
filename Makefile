# statelessnf: NF runtime, Redis store layer, network functions, tests and benchmarks.
# `make deps` installs the Debian 12 packages; `make`, `make test`, `make bench`, `make fuzz`.

BUILD    ?= build
CC       ?= cc
PKGS     := libdpdk hiredis jansson libmicrohttpd libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Werror -std=gnu11 -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lpthread -lm

NF_SRCS    := $(wildcard nf/*.c)
STORE_SRCS := $(wildcard datastore/*.c)
NFS        := $(notdir $(wildcard nfs/*))
NFS_SRCS   := $(filter-out %/main.c,$(wildcard nfs/*/*.c))
LUA_FILES  := $(sort $(wildcard datastore/lua/*.lua))
HARNESS_SRCS := $(wildcard tests/harness/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BENCH_SRCS := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJS := $(call obj,$(NF_SRCS) $(STORE_SRCS)) $(BUILD)/obj/gen/lua_scripts.o
NF_LIBS  := $(foreach n,$(NFS),$(BUILD)/lib$(n).a)
# The orchestrator's library: everything in orchestrator/ but the programs' mains.
ORCH_MAINS := orchestrator/main.c orchestrator/nfvctl.c
ORCH_SRCS  := $(filter-out $(ORCH_MAINS),$(wildcard orchestrator/*.c))
ORCH_LIB   := $(if $(ORCH_SRCS),$(BUILD)/liborch.a)
HARNESS_OBJS := $(call obj,$(HARNESS_SRCS))
# The orchestrator tests' fixture (tests/harness/orchenv*.c: Criterion asserts, libcurl)
# goes into the test binaries only, not into bench-nf.
BENCH_HARNESS_OBJS := $(filter-out $(BUILD)/obj/tests/harness/orchenv%,$(HARNESS_OBJS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# The orchestrator daemon is built once orchestrator/main.c exists; the CLI always.
ORCH_BINS := $(if $(wildcard orchestrator/nfvctl.c),$(BUILD)/nfvctl) $(if $(wildcard orchestrator/main.c),$(BUILD)/nfv-orchestrator)

BINS := $(foreach n,$(NFS),$(BUILD)/nf-$(n))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all test test-run test-failover bench fuzz deps clean golden-pcaps demo demo-stop
all: $(BINS) $(BUILD)/tests/.built $(BUILD)/tests/nf-passthru $(ORCH_BINS) $(BUILD)/tcpprobe

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The Lua scripts are embedded as a table of {name, text, size}: lua_blobs[], n_lua_blobs.
$(BUILD)/gen/lua_scripts.c: $(LUA_FILES) Makefile
	@mkdir -p $(dir $@)
	@{ for f in $(LUA_FILES); do n=$$(basename $$f .lua); \
	   echo "static const unsigned char lua_$${n}[] = {"; \
	   od -An -v -tx1 $$f | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo "};"; done; \
	   echo "struct lua_blob { const char *name; const unsigned char *text; unsigned long size; };"; \
	   echo "const struct lua_blob lua_blobs[] = {"; \
	   for f in $(LUA_FILES); do n=$$(basename $$f .lua); \
	   echo "	{ \"$${n}.lua\", lua_$${n}, sizeof(lua_$${n}) },"; done; \
	   echo "};"; echo "const unsigned n_lua_blobs = sizeof(lua_blobs) / sizeof(lua_blobs[0]);"; } > $@
$(BUILD)/obj/gen/lua_scripts.o: $(BUILD)/gen/lua_scripts.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -c $< -o $@

$(BUILD)/libsnf.a: $(LIB_OBJS)
	ar rcs $@ $^
# Each network function nfs/<nf>/ becomes lib<nf>.a (everything but main.c) and nf-<nf>.
define NF_RULES
$(BUILD)/lib$(1).a: $$(call obj,$$(filter-out %/main.c,$$(wildcard nfs/$(1)/*.c)))
	ar rcs $$@ $$^
$(BUILD)/nf-$(1): $$(call obj,nfs/$(1)/main.c) $(BUILD)/lib$(1).a $(BUILD)/libsnf.a
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach n,$(NFS),$(eval $(call NF_RULES,$(n))))

# The runtime's test NF (tests/integration/passthru_nf.c has its own main).
$(BUILD)/tests/nf-passthru: $(call obj,tests/integration/passthru_nf.c) $(BUILD)/libsnf.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/liborch.a: $(call obj,$(ORCH_SRCS)) $(BUILD)/obj/gen/openapi_json.o
	ar rcs $@ $^

# orchestrator/openapi.json embedded for GET /v1/openapi.json: orch_openapi_json[] (with a
# terminating NUL) and orch_openapi_json_size (without it).
$(BUILD)/gen/openapi_json.c: orchestrator/openapi.json Makefile
	@mkdir -p $(dir $@)
	@{ echo "const unsigned char orch_openapi_json[] = {"; \
	   od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo "0x00 };"; \
	   echo "const unsigned long orch_openapi_json_size = sizeof(orch_openapi_json) - 1;"; } > $@
$(BUILD)/obj/gen/openapi_json.o: $(BUILD)/gen/openapi_json.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -c $< -o $@

ifneq ($(wildcard orchestrator/main.c),)
$(BUILD)/nfv-orchestrator: $(call obj,orchestrator/main.c) $(ORCH_LIB) $(NF_LIBS) $(BUILD)/libsnf.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
endif
$(BUILD)/nfvctl: $(call obj,orchestrator/nfvctl.c) $(ORCH_LIB) $(NF_LIBS) $(BUILD)/libsnf.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(HARNESS_OBJS) $(ORCH_LIB) $(NF_LIBS) $(BUILD)/libsnf.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion -lpcap

# The TCP probe of the failover tests and the demo (tests/tools/tcpprobe.c, libc only).
$(BUILD)/tcpprobe: $(call obj,tests/tools/tcpprobe.c)
	$(CC) $(CFLAGS) -o $@ $^

$(BUILD)/tests/.built: $(UNIT_BINS)
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/bench-nf: $(call obj,$(BENCH_SRCS)) $(BENCH_HARNESS_OBJS) $(NF_LIBS) $(BUILD)/libsnf.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets tests/fuzz/fuzz_<name>.c: clang + libFuzzer + ASan/UBSan, built from source
# (not from the gcc objects); seed corpus in tests/fuzz/corpus/<name>/.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -I$(BUILD)/gen $(PKG_CFLAGS) -std=gnu11
FUZZ_HDRS := $(wildcard nf/*.h datastore/*.h nfs/*/*.h tests/fuzz/*.h tests/harness/*.h)
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/harness/pktgen.c $(NF_SRCS) $(STORE_SRCS) $(NFS_SRCS) $(BUILD)/gen/lua_scripts.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

# test and demo install the packages first, then build in a new make: the pkg-config
# flags above are read when make starts, before the packages exist on a fresh machine.
test: deps
	$(MAKE) test-run
test-run: all $(FUZZ_BINS)
	BUILD=$(BUILD) tests/run_tests.sh

# The end-to-end failover test alone (`make test` runs it too): OVS + Redis +
# nfv-orchestrator + nf-nat instances, 200 TCP connections through a kill -9, a hang,
# scaling, an orchestrator restart (about a minute).
test-failover: all
	$(BUILD)/tests/test_orch_failover --verbose=0 --jobs=1

# Longer fuzzing: FUZZ_SECONDS per target (default 600), corpus kept in $(BUILD)/fuzz/corpus/.
fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$${f##*/fuzz_}; mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	  cp tests/fuzz/corpus/$$n/* $(BUILD)/fuzz/corpus/$$n/; \
	  $$f -max_total_time=$${FUZZ_SECONDS:-600} $(BUILD)/fuzz/corpus/$$n || exit 1; done

bench: all $(BUILD)/bench-nf
	BUILD=$(BUILD) tests/bench/run_bench.sh

golden-pcaps:
	@for g in tests/golden/gen_golden*.py; do echo "$$g"; python3 $$g tests/golden || exit 1; done

deps:
	deploy/install-deps.sh

# A live demo of the data plane (root): namespaces, veths, a private Redis, two NAT
# instances in turn under one TCP connection. It keeps running until `make demo-stop`.
demo: deps
	$(MAKE) all
	deploy/demo.sh

demo-stop:
	deploy/demo-stop.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
