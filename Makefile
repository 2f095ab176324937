# The two commands of the quick start, and a few more.
#   make run    install missing packages, build, start `tide serve` (ARGS="..." to add flags)
#   make test   install missing packages, build with ASan+UBSan, run every test,
#               then build the libFuzzer targets with clang and fuzz each for a bounded time
#   make build  release build in build/;  make bench  the side-by-side benchmarks against
#               VictoriaMetrics: ingest, remote write, queries (docs/benchmarks.md)
.PHONY: all deps build run test test-build fuzz bench clean

JOBS ?= $(shell nproc)
ARGS ?=

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDE_TESTS=OFF >/dev/null
	@ninja -C build -j $(JOBS) tide

run: build
	./build/tide serve $(ARGS)

test-build:
	@scripts/deps.sh test
	@cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTIDE_SANITIZE=ON -DTIDE_WERROR=ON >/dev/null
	@ninja -C build-test -j $(JOBS)

fuzz:
	@scripts/deps.sh test
	@CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDE_SANITIZE=ON -DTIDE_FUZZ=ON >/dev/null
	@ninja -C build-fuzz -j $(JOBS)
	@cd build-fuzz && ctest -L '^fuzz$$' --output-on-failure -j $(JOBS)

test: test-build
	@cd build-test && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|integration|fuzz-replay'
	@$(MAKE) --no-print-directory fuzz

bench: build
	@scripts/deps.sh bench
	bench/peer/ingest.sh --no-build
	bench/peer/remote_write.sh --no-build
	bench/peer/query.sh --no-build

clean:
	rm -rf build build-test build-fuzz
