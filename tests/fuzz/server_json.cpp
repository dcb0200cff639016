// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes our server JSON (GET /api/servers, one server): what parses writes
/// back to JSON that parses again to the same servers.

#include <autoscale/json.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body = fuzz::textOf(data, size);
    if (const auto servers = parseServersJson(body)) {
        const auto again = parseServersJson(serversToJson(*servers));
        fuzz::require(again.has_value() && again->size() == servers->size());
        for (std::size_t i = 0; i < servers->size(); ++i) {
            fuzz::require((*again)[i].name == (*servers)[i].name);
            fuzz::require((*again)[i].state == (*servers)[i].state);
            fuzz::require((*again)[i].stopped == (*servers)[i].stopped);
        }
    }
    if (const auto server = parseServerJson(body))
        fuzz::require(parseServerJson(serverToJson(*server)).has_value());
    return 0;
}
