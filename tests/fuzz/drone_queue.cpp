// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes Drone's GET /api/queue parser, copying and in situ: both must agree.

#include <string>

#include <autoscale/drone.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body = fuzz::textOf(data, size);
    const auto copied = parseQueueJson(body);
    std::string buffer(body);
    const auto inSitu = parseQueueJsonInPlace(buffer);
    fuzz::require(copied.has_value() == inSitu.has_value());
    if (copied)
        fuzz::require(*copied == *inSitu);
    else
        fuzz::require(copied.error().code == Errc::Parse && !copied.error().message.empty());
    return 0;
}
