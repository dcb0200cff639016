// SPDX-License-Identifier: Apache-2.0
/// \file
/// Cross-check: Debian's python3-botocore builds the form body and signs 300 generated EC2
/// requests (random names and values with unicode, spaces, "~ / + = &", empty values,
/// with and without session tokens, non-default ports); our body and Authorization header
/// must match byte for byte. Exits 77 (SKIP) without botocore.

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "aws/ec2_api.h"
#include "aws/sigv4.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "python_oracle.h"

namespace autoscale::aws {
namespace {

struct Case {
    std::string url;
    std::string region;
    std::string key;
    std::string secret;
    std::string token;
    WallTime time;
    std::string action;
    QueryParams params;
};

std::string randomText(std::mt19937& rng, std::size_t maxLength) {
    static const std::vector<std::string> kPieces{
            "a", "Z", "0",    "9", "-",  "_",   ".",    "~",   "/",   "+", "=",
            "&", " ", "  ",   "%", ":",  "$",   "!",    "*",   "'",   "(", ")",
            "?", "#", "[",    "]", "@",  ",",   ";",    "\"",  "<",   ">", "é",
            "ß", "ሴ", "中文", "😀", "\t", "tag", "Name", "%20", "%2F", "\\"};
    std::uniform_int_distribution<std::size_t> length(0, maxLength);
    std::uniform_int_distribution<std::size_t> piece(0, kPieces.size() - 1);
    std::string out;
    const std::size_t n = length(rng);
    for (std::size_t i = 0; i < n; ++i)
        out += kPieces[piece(rng)];
    return out;
}

std::vector<Case> generate(int count) {
    std::mt19937 rng(20261127);
    const std::vector<std::string> urls{"https://ec2.us-east-1.amazonaws.com/",
                                        "http://127.0.0.1:5000/",
                                        "https://ec2.eu-west-1.amazonaws.com:8443/",
                                        "http://localhost:80/",
                                        "https://EC2.Example.COM:443/",
                                        "http://127.0.0.1:65535",
                                        "https://ec2.amazonaws.com",
                                        "http://ec2.local:8080/"};
    const std::vector<std::string> regions{"us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1",
                                           "us-gov-west-1"};
    const std::vector<std::string> actions{"RunInstances", "DescribeInstances",
                                           "TerminateInstances", "CreateTags"};
    std::vector<Case> cases;
    for (int i = 0; i < count; ++i) {
        Case c;
        c.url = urls[rng() % urls.size()];
        c.region = regions[rng() % regions.size()];
        c.key = "AKID" + std::to_string(rng() % 100000);
        c.secret = "s3cr/t+" + std::to_string(rng()) + "=";
        if (rng() % 2 == 0)
            c.token = "FQoG/+" + randomText(rng, 3) + "==" + std::to_string(rng());
        // Any second between 2001 and 2033.
        c.time = detail::fromUnixSeconds(978307200 + static_cast<std::int64_t>(rng() % 1000000000));
        c.action = actions[rng() % actions.size()];
        const int params = static_cast<int>(rng() % 12);
        for (int p = 0; p < params; ++p) {
            std::string name = randomText(rng, 4);
            if (name.empty())
                name = "Name" + std::to_string(p);
            c.params.emplace_back(name, rng() % 5 == 0 ? std::string{} : randomText(rng, 8));
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

std::string toJsonLine(const Case& c) {
    std::string params = "[[\"Action\"," + detail::jsonQuote(c.action) + "],[\"Version\"," +
                         detail::jsonQuote(kEc2ApiVersion) + "]";
    for (const auto& [k, v] : c.params)
        params += ",[" + detail::jsonQuote(k) + "," + detail::jsonQuote(v) + "]";
    params += "]";
    return "{\"url\":" + detail::jsonQuote(c.url) + ",\"region\":" + detail::jsonQuote(c.region) +
           ",\"key\":" + detail::jsonQuote(c.key) + ",\"secret\":" + detail::jsonQuote(c.secret) +
           ",\"token\":" + detail::jsonQuote(c.token) +
           ",\"time\":" + detail::jsonQuote(detail::formatAmzDate(c.time)) +
           ",\"params\":" + params + "}\n";
}

TEST_CASE("our body and Authorization match botocore's for 300 generated EC2 requests") {
    test::requirePythonModuleOrSkip("botocore");
    const auto cases = generate(300);
    std::string input;
    for (const auto& c : cases)
        input += toJsonLine(c);
    std::string output;
    REQUIRE(test::runPython(test::toolPath("botocore_sign.py"), "", input, output) == 0);
    std::istringstream lines(output);
    std::string line;
    std::size_t n = 0;
    int withToken = 0;
    int matched = 0;
    while (std::getline(lines, line)) {
        REQUIRE(n < cases.size());
        const Case& c = cases[n++];
        const auto tab = line.find('\t');
        REQUIRE(tab != std::string::npos);
        const std::string theirBody = line.substr(0, tab);
        const std::string theirAuth = line.substr(tab + 1);

        HttpRequest request{
                .method = "POST",
                .url = c.url,
                .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                            {"User-Agent", "autoscale-test"}},
                .body = formBody(c.action, kEc2ApiVersion, c.params)};
        signRequest(request, SigningParams{.accessKeyId = c.key,
                                           .secretAccessKey = c.secret,
                                           .sessionToken = c.token,
                                           .region = c.region,
                                           .service = "ec2",
                                           .time = c.time});
        std::string ourAuth;
        for (const auto& [name, value] : request.headers) {
            if (name == "Authorization")
                ourAuth = value;
        }
        CAPTURE(n);
        CAPTURE(c.url);
        CHECK(request.body == theirBody);
        CHECK(ourAuth == theirAuth);
        if (request.body == theirBody && ourAuth == theirAuth)
            ++matched;
        withToken += c.token.empty() ? 0 : 1;
    }
    CHECK(n == cases.size());
    CHECK(matched == 300);
    CHECK(withToken > 100); // Both kinds are well represented.
}

} // namespace
} // namespace autoscale::aws
