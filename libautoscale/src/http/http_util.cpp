// SPDX-License-Identifier: Apache-2.0
/// \file
/// URI encoding and URL pieces.

#include <array>

#include <autoscale/http.h>

#include "url.h"

namespace autoscale {

std::string uriEncode(std::string_view text, bool encodeSlash) {
    static constexpr std::array<char, 17> kHex{"0123456789ABCDEF"};
    std::string out;
    out.reserve(text.size() * 3);
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                                (u >= '0' && u <= '9') || u == '-' || u == '_' || u == '.' ||
                                u == '~';
        if (unreserved || (u == '/' && !encodeSlash)) {
            out += c;
            continue;
        }
        out += '%';
        out += kHex[u >> 4U];
        out += kHex[u & 0x0FU];
    }
    return out;
}

namespace detail {

UrlAuthority splitUrl(std::string_view url, std::string_view defaultScheme) {
    std::string_view rest = url;
    std::string_view scheme = defaultScheme;
    if (const auto p = rest.find("://"); p != std::string_view::npos) {
        scheme = rest.substr(0, p);
        rest.remove_prefix(p + 3);
    }
    if (const auto end = rest.find_first_of("/?#"); end != std::string_view::npos)
        rest = rest.substr(0, end);
    if (const auto at = rest.rfind('@'); at != std::string_view::npos)
        rest.remove_prefix(at + 1);
    return {scheme, rest};
}

} // namespace detail

std::string hostPortOf(std::string_view url) {
    const auto [scheme, rest] = detail::splitUrl(url, "http");
    const bool hasPort = rest.starts_with('[') ? rest.find("]:") != std::string_view::npos
                                               : rest.find(':') != std::string_view::npos;
    if (hasPort)
        return std::string(rest);
    return std::string(rest) + (scheme == "https" ? ":443" : ":80");
}

} // namespace autoscale
