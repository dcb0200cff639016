// SPDX-License-Identifier: Apache-2.0
/// \file
/// ISO-8601 and SigV4 date formatting and parsing (GCC 12 has no <format>).

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <autoscale/clock.h>
#include <autoscale/result.h>

namespace autoscale::detail {

/// "2026-11-27T18:42:00Z" (whole seconds, UTC).
std::string formatIso8601(WallTime time);
/// "20150830T123600Z"
std::string formatAmzDate(WallTime time);
/// "20150830"
std::string formatAmzDay(WallTime time);
/// The times a WallTime (int64 nanoseconds since 1970, about ±292 years) can
/// hold, in whole years: 1678-01-01T00:00:00Z to 2261-12-31T23:59:59Z, as
/// Unix seconds. Outside input beyond them is refused, never wrapped around.
inline constexpr std::int64_t kMinUnixSeconds = -9'214'560'000;
inline constexpr std::int64_t kMaxUnixSeconds = 9'214'646'399;
inline constexpr int kMinYear = 1678;
inline constexpr int kMaxYear = 2261;

/// Parses "2026-11-27T18:42:00Z", "2026-11-27T18:42:00.000Z" and "+00:00" offsets.
/// Errc::Parse naming the text when it is not such a time, or when its year is
/// outside kMinYear..kMaxYear.
Result<WallTime> parseIso8601(std::string_view text);
/// Seconds since the epoch (0 for the epoch itself).
std::int64_t toUnixSeconds(WallTime time);
/// The time `seconds` after the epoch, clamped to kMinUnixSeconds..kMaxUnixSeconds
/// so that it never overflows; callers reading outside input check
/// inUnixSecondsRange first and refuse what is outside.
WallTime fromUnixSeconds(std::int64_t seconds);
/// True when fromUnixSeconds(seconds) is exact (no clamping).
bool inUnixSecondsRange(std::int64_t seconds);

} // namespace autoscale::detail
