// SPDX-License-Identifier: Apache-2.0
/// \file
/// The syntax of configuration values (SPEC §3): Go durations, comma-separated
/// lists, `k1:v1,k2:v2` maps and booleans. Pure functions on text, shared by
/// the environment, the pool file and the tools' flags.

#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace autoscale {

/// Parses a Go duration ("90s", "1h30m", "500ms", "1.003s", "0") exactly, as
/// Go's time.ParseDuration does, truncated to whole milliseconds. Units: ns,
/// us (µs), ms, s, m, h. A leading "+" is allowed; negative values, a number
/// without a unit (other than "0"), blanks and values beyond about 146
/// million years are rejected (nullopt).
std::optional<std::chrono::milliseconds> parseGoDuration(std::string_view text);

/// Formats a duration the way Go prints one ("1h30m0s", "10s", "1.003s",
/// "500ms", "0s"). parseGoDuration(formatGoDuration(d)) == d for every d >= 0.
std::string formatGoDuration(std::chrono::milliseconds duration);

/// Parses true/false/1/0/yes/no/t/f/on/off (case-insensitive).
std::optional<bool> parseBool(std::string_view text);

/// Splits on commas, trimming blanks and dropping empty items.
std::vector<std::string> parseList(std::string_view text);

/// Parses "k1:v1,k2:v2", splitting each pair on its first colon and trimming
/// keys and values. nullopt when an item has no colon or an empty key.
std::optional<std::map<std::string, std::string>> parseMap(std::string_view text);

} // namespace autoscale
