// SPDX-License-Identifier: Apache-2.0
/// \file
/// What the libFuzzer targets share: the entry point's declaration, the input as
/// text, splitting it into parts, and a check that crashes the run when a
/// property of the code under test does not hold.

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

/// libFuzzer's entry point; each target defines it once.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace autoscale::fuzz {

/// The input bytes as text (not NUL-terminated; may hold NULs).
inline std::string_view textOf(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return {};
    return {reinterpret_cast<const char*>(data), size}; // NOLINT(*-reinterpret-cast)
}

/// Stops the run as a crash, so libFuzzer saves the input.
inline void require(bool condition) {
    if (!condition)
        std::abort();
}

/// The text before and after the first `separator` (all of it and "" without one).
inline std::pair<std::string_view, std::string_view> splitFirst(std::string_view text,
                                                                char separator) {
    const auto at = text.find(separator);
    if (at == std::string_view::npos)
        return {text, {}};
    return {text.substr(0, at), text.substr(at + 1)};
}

/// The lines of `text`, split at '\n' (a trailing empty line dropped).
inline std::vector<std::string_view> linesOf(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto [line, rest] = splitFirst(text, '\n');
        out.push_back(line);
        text = rest;
    }
    return out;
}

} // namespace autoscale::fuzz
