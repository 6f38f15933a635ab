# Palisade build. GNU make.
#
#   make run           install missing system packages, then run testdata/examples/hello.luau in the wasm sandbox
#   make test          everything CI runs: vet, gofmt, native ASan build + Luau suite, C unit tests, fuzz smoke,
#                      go test ./...
#   make guest         rebuild guest/palisade.wasm (reproducible; commit the result)
#   make native        build/luau-native: the interpreter as a native program (-O2)
#   make native-asan   build/luau-asan: the same with AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench         compare Palisade-in-wasm, the native build and gopher-lua on testdata/bench/
#   make deps          install missing system packages (scripts/install-deps.sh)
#   make clean         remove build/
#
# Every tool and flag is a ?= variable, e.g. `make guest OUT=/tmp/x.wasm WASM_OBJDIR=/tmp/obj`.

SHELL := /bin/bash
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

GO          ?= go
CC_WASM     ?= clang-19
CC_NATIVE   ?= clang-19
CC_ASAN     ?= clang-19
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

BUILD       ?= build
OUT         ?= guest/palisade.wasm
WASM_OBJDIR ?= $(BUILD)/wasm
NATIVE_OBJDIR ?= $(BUILD)/native
ASAN_OBJDIR ?= $(BUILD)/asan

# Interpreter sources (sorted, so the link order and the output never depend on the directory listing).
GUEST_SRCS  ?= $(sort $(wildcard guest/src/*.c))
ENTRY_SRCS  ?= $(sort $(wildcard guest/wasm/*.c))
NATIVE_HOST_SRCS ?= guest/native/host_native.c
NATIVE_MAIN ?= guest/native/main.c
C_TESTS     ?= $(sort $(wildcard guest/tests/*_test.c))
FUZZERS     ?= $(sort $(wildcard guest/fuzz/fuzz_*.c))
LUAU_SUITE  ?= $(sort $(wildcard testdata/luau/*.luau))
# valcodec tests/fuzzers link guest/tests/fakepal.c instead of the core while this is 1 (see fakepal.c).
VALCODEC_FAKE ?= 0
FUZZ_RUNS   ?= 20000
FUZZ_SECONDS ?= 10
SUITE_TIMEOUT ?= 120
SUITE_SCRIPT_TIMEOUT ?= 60

# Paths are made relative to the repository so that no absolute path can reach the outputs.
PREFIX_MAP  := -ffile-prefix-map=$(CURDIR)/= -fdebug-prefix-map=$(CURDIR)/= -fmacro-prefix-map=$(CURDIR)/=
WARN        ?= -Wall -Wextra -Werror
INCLUDES    := -Iguest/src -Iguest/native

WASM_CFLAGS ?= --target=wasm32-wasi --sysroot=/usr -std=c11 -O2 -g0 $(WARN) $(PREFIX_MAP) -fno-ident
WASM_LDFLAGS ?= --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor \
	-Wl,--stack-first -Wl,-z,stack-size=1048576 -Wl,--export=__stack_pointer -Wl,--strip-all \
	-Wl,--no-export-dynamic -Wl,--gc-sections

NATIVE_CFLAGS ?= -std=c11 -O2 -g $(WARN) $(PREFIX_MAP)
# The sanitizer objects are also instrumented for libFuzzer (fuzzer-no-link), so one build serves the ASan CLI,
# the C unit tests and the fuzz targets.
ASAN_FLAGS  ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS ?= -std=c11 -O1 -g $(WARN) $(PREFIX_MAP) $(ASAN_FLAGS) -fsanitize=fuzzer-no-link
LDLIBS      ?= -lm

objs = $(addprefix $(1)/,$(patsubst %.c,%.o,$(2)))

WASM_OBJS   := $(call objs,$(WASM_OBJDIR),$(GUEST_SRCS) $(ENTRY_SRCS))
LIB_SRCS    := $(GUEST_SRCS) $(ENTRY_SRCS) $(NATIVE_HOST_SRCS)
NATIVE_LIB  := $(NATIVE_OBJDIR)/libpal.a
ASAN_LIB    := $(ASAN_OBJDIR)/libpal.a
TEST_BINS   := $(patsubst guest/tests/%.c,$(BUILD)/tests/%,$(C_TESTS))
FUZZ_BINS   := $(patsubst guest/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZERS))

.PHONY: all guest native native-asan test run bench deps clean vet fmt-check suite ctest fuzz gotest gofuzz
all: guest native

deps:
	@scripts/install-deps.sh

# ---- wasm guest ----------------------------------------------------------------------------------------------
guest: $(OUT)

$(OUT): $(WASM_OBJS) Makefile
	@mkdir -p $(dir $@)
	$(CC_WASM) $(WASM_LDFLAGS) $(WASM_OBJS) $(LDLIBS) -o $@.tmp
	@chmod 644 $@.tmp && mv $@.tmp $@

$(WASM_OBJDIR)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC_WASM) $(WASM_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

# ---- native builds -------------------------------------------------------------------------------------------
native: $(BUILD)/luau-native
native-asan: $(BUILD)/luau-asan

$(NATIVE_OBJDIR)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC_NATIVE) $(NATIVE_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(ASAN_OBJDIR)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC_ASAN) $(ASAN_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(NATIVE_LIB): $(call objs,$(NATIVE_OBJDIR),$(LIB_SRCS))
	@rm -f $@
	ar rcsD $@ $^

$(ASAN_LIB): $(call objs,$(ASAN_OBJDIR),$(LIB_SRCS))
	@rm -f $@
	ar rcsD $@ $^

$(BUILD)/luau-native: $(call objs,$(NATIVE_OBJDIR),$(NATIVE_MAIN)) $(NATIVE_LIB)
	$(CC_NATIVE) $(NATIVE_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/luau-asan: $(call objs,$(ASAN_OBJDIR),$(NATIVE_MAIN)) $(ASAN_LIB)
	$(CC_ASAN) $(ASAN_CFLAGS) $^ $(LDLIBS) -o $@

# C unit tests: each guest/tests/X_test.c is a standalone program, linked with the sanitizer build of the
# interpreter (an archive, so a test only pulls in what it uses).
fakepal = $(if $(and $(filter 1,$(VALCODEC_FAKE)),$(findstring valcodec,$(1))),$(ASAN_OBJDIR)/guest/tests/fakepal.o)

$(BUILD)/tests/%: $(ASAN_OBJDIR)/guest/tests/%.o $(ASAN_LIB) $(if $(filter 1,$(VALCODEC_FAKE)),$(ASAN_OBJDIR)/guest/tests/fakepal.o)
	@mkdir -p $(dir $@)
	$(CC_ASAN) $(ASAN_CFLAGS) $< $(call fakepal,$@) $(ASAN_LIB) $(LDLIBS) -o $@

# libFuzzer targets: guest/fuzz/fuzz_X.c, corpus in guest/fuzz/corpus_X/.
$(BUILD)/fuzz/%: $(ASAN_OBJDIR)/guest/fuzz/%.o $(ASAN_LIB) $(if $(filter 1,$(VALCODEC_FAKE)),$(ASAN_OBJDIR)/guest/tests/fakepal.o)
	@mkdir -p $(dir $@)
	$(CC_ASAN) $(ASAN_CFLAGS) -fsanitize=fuzzer $< $(call fakepal,$@) $(ASAN_LIB) $(LDLIBS) -o $@

# ---- checks --------------------------------------------------------------------------------------------------
vet:
	$(GO) vet ./...

fmt-check:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './build/*' -not -path './.git/*')); \
	if [ -n "$$files" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$files"; exit 1; fi

# The Luau suite under ASan/UBSan: every file must exit 0 and end with a line "OK <area> N".
suite: $(BUILD)/luau-asan
	@pass=0; fail=0; \
	for f in $(LUAU_SUITE); do \
		out=$$(timeout $(SUITE_TIMEOUT) $(BUILD)/luau-asan --timeout $(SUITE_SCRIPT_TIMEOUT) $$f 2>&1); rc=$$?; \
		last=$$(printf '%s\n' "$$out" | tail -n 1); \
		if [ $$rc -eq 0 ] && [[ "$$last" =~ ^OK\ [^\ ]+\ [0-9]+$$ ]]; then \
			pass=$$((pass+1)); echo "  ok   $$f: $$last"; \
		else \
			fail=$$((fail+1)); echo "  FAIL $$f (exit $$rc)"; printf '%s\n' "$$out" | tail -n 20 | sed 's/^/       /'; \
		fi; \
	done; \
	echo "luau suite (asan): $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

ctest: $(TEST_BINS)
	@pass=0; fail=0; \
	for t in $(TEST_BINS); do \
		if timeout $(SUITE_TIMEOUT) $$t >$$t.log 2>&1; then \
			pass=$$((pass+1)); echo "  ok   $$t: $$(tail -n 1 $$t.log)"; \
		else \
			fail=$$((fail+1)); echo "  FAIL $$t"; tail -n 30 $$t.log | sed 's/^/       /'; \
		fi; \
	done; \
	echo "C unit tests: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# Each fuzz target runs briefly over its committed corpus; new inputs go to a scratch dir, never into the corpus.
fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_BINS); do \
		name=$${t##*/fuzz_}; corpus=guest/fuzz/corpus_$$name; scratch=$(BUILD)/fuzz/scratch_$$name; \
		rm -rf $$scratch; mkdir -p $$scratch; [ -d $$corpus ] || corpus=; \
		echo "  fuzz $$t ($(FUZZ_RUNS) runs, <= $(FUZZ_SECONDS)s)"; \
		if ! $$t -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)/fuzz/ \
			$$scratch $$corpus >$$t.log 2>&1; then tail -n 40 $$t.log; exit 1; fi; \
		tail -n 1 $$t.log | sed 's/^/       /'; \
	done

gotest:
	$(GO) test ./...

# Each Go fuzz target (func FuzzX in a _test.go file) runs briefly; its seed corpus also runs in every `go test`.
# A count, not a duration: with -fuzztime <duration>, Go 1.26's fuzz coordinator can fail a run with a bare
# "context deadline exceeded" at the deadline (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
GOFUZZ_RUNS ?= 20000
gofuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read f; do \
		pkg=./$$(dirname $${f#./}); \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "  go fuzz $$pkg $$name ($(GOFUZZ_RUNS) runs)"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(GOFUZZ_RUNS)x $$pkg >$(BUILD)/gofuzz.log 2>&1 || \
				{ tail -n 40 $(BUILD)/gofuzz.log; exit 1; }; \
		done; \
	done

test: deps
	$(MAKE) vet
	$(MAKE) fmt-check
	$(MAKE) -j$(JOBS) native-asan
	$(MAKE) suite
	$(MAKE) -j$(JOBS) $(TEST_BINS) $(FUZZ_BINS)
	$(MAKE) ctest
	$(MAKE) fuzz
	$(MAKE) gotest
	$(MAKE) gofuzz

run: deps
	$(GO) run ./cmd/palisade luau testdata/examples/hello.luau

bench: deps
	$(MAKE) -j$(JOBS) native
	$(GO) test -run '^$$' -bench '^BenchmarkCompare$$' -benchtime 1x -timeout 30m ./host/sandbox
	$(GO) test -run '^$$' -bench '^Benchmark(ColdStart|Restore)' -benchtime 3000x -timeout 30m ./host/guildvm
	$(GO) test -run '^$$' -bench '^BenchmarkDispatchThroughput$$' -benchtime 3s -timeout 30m ./host/guildvm
	$(GO) test -run '^$$' -bench '^BenchmarkIdleGuildRSS$$' -benchtime 1x -timeout 30m ./host/guildvm

clean:
	rm -rf $(BUILD)

-include $(wildcard $(WASM_OBJS:.o=.d) $(NATIVE_OBJDIR)/guest/*/*.d $(ASAN_OBJDIR)/guest/*/*.d)
