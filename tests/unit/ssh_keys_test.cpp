// SPDX-License-Identifier: Apache-2.0
/// \file
/// OpenSSH key formats and the installer's remote commands: pure functions,
/// no network, no files.

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/installer.h>
#include <autoscale/ssh.h>
#include <autoscale/wiring.h>

#include "doctest_support.h"
#include "fake_clock.h"
#include "ssh/agent_commands.h"
#include "ssh/ssh_wire.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

// A throwaway key made by ssh-keygen 9.2 for these tests, and what
// `ssh-keygen -lf` printed for it.
constexpr const char* kOpensshKey = R"(-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCDsdqtin393mG21k1uSaLtUt0k8EyFI+lK5oDttTalpQAAAIjiYP894mD/
PQAAAAtzc2gtZWQyNTUxOQAAACCDsdqtin393mG21k1uSaLtUt0k8EyFI+lK5oDttTalpQ
AAAEB219lBh45/JLbimmHbLDpR/hwkRI7xqizUiHhfxZylgoOx2q2Kff3eYbbWTW5Jou1S
3STwTIUj6UrmgO21NqWlAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
)";
constexpr const char* kOpensshPublic =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIOx2q2Kff3eYbbWTW5Jou1S3STwTIUj6UrmgO21NqWl test";
constexpr const char* kOpensshFingerprint = "SHA256:tcXHQZWMbAjnYotm2Ltk5jVmXKIr2ak7N2UqnoZTqvU";

TEST_CASE("base64 round-trips every tail length") {
    for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const auto encoded = detail::base64Encode(text);
        CHECK(encoded.size() % 4 == 0);
        CHECK(detail::base64Decode(encoded) == text);
    }
    CHECK(detail::base64Encode("foobar") == "Zm9vYmFy");
    CHECK(detail::base64Encode("fo") == "Zm8=");
    CHECK_FALSE(detail::base64Decode("Zm9v!").has_value());
}

TEST_CASE("an ssh-keygen key: public line and fingerprint") {
    const auto pub = publicKeyOf(kOpensshKey);
    REQUIRE(pub);
    CHECK(*pub == canonicalPublicKey(kOpensshPublic));
    CHECK(fingerprintOf(kOpensshPublic) == kOpensshFingerprint);
    CHECK(fingerprintOf("garbage") == "");
    CHECK(canonicalPublicKey("ssh-ed25519 AAAA comment words") == "ssh-ed25519 AAAA");
}

TEST_CASE("generated ed25519 keys are in OpenSSH format and read back") {
    const auto pair = generateEd25519Key("me@here");
    REQUIRE(pair);
    CHECK(pair->publicKey.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
    CHECK(pair->publicKey.ends_with(" me@here"));
    CHECK(pair->privateKey.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    CHECK(pair->privateKey.ends_with("\n-----END OPENSSH PRIVATE KEY-----\n"));
    const auto back = publicKeyOf(pair->privateKey);
    REQUIRE(back);
    CHECK(*back == canonicalPublicKey(pair->publicKey));
    // Lines are wrapped at 70 columns, as ssh-keygen writes them.
    const auto firstLine = pair->privateKey.substr(36, pair->privateKey.find('\n', 36) - 36);
    CHECK(firstLine.size() == 70);

    const auto other = generateHostKey();
    REQUIRE(other);
    CHECK(other->publicKey != pair->publicKey);
    CHECK(fingerprintOf(other->publicKey).starts_with("SHA256:"));
}

TEST_CASE("keys that are not keys are parse errors") {
    CHECK(publicKeyOf("hello").error().code == Errc::Parse);
    CHECK(publicKeyOf(
                  "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
                  .error()
                  .code == Errc::Parse);
}

TEST_CASE("the default client key lives beside the database") {
    CHECK(defaultClientKeyPath("/data/database.sqlite") == "/data/id_ed25519");
    CHECK(defaultClientKeyPath("file:/var/lib/as/db.sqlite?mode=rwc") == "/var/lib/as/id_ed25519");
    CHECK(defaultClientKeyPath("database.sqlite") == "id_ed25519");
    CHECK(defaultClientKeyPath("host=db user=x dbname=as") == "id_ed25519");
}

SshInstallerOptions sampleOptions() {
    SshInstallerOptions o;
    o.clientPrivateKey = kOpensshKey;
    o.agent.token = "s3cret";
    o.agent.image = "drone/drone-runner-docker:1";
    o.agent.environ = {"A=1", "BARE", "DRONE_RUNNER_NAME=overridden"};
    o.agent.volumes = {"/cache:/cache"};
    o.agent.publishedPorts = {"3000:3000"};
    o.agent.runnerVolumes = "/tmp:/tmp";
    o.envFileLines = {"FROM_FILE=x", "A=0"};
    o.rpcProto = "https";
    o.rpcHost = "drone.example.com";
    o.labels = {{"a", "1"}, {"b", "2"}};
    o.concurrency = 4;
    return o;
}

Server sampleServer() {
    Server s;
    s.name = "agent-abc";
    s.instanceId = "i-1";
    s.region = "eu-west-1b";
    s.size = "c7g.large";
    return s;
}

TEST_CASE("the env file holds the runner settings, ours winning") {
    const auto env = detail::renderEnvFile(sampleOptions(), sampleServer());
    REQUIRE(env);
    CHECK(*env == "FROM_FILE=x\n"
                  "A=1\n"
                  "DRONE_RPC_PROTO=https\n"
                  "DRONE_RPC_HOST=drone.example.com\n"
                  "DRONE_RPC_SERVER=https://drone.example.com\n"
                  "DRONE_RPC_SECRET=s3cret\n"
                  "DRONE_RUNNER_CAPACITY=4\n"
                  "DRONE_RUNNER_NAME=agent-abc\n"
                  "DRONE_RUNNER_LABELS=a:1,b:2\n"
                  "DRONE_PLATFORM_OS=linux\n"
                  "DRONE_PLATFORM_ARCH=amd64\n"
                  "DRONE_RUNNER_VOLUMES=/tmp:/tmp\n");
    auto bad = sampleOptions();
    bad.agent.environ = {"X=line\nbreak"};
    const auto rejected = detail::renderEnvFile(bad, sampleServer());
    REQUIRE_FALSE(rejected);
    CHECK(rejected.error().code == Errc::InvalidArgument);
    CHECK(rejected.error().message.find('X') != std::string::npos);
}

TEST_CASE("docker run: restart always, socket, volumes, labels, env file, no secret") {
    auto server = sampleServer();
    server.capacity = 2;
    const auto command = detail::dockerRunCommand(sampleOptions(), server);
    CHECK(command.starts_with("docker run --detach --name agent --restart always "
                              "--volume /var/run/docker.sock:/var/run/docker.sock "
                              "--volume /cache:/cache --publish 3000:3000 "
                              "--env-file .drone-runner/agent.env "
                              "--label io.drone.agent.name=agent-abc "
                              "--label io.drone.agent.zone=eu-west-1b "
                              "--label io.drone.agent.size=c7g.large "
                              "--label io.drone.agent.instance=i-1 "
                              "--label io.drone.agent.capacity=2 "
                              "--label io.autoscale.config="));
    CHECK(command.ends_with(" drone/drone-runner-docker:1"));
    CHECK(command.find("s3cret") == std::string::npos);
    const auto install = detail::installCommand(sampleOptions(), server, false);
    CHECK(install.find("s3cret") == std::string::npos);
    CHECK(install.find("umask 077") != std::string::npos);
    CHECK(install.find("docker pull --quiet drone/drone-runner-docker:1 >/dev/null || exit 91; "
                       "docker rm --force agent >/dev/null 2>&1; docker run ") !=
          std::string::npos);
    // Up to date unless forced: the check on the running container's hash.
    const std::string upToDate =
            "[ \"$agent\" = 'true " + detail::agentConfigHash(sampleOptions(), server) + "' ]";
    CHECK(install.find(upToDate) != std::string::npos);
    CHECK(detail::installCommand(sampleOptions(), server, true).find(upToDate) ==
          std::string::npos);

    const auto args = detail::dockerRunArguments(sampleOptions(), server);
    CHECK(detail::configHash(args) == detail::configHash(args));
    CHECK(detail::configHash(args).size() == 16);
    auto other = sampleOptions();
    other.agent.volumes.clear();
    CHECK(detail::configHash(detail::dockerRunArguments(other, server)) !=
          detail::configHash(args));
}

TEST_CASE("shell quoting survives hostile words") {
    CHECK(detail::shellQuote("plain-word_1.2:3") == "plain-word_1.2:3");
    CHECK(detail::shellQuote("") == "''");
    CHECK(detail::shellQuote("a b") == "'a b'");
    CHECK(detail::shellQuote("it's $(x)") == "'it'\\''s $(x)'");
}

TEST_CASE("cloud-init status and docker inspect are read") {
    using detail::BootState;
    CHECK(detail::parseCloudInitStatus("status: done\n", 0) == BootState::Done);
    CHECK(detail::parseCloudInitStatus("status: done\n", 2) == BootState::Done);
    CHECK(detail::parseCloudInitStatus("status: running\n", 0) == BootState::Running);
    CHECK(detail::parseCloudInitStatus("status: not started\n", 0) == BootState::Running);
    CHECK(detail::parseCloudInitStatus("status: error\n", 1) == BootState::Failed);
    CHECK(detail::parseCloudInitStatus("", 127) == BootState::Done);

    const auto running = detail::parseInspect("true abc123\n", 0);
    CHECK(running.exists);
    CHECK(running.running);
    CHECK(running.configHash == "abc123");
    const auto stopped = detail::parseInspect("false <no value>\n", 0);
    CHECK(stopped.exists);
    CHECK_FALSE(stopped.running);
    CHECK_FALSE(detail::parseInspect("", 1).exists);

    const auto ready = detail::parsePrepare(
            "status: done\ncloud-init-exit=0\ndocker-exit=0\nenv=changed\nagent=absent\n");
    CHECK(ready.cloudInit == BootState::Done);
    CHECK(ready.dockerUp);
    CHECK(ready.envChanged);
    CHECK_FALSE(ready.agent.exists);
    const auto booting = detail::parsePrepare("status: running\ncloud-init-exit=0\n"
                                              "docker-exit=1\nenv=unchanged\nagent=absent\n");
    CHECK(booting.cloudInit == BootState::Running);
    CHECK_FALSE(booting.dockerUp);
    CHECK_FALSE(booting.envChanged);
    const auto alive = detail::parsePrepare("sh: cloud-init: not found\ncloud-init-exit=127\n"
                                            "docker-exit=0\nenv=unchanged\n"
                                            "agent=true 0123abcd\n");
    CHECK(alive.cloudInit == BootState::Done);
    CHECK(alive.agent.running);
    CHECK(alive.agent.configHash == "0123abcd");
    CHECK_FALSE(alive.started);
    const auto started = detail::parsePrepare("status: done\ncloud-init-exit=0\ndocker-exit=0\n"
                                              "env=changed\nagent=absent\nstarted=true ff00\n");
    CHECK(started.started);
    CHECK(started.agent.running);
    CHECK(started.agent.configHash == "ff00");
    CHECK(detail::parsePrepare("status: error\ncloud-init-exit=1\n").cloudInit ==
          BootState::Failed);
}

TEST_CASE("makeSshInstaller rejects options that cannot work") {
    const test::FakeClock clock;
    MemorySink sink;
    const Logger logger(sink, clock, "installer", LogLevel::Info);
    CHECK(makeSshInstaller(sampleOptions(), clock, logger));
    auto noKey = sampleOptions();
    noKey.clientPrivateKey.clear();
    CHECK(makeSshInstaller(noKey, clock, logger).error().code == Errc::InvalidArgument);
    auto badKey = sampleOptions();
    badKey.clientPrivateKey = "not a key";
    CHECK(makeSshInstaller(badKey, clock, logger).error().code == Errc::InvalidArgument);
    auto badPort = sampleOptions();
    badPort.ssh.port = 70000;
    CHECK(makeSshInstaller(badPort, clock, logger).error().code == Errc::InvalidArgument);
    auto zeroInterval = sampleOptions();
    zeroInterval.checkInterval = 0ms;
    CHECK(makeSshInstaller(zeroInterval, clock, logger).error().code == Errc::InvalidArgument);
}

// Drone gives a stage with a variant or kernel only to a runner advertising
// the same; drone-runner-docker advertises DRONE_PLATFORM_* (linux/amd64 by
// default), so the pool's platform must reach it or its stages never do.
TEST_CASE("the env file tells the runner the pool's platform, variant and kernel when set") {
    auto o = sampleOptions();
    o.os = "linux";
    o.arch = "arm64";
    o.variant = "v8";
    o.kernel = "6.1";
    o.agent.environ = {"DRONE_PLATFORM_ARCH=amd64", "DRONE_PLATFORM_VARIANT=v7"};
    const auto env = detail::renderEnvFile(o, sampleServer());
    REQUIRE(env);
    CHECK(env->find("DRONE_PLATFORM_OS=linux\n") != std::string::npos);
    CHECK(env->find("DRONE_PLATFORM_ARCH=arm64\n") != std::string::npos);
    CHECK(env->find("DRONE_PLATFORM_VARIANT=v8\n") != std::string::npos);
    CHECK(env->find("DRONE_PLATFORM_KERNEL=6.1\n") != std::string::npos);
    CHECK(env->find("amd64") == std::string::npos);
    CHECK(env->find("v7") == std::string::npos);

    // Unset variant and kernel are not written: the runner then matches
    // stages that set none (and, per Drone's rule, those that set them).
    const auto plain = detail::renderEnvFile(sampleOptions(), sampleServer());
    REQUIRE(plain);
    CHECK(plain->find("DRONE_PLATFORM_VARIANT") == std::string::npos);
    CHECK(plain->find("DRONE_PLATFORM_KERNEL") == std::string::npos);
}

TEST_CASE("installer options come from the config") {
    Config config;
    config.ssh.user = "admin";
    config.drone.proto = "http";
    config.drone.host = "ci:8080";
    config.drone.token = "admin-token";
    config.agent.token = "rpc";
    config.pool.labels = {{"k", "v"}};
    config.pool.concurrency = 5;
    config.pool.os = "windows";
    config.pool.arch = "arm64";
    config.pool.variant = "v8";
    config.pool.kernel = "1809";
    config.installCheckInterval = 3s;
    config.installCheckDeadline = 5min;
    config.timeoutStop = 20min;
    const auto o = installerOptionsFrom(config, "KEY");
    CHECK(o.ssh.user == "admin");
    CHECK(o.clientPrivateKey == "KEY");
    CHECK(o.rpcProto == "http");
    CHECK(o.rpcHost == "ci:8080");
    CHECK(o.agent.token == "rpc");
    CHECK(o.labels.at("k") == "v");
    CHECK(o.concurrency == 5);
    CHECK(o.os == "windows");
    CHECK(o.arch == "arm64");
    CHECK(o.variant == "v8");
    CHECK(o.kernel == "1809");
    CHECK(o.checkInterval == 3s);
    CHECK(o.checkDeadline == 5min);
    CHECK(o.drainGrace == 20min);
}

} // namespace
} // namespace autoscale
