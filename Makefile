# The two set-up commands of the README: `make run` and `make test`. Both install what they
# need (scripts/install-deps.sh is idempotent) and build.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build run test test-sanitize bench bench-stress bench-replicas clean

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/dev-run.sh

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 900

# The unit and integration suites under ASan + UBSan, in build-sanitize (scripts/test-sanitize.sh).
test-sanitize: deps
	NBHUB_SANITIZE_BUILD=$(CURDIR)/build-sanitize JOBS=$(JOBS) scripts/test-sanitize.sh all

bench: build
	@bench/login/run.sh
	@bench/pyeval/run.sh
	@bench/stress/run.sh
	@bench/replicas/run.sh

# The proxy under hostile load next to nginx (bench/stress/README.md); a few minutes.
bench-stress: build
	@bench/stress/run.sh

# 1, 2 and 3 replicas on one PostgreSQL behind nginx, and a kill -9 (bench/replicas/README.md).
bench-replicas: build
	@bench/replicas/run.sh

clean:
	rm -rf $(BUILD) build-sanitize
