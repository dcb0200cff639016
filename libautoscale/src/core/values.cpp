// SPDX-License-Identifier: Apache-2.0
/// \file
/// Value syntax: Go durations in exact integer arithmetic (no floating point,
/// so "1.003s" is 1003 ms), lists, maps and booleans.

#include "autoscale/values.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

#include "core/text.h"

namespace autoscale {

namespace {

constexpr std::uint64_t kNsPerMs = 1'000'000;
/// The largest duration accepted, in milliseconds.
constexpr std::uint64_t kMaxMs =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 2);
/// Fraction digits beyond this many change the result by less than 1 ns.
constexpr int kMaxFractionDigits = 17;

/// A unit's length, c × 10^e nanoseconds, so that fractions divide exactly.
struct Unit {
    std::string_view name;
    std::uint64_t coefficient;
    int exponent;
};

constexpr std::array<Unit, 8> kUnits = {{
        {"ns", 1, 0},
        {"us", 1, 3},
        {"\xC2\xB5s", 1, 3}, // U+00B5 micro sign
        {"\xCE\xBCs", 1, 3}, // U+03BC Greek small letter mu
        {"ms", 1, 6},
        {"s", 1, 9},
        {"m", 6, 10},
        {"h", 36, 11},
}};

std::uint64_t pow10(int exponent) {
    std::uint64_t value = 1;
    for (int i = 0; i < exponent; ++i)
        value *= 10;
    return value;
}

bool isDigit(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

/// Milliseconds plus a nanosecond remainder below one millisecond.
class Total {
public:
    /// False when the total would exceed kMaxMs.
    bool addMs(std::uint64_t ms) {
        if (ms > kMaxMs - ms_)
            return false;
        ms_ += ms;
        return true;
    }

    bool addNs(std::uint64_t ns) {
        if (!addMs(ns / kNsPerMs))
            return false;
        remainderNs_ += ns % kNsPerMs;
        if (remainderNs_ < kNsPerMs)
            return true;
        remainderNs_ -= kNsPerMs;
        return addMs(1);
    }

    /// whole × unit + fraction / 10^digits × unit, each term floored to a
    /// nanosecond as Go does.
    bool add(std::uint64_t whole, std::uint64_t fraction, int digits, const Unit& unit) {
        const std::uint64_t unitNs = unit.coefficient * pow10(unit.exponent);
        if (unitNs >= kNsPerMs) {
            const std::uint64_t msPerUnit = unitNs / kNsPerMs;
            if (whole > kMaxMs / msPerUnit || !addMs(whole * msPerUnit))
                return false;
        } else {
            const std::uint64_t unitsPerMs = kNsPerMs / unitNs;
            if (!addMs(whole / unitsPerMs) || !addNs((whole % unitsPerMs) * unitNs))
                return false;
        }
        // fraction < 10^digits, so fraction × unit / 10^digits < unit.
        const std::uint64_t scaled = fraction * unit.coefficient;
        const std::uint64_t fractionNs = unit.exponent >= digits
                                                 ? scaled * pow10(unit.exponent - digits)
                                                 : scaled / pow10(digits - unit.exponent);
        return addNs(fractionNs);
    }

    [[nodiscard]] std::chrono::milliseconds value() const {
        return std::chrono::milliseconds{static_cast<std::int64_t>(ms_)};
    }

private:
    std::uint64_t ms_ = 0;
    std::uint64_t remainderNs_ = 0;
};

} // namespace

std::optional<std::chrono::milliseconds> parseGoDuration(std::string_view text) {
    if (!text.empty() && text.front() == '+')
        text.remove_prefix(1);
    if (text == "0")
        return std::chrono::milliseconds{0};
    if (text.empty())
        return std::nullopt;
    Total total;
    while (!text.empty()) {
        std::size_t i = 0;
        std::uint64_t whole = 0;
        for (; i < text.size() && isDigit(text[i]); ++i) {
            const auto digit = static_cast<std::uint64_t>(text[i] - '0');
            if (whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
                return std::nullopt;
            whole = whole * 10 + digit;
        }
        bool digits = i > 0;
        std::uint64_t fraction = 0;
        int fractionDigits = 0;
        if (i < text.size() && text[i] == '.') {
            for (++i; i < text.size() && isDigit(text[i]); ++i) {
                digits = true;
                if (fractionDigits == kMaxFractionDigits)
                    continue;
                fraction = fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
                ++fractionDigits;
            }
        }
        if (!digits)
            return std::nullopt;
        text.remove_prefix(i);
        std::size_t u = 0;
        while (u < text.size() && !isDigit(text[u]) && text[u] != '.')
            ++u;
        const std::string_view name = text.substr(0, u);
        const Unit* unit = nullptr;
        for (const Unit& candidate : kUnits) {
            if (candidate.name == name)
                unit = &candidate;
        }
        if (unit == nullptr || !total.add(whole, fraction, fractionDigits, *unit))
            return std::nullopt;
        text.remove_prefix(u);
    }
    return total.value();
}

std::string formatGoDuration(std::chrono::milliseconds duration) {
    auto ms = duration.count();
    if (ms == 0)
        return "0s";
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    if (ms < 1000)
        return out + std::to_string(ms) + "ms";
    const auto h = ms / 3'600'000;
    const auto m = (ms / 60'000) % 60;
    const auto s = (ms / 1000) % 60;
    const auto rest = ms % 1000;
    if (h > 0)
        out += std::to_string(h) + "h";
    if (h > 0 || m > 0)
        out += std::to_string(m) + "m";
    out += std::to_string(s);
    if (rest > 0) {
        std::string frac = std::to_string(rest + 1000).substr(1);
        while (!frac.empty() && frac.back() == '0')
            frac.pop_back();
        out += "." + frac;
    }
    return out + "s";
}

std::optional<bool> parseBool(std::string_view text) {
    const std::string v = detail::lower(text);
    if (v == "true" || v == "1" || v == "yes" || v == "t" || v == "on")
        return true;
    if (v == "false" || v == "0" || v == "no" || v == "f" || v == "off")
        return false;
    return std::nullopt;
}

std::vector<std::string> parseList(std::string_view text) {
    std::vector<std::string> out;
    while (true) {
        const auto comma = text.find(',');
        std::string item(detail::trim(text.substr(0, comma)));
        if (!item.empty())
            out.push_back(std::move(item));
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

std::optional<std::map<std::string, std::string>> parseMap(std::string_view text) {
    std::map<std::string, std::string> out;
    for (const auto& item : parseList(text)) {
        const auto colon = item.find(':');
        if (colon == std::string::npos)
            return std::nullopt;
        std::string key(detail::trim(std::string_view(item).substr(0, colon)));
        if (key.empty())
            return std::nullopt;
        out[std::move(key)] = std::string(detail::trim(std::string_view(item).substr(colon + 1)));
    }
    return out;
}

} // namespace autoscale
