// SPDX-License-Identifier: Apache-2.0
// parseConfig: every variable of SPEC §3, good and bad, table-driven.

#include <algorithm>
#include <functional>
#include <set>
#include <tuple>

#include <doctest/doctest.h>

#include <autoscale/config.h>

#include "doctest_support.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

Environment base() {
    return {{"DRONE_SERVER_PROTO", "https"},
            {"DRONE_SERVER_HOST", "drone.example.com"},
            {"DRONE_SERVER_TOKEN", "s3cr3t-admin-token"},
            {"DRONE_AGENT_TOKEN", "rpc-s3cr3t"},
            {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"}};
}

Config parseOk(Environment env) {
    auto c = parseConfig(env);
    if (!c)
        FAIL("unexpected error: " << c.error().message);
    return *c;
}

std::string parseBad(const Environment& env) {
    auto c = parseConfig(env);
    if (c)
        FAIL("expected an error");
    CHECK(c.error().code == Errc::InvalidArgument);
    return c.error().message;
}

Environment with(std::initializer_list<std::pair<const std::string, std::string>> extra) {
    Environment env = base();
    for (const auto& [k, v] : extra)
        env[k] = v;
    return env;
}

TEST_CASE("defaults follow SPEC section 3") {
    const Config c = parseOk(base());
    CHECK(c.drone.baseUrl() == "https://drone.example.com");
    CHECK(c.agent.image == "drone/drone-runner-docker:1");
    CHECK(c.agent.namePrefix == "agent-");
    CHECK(c.pool.concurrency == 2);
    CHECK(c.pool.os == "linux");
    CHECK(c.pool.arch == "amd64");
    CHECK(c.pool.variant.empty());
    CHECK(c.pool.kernel.empty());
    CHECK(c.pool.min == 2);
    CHECK(c.pool.max == 4);
    CHECK(c.pool.minAge == 0s);
    CHECK(c.pool.idleTimeout == 10min);
    CHECK(c.pool.launchDelay == 30s);
    CHECK(c.pool.buffer == 0);
    CHECK(c.interval == 10s);
    CHECK(c.amazon.region == "us-east-1");
    CHECK(c.amazon.instanceType == "t3.medium");
    CHECK(c.amazon.volumeSize == 32);
    CHECK(c.amazon.volumeType == "gp3");
    CHECK(c.amazon.deviceName == "/dev/sda1");
    CHECK(c.amazon.imdsTokens == "required");
    CHECK(c.amazon.retries == 3);
    CHECK_FALSE(c.amazon.privateIp);
    CHECK(c.amazon.marketType.empty());
    CHECK(c.ssh.user == "root");
    CHECK(c.ssh.port == 22);
    CHECK(c.ssh.hostKeyCheck == HostKeyCheck::Pinned);
    CHECK(c.installCheckInterval == 2s);
    CHECK(c.installCheckDeadline == 10min);
    CHECK(c.timeoutStop == 1h);
    CHECK(c.pingerInterval == 1min);
    CHECK(c.store.driver == "sqlite3");
    CHECK(c.store.datasource == "database.sqlite");
    CHECK(c.api.address == "0.0.0.0");
    CHECK(c.api.port == 8080);
    CHECK_FALSE(c.logsDebug);
    CHECK_FALSE(c.logsPretty);
    CHECK(c.warnings.empty());
}

struct GoodCase {
    const char* name;
    const char* value;
    std::function<void(const Config&)> check;
};

TEST_CASE("every variable accepts its documented forms") {
    const std::vector<GoodCase> cases = {
            {"DRONE_SERVER_PROTO", "HTTP",
             [](const Config& c) {
                 CHECK(c.drone.proto == "http");
             }},
            {"DRONE_SERVER_HOST", "drone:8080/",
             [](const Config& c) {
                 CHECK(c.drone.host == "drone:8080");
             }},
            {"DRONE_AGENT_CONCURRENCY", "8",
             [](const Config& c) {
                 CHECK(c.pool.concurrency == 8);
             }},
            {"DRONE_AGENT_IMAGE", "my/runner:2",
             [](const Config& c) {
                 CHECK(c.agent.image == "my/runner:2");
             }},
            {"DRONE_AGENT_OS", "windows",
             [](const Config& c) {
                 CHECK(c.pool.os == "windows");
             }},
            {"DRONE_AGENT_ARCH", "arm64",
             [](const Config& c) {
                 CHECK(c.pool.arch == "arm64");
             }},
            {"DRONE_AGENT_VERSION", "v8",
             [](const Config& c) {
                 CHECK(c.pool.variant == "v8");
             }},
            {"DRONE_AGENT_KERNEL", "5.10",
             [](const Config& c) {
                 CHECK(c.pool.kernel == "5.10");
             }},
            {"DRONE_AGENT_LABELS", "gpu:yes, url:http://x:1",
             [](const Config& c) {
                 CHECK(c.pool.labels ==
                       std::map<std::string, std::string>{{"gpu", "yes"}, {"url", "http://x:1"}});
             }},
            {"DRONE_AGENT_ENVIRON", "A=1,HOME",
             [](const Config& c) {
                 REQUIRE(c.agent.environ.size() == 2);
                 CHECK(c.agent.environ[0] == "A=1");
                 CHECK(c.agent.environ[1] == "HOME=/home/ci");
             }},
            {"DRONE_AGENT_ENV_FILE", "/etc/runner.env",
             [](const Config& c) {
                 CHECK(c.agent.envFile == "/etc/runner.env");
             }},
            {"DRONE_AGENT_VOLUMES", "/cache:/cache,/a:/b:ro",
             [](const Config& c) {
                 CHECK(c.agent.volumes.size() == 2);
             }},
            {"DRONE_AGENT_NAME_PREFIX", "ci-",
             [](const Config& c) {
                 CHECK(c.agent.namePrefix == "ci-");
             }},
            {"DRONE_POOL_MIN", "0",
             [](const Config& c) {
                 CHECK(c.pool.min == 0);
             }},
            {"DRONE_POOL_MAX", "10",
             [](const Config& c) {
                 CHECK(c.pool.max == 10);
             }},
            {"DRONE_POOL_MIN_AGE", "55m",
             [](const Config& c) {
                 CHECK(c.pool.minAge == 55min);
             }},
            {"DRONE_POOL_IDLE_TIMEOUT", "1h30m",
             [](const Config& c) {
                 CHECK(c.pool.idleTimeout == 90min);
             }},
            {"DRONE_POOL_LAUNCH_DELAY", "0s",
             [](const Config& c) {
                 CHECK(c.pool.launchDelay == 0s);
             }},
            {"DRONE_POOL_FILE", "/etc/autoscaler/pools.yml",
             [](const Config& c) {
                 // Named only: parseConfig reads no file (loadConfig does).
                 CHECK(c.poolFile == "/etc/autoscaler/pools.yml");
                 REQUIRE(c.pools.size() == 1);
                 CHECK(c.pools[0].pool.name == "default");
             }},
            {"DRONE_CAPACITY_BUFFER", "3",
             [](const Config& c) {
                 CHECK(c.pool.buffer == 3);
             }},
            {"DRONE_INTERVAL", "500ms",
             [](const Config& c) {
                 CHECK(c.interval == 500ms);
             }},
            {"DRONE_AMAZON_REGION", "eu-west-1",
             [](const Config& c) {
                 CHECK(c.amazon.region == "eu-west-1");
             }},
            {"DRONE_AMAZON_INSTANCE", "c7i.large",
             [](const Config& c) {
                 CHECK(c.amazon.instanceType == "c7i.large");
             }},
            {"DRONE_AMAZON_INSTANCE_ALT", "t3.large, m5.large",
             [](const Config& c) {
                 CHECK(c.amazon.instanceTypesAlt ==
                       std::vector<std::string>{"t3.large", "m5.large"});
             }},
            {"DRONE_AMAZON_SUBNET_ID", "subnet-1",
             [](const Config& c) {
                 CHECK(c.amazon.subnetId == "subnet-1");
             }},
            {"DRONE_AMAZON_SUBNET_IDS_ALT", "subnet-2,subnet-3",
             [](const Config& c) {
                 CHECK(c.amazon.subnetIdsAlt.size() == 2);
             }},
            {"DRONE_AMAZON_SECURITY_GROUP", "sg-1,sg-2",
             [](const Config& c) {
                 CHECK(c.amazon.securityGroups.size() == 2);
             }},
            {"DRONE_AMAZON_SSHKEY", "drone",
             [](const Config& c) {
                 CHECK(c.amazon.sshKey == "drone");
             }},
            {"DRONE_AMAZON_PRIVATE_IP", "yes",
             [](const Config& c) {
                 CHECK(c.amazon.privateIp);
             }},
            {"DRONE_AMAZON_TAGS", "team:ci,cost:123",
             [](const Config& c) {
                 CHECK(c.amazon.tags.at("cost") == "123");
             }},
            {"DRONE_AMAZON_VOLUME_SIZE", "100",
             [](const Config& c) {
                 CHECK(c.amazon.volumeSize == 100);
             }},
            {"DRONE_AMAZON_VOLUME_TYPE", "io2",
             [](const Config& c) {
                 CHECK(c.amazon.volumeType == "io2");
             }},
            {"DRONE_AMAZON_VOLUME_IOPS", "4000",
             [](const Config& c) {
                 CHECK(c.amazon.volumeIops == 4000);
             }},
            {"DRONE_AMAZON_VOLUME_THROUGHPUT", "250",
             [](const Config& c) {
                 CHECK(c.amazon.volumeThroughput == 250);
             }},
            {"DRONE_AMAZON_DEVICE_NAME", "/dev/xvda",
             [](const Config& c) {
                 CHECK(c.amazon.deviceName == "/dev/xvda");
             }},
            {"DRONE_AMAZON_IAM_PROFILE_ARN", "arn:aws:iam::1:instance-profile/ci",
             [](const Config& c) {
                 CHECK(c.amazon.iamProfileArn.ends_with("/ci"));
             }},
            {"DRONE_AMAZON_IAM_PROFILE_NAME", "ci",
             [](const Config& c) {
                 CHECK(c.amazon.iamProfileName == "ci");
             }},
            {"DRONE_AMAZON_MARKET_TYPE", "spot",
             [](const Config& c) {
                 CHECK(c.amazon.marketType == "spot");
             }},
            {"DRONE_AMAZON_IMDS_TOKENS", "optional",
             [](const Config& c) {
                 CHECK(c.amazon.imdsTokens == "optional");
             }},
            {"DRONE_AMAZON_USERDATA", "#cloud-config",
             [](const Config& c) {
                 CHECK(c.amazon.userData == "#cloud-config");
             }},
            {"DRONE_AMAZON_USERDATA_FILE", "/etc/ud.yaml",
             [](const Config& c) {
                 CHECK(c.amazon.userDataFile == "/etc/ud.yaml");
             }},
            {"DRONE_AMAZON_RETRIES", "5",
             [](const Config& c) {
                 CHECK(c.amazon.retries == 5);
             }},
            {"AWS_PROFILE", "ci",
             [](const Config& c) {
                 CHECK(c.aws.profile == "ci");
             }},
            {"AWS_IAM", "true",
             [](const Config& c) {
                 CHECK(c.aws.iam);
             }},
            {"AWS_EC2_METADATA_DISABLED", "true",
             [](const Config& c) {
                 CHECK(c.aws.metadataDisabled);
             }},
            {"AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:4566",
             [](const Config& c) {
                 CHECK(c.aws.endpointEc2 == "http://127.0.0.1:4566");
             }},
            {"DRONE_SSH_USER", "ubuntu",
             [](const Config& c) {
                 CHECK(c.ssh.user == "ubuntu");
             }},
            {"DRONE_SSH_PORT", "2222",
             [](const Config& c) {
                 CHECK(c.ssh.port == 2222);
             }},
            {"DRONE_SSH_PRIVATE_KEY_FILE", "/data/id_ed25519",
             [](const Config& c) {
                 CHECK(c.ssh.privateKeyFile == "/data/id_ed25519");
             }},
            {"DRONE_SSH_HOST_KEY_CHECK", "tofu",
             [](const Config& c) {
                 CHECK(c.ssh.hostKeyCheck == HostKeyCheck::Tofu);
             }},
            {"DRONE_INSTALL_CHECK_INTERVAL", "5s",
             [](const Config& c) {
                 CHECK(c.installCheckInterval == 5s);
             }},
            {"DRONE_INSTALL_CHECK_DEADLINE", "30m",
             [](const Config& c) {
                 CHECK(c.installCheckDeadline == 30min);
             }},
            {"DRONE_TIMEOUT_STOP", "15m",
             [](const Config& c) {
                 CHECK(c.timeoutStop == 15min);
             }},
            {"DRONE_PINGER_INTERVAL", "30s",
             [](const Config& c) {
                 CHECK(c.pingerInterval == 30s);
             }},
            {"DRONE_DATABASE_DRIVER", "postgres",
             [](const Config& c) {
                 CHECK(c.store.driver == "postgres");
             }},
            {"DRONE_DATABASE_DATASOURCE", "/data/database.sqlite",
             [](const Config& c) {
                 CHECK(c.store.datasource == "/data/database.sqlite");
             }},
            {"DRONE_HTTP_PORT", "127.0.0.1:9090",
             [](const Config& c) {
                 CHECK(c.api.address == "127.0.0.1");
                 CHECK(c.api.port == 9090);
             }},
            {"DRONE_PROMETHEUS_AUTH_TOKEN", "p",
             [](const Config& c) {
                 CHECK(c.api.prometheusToken == "p");
             }},
            {"DRONE_LOGS_DEBUG", "1",
             [](const Config& c) {
                 CHECK(c.logsDebug);
             }},
            {"DRONE_LOGS_TRACE", "true",
             [](const Config& c) {
                 CHECK(c.logsTrace);
             }},
            {"DRONE_LOGS_PRETTY", "yes",
             [](const Config& c) {
                 CHECK(c.logsPretty);
             }},
    };
    for (const auto& tc : cases) {
        CAPTURE(tc.name);
        Environment env = base();
        env[tc.name] = tc.value;
        env["HOME"] = "/home/ci";
        tc.check(parseOk(env));
    }
}

struct BadCase {
    const char* name;
    const char* value;
    const char* expect; ///< A fragment of the one-line problem.
};

TEST_CASE("every variable rejects bad values with a line naming it") {
    const std::vector<BadCase> cases = {
            {"DRONE_SERVER_PROTO", "ftp", "expected http or https"},
            {"DRONE_SERVER_HOST", "https://drone.example.com", "includes a scheme"},
            {"DRONE_AGENT_CONCURRENCY", "0", "out of range"},
            {"DRONE_AGENT_CONCURRENCY", "two", "not a whole number"},
            {"DRONE_AGENT_LABELS", "gpu", "not a map"},
            {"DRONE_AGENT_LABELS", ":yes", "not a map"},
            {"DRONE_AGENT_VOLUMES", "/cache", "not a bind"},
            {"DRONE_POOL_MIN", "abc", "not a whole number"},
            {"DRONE_POOL_MIN", "-1", "out of range"},
            {"DRONE_POOL_MAX", "1.5", "not a whole number"},
            {"DRONE_POOL_MIN_AGE", "5 minutes", "not a duration"},
            {"DRONE_POOL_IDLE_TIMEOUT", "10", "not a duration"},
            {"DRONE_POOL_IDLE_TIMEOUT", "-5m", "not a duration"},
            {"DRONE_POOL_LAUNCH_DELAY", "30", "not a duration"},
            {"DRONE_CAPACITY_BUFFER", "-2", "out of range"},
            {"DRONE_INTERVAL", "1ms", "too short"},
            {"DRONE_INTERVAL", "5x", "not a duration"},
            {"DRONE_AMAZON_IMAGE", "ubuntu", "not an AMI id"},
            {"DRONE_AMAZON_SECURITY_GROUP", "default", "not a security-group id"},
            {"DRONE_AMAZON_PRIVATE_IP", "maybe", "not a boolean"},
            {"DRONE_AMAZON_TAGS", "a", "not a map"},
            {"DRONE_AMAZON_VOLUME_SIZE", "0", "out of range"},
            {"DRONE_AMAZON_VOLUME_TYPE", "ssd", "expected one of gp2, gp3"},
            {"DRONE_AMAZON_VOLUME_IOPS", "10", "out of range"},
            {"DRONE_AMAZON_VOLUME_THROUGHPUT", "fast", "not a whole number"},
            {"DRONE_AMAZON_MARKET_TYPE", "reserved", "expected one of"},
            {"DRONE_AMAZON_IMDS_TOKENS", "off", "expected one of required, optional"},
            {"DRONE_AMAZON_RETRIES", "0", "out of range"},
            {"AWS_EC2_METADATA_DISABLED", "nah", "not a boolean"},
            {"AWS_ENDPOINT_URL_EC2", "127.0.0.1:4566", "not a URL"},
            {"DRONE_SSH_PORT", "70000", "out of range"},
            {"DRONE_SSH_HOST_KEY_CHECK", "off", "expected one of pinned, tofu"},
            {"DRONE_INSTALL_CHECK_INTERVAL", "1ns", "too short"},
            {"DRONE_INSTALL_CHECK_DEADLINE", "soon", "not a duration"},
            {"DRONE_TIMEOUT_STOP", "1d", "not a duration"},
            {"DRONE_PINGER_INTERVAL", "10ms", "too short"},
            {"DRONE_DATABASE_DRIVER", "mysql", "expected one of sqlite3, postgres"},
            {"DRONE_HTTP_PORT", ":http", "not a listen address"},
            {"DRONE_HTTP_PORT", ":99999", "not a listen address"},
            {"DRONE_LOGS_DEBUG", "2", "not a boolean"},
            {"DRONE_LOGS_PRETTY", "y e s", "not a boolean"},
    };
    for (const auto& tc : cases) {
        CAPTURE(tc.name);
        CAPTURE(tc.value);
        Environment env = base();
        env[tc.name] = tc.value;
        const std::string message = parseBad(env);
        CHECK(message.starts_with(std::string(tc.name) + ": "));
        CHECK(message.find(tc.expect) != std::string::npos);
        CHECK(message.find('\n') == std::string::npos); // Exactly one problem.
    }
}

TEST_CASE("all problems are reported together, one line each") {
    const std::string message = parseBad(
            with({{"DRONE_POOL_MIN", "abc"}, {"DRONE_POOL_MAX", "x"}, {"DRONE_INTERVAL", "soon"}}));
    CHECK(message.find("DRONE_POOL_MIN: ") != std::string::npos);
    CHECK(message.find("DRONE_POOL_MAX: ") != std::string::npos);
    CHECK(message.find("DRONE_INTERVAL: ") != std::string::npos);
    CHECK(std::count(message.begin(), message.end(), '\n') == 2);
}

TEST_CASE("required variables are named when missing") {
    const std::string message = parseBad({});
    for (const char* name : {"DRONE_SERVER_PROTO", "DRONE_SERVER_HOST", "DRONE_SERVER_TOKEN",
                             "DRONE_AGENT_TOKEN", "DRONE_AMAZON_IMAGE"}) {
        CAPTURE(name);
        CHECK(message.find(std::string(name) + ": is required") != std::string::npos);
    }
    // `plan --queue-file` needs none of them.
    CHECK(parseConfig({}, ConfigNeeds{.drone = false, .agent = false, .amazon = false}));
}

TEST_CASE("an empty value means unset") {
    const Config c = parseOk(with({{"DRONE_POOL_MAX", ""}, {"DRONE_AGENT_OS", ""}}));
    CHECK(c.pool.max == 4);
    CHECK(c.pool.os == "linux");
}

TEST_CASE("MIN above MAX is refused naming both") {
    const std::string message = parseBad(with({{"DRONE_POOL_MIN", "5"}, {"DRONE_POOL_MAX", "3"}}));
    CHECK(message.find("DRONE_POOL_MIN") != std::string::npos);
    CHECK(message.find("DRONE_POOL_MAX (3)") != std::string::npos);
}

TEST_CASE("mutually exclusive pairs are refused") {
    CHECK(parseBad(with({{"DRONE_AMAZON_IAM_PROFILE_ARN", "arn:x"},
                         {"DRONE_AMAZON_IAM_PROFILE_NAME", "ci"}}))
                  .starts_with("DRONE_AMAZON_IAM_PROFILE_NAME"));
    CHECK(parseBad(with({{"DRONE_AMAZON_USERDATA", "x"}, {"DRONE_AMAZON_USERDATA_FILE", "/y"}}))
                  .starts_with("DRONE_AMAZON_USERDATA_FILE"));
    CHECK(parseBad(with({{"AWS_ACCESS_KEY_ID", "AKID"}})).starts_with("AWS_SECRET_ACCESS_KEY"));
}

TEST_CASE("secret values never appear in messages") {
    const std::string message = parseBad(with({{"DRONE_SERVER_TOKEN", "tok-SECRET-123"},
                                               {"DRONE_PROMETHEUS_AUTH_TOKEN", "prom-SECRET"},
                                               {"DRONE_POOL_MIN", "x"}}));
    CHECK(message.find("SECRET") == std::string::npos);
    Environment env = base();
    env.erase("DRONE_SERVER_PROTO");
    env["DRONE_SERVER_TOKEN"] = "tok-SECRET-123";
    CHECK(parseBad(env).find("SECRET") == std::string::npos);
}

TEST_CASE("unknown DRONE variables warn with the closest known name") {
    const Config c = parseOk(with({{"DRONE_POOL_MAXIMUM", "3"}, {"DRONE_AGENT_CONCURENCY", "3"}}));
    REQUIRE(c.warnings.size() == 2);
    CHECK(c.warnings[0] == "DRONE_AGENT_CONCURENCY: unknown variable, ignored; did you mean "
                           "DRONE_AGENT_CONCURRENCY?");
    CHECK(c.warnings[1].find("did you mean DRONE_POOL_MAX?") != std::string::npos);
    const Config legacy = parseOk(with({{"DRONE_REAPER_ENABLED", "true"}}));
    REQUIRE(legacy.warnings.size() == 1);
    CHECK(legacy.warnings[0].find("accepted for compatibility") != std::string::npos);
    const Config other = parseOk(with({{"PATH", "/bin"}, {"AWS_REGION", "x"}}));
    CHECK(other.warnings.empty());
}

TEST_CASE("Go durations parse like time.ParseDuration") {
    CHECK(parseGoDuration("90s") == 90s);
    CHECK(parseGoDuration("1h30m") == 90min);
    CHECK(parseGoDuration("1.5h") == 90min);
    CHECK(parseGoDuration("500ms") == 500ms);
    CHECK(parseGoDuration("0") == 0ms);
    CHECK(parseGoDuration("2h45m10.5s") == 9910500ms);
    CHECK(parseGoDuration("1000us") == 1ms);
    CHECK(parseGoDuration("+5m") == 5min);
    CHECK_FALSE(parseGoDuration(""));
    CHECK_FALSE(parseGoDuration("5"));
    CHECK_FALSE(parseGoDuration("m"));
    CHECK_FALSE(parseGoDuration("-5m"));
    CHECK_FALSE(parseGoDuration("5d"));
    CHECK_FALSE(parseGoDuration("1h 30m"));
    CHECK(formatGoDuration(90min) == "1h30m0s");
    CHECK(formatGoDuration(10s) == "10s");
    CHECK(formatGoDuration(500ms) == "500ms");
    CHECK(formatGoDuration(1500ms) == "1.5s");
    CHECK(formatGoDuration(0ms) == "0s");
}

TEST_CASE("lists, maps and booleans") {
    CHECK(parseList(" a, ,b ,") == std::vector<std::string>{"a", "b"});
    CHECK(parseList("").empty());
    CHECK(parseMap("k:v:w") == std::map<std::string, std::string>{{"k", "v:w"}});
    CHECK_FALSE(parseMap("k"));
    CHECK(parseBool("YES") == true);
    CHECK(parseBool("0") == false);
    CHECK_FALSE(parseBool("2"));
    CHECK(editDistance("kitten", "sitting") == 3);
}

TEST_CASE("every known variable is unique and documented as secret where it is one") {
    const auto& known = knownVariables();
    std::set<std::string_view> seen(known.begin(), known.end());
    CHECK(seen.size() == known.size());
    CHECK(isSecretVariable("DRONE_SERVER_TOKEN"));
    CHECK(isSecretVariable("AWS_SECRET_ACCESS_KEY"));
    CHECK_FALSE(isSecretVariable("DRONE_POOL_MIN"));
}

TEST_CASE("a transposed pair of letters points at the intended variable") {
    const Config c = parseOk(with({{"DRONE_POOL_MXA", "3"}}));
    REQUIRE(c.warnings.size() == 1);
    CHECK(c.warnings[0] ==
          "DRONE_POOL_MXA: unknown variable, ignored; did you mean DRONE_POOL_MAX?");
    CHECK(c.pool.max == 4); // Not read.
    const Config agent = parseOk(with({{"DRONE_AGNET_IMAGE", "x"}}));
    REQUIRE(agent.warnings.size() == 1);
    CHECK(agent.warnings[0].ends_with("did you mean DRONE_AGENT_IMAGE?"));
}

TEST_CASE("edit distance is the optimal string alignment distance") {
    const std::vector<std::tuple<const char*, const char*, std::size_t>> cases = {
            {"", "", 0},
            {"a", "", 1},
            {"", "abc", 3},
            {"kitten", "sitting", 3},
            {"MXA", "MAX", 1},
            {"MXA", "MIN", 2},
            {"ab", "ba", 1},
            {"abc", "acb", 1},
            {"ca", "abc", 3}, // OSA, not full DL.
            {"DRONE_POOL_MXA", "DRONE_POOL_MAX", 1},
    };
    for (const auto& tc : cases) {
        const char* a = std::get<0>(tc);
        const char* b = std::get<1>(tc);
        CAPTURE(a);
        CAPTURE(b);
        CHECK(editDistance(a, b) == std::get<2>(tc));
        CHECK(editDistance(b, a) == std::get<2>(tc));
    }
    const std::vector<std::string_view> candidates = {"DRONE_POOL_MIN", "DRONE_POOL_MAX"};
    CHECK(closestName("DRONE_POOL_MXA", candidates) == "DRONE_POOL_MAX");
    CHECK(closestName("DRONE_POOL_MNI", candidates) == "DRONE_POOL_MIN");
    CHECK(closestName("X", {}).empty());
}

TEST_CASE("the table names every variable once and drives knownVariables and secrets") {
    std::set<std::string_view> names;
    std::vector<std::string_view> read;
    for (const auto& v : configVariables()) {
        CAPTURE(v.name);
        CHECK(names.insert(v.name).second);
        CHECK((v.name.starts_with("DRONE_") || v.name.starts_with("AWS_")));
        CHECK(findVariable(v.name) == &v);
        CHECK(isSecretVariable(v.name) == v.secret);
        CHECK_FALSE(v.meaning.empty());
        if (v.use == VariableUse::Read)
            read.push_back(v.name);
        else
            CHECK(v.scope == VariableScope::Global);
    }
    CHECK(read == knownVariables());
    CHECK(findVariable("DRONE_POOL_MXA") == nullptr);
    for (const char* secret :
         {"DRONE_SERVER_TOKEN", "DRONE_AGENT_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
          "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "DRONE_PROMETHEUS_AUTH_TOKEN",
          "DRONE_AMAZON_USERDATA", "DRONE_UI_PASSWORD"}) {
        CAPTURE(secret);
        CHECK(isSecretVariable(secret));
    }
    // What the pool file of SPEC §3 may set per pool; the rest is global.
    for (const char* pool :
         {"DRONE_POOL_MIN", "DRONE_POOL_MAX", "DRONE_AGENT_CONCURRENCY", "DRONE_AGENT_OS",
          "DRONE_AGENT_LABELS", "DRONE_AMAZON_IMAGE", "DRONE_AMAZON_INSTANCE",
          "DRONE_AMAZON_MARKET_TYPE", "DRONE_POOL_LAUNCH_DELAY", "DRONE_AGENT_NAME_PREFIX"}) {
        CAPTURE(pool);
        CHECK(findVariable(pool)->scope == VariableScope::Pool);
    }
    for (const char* global : {"DRONE_SERVER_HOST", "DRONE_INTERVAL", "DRONE_HTTP_PORT",
                               "DRONE_DATABASE_DRIVER", "AWS_PROFILE", "DRONE_SSH_USER"}) {
        CAPTURE(global);
        CHECK(findVariable(global)->scope == VariableScope::Global);
    }
}

TEST_CASE("each documented default is the default") {
    const Config defaults = parseOk(base());
    for (const auto& v : configVariables()) {
        if (v.use != VariableUse::Read || v.defaultValue.empty() || v.defaultValue.starts_with("("))
            continue; // None, "(required)" or "(generated)".
        CAPTURE(v.name);
        CAPTURE(v.defaultValue);
        Environment env = base();
        env[std::string(v.name)] = std::string(v.defaultValue);
        CHECK(parseOk(env) == defaults);
    }
}

TEST_CASE("every ignored variable warns with its reason, never its value") {
    for (const auto& v : configVariables()) {
        if (v.use != VariableUse::Ignored)
            continue;
        CAPTURE(v.name);
        const Config c = parseOk(with({{std::string(v.name), "VALUE-SECRET"}}));
        REQUIRE(c.warnings.size() == 1);
        CHECK(c.warnings[0] == std::string(v.name) +
                                       ": accepted for compatibility with drone/autoscaler and "
                                       "ignored (" +
                                       std::string(v.meaning) + ")");
    }
}

} // namespace
} // namespace autoscale
