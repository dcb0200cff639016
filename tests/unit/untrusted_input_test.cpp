// SPDX-License-Identifier: Apache-2.0
/// \file
/// Regression tests for what fuzzing and hostile inputs found in the parsers of
/// outside input: deep JSON nesting in every JSON input, times beyond what a
/// WallTime holds, and user-data templates whose filters compound.

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/drone.h>
#include <autoscale/installer.h>
#include <autoscale/json.h>
#include <autoscale/simulation.h>

#include "aws/credential_replies.h"
#include "aws/ec2_api.h"
#include "doctest_support.h"
#include "json_value.h"
#include "time_format.h"

namespace autoscale {
namespace {

constexpr std::size_t kMillion = 1'000'000;

std::string repeated(std::string_view piece, std::size_t times) {
    std::string out;
    out.reserve(piece.size() * times);
    for (std::size_t i = 0; i < times; ++i)
        out += piece;
    return out;
}

/// A million open arrays, and a million objects each opening the next.
std::vector<std::string> deepDocuments() {
    return {repeated("[", kMillion), repeated("{\"a\":", kMillion),
            "[{\"labels\":" + repeated("[", 100'000)};
}

template <typename T>
void checkTooDeep(const Result<T>& result) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::Parse);
    CHECK(result.error().message.find("nesting deeper than 64") != std::string::npos);
}

TEST_CASE("a million levels of nesting is a clear error in every JSON input, never a crash") {
    for (const std::string& doc : deepDocuments()) {
        CAPTURE(doc.substr(0, 16));
        // The queue refuses a list of lists or an object before any depth.
        CHECK(parseQueueJson(doc).error().code == Errc::Parse);
        // ... so it gets the million levels inside a stage.
        const std::string stage = "[{\"labels\":" + doc;
        checkTooDeep(parseQueueJson(stage));
        std::string copy = stage;
        checkTooDeep(parseQueueJsonInPlace(copy));
        checkTooDeep(parseUserJson(doc));
        checkTooDeep(parseServersJson(doc));
        checkTooDeep(parseServerJson(doc));
        checkTooDeep(parsePlanJson(doc));
        checkTooDeep(parseTrace(doc));
        checkTooDeep(parseTrace("{\"t\": 0, \"duration\": 1}\n" + doc));
        checkTooDeep(aws::parseCredentialsJson(doc, "imds"));
        checkTooDeep(aws::parseCredentialsJson(doc, "container"));
        checkTooDeep(detail::parseJsonDocument(doc, "the answer"));
    }
}

TEST_CASE("the nesting limit is 64 arrays and objects, and the error names the offset") {
    const std::string ok = repeated("[", 64) + repeated("]", 64);
    CHECK(detail::parseJsonDocument(ok, "x"));
    const std::string deep = repeated("[", 65) + repeated("]", 65);
    const auto r = detail::parseJsonDocument(deep, "x");
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "x is not valid JSON: nesting deeper than 64 arrays and objects at offset 64");
    // Drone's queue: its depth counts from the list of stages.
    const std::string queue = "[{\"labels\":" + repeated("[", 62) + repeated("]", 62) + "}]";
    CHECK(parseQueueJson(queue));
    const std::string tooDeepQueue = "[{\"labels\":" + repeated("[", 63) + repeated("]", 63) + "}]";
    CHECK_FALSE(parseQueueJson(tooDeepQueue));
    // Ordinary syntax errors keep RapidJSON's words.
    const auto bad = parseServersJson("[1,");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("at offset 3") != std::string::npos);
}

TEST_CASE("the trace names the line and column of too deep nesting") {
    const auto r = parseTrace("{\"t\": 0, \"duration\": 1}\n" + repeated("[", 100));
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "line 2: not JSON: nesting deeper than 64 arrays and objects at column 65");
}

TEST_CASE("deeply nested XML in STS and EC2 answers is an error, not a crash") {
    const std::string xml = repeated("<a>", kMillion);
    CHECK_FALSE(aws::parseAssumeRoleWithWebIdentity(xml));
    CHECK_FALSE(aws::parseDescribeInstances(xml));
    const std::string closed = repeated("<a>", kMillion) + repeated("</a>", kMillion);
    CHECK_FALSE(aws::parseAssumeRoleWithWebIdentity(closed));
    CHECK_FALSE(aws::parseRunInstances(closed));
}

TEST_CASE("ISO-8601 years a WallTime cannot hold are refused, naming the value") {
    using namespace std::chrono;
    const auto late = detail::parseIso8601("4048-01-01T00:00:00Z");
    REQUIRE_FALSE(late);
    CHECK(late.error().code == Errc::Parse);
    CHECK(late.error().message == "\"4048-01-01T00:00:00Z\": year 4048 is outside 1678-2261");
    CHECK_FALSE(detail::parseIso8601("1677-12-31T23:59:59Z"));
    CHECK_FALSE(detail::parseIso8601("2262-01-01T00:00:00Z"));
    CHECK_FALSE(detail::parseIso8601("0000-01-01T00:00:00Z"));
    CHECK_FALSE(detail::parseIso8601("9999-12-31T23:59:59Z"));
    // The edges of the range parse exactly.
    const auto first = detail::parseIso8601("1678-01-01T00:00:00Z");
    REQUIRE(first);
    CHECK(detail::toUnixSeconds(*first) == detail::kMinUnixSeconds);
    const auto last = detail::parseIso8601("2261-12-31T23:59:59Z");
    REQUIRE(last);
    CHECK(detail::toUnixSeconds(*last) == detail::kMaxUnixSeconds);
    // An offset cannot push a time in range out of what a WallTime holds unnoticed.
    CHECK_FALSE(detail::parseIso8601("2261-12-31T23:59:59-01:00"));
    const auto junk = detail::parseIso8601("2015-08-30");
    REQUIRE_FALSE(junk);
    CHECK(junk.error().message == "\"2015-08-30\" is not an ISO-8601 time");
}

TEST_CASE("Unix seconds beyond what a WallTime holds are clamped, never overflowed") {
    CHECK(detail::toUnixSeconds(detail::fromUnixSeconds(11'699'990'000)) ==
          detail::kMaxUnixSeconds);
    CHECK(detail::toUnixSeconds(detail::fromUnixSeconds(-11'699'990'000)) ==
          detail::kMinUnixSeconds);
    CHECK(detail::toUnixSeconds(detail::fromUnixSeconds(
                  std::numeric_limits<std::int64_t>::max())) == detail::kMaxUnixSeconds);
    CHECK(detail::toUnixSeconds(detail::fromUnixSeconds(
                  std::numeric_limits<std::int64_t>::min())) == detail::kMinUnixSeconds);
    CHECK(detail::toUnixSeconds(detail::fromUnixSeconds(detail::kMaxUnixSeconds)) ==
          detail::kMaxUnixSeconds);
    CHECK(detail::inUnixSecondsRange(detail::kMaxUnixSeconds));
    CHECK_FALSE(detail::inUnixSecondsRange(detail::kMaxUnixSeconds + 1));
    CHECK(detail::inUnixSecondsRange(detail::kMinUnixSeconds));
    CHECK_FALSE(detail::inUnixSecondsRange(detail::kMinUnixSeconds - 1));
}

TEST_CASE("a server JSON time beyond the years a WallTime holds is an error naming the field") {
    const auto r =
            parseServersJson(R"([{"name":"agent-1","state":"running","stopped":11699990000}])");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Parse);
    CHECK(r.error().message ==
          "server agent-1 has \"stopped\": 11699990000, outside the years 1678-2261");
    CHECK_FALSE(parseServerJson(R"({"name":"a","state":"running","created":-9300000000})"));
    CHECK(parseServerJson(R"({"name":"a","state":"running","created":9214646399})"));
}

TEST_CASE("an EC2 launchTime beyond 2261 is an error naming the instance") {
    const std::string xml =
            R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">)"
            R"(<requestId>r-1</requestId><reservationSet><item><instancesSet><item>)"
            R"(<instanceId>i-0abc</instanceId><instanceState><code>16</code><name>running</name>)"
            R"(</instanceState><launchTime>4048-01-01T00:00:00.000Z</launchTime>)"
            R"(</item></instancesSet></item></reservationSet></DescribeInstancesResponse>)";
    const auto page = aws::parseDescribeInstances(xml);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::Parse);
    CHECK(page.error().message.find("i-0abc") != std::string::npos);
    CHECK(page.error().message.find("year 4048") != std::string::npos);
    const std::string run =
            R"(<RunInstancesResponse><instancesSet><item><instanceId>i-0def</instanceId>)"
            R"(<launchTime>1066-10-14T09:00:00Z</launchTime></item></instancesSet>)"
            R"(</RunInstancesResponse>)";
    const auto launched = aws::parseRunInstances(run);
    REQUIRE_FALSE(launched);
    CHECK(launched.error().message.find("i-0def") != std::string::npos);
}

TEST_CASE("a credential Expiration beyond 2261 is an error, in JSON and in STS XML") {
    const auto json = aws::parseCredentialsJson(
            R"({"Code":"Success","AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"SECRET",)"
            R"("Token":"TOKEN","Expiration":"4048-01-01T00:00:00Z"})",
            "imds");
    REQUIRE_FALSE(json);
    CHECK(json.error().code == Errc::Parse);
    CHECK(json.error().message == "imds: unreadable Expiration 4048-01-01T00:00:00Z");
    CHECK(json.error().message.find("SECRET") == std::string::npos);
    const auto sts = aws::parseAssumeRoleWithWebIdentity(
            R"(<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>)"
            R"(<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>)"
            R"(<SecretAccessKey>SECRET</SecretAccessKey><SessionToken>TOKEN</SessionToken>)"
            R"(<Expiration>4048-01-01T00:00:00Z</Expiration></Credentials>)"
            R"(</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>)");
    REQUIRE_FALSE(sts);
    CHECK(sts.error().code == Errc::Parse);
    CHECK(sts.error().message.find("4048") != std::string::npos);
    CHECK(sts.error().message.find("SECRET") == std::string::npos);
    CHECK(sts.error().message.find("TOKEN") == std::string::npos);
    const auto good = aws::parseAssumeRoleWithWebIdentity(
            R"(<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>)"
            R"(<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>)"
            R"(<SecretAccessKey>SECRET</SecretAccessKey><SessionToken>TOKEN</SessionToken>)"
            R"(<Expiration>2026-11-30T13:00:00Z</Expiration></Credentials>)"
            R"(</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>)");
    REQUIRE(good);
    REQUIRE(good->expiration);
    CHECK(detail::formatIso8601(*good->expiration) == "2026-11-30T13:00:00Z");
    CHECK(good->source == "web-identity");
}

UserDataValues someValues() {
    return {.name = "agent-\"x\"", .sshUser = "ubuntu", .sshPublicKey = "ssh-ed25519 AAAA"};
}

TEST_CASE("compounding user-data filters stop at 16 KiB with a clear error") {
    // 291 bytes: each `| json` about doubles the value; 40 of them would ask for terabytes.
    std::string text = "#cloud-config\n# {{ .Name" + repeated(" | json", 37) + " }}\n";
    text += repeated("#", 291 - text.size());
    REQUIRE(text.size() == 291);
    const auto r = renderUserData(text, someValues());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK(r.error().message.find("16384 bytes") != std::string::npos);
    // The same through base64 and indent.
    CHECK_FALSE(renderUserData("{{ .Name" + repeated(" | base64", 40) + " }}", someValues()));
    CHECK_FALSE(renderUserData("{{ if .Name" + repeated(" | json", 40) + " }}x{{ end }}",
                               someValues()));
}

TEST_CASE("rendered user data over 16 KiB is refused; 16 KiB exactly is accepted") {
    const UserDataValues values = someValues(); // Name is 9 bytes.
    const auto many = renderUserData(repeated("{{ .Name }}", 2000), values);
    REQUIRE_FALSE(many);
    CHECK(many.error().message.find("over 16384 bytes") != std::string::npos);
    CHECK_FALSE(renderUserData(std::string(16 * 1024 + 1, 'x'), values));
    CHECK(renderUserData(std::string(16 * 1024, 'x'), values));
    const auto fits = renderUserData(std::string(16 * 1024 - 9, 'x') + "{{ .Name }}", values);
    REQUIRE(fits);
    CHECK(fits->size() == 16 * 1024);
    CHECK_FALSE(renderUserData(std::string(16 * 1024 - 8, 'x') + "{{ .Name }}", values));
}

} // namespace
} // namespace autoscale
