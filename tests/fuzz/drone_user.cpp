// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes Drone's GET /api/user parser.

#include <autoscale/drone.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto user = parseUserJson(fuzz::textOf(data, size));
    if (!user)
        fuzz::require(user.error().code == Errc::Parse);
    return 0;
}
