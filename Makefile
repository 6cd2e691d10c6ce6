# statelessnf: NF runtime, Redis store layer, network functions, tests and benchmarks.
# `make deps` installs the Debian 12 packages; `make`, `make test`, `make bench`, `make fuzz`.

BUILD    ?= build
CC       ?= cc
PKGS     := libdpdk hiredis jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Werror -std=gnu11 -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lpthread -lm

NF_SRCS    := $(wildcard nf/*.c)
STORE_SRCS := $(wildcard datastore/*.c)
NAT_SRCS   := $(filter-out nfs/nat/main.c,$(wildcard nfs/nat/*.c))
LUA_FILES  := $(sort $(wildcard datastore/lua/*.lua))
HARNESS_SRCS := $(wildcard tests/harness/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BENCH_SRCS := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJS := $(call obj,$(NF_SRCS) $(STORE_SRCS)) $(BUILD)/obj/gen/lua_scripts.o
NAT_OBJS := $(call obj,$(NAT_SRCS))
HARNESS_OBJS := $(call obj,$(HARNESS_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

BINS := $(BUILD)/nf-nat

.PHONY: all test bench fuzz deps clean golden-pcaps
all: $(BINS) $(BUILD)/tests/.built $(BUILD)/tests/nf-passthru

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The Lua scripts are embedded as byte arrays: lua_<name>[] and lua_<name>_size.
$(BUILD)/gen/lua_scripts.c: $(LUA_FILES) Makefile
	@mkdir -p $(dir $@)
	@{ for f in $(LUA_FILES); do n=$$(basename $$f .lua); \
	   echo "const unsigned char lua_$${n}[] = {"; \
	   od -An -v -tx1 $$f | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo "};"; echo "const unsigned long lua_$${n}_size = sizeof(lua_$${n});"; done; } > $@
$(BUILD)/obj/gen/lua_scripts.o: $(BUILD)/gen/lua_scripts.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -c $< -o $@

$(BUILD)/libsnf.a: $(LIB_OBJS)
	ar rcs $@ $^
$(BUILD)/libnat.a: $(NAT_OBJS)
	ar rcs $@ $^

$(BUILD)/nf-nat: $(call obj,nfs/nat/main.c) $(BUILD)/libnat.a $(BUILD)/libsnf.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The runtime's test NF (tests/integration/passthru_nf.c has its own main).
$(BUILD)/tests/nf-passthru: $(call obj,tests/integration/passthru_nf.c) $(BUILD)/libsnf.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(HARNESS_OBJS) $(BUILD)/libnat.a $(BUILD)/libsnf.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion -lpcap

$(BUILD)/tests/.built: $(UNIT_BINS)
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/bench-nf: $(call obj,$(BENCH_SRCS)) $(HARNESS_OBJS) $(BUILD)/libnat.a $(BUILD)/libsnf.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz target: clang + libFuzzer + ASan/UBSan, its own object tree.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -I. -I$(BUILD)/gen $(PKG_CFLAGS) -std=gnu11
$(BUILD)/fuzz/fuzz_nat: tests/fuzz/fuzz_nat.c tests/harness/pktgen.c $(NF_SRCS) $(STORE_SRCS) $(NAT_SRCS) $(BUILD)/gen/lua_scripts.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

test: all $(BUILD)/fuzz/fuzz_nat
	BUILD=$(BUILD) tests/run_tests.sh

fuzz: $(BUILD)/fuzz/fuzz_nat
	mkdir -p $(BUILD)/fuzz/corpus && cp tests/fuzz/corpus/* $(BUILD)/fuzz/corpus/
	$(BUILD)/fuzz/fuzz_nat -max_total_time=$${FUZZ_SECONDS:-600} $(BUILD)/fuzz/corpus

bench: all $(BUILD)/bench-nf
	BUILD=$(BUILD) tests/bench/run_bench.sh

golden-pcaps:
	python3 tests/golden/gen_golden.py tests/golden

deps:
	deploy/install-deps.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
