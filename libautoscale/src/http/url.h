// SPDX-License-Identifier: Apache-2.0
/// \file
/// Splitting a URL into its scheme and authority (private).

#pragma once

#include <string_view>

namespace autoscale::detail {

struct UrlAuthority {
    std::string_view scheme{};   ///< As written, or the default when the URL has none.
    std::string_view hostPort{}; ///< "host[:port]" without user information.
};

/// The scheme and "host[:port]" of `url`; path, query and fragment dropped.
UrlAuthority splitUrl(std::string_view url, std::string_view defaultScheme);

} // namespace autoscale::detail
