// SPDX-License-Identifier: Apache-2.0
/// \file
/// Small text helpers used across the library, defined once: ASCII trim and
/// lower-case, and base64 (RFC 4648, standard alphabet, padded). Private to
/// libautoscale.

#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace autoscale::detail {

/// `text` without leading and trailing whitespace (space, \t, \n, \v, \f, \r).
/// The view points into `text`.
std::string_view trim(std::string_view text);

/// `text` with ASCII A-Z lowered; other bytes (UTF-8 included) unchanged.
std::string lower(std::string_view text);

/// Base64 of `bytes`: standard alphabet, padded with '='.
std::string base64Encode(std::string_view bytes);

/// The bytes `text` encodes (standard alphabet; padding optional, no
/// whitespace); std::nullopt when `text` is not base64.
std::optional<std::string> base64Decode(std::string_view text);

} // namespace autoscale::detail
