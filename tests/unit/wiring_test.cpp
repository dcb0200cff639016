// SPDX-License-Identifier: Apache-2.0
// wiring.h: what the tools construct their components with, built from a
// Config by the library (so that production runs tested code).

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <doctest/doctest.h>

#include <autoscale/version.h>
#include <autoscale/wiring.h>

#include "doctest_support.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

Config sample() {
    Config c;
    c.drone = {.proto = "http", .host = "ci:8080", .token = "admin"};
    c.agent.namePrefix = "ci-";
    c.agent.image = "runner:2";
    c.pool.name = "arm";
    c.pool.max = 7;
    c.amazon.image = "ami-0123456789abcdef0";
    c.amazon.instanceType = "c7g.large";
    c.amazon.privateIp = true;
    c.amazon.retries = 5;
    c.interval = 3s;
    c.installCheckDeadline = 4min;
    c.timeoutStop = 20min;
    c.pingerInterval = 30s;
    c.api = {.address = "127.0.0.1", .port = 9090, .prometheusToken = "p"};
    c.ssh.user = "admin";
    return c;
}

TEST_CASE("engine, EC2, API and HTTP options come from the config") {
    const Config c = sample();
    const EngineOptions e = engineOptionsFrom(c);
    CHECK(e.pool == c.pool);
    CHECK(e.namePrefix == "ci-");
    CHECK(e.image == "ami-0123456789abcdef0");
    CHECK(e.instanceType == "c7g.large");
    CHECK(e.privateIp);
    CHECK(e.interval == 3s);
    CHECK(e.bootDeadline == 4min);
    CHECK(e.timeoutStop == 20min);
    CHECK(e.pingerInterval == 30s);
    CHECK_FALSE(e.userData);

    const Ec2Options ec2 = ec2OptionsFrom(c);
    CHECK(ec2.amazon == c.amazon);
    CHECK(ec2.poolName == "arm");
    CHECK(ec2.owner == "ci:8080");
    CHECK(ec2.retry.maxAttempts == 5);

    const ApiOptions api = apiOptionsFrom(c);
    CHECK(api.address == "127.0.0.1");
    CHECK(api.port == 9090);
    CHECK(api.prometheusToken == "p");
    CHECK(api.interval == 3s);
    CHECK(api.version == buildVersion());
    CHECK(api.commit == buildCommit());

    CHECK(droneHttpOptions(c).protocols == "http");
    Config https = c;
    https.drone.proto = "https";
    CHECK(droneHttpOptions(https).protocols == "https");

    CHECK(logLevelOf(c) == LogLevel::Info);
    https.logsDebug = true;
    CHECK(logLevelOf(https) == LogLevel::Debug);
    https.logsTrace = true;
    CHECK(logLevelOf(https) == LogLevel::Trace);
}

TEST_CASE("a list-only provider gets a placeholder AMI only when none is set") {
    Config c = sample();
    CHECK(listOnlyEc2OptionsFrom(c).amazon.image == "ami-0123456789abcdef0");
    c.amazon.image.clear();
    CHECK(listOnlyEc2OptionsFrom(c).amazon.image == kPlaceholderImage);
    CHECK(ec2OptionsFrom(c).amazon.image.empty());
}

TEST_CASE("the engine's user data: pinned mode puts a fresh host key in the row once") {
    const Config c = sample();
    const auto userData =
            userDataFunction(c,
                             "{{ .Name }} {{ .SshUser }} {{ .SshPublicKey }} {{ .Image }} "
                             "{{ .Pool }} [{{ .HostPublicKey }}]",
                             "ssh-ed25519 CLIENT me");
    Server server{.name = "ci-1"};
    const auto first = userData(server);
    REQUIRE(first);
    REQUIRE(server.hostKey.starts_with("ssh-ed25519 "));
    CHECK_FALSE(server.hostPrivateKey.empty());
    CHECK(*first == "ci-1 admin ssh-ed25519 CLIENT me runner:2 arm [" + server.hostKey + "]");
    const std::string key = server.hostKey;
    REQUIRE(userData(server));
    CHECK(server.hostKey == key); // Kept: the row's key is the one the server will present.

    Config tofu = c;
    tofu.ssh.hostKeyCheck = HostKeyCheck::Tofu;
    Server other{.name = "ci-2"};
    const auto text = userDataFunction(tofu, "[{{ .HostPublicKey }}]", "k")(other);
    REQUIRE(text);
    CHECK(*text == "[]");
    CHECK(other.hostKey.empty());
    CHECK(other.hostPrivateKey.empty());
}

TEST_CASE("the daemon's files: every problem named together, the key created beside the database") {
    test::TempDir dir;
    Config c = sample();
    c.agent.envFile = dir.file("missing.env");
    c.ssh.privateKeyFile = dir.file("missing_key");
    c.amazon.userDataFile = dir.file("missing.yaml");
    const auto bad = readInstallFiles(c, dir.file("database.sqlite"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::InvalidArgument);
    CHECK(bad.error().message.find("DRONE_AMAZON_USERDATA_FILE: ") != std::string::npos);
    CHECK(bad.error().message.find("\nDRONE_AGENT_ENV_FILE: ") != std::string::npos);
    CHECK(bad.error().message.find("\nDRONE_SSH_PRIVATE_KEY_FILE: ") != std::string::npos);

    Config good = sample();
    std::ofstream(dir.file("runner.env")) << "A=1\n";
    good.agent.envFile = dir.file("runner.env");
    const auto files = readInstallFiles(good, dir.file("database.sqlite"));
    REQUIRE(files);
    CHECK(files->userDataTemplate == defaultUserDataTemplate());
    CHECK(files->envFileLines == std::vector<std::string>{"A=1"});
    CHECK(files->clientKey.publicKey.starts_with("ssh-ed25519 "));
    const auto again = loadClientKey(dir.file("id_ed25519"));
    REQUIRE(again);
    CHECK(again->privateKey == files->clientKey.privateKey);
}

TEST_CASE("the store: its path, the driver this build has, servers from a file") {
    test::TempDir dir;
    Config c = sample();
    c.store.datasource = dir.file("database.sqlite") + "?cache=shared";
    CHECK(databasePathOf(c).value() == dir.file("database.sqlite"));
    // Read-only: an absent database is an empty pool, and it is not created.
    CHECK(readServers(c, "").value().empty());
    CHECK_FALSE(std::ifstream(dir.file("database.sqlite")).good());

    // PostgreSQL has no file: no process lock, no key beside it.
    c.store.driver = "postgres";
    CHECK(databasePathOf(c).value().empty());
    c.store.driver = "mysql";
    CHECK(databasePathOf(c).error().code == Errc::InvalidArgument);
    CHECK(databasePathOf(c).error().message.starts_with("DRONE_DATABASE_DRIVER: "));
    CHECK(readServers(c, "").error().message.ends_with("or --servers-file"));

    std::ofstream(dir.file("servers.json")) << "[{\"name\":\"agent-1\",\"state\":\"running\"}]";
    const auto servers = readServers(c, dir.file("servers.json"));
    REQUIRE(servers);
    REQUIRE(servers->size() == 1);
    CHECK((*servers)[0].name == "agent-1");
    const auto missing = readServers(c, dir.file("nope.json"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("nope.json") != std::string::npos);
}

TEST_CASE("with PostgreSQL the SSH client key file is required, and never generated") {
    test::TempDir dir;
    Config c = sample();
    c.store.driver = "postgres";
    c.store.datasource = "postgresql://scaler:pw-Xy7@127.0.0.1:1/fleet";
    const auto refused = readInstallFiles(c, "");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::InvalidArgument);
    CHECK(refused.error().message.starts_with("DRONE_SSH_PRIVATE_KEY_FILE: required with "
                                              "DRONE_DATABASE_DRIVER=postgres"));
    CHECK(refused.error().message.find("pw-Xy7") == std::string::npos);
    CHECK(std::filesystem::is_empty(dir.path()));

    const auto key = loadOrCreateClientKey(dir.file("shared_key"));
    REQUIRE(key);
    c.ssh.privateKeyFile = dir.file("shared_key");
    const auto files = readInstallFiles(c, "");
    REQUIRE(files);
    CHECK(files->clientKey.privateKey == key->privateKey);
}

TEST_CASE("the HA identity is DRONE_HA_ID, else host name and pid") {
    Config c = sample();
    const std::string computed = haIdentity(c);
    CHECK(computed.ends_with("-" + std::to_string(::getpid())));
    CHECK(computed.size() > std::to_string(::getpid()).size() + 1);
    c.ha.id = "scaler-a";
    CHECK(haIdentity(c) == "scaler-a");
}

TEST_CASE("simulate: classic timings unless DRONE_INTERVAL or DRONE_POOL_MIN_AGE are set") {
    Config c = sample();
    c.pool.minAge = 7min;
    const SimulationOptions ours = simulationOptionsFrom(c, {}, Policy::Default);
    CHECK(ours.pool.policy == Policy::Default);
    CHECK(ours.interval == 3s);
    CHECK(ours.timeoutStop == 20min);
    CHECK(ours.pool.minAge == 7min);
    const SimulationOptions classic = simulationOptionsFrom(c, {}, Policy::Classic);
    CHECK(classic.pool.policy == Policy::Classic);
    CHECK(classic.planInterval == 5min);
    CHECK(classic.pool.minAge == 55min);
    const SimulationOptions pinned = simulationOptionsFrom(
            c, {{"DRONE_INTERVAL", "3s"}, {"DRONE_POOL_MIN_AGE", "7m"}}, Policy::Classic);
    CHECK(pinned.planInterval == 3s);
    CHECK(pinned.pool.minAge == 7min);
}

} // namespace
} // namespace autoscale
