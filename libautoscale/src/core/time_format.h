// SPDX-License-Identifier: Apache-2.0
/// \file
/// ISO-8601 and SigV4 date formatting and parsing (GCC 12 has no <format>).

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <autoscale/clock.h>

namespace autoscale::detail {

/// "2026-11-27T18:42:00Z" (whole seconds, UTC).
std::string formatIso8601(WallTime time);
/// "20150830T123600Z"
std::string formatAmzDate(WallTime time);
/// "20150830"
std::string formatAmzDay(WallTime time);
/// Parses "2026-11-27T18:42:00Z", "2026-11-27T18:42:00.000Z" and "+00:00" offsets.
std::optional<WallTime> parseIso8601(std::string_view text);
/// Seconds since the epoch (0 for the epoch itself).
std::int64_t toUnixSeconds(WallTime time);
WallTime fromUnixSeconds(std::int64_t seconds);

} // namespace autoscale::detail
