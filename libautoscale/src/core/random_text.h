// SPDX-License-Identifier: Apache-2.0
/// \file
/// Random text from the operating system's generator (OpenSSL RAND_bytes):
/// server names and RunInstances client tokens, defined once. Private to
/// libautoscale. Thread-safe.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace autoscale::detail {

/// `n` characters drawn from `alphabet` (not empty). Should the system have
/// no entropy, the characters still differ from one call to the next.
std::string randomChars(std::size_t n, std::string_view alphabet);

/// A random server name: `prefix` + 8 characters [A-Za-z0-9].
std::string randomServerName(const std::string& prefix);

/// A random RunInstances client token: 32 lower-case hex characters.
std::string randomClientToken();

} // namespace autoscale::detail
