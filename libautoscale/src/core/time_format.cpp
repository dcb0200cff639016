// SPDX-License-Identifier: Apache-2.0
/// \file
/// Date formatting with gmtime_r/strftime and a hand-written ISO-8601 parser.

#include "time_format.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

namespace autoscale::detail {

namespace {

std::tm utcParts(WallTime time) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    return parts;
}

// strftime with literal patterns only (-Wformat-nonliteral).
#define AUTOSCALE_STRFTIME(time, pattern)                                                          \
    [&] {                                                                                          \
        const std::tm parts = utcParts(time);                                                      \
        std::array<char, 64> buffer{};                                                             \
        const std::size_t n = std::strftime(buffer.data(), buffer.size(), pattern, &parts);        \
        return std::string(buffer.data(), n);                                                      \
    }()

bool readDigits(std::string_view text, std::size_t& pos, std::size_t count, int& out) {
    if (pos + count > text.size())
        return false;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (std::isdigit(static_cast<unsigned char>(c)) == 0)
            return false;
        value = value * 10 + (c - '0');
    }
    pos += count;
    out = value;
    return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c)
        return false;
    ++pos;
    return true;
}

} // namespace

std::string formatIso8601(WallTime time) {
    return AUTOSCALE_STRFTIME(time, "%Y-%m-%dT%H:%M:%SZ");
}
std::string formatAmzDate(WallTime time) {
    return AUTOSCALE_STRFTIME(time, "%Y%m%dT%H%M%SZ");
}
std::string formatAmzDay(WallTime time) {
    return AUTOSCALE_STRFTIME(time, "%Y%m%d");
}

Result<WallTime> parseIso8601(std::string_view text) {
    const auto notATime = [text] {
        return makeError(Errc::Parse, "\"" + std::string(text) + "\" is not an ISO-8601 time");
    };
    std::size_t pos = 0;
    int year = 0;
    int month = 0;
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (!readDigits(text, pos, 4, year) || !expect(text, pos, '-') ||
        !readDigits(text, pos, 2, month) || !expect(text, pos, '-') ||
        !readDigits(text, pos, 2, day) || !(expect(text, pos, 'T') || expect(text, pos, ' ')) ||
        !readDigits(text, pos, 2, hour) || !expect(text, pos, ':') ||
        !readDigits(text, pos, 2, minute) || !expect(text, pos, ':') ||
        !readDigits(text, pos, 2, second))
        return notATime();
    std::chrono::milliseconds fraction{0};
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int scale = 100;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) != 0) {
            fraction += std::chrono::milliseconds((text[pos] - '0') * scale);
            scale /= 10;
            ++pos;
        }
    }
    int offsetMinutes = 0;
    if (pos < text.size() && text[pos] == 'Z') {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0;
        int om = 0;
        if (!readDigits(text, pos, 2, oh) || !expect(text, pos, ':') ||
            !readDigits(text, pos, 2, om))
            return notATime();
        offsetMinutes = sign * (oh * 60 + om);
    } else {
        return notATime();
    }
    if (pos != text.size())
        return notATime();
    const std::chrono::year_month_day ymd{std::chrono::year{year},
                                          std::chrono::month{static_cast<unsigned>(month)},
                                          std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60)
        return notATime();
    // A WallTime counts nanoseconds in an int64: years beyond these would wrap.
    if (year < kMinYear || year > kMaxYear) {
        return makeError(Errc::Parse, "\"" + std::string(text) + "\": year " +
                                              std::to_string(year) + " is outside " +
                                              std::to_string(kMinYear) + "-" +
                                              std::to_string(kMaxYear));
    }
    // In seconds first (no overflow), then checked against what a WallTime holds.
    const std::chrono::sys_seconds whole =
            std::chrono::sys_days{ymd} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
            std::chrono::seconds{second} - std::chrono::minutes{offsetMinutes};
    if (!inUnixSecondsRange(whole.time_since_epoch().count())) {
        return makeError(Errc::Parse, "\"" + std::string(text) + "\" is outside " +
                                              std::to_string(kMinYear) + "-" +
                                              std::to_string(kMaxYear));
    }
    return std::chrono::time_point_cast<WallTime::duration>(whole) + fraction;
}

std::int64_t toUnixSeconds(WallTime time) {
    if (time == WallTime{})
        return 0;
    return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

bool inUnixSecondsRange(std::int64_t seconds) {
    return seconds >= kMinUnixSeconds && seconds <= kMaxUnixSeconds;
}

WallTime fromUnixSeconds(std::int64_t seconds) {
    return WallTime{std::chrono::seconds{std::clamp(seconds, kMinUnixSeconds, kMaxUnixSeconds)}};
}

} // namespace autoscale::detail
