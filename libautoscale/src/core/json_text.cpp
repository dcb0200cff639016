// SPDX-License-Identifier: Apache-2.0
/// \file
/// JSON string quoting.

#include "json_text.h"

#include <string_view>

namespace autoscale::detail {

namespace {

/// Length of the valid UTF-8 sequence starting at `i`, or 0.
std::size_t utf8Length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0U) == 0xC0U && c >= 0xC2) {
        n = 2;
    } else if ((c & 0xF0U) == 0xE0U) {
        n = 3;
    } else if ((c & 0xF8U) == 0xF0U && c <= 0xF4) {
        n = 4;
    } else {
        return 0;
    }
    if (i + n > s.size())
        return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0U) != 0x80U)
            return 0;
    }
    return n;
}

} // namespace

std::string jsonQuote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        switch (c) {
        case '"':
            out += "\\\"";
            ++i;
            continue;
        case '\\':
            out += "\\\\";
            ++i;
            continue;
        case '\n':
            out += "\\n";
            ++i;
            continue;
        case '\r':
            out += "\\r";
            ++i;
            continue;
        case '\t':
            out += "\\t";
            ++i;
            continue;
        default:
            break;
        }
        const auto uc = static_cast<unsigned char>(c);
        if (uc < 0x20) {
            // A control character: backslash, u, then four lower-case hex digits.
            constexpr std::string_view kHex = "0123456789abcdef";
            out += "\\u00";
            out += kHex[uc >> 4U];
            out += kHex[uc & 0xFU];
            ++i;
            continue;
        }
        const std::size_t n = utf8Length(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        out.append(text.substr(i, n));
        i += n;
    }
    out += '"';
    return out;
}

} // namespace autoscale::detail
