// SPDX-License-Identifier: Apache-2.0
// The value syntax of SPEC §3: Go durations, lists, maps and booleans, table-driven.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/values.h>

#include "doctest_support.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct DurationCase {
    const char* text;
    std::optional<std::chrono::milliseconds> expected;
};

TEST_CASE("Go durations parse exactly, truncated to milliseconds") {
    const std::vector<DurationCase> cases = {
            {"0", 0ms},
            {"+0", 0ms},
            {"0s", 0ms},
            {"90s", 90s},
            {"1h30m", 90min},
            {"1.5h", 90min},
            {"500ms", 500ms},
            {"1.003s", 1003ms}, // 1.003 is not exact in binary floating point.
            {"0.001s", 1ms},
            {"1.001s", 1001ms},
            {"2.009s", 2009ms},
            {"59.999s", 59999ms},
            {"1m0.1s", 60100ms},
            {"3m20.017s", 200017ms},
            {"0.1h", 6min},
            {"0.0001h", 360ms},
            {"2h45m10.5s", 9910500ms},
            {"1000us", 1ms},
            {"999us", 0ms}, // Truncated, as a Go duration in ms would be.
            {"1000000ns", 1ms},
            {"1500\xC2\xB5s", 1ms}, // µ (micro sign)
            {"2000\xCE\xBCs", 2ms}, // μ (Greek mu)
            {"0.5ms500us", 1ms},    // Sub-millisecond parts add up.
            {".5s", 500ms},
            {"5.s", 5s},
            {"+5m", 5min},
            {"1.00300000000000000000001s", 1003ms}, // Digits past 17 are ignored.
            {"2562047h", std::chrono::hours{2562047}},
            {"", std::nullopt},
            {"+", std::nullopt},
            {"5", std::nullopt},
            {"m", std::nullopt},
            {".s", std::nullopt},
            {"-5m", std::nullopt},
            {"5d", std::nullopt},
            {"1h 30m", std::nullopt},
            {" 5m", std::nullopt},
            {"5M", std::nullopt},
            {"99999999999999999999s", std::nullopt}, // Does not fit 64 bits.
            {"9999999999999999h", std::nullopt},     // Beyond the accepted range.
    };
    for (const auto& tc : cases) {
        CAPTURE(tc.text);
        CHECK(parseGoDuration(tc.text) == tc.expected);
    }
}

TEST_CASE("durations format as Go prints them") {
    const std::vector<std::pair<std::chrono::milliseconds, const char*>> cases = {
            {0ms, "0s"},       {1ms, "1ms"},        {500ms, "500ms"},   {999ms, "999ms"},
            {1000ms, "1s"},    {1003ms, "1.003s"},  {1500ms, "1.5s"},   {10s, "10s"},
            {90s, "1m30s"},    {60100ms, "1m0.1s"}, {90min, "1h30m0s"}, {1h, "1h0m0s"},
            {-1500ms, "-1.5s"}};
    for (const auto& tc : cases) {
        const char* text = tc.second;
        CAPTURE(text);
        CHECK(formatGoDuration(tc.first) == text);
    }
}

TEST_CASE("every duration from 0 to 200,000 ms survives format then parse") {
    int failures = 0;
    for (std::int64_t ms = 0; ms <= 200'000; ++ms) {
        const std::chrono::milliseconds d{ms};
        const auto back = parseGoDuration(formatGoDuration(d));
        if (back != d) {
            ++failures;
            if (failures <= 5)
                CHECK_MESSAGE(back == d, formatGoDuration(d));
        }
    }
    CHECK(failures == 0);
}

TEST_CASE("lists split on commas, trimmed, empty items dropped") {
    const std::vector<std::pair<const char*, std::vector<std::string>>> cases = {
            {"", {}},
            {" a, ,b ,", {"a", "b"}},
            {"a", {"a"}},
            {",,", {}},
            {"t3.large, m5.large", {"t3.large", "m5.large"}},
            {"a b,c", {"a b", "c"}},
    };
    for (const auto& [text, expected] : cases) {
        const char* item = text;
        CAPTURE(item);
        CHECK(parseList(text) == expected);
    }
}

TEST_CASE("maps split each pair on its first colon") {
    using Map = std::map<std::string, std::string>;
    const std::vector<std::pair<const char*, std::optional<Map>>> cases = {
            {"", Map{}},
            {"k:v:w", Map{{"k", "v:w"}}},
            {"gpu:yes, url:http://x:1", Map{{"gpu", "yes"}, {"url", "http://x:1"}}},
            {" a : 1 ,b:", Map{{"a", "1"}, {"b", ""}}},
            {"a:1,a:2", Map{{"a", "2"}}},
            {"k", std::nullopt},
            {":v", std::nullopt},
            {"a:1,b", std::nullopt},
    };
    for (const auto& [text, expected] : cases) {
        const char* item = text;
        CAPTURE(item);
        CHECK(parseMap(text) == expected);
    }
}

TEST_CASE("booleans") {
    const std::vector<std::pair<const char*, std::optional<bool>>> cases = {
            {"true", true},         {"TRUE", true},     {"1", true},
            {"yes", true},          {"YES", true},      {"t", true},
            {"on", true},           {"false", false},   {"0", false},
            {"no", false},          {"f", false},       {"Off", false},
            {"2", std::nullopt},    {"", std::nullopt}, {"y e s", std::nullopt},
            {"maybe", std::nullopt}};
    for (const auto& [text, expected] : cases) {
        const char* item = text;
        CAPTURE(item);
        CHECK(parseBool(text) == expected);
    }
}

} // namespace
} // namespace autoscale
