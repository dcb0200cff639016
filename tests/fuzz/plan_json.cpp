// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the `plan --json` parser: what parses writes back to the same plan.

#include <autoscale/json.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (const auto plan = parsePlanJson(fuzz::textOf(data, size))) {
        const auto again = parsePlanJson(planToJson(*plan));
        fuzz::require(again.has_value());
        fuzz::require(again->pool == plan->pool && again->create == plan->create &&
                      again->drain == plan->drain && again->reasons == plan->reasons);
    }
    return 0;
}
