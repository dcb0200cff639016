// SPDX-License-Identifier: Apache-2.0
// Result, Error, time formatting, JSON quoting, logging and state names.

#include <array>
#include <string_view>
#include <utility>

#include <doctest/doctest.h>

#include <autoscale/log.h>
#include <autoscale/model.h>
#include <autoscale/result.h>

#include "doctest_support.h"
#include "fake_clock.h"
#include "json_text.h"
#include "time_format.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

Result<int> half(int n) {
    if (n % 2 != 0)
        return makeError(Errc::InvalidArgument, "odd number " + std::to_string(n));
    return n / 2;
}

TEST_CASE("a Result holds either a value or an error") {
    const auto good = half(4);
    REQUIRE(good);
    CHECK(*good == 2);
    const auto bad = half(3);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::InvalidArgument);
    CHECK(bad.error().message == "odd number 3");
    CHECK(bad.value_or(7) == 7);
}

TEST_CASE("only transient kinds of error are retryable") {
    CHECK(makeError(Errc::Throttled, "").retryable());
    CHECK(makeError(Errc::Transport, "").retryable());
    CHECK(makeError(Errc::Timeout, "").retryable());
    CHECK(makeError(Errc::Unavailable, "").retryable());
    CHECK_FALSE(makeError(Errc::Unauthorized, "").retryable());
    CHECK_FALSE(makeError(Errc::Capacity, "").retryable());
    CHECK_FALSE(makeError(Errc::Parse, "").retryable());
    CHECK(std::string(nameOf(Errc::NotFound)) == "not_found");
}

TEST_CASE("server states round-trip through their names") {
    for (auto s : {ServerState::Pending, ServerState::Creating, ServerState::Booting,
                   ServerState::Installing, ServerState::Running, ServerState::Draining,
                   ServerState::Terminating, ServerState::Terminated, ServerState::Error}) {
        const auto parsed = parseServerState(nameOf(s));
        REQUIRE(parsed);
        CHECK(*parsed == s);
    }
    CHECK_FALSE(parseServerState("stopped"));
    // drone/autoscaler's names: `state` on the wire; our names stay the
    // store's encoding (parseServerState reads only those).
    const std::array<std::pair<ServerState, std::string_view>, 9> drone{{
            {ServerState::Pending, "pending"},
            {ServerState::Creating, "creating"},
            {ServerState::Booting, "created"},
            {ServerState::Installing, "staging"},
            {ServerState::Running, "running"},
            {ServerState::Draining, "shutdown"},
            {ServerState::Terminating, "stopping"},
            {ServerState::Terminated, "stopped"},
            {ServerState::Error, "error"},
    }};
    for (const auto& [state, name] : drone) {
        // clang 14 cannot capture a structured binding in CAPTURE's lambda.
        const auto& droneName = name;
        CAPTURE(droneName);
        CHECK(droneStateOf(state) == name);
        CHECK(parseAnyServerState(name) == state);
        CHECK(parseAnyServerState(nameOf(state)) == state);
    }
    CHECK_FALSE(parseAnyServerState("bogus"));
    CHECK_FALSE(parseAnyServerState(""));
    CHECK(providesCapacity(ServerState::Running));
    CHECK(providesCapacity(ServerState::Pending));
    CHECK_FALSE(providesCapacity(ServerState::Draining));
    CHECK_FALSE(providesCapacity(ServerState::Error));
    CHECK(mayHoldInstance(ServerState::Error));
    CHECK_FALSE(mayHoldInstance(ServerState::Terminated));
}

TEST_CASE("dates format and parse in ISO-8601 and SigV4 forms") {
    const WallTime t = std::chrono::sys_days{std::chrono::year{2015} / 8 / 30} + 12h + 36min;
    CHECK(detail::formatIso8601(t) == "2015-08-30T12:36:00Z");
    CHECK(detail::formatAmzDate(t) == "20150830T123600Z");
    CHECK(detail::formatAmzDay(t) == "20150830");
    CHECK(detail::parseIso8601("2015-08-30T12:36:00Z").value_or(WallTime{}) == t);
    CHECK(detail::parseIso8601("2015-08-30T12:36:00.000Z").value_or(WallTime{}) == t);
    CHECK(detail::parseIso8601("2015-08-30T14:36:00+02:00").value_or(WallTime{}) == t);
    CHECK(detail::parseIso8601("2015-08-30T12:36:00.500Z").value_or(WallTime{}) == t + 500ms);
    CHECK_FALSE(detail::parseIso8601("2015-08-30"));
    CHECK_FALSE(detail::parseIso8601("2015-02-30T00:00:00Z"));
    CHECK_FALSE(detail::parseIso8601("2015-08-30T12:36:00Zjunk"));
    CHECK(detail::toUnixSeconds(detail::fromUnixSeconds(1700000000)) == 1700000000);
    CHECK(detail::toUnixSeconds(WallTime{}) == 0);
}

TEST_CASE("JSON quoting escapes control characters and repairs bad UTF-8") {
    CHECK(detail::jsonQuote("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
    CHECK(detail::jsonQuote(std::string("\x01", 1)) == "\"\\u0001\"");
    CHECK(detail::jsonQuote("\x1f") == "\"\\u001f\"");
    CHECK(detail::jsonQuote("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
    CHECK(detail::jsonQuote("bad\xFF") == "\"bad\xEF\xBF\xBD\"");
}

TEST_CASE("the logger drops records below its level and formats JSON lines") {
    test::FakeClock clock(WallTime{std::chrono::seconds{1'700'000'000}});
    MemorySink sink;
    const Logger log(sink, clock, "engine", LogLevel::Info);
    log.debug("hidden");
    log.info("created server", {{"server", "agent-1"}, {"reason", "2 stages \"pending\""}});
    const auto records = sink.records();
    REQUIRE(records.size() == 1);
    CHECK(formatJsonLine(records[0]) ==
          R"({"time":"2023-11-14T22:13:20Z","level":"info","component":"engine",)"
          R"("msg":"created server","server":"agent-1","reason":"2 stages \"pending\""})");
    CHECK(formatPrettyLine(records[0]) == "2023-11-14T22:13:20Z INFO  engine: created server "
                                          "server=agent-1 reason=\"2 stages \\\"pending\\\"\"");
}

TEST_CASE("the fake clock moves only when told to") {
    const test::FakeClock clock;
    const auto w0 = clock.now();
    const auto s0 = clock.steadyNow();
    const std::stop_source stop;
    CHECK(clock.sleepFor(10s, stop.get_token()));
    CHECK(clock.now() - w0 == 10s);
    CHECK(clock.steadyNow() - s0 == 10s);
}

} // namespace
} // namespace autoscale

TEST_CASE("the system clock's sleep says false when it was stopped") {
    const auto clock = autoscale::makeSystemClock();
    std::stop_source source;
    source.request_stop();
    // Returns at once: the stop was requested before the call.
    CHECK_FALSE(clock->sleepFor(std::chrono::hours(1), source.get_token()));
}
