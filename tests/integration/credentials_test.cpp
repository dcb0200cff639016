// SPDX-License-Identifier: Apache-2.0
/// \file
/// The default credential chain against loopback fakes of IMDSv2, STS and the container
/// endpoint, plus shared files in a temporary directory. Time is a FakeClock.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/aws_credentials.h>

#include "core/time_format.h"
#include "doctest_support.h"
#include "fake_clock.h"
#include "fake_credential_servers.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const WallTime kT0 = WallTime{std::chrono::seconds{1440938160}};

/// A temporary directory removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() : path(test::makeTempDir("autoscale-creds-")) {}
    ~TempDir() { fs::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream out(path / name, std::ios::binary);
        out << text;
        return (path / name).string();
    }
};

std::unique_ptr<CredentialsSource> chain(const AwsEnvironment& env, const Clock& clock,
                                         LogSink* sink = nullptr) {
    auto made = makeDefaultCredentialChain(env, clock, {.logSink = sink});
    REQUIRE(made);
    return std::move(*made);
}

AwsEnvironment isolated() {
    AwsEnvironment env;
    env.metadataDisabled = true;
    env.sharedCredentialsFile = "/nonexistent/credentials";
    env.configFile = "/nonexistent/config";
    return env;
}

TEST_CASE("environment credentials win, with their session token") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 6h);
    AwsEnvironment env = isolated();
    env.accessKeyId = "AKIDENV";
    env.secretAccessKey = "secret-env";
    env.sessionToken = "token-env";
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    const auto creds = chain(env, clock)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "AKIDENV");
    CHECK(creds->sessionToken == "token-env");
    CHECK(creds->source == "environment");
    CHECK(imds.server().requests().empty());
}

TEST_CASE("only one half of the environment keys is an error") {
    test::FakeClock clock{kT0};
    AwsEnvironment env = isolated();
    env.accessKeyId = "AKIDENV";
    const auto creds = chain(env, clock)->credentials();
    REQUIRE_FALSE(creds);
    CHECK(creds.error().code == Errc::InvalidArgument);
    CHECK(creds.error().message.find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
}

TEST_CASE("shared files: AWS_PROFILE selects, the credentials file wins over config") {
    test::FakeClock clock{kT0};
    TempDir dir;
    AwsEnvironment env = isolated();
    env.sharedCredentialsFile = dir.write("credentials", "[default]\n"
                                                         "aws_access_key_id = AKIDDEFAULT\n"
                                                         "aws_secret_access_key = s-default\n"
                                                         "[ci]\n"
                                                         "aws_access_key_id=AKIDCI\n"
                                                         "aws_secret_access_key=s-ci\n"
                                                         "aws_session_token=t-ci\n");
    env.configFile = dir.write("config", "[profile ci]\n"
                                         "aws_access_key_id = AKIDCONFIGCI\n"
                                         "aws_secret_access_key = s-config\n"
                                         "[profile other]\n"
                                         "region = eu-west-1\n"
                                         "aws_access_key_id = AKIDOTHER\n"
                                         "aws_secret_access_key = s-other\n");
    auto creds = chain(env, clock)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "AKIDDEFAULT");
    env.profile = "ci";
    creds = chain(env, clock)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "AKIDCI");
    CHECK(creds->sessionToken == "t-ci");
    env.profile = "other";
    creds = chain(env, clock)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "AKIDOTHER");
    CHECK(creds->source.find("config file") != std::string::npos);
    env.profile = "missing";
    creds = chain(env, clock)->credentials();
    REQUIRE_FALSE(creds);
    CHECK(creds.error().code == Errc::Unauthorized);
}

TEST_CASE("home directory files are found through $HOME") {
    test::FakeClock clock{kT0};
    TempDir dir;
    fs::create_directories(dir.path / ".aws");
    dir.write(".aws/credentials", "[default]\naws_access_key_id = AKIDHOME\n"
                                  "aws_secret_access_key = s\n");
    AwsEnvironment env;
    env.metadataDisabled = true;
    env.home = dir.path.string();
    const auto creds = chain(env, clock)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "AKIDHOME");
}

TEST_CASE("IMDSv2: token PUT, role discovery, credentials; refreshed 5 minutes ahead") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 1h);
    AwsEnvironment env = isolated();
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    MemorySink log;
    auto source = chain(env, clock, &log);
    auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAIMDS1");
    CHECK(creds->sessionToken == "token-ASIAIMDS1");
    CHECK(creds->source == "imds");
    REQUIRE(creds->expiration.has_value());
    CHECK(*creds->expiration == kT0 + 1h);
    const auto requests = imds.server().requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].method == "PUT");
    CHECK(requests[0].headers.at("x-aws-ec2-metadata-token-ttl-seconds") == "21600");
    CHECK(requests[1].path == "/latest/meta-data/iam/security-credentials/");
    CHECK(requests[2].path == "/latest/meta-data/iam/security-credentials/autoscaler-role");
    CHECK(requests[2].headers.at("x-aws-ec2-metadata-token") == "imds-token-1");

    // Cached until 5 minutes before expiry ...
    clock.advance(55min - 1s);
    creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAIMDS1");
    CHECK(imds.credentialsServed() == 1);
    // ... and refreshed from then on.
    clock.advance(1s);
    creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAIMDS2");
    CHECK(imds.credentialsServed() == 2);
    // No credential value is ever logged.
    const std::string text = log.text();
    CHECK(text.find("imds") != std::string::npos);
    CHECK(text.find("secret-ASIAIMDS") == std::string::npos);
    CHECK(text.find("token-ASIAIMDS") == std::string::npos);
    CHECK(text.find("ASIAIMDS") == std::string::npos);
}

TEST_CASE("IMDSv2: a rejected token is replaced once") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 1h);
    AwsEnvironment env = isolated();
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    auto source = chain(env, clock);
    REQUIRE(source->credentials());
    imds.expireTokens();
    clock.advance(56min);
    const auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAIMDS2");
    CHECK(imds.tokensIssued() == 2);
}

TEST_CASE("a failed refresh keeps the old credentials until they expire") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 1h);
    AwsEnvironment env = isolated();
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    auto source = chain(env, clock);
    REQUIRE(source->credentials());
    imds.setRole("");
    clock.advance(58min);
    auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAIMDS1");
    clock.advance(2min);
    creds = source->credentials();
    REQUIRE_FALSE(creds);
    CHECK(creds.error().message.find("no IAM instance profile") != std::string::npos);
}

TEST_CASE("with IMDS disabled and nothing else, the error says what to configure") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 1h);
    AwsEnvironment env = isolated();
    env.metadataServiceEndpoint = imds.endpoint(); // Disabled wins.
    const auto creds = chain(env, clock)->credentials();
    REQUIRE_FALSE(creds);
    CHECK(creds.error().code == Errc::Unauthorized);
    CHECK(creds.error().message.find("AWS_ACCESS_KEY_ID") != std::string::npos);
    CHECK(imds.server().requests().empty());
}

TEST_CASE("container credentials: full URI with its authorization token") {
    test::FakeClock clock{kT0};
    test::FakeContainerCredentials ecs(clock, 1h, "Bearer abc");
    test::FakeImds imds(clock, 1h);
    AwsEnvironment env = isolated();
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    env.containerCredentialsFullUri = ecs.url();
    env.containerAuthorizationToken = "Bearer abc";
    auto source = chain(env, clock);
    auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAECS1");
    CHECK(creds->source == "container");
    CHECK(imds.server().requests().empty()); // The container source came first.
    clock.advance(55min);
    creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAECS2");

    env.containerAuthorizationToken = "Bearer wrong";
    const auto denied = chain(env, clock)->credentials();
    REQUIRE_FALSE(denied);
    CHECK(denied.error().message.find("401") != std::string::npos);
    CHECK(denied.error().message.find("wrong") == std::string::npos);
}

TEST_CASE("container credentials: the relative URI wins over the full one") {
    test::FakeClock clock{kT0};
    test::FakeContainerCredentials ecs(clock, 1h, "");
    AwsEnvironment env = isolated();
    env.containerCredentialsRelativeUri = "/creds";
    env.containerCredentialsFullUri = "http://127.0.0.1:1/never";
    auto made =
            makeDefaultCredentialChain(env, clock, {.containerBaseUrl = ecs.server().baseUrl()});
    REQUIRE(made);
    const auto creds = (*made)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAECS1");
    const auto requests = ecs.server().requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].path == "/creds");
    CHECK(requests[0].headers.count("authorization") == 0);
}

TEST_CASE("container full URIs must be https or a loopback/link-local http host") {
    test::FakeClock clock{kT0};
    AwsEnvironment env = isolated();
    env.containerCredentialsFullUri = "http://169.254.170.99/creds";
    const auto rejected = makeDefaultCredentialChain(env, clock);
    REQUIRE_FALSE(rejected);
    CHECK(rejected.error().code == Errc::InvalidArgument);
    for (const char* ok :
         {"https://creds.example.com/x", "http://127.0.0.1:9/x", "http://localhost:1/x",
          "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials"}) {
        env.containerCredentialsFullUri = ok;
        CHECK(makeDefaultCredentialChain(env, clock));
    }
}

TEST_CASE("web identity: unsigned AssumeRoleWithWebIdentity, token file re-read on refresh") {
    test::FakeClock clock{kT0};
    test::FakeSts sts(clock, 1h);
    TempDir dir;
    AwsEnvironment env = isolated();
    env.webIdentityTokenFile = dir.write("token", "jwt-one\n");
    env.roleArn = "arn:aws:iam::123456789012:role/autoscaler";
    env.roleSessionName = "autoscaler-1";
    env.endpointSts = sts.endpoint();
    env.accessKeyId.clear();
    auto source = chain(env, clock);
    auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIASTS1");
    CHECK(creds->sessionToken == "token-sts1");
    CHECK(creds->source == "web-identity");
    auto requests = sts.server().requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].headers.count("authorization") == 0);
    CHECK(requests[0].body ==
          "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
          "123456789012%3Arole%2Fautoscaler&RoleSessionName=autoscaler-1&WebIdentityToken="
          "jwt-one&DurationSeconds=3600");
    dir.write("token", "jwt-two");
    clock.advance(55min);
    creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIASTS2");
    requests = sts.server().requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].body.find("WebIdentityToken=jwt-two") != std::string::npos);

    // STS errors keep their code and request id.
    dir.write("token", "expired");
    clock.advance(1h);
    const auto failed = source->credentials();
    REQUIRE_FALSE(failed);
    CHECK(failed.error().serviceCode == "ExpiredTokenException");
    CHECK(failed.error().requestId == "sts-2");

    env.roleArn.clear();
    const auto noRole = chain(env, clock)->credentials();
    REQUIRE_FALSE(noRole);
    CHECK(noRole.error().code == Errc::InvalidArgument);
}

TEST_CASE("web identity from the profile and the generic endpoint override") {
    test::FakeClock clock{kT0};
    test::FakeSts sts(clock, 1h);
    TempDir dir;
    AwsEnvironment env = isolated();
    const std::string token = dir.write("token", "jwt");
    env.configFile = dir.write("config", "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\n"
                                         "web_identity_token_file = " +
                                                 token + "\n");
    env.profile = "ci";
    env.endpoint = sts.endpoint();
    const auto creds = chain(env, clock)->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIASTS1");
    const auto body = sts.server().requests().at(0).body;
    CHECK(body.find("RoleSessionName=autoscale-1440938160") != std::string::npos);
}

TEST_CASE("concurrent callers share one refresh") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 1h);
    AwsEnvironment env = isolated();
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    auto source = chain(env, clock);
    std::atomic<int> ok{0};
    {
        std::vector<std::jthread> threads;
        threads.reserve(8);
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int n = 0; n < 20; ++n) {
                    if (source->credentials())
                        ++ok;
                }
            });
        }
    }
    CHECK(ok == 160);
    CHECK(imds.credentialsServed() == 1);
}

TEST_CASE("invalidate forces a new fetch") {
    test::FakeClock clock{kT0};
    test::FakeImds imds(clock, 6h);
    AwsEnvironment env = isolated();
    env.metadataDisabled = false;
    env.metadataServiceEndpoint = imds.endpoint();
    auto source = chain(env, clock);
    REQUIRE(source->credentials());
    source->invalidate();
    const auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "ASIAIMDS2");
}

} // namespace
} // namespace autoscale
