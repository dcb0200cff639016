// SPDX-License-Identifier: Apache-2.0
/// \file
/// SigV4 against AWS's published test suite (34 cases) and three EC2 vectors made with
/// botocore; each stage is compared byte for byte.

#include "aws/sigv4.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/time_format.h"
#include "doctest_support.h"

namespace autoscale::aws {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kAccessKey = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kAmzDate = "20150830T123600Z";

fs::path dataDir() {
    const char* dir = std::getenv("AUTOSCALE_TEST_DATA"); // NOLINT(concurrency-mt-unsafe)
    REQUIRE(dir != nullptr);
    return fs::path(dir);
}

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream out;
    out << in.rdbuf();
    std::string text = out.str();
    std::erase(text, '\r');
    return text;
}

/// A parsed `.req` file: request line, headers (obs-folded lines joined with '\n'), body.
struct SuiteRequest {
    std::string method;
    std::string target;
    HttpHeaders headers;
    std::string body;
};

SuiteRequest parseReq(const std::string& text) {
    SuiteRequest req;
    std::size_t pos = text.find('\n');
    const std::string first = text.substr(0, pos);
    const auto sp = first.find(' ');
    const auto http = first.rfind(" HTTP/");
    req.method = first.substr(0, sp);
    req.target = first.substr(sp + 1, http - sp - 1);
    while (pos != std::string::npos && pos + 1 <= text.size()) {
        const std::size_t start = pos + 1;
        pos = text.find('\n', start);
        const std::string line =
                text.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
        if (line.empty()) {
            if (pos != std::string::npos)
                req.body = text.substr(pos + 1);
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && !req.headers.empty()) {
            req.headers.back().second += "\n" + line;
            continue;
        }
        const auto colon = line.find(':');
        req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
    return req;
}

std::vector<fs::path> caseDirs(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && entry.path().extension() == ".req")
            out.push_back(entry.path().parent_path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

fs::path fileOf(const fs::path& dir, const char* ext) {
    return dir / (dir.filename().string() + ext);
}

TEST_CASE("the 34 cases of the AWS SigV4 test suite match canonical request, string to sign "
          "and authorization") {
    const fs::path root = dataDir() / "sigv4";
    const auto dirs = caseDirs(root);
    REQUIRE(dirs.size() == 34);
    const Digest key = signingKey(kSecret, "20150830", "us-east-1", "service");
    const std::string scope = credentialScope("20150830", "us-east-1", "service");
    int matched = 0;
    for (const auto& dir : dirs) {
        const std::string name = fs::relative(dir, root).string();
        CAPTURE(name);
        const SuiteRequest req = parseReq(readFile(fileOf(dir, ".req")));
        const std::string creq = readFile(fileOf(dir, ".creq"));

        CanonicalInput input;
        input.method = req.method;
        auto [path, query] = splitPathAndQuery(req.target);
        input.path = path;
        input.query = query;
        input.headers = req.headers;
        input.body = req.body;
        bool hasToken = false;
        for (const auto& [n, v] : req.headers)
            hasToken = hasToken || n == "X-Amz-Security-Token";
        const auto tokenAt = creq.find("\nx-amz-security-token:");
        if (!hasToken && tokenAt != std::string::npos) {
            const auto start = tokenAt + 22;
            input.headers.emplace_back("X-Amz-Security-Token",
                                       creq.substr(start, creq.find('\n', start) - start));
        }
        const CanonicalRequest canonical = canonicalRequest(input);
        CHECK(canonical.text == creq);
        const std::string sts = stringToSign(canonical.text, kAmzDate, scope);
        CHECK(sts == readFile(fileOf(dir, ".sts")));
        const std::string authz = authorizationHeader(kAccessKey, scope, canonical.signedHeaders,
                                                      signature(key, sts));
        CHECK(authz == readFile(fileOf(dir, ".authz")));
        if (canonical.text == creq && authz == readFile(fileOf(dir, ".authz")))
            ++matched;
    }
    CHECK(matched == 34);
}

TEST_CASE("signRequest reproduces the three botocore EC2 vectors end to end") {
    const fs::path root = dataDir() / "sigv4-ec2";
    const auto dirs = caseDirs(root);
    REQUIRE(dirs.size() == 3);
    for (const auto& dir : dirs) {
        const std::string name = dir.filename().string();
        CAPTURE(name);
        const SuiteRequest req = parseReq(readFile(fileOf(dir, ".req")));
        HttpRequest request;
        request.method = req.method;
        SigningParams params;
        params.accessKeyId = kAccessKey;
        params.secretAccessKey = kSecret;
        params.time = detail::fromUnixSeconds(1440938160); // 2015-08-30T12:36:00Z
        std::string host;
        for (const auto& [n, v] : req.headers) {
            if (n == "Host") {
                host = v;
            } else if (n == "X-Amz-Security-Token") {
                params.sessionToken = v;
            } else if (n == "Content-Type") {
                request.headers.emplace_back(n, v);
            }
        }
        // "ec2.<region>.amazonaws.com"
        params.region = host.substr(4, host.find(".amazonaws.com") - 4);
        request.url = "https://" + host + req.target;
        request.body = req.body;
        request.headers.emplace_back("User-Agent", "autoscale-test"); // Never signed.
        signRequest(request, params);
        std::string authz;
        std::string date;
        for (const auto& [n, v] : request.headers) {
            if (n == "Authorization")
                authz = v;
            if (n == "X-Amz-Date")
                date = v;
        }
        CHECK(date == kAmzDate);
        CHECK(authz == readFile(fileOf(dir, ".authz")));

        CanonicalInput input;
        input.path = "/";
        input.headers = req.headers;
        input.body = req.body;
        CHECK(canonicalRequest(input).text == readFile(fileOf(dir, ".creq")));
    }
}

TEST_CASE("signing host drops default ports only and lower-cases") {
    CHECK(signingHost("https://EC2.us-east-1.amazonaws.com/") == "ec2.us-east-1.amazonaws.com");
    CHECK(signingHost("https://ec2.example.com:443/") == "ec2.example.com");
    CHECK(signingHost("http://127.0.0.1:80") == "127.0.0.1");
    CHECK(signingHost("http://127.0.0.1:5000/") == "127.0.0.1:5000");
    CHECK(signingHost("https://127.0.0.1:80/") == "127.0.0.1:80");
    CHECK(signingHost("http://[::1]:8080/x") == "[::1]:8080");
    CHECK(signingHost("http://[::1]/x") == "[::1]");
}

TEST_CASE("trimAll collapses inner whitespace and trims the ends") {
    CHECK(trimAll("  a   b\t\tc  ") == "a b c");
    CHECK(trimAll("value1\n  value2\n     value3") == "value1 value2 value3");
    CHECK(trimAll("") == "");
    CHECK(trimAll("   ") == "");
}

TEST_CASE("a session token is signed, and a different time gives a different signature") {
    HttpRequest request{
            .method = "POST",
            .url = "https://ec2.us-east-1.amazonaws.com/",
            .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
            .body = "Action=DescribeInstances&Version=2016-11-15"};
    SigningParams params{.accessKeyId = std::string(kAccessKey),
                         .secretAccessKey = std::string(kSecret),
                         .sessionToken = "TOKEN123",
                         .region = "us-east-1",
                         .time = detail::fromUnixSeconds(1440938160)};
    HttpRequest first = request;
    signRequest(first, params);
    // Reference §1.6: botocore and an independent script agree on this signature.
    CHECK(first.headers.back().second ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
          "Signature=c6c6298cfefe620d95cfdabd28da6ceb8c5351007cd05e59b6a5cbd7f348cdfd");
    // Re-signing replaces the old date and signature instead of adding a second one.
    params.time += 1s;
    signRequest(first, params);
    int authorizations = 0;
    for (const auto& [n, v] : first.headers)
        authorizations += n == "Authorization" ? 1 : 0;
    CHECK(authorizations == 1);
    CHECK(first.headers.back().second.find("c6c6298c") == std::string::npos);
}

} // namespace
} // namespace autoscale::aws

namespace autoscale::aws {
namespace {

TEST_CASE("the signing-key cache recomputes when the day, region or secret changes") {
    SigningKeyCache cache;
    CHECK(cache.get("s1", "20150830", "us-east-1", "ec2") ==
          signingKey("s1", "20150830", "us-east-1", "ec2"));
    CHECK(cache.get("s1", "20150831", "us-east-1", "ec2") ==
          signingKey("s1", "20150831", "us-east-1", "ec2"));
    CHECK(cache.get("s1", "20150831", "eu-west-1", "ec2") ==
          signingKey("s1", "20150831", "eu-west-1", "ec2"));
    CHECK(cache.get("s2", "20150831", "eu-west-1", "ec2") ==
          signingKey("s2", "20150831", "eu-west-1", "ec2"));
    CHECK(cache.get("s2", "20150831", "eu-west-1", "sts") ==
          signingKey("s2", "20150831", "eu-west-1", "sts"));
    CHECK_FALSE(signingKey("s2", "20150831", "eu-west-1", "sts") ==
                signingKey("s2", "20150831", "eu-west-1", "ec2"));
}

} // namespace
} // namespace autoscale::aws
