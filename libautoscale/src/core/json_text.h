// SPDX-License-Identifier: Apache-2.0
/// \file
/// Tiny helpers for writing JSON text without RapidJSON (log lines).

#pragma once

#include <string>
#include <string_view>

namespace autoscale::detail {

/// `text` as a quoted JSON string, with control characters escaped and
/// invalid UTF-8 bytes replaced by U+FFFD.
std::string jsonQuote(std::string_view text);

} // namespace autoscale::detail
