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

# Until the simulator lands: one planning cycle on the example queue and
# servers shipped in examples/, with the default and the classic policy.
demo: build
	@echo "== autoscaler-cli plan on examples/queue.json and examples/servers.json (DRONE_POOL_MIN=1 DRONE_POOL_MAX=6)"
	@DRONE_POOL_MIN=1 DRONE_POOL_MAX=6 $(BUILD)/tools/autoscaler-cli plan \
		--queue-file examples/queue.json --servers-file examples/servers.json
	@echo
	@echo "== the same cycle under drone/autoscaler's classic arithmetic"
	@DRONE_POOL_MIN=1 DRONE_POOL_MAX=6 $(BUILD)/tools/autoscaler-cli plan --policy classic \
		--queue-file examples/queue.json --servers-file examples/servers.json

test: build
	meson test -C $(BUILD) --num-processes 2 --print-errorlogs

clean:
	rm -rf $(BUILD) build-asan
