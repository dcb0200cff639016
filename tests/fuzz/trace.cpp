// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the `autoscaler-cli simulate` trace parser (JSON lines).

#include <cmath>

#include <autoscale/simulation.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto trace = parseTrace(fuzz::textOf(data, size));
    if (!trace) {
        fuzz::require(trace.error().message.starts_with("line "));
        return 0;
    }
    for (const auto& stage : *trace)
        fuzz::require(std::isfinite(stage.t) && stage.t >= 0 && std::isfinite(stage.duration));
    return 0;
}
