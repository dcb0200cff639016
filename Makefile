# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over meson: `make demo` and `make test` on a fresh Debian 12.
BUILD ?= build
MESON_SETUP = meson setup --wrap-mode=nofallback $(BUILD)

.PHONY: demo test build deps clean

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	$(MESON_SETUP)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# A week of office-hours builds (examples/traces/weekday.jsonl) replayed
# through the engine under our default policy and drone/autoscaler's classic
# one, side by side, with a chart of servers against demand for each.
# It builds only what it runs (autoscaler-cli and the library), not the tests
# and benchmarks that `make test` builds.
DEMO_ENV = DRONE_POOL_MIN=2 DRONE_POOL_MAX=16 DRONE_AGENT_CONCURRENCY=2
demo: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) tools/autoscaler-cli
	@echo "== autoscaler-cli simulate --compare on examples/traces/weekday.jsonl ($(DEMO_ENV))"
	@$(DEMO_ENV) $(BUILD)/tools/autoscaler-cli simulate --compare \
		--trace examples/traces/weekday.jsonl

test: build
	meson test -C $(BUILD) --num-processes 2 --print-errorlogs

clean:
	rm -rf $(BUILD) build-asan
