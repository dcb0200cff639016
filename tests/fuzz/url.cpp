// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes URL splitting: the authority found is part of the URL, never more.

#include "http/url.h"

#include <autoscale/http.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view url = fuzz::textOf(data, size);
    const detail::UrlAuthority parts = detail::splitUrl(url, "https");
    fuzz::require(parts.hostPort.size() <= url.size());
    if (!parts.hostPort.empty()) {
        // A view into the URL itself.
        fuzz::require(parts.hostPort.data() >= url.data() &&
                      parts.hostPort.data() + parts.hostPort.size() <= url.data() + url.size());
    }
    fuzz::require(parts.hostPort.find('/') == std::string_view::npos);
    (void)hostPortOf(url);
    return 0;
}
