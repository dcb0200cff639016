// SPDX-License-Identifier: Apache-2.0
/// \file
/// The SSH installer against real sshd hosts whose ForceCommand stands in for
/// an instance: install, re-install, host-key pinning and tofu, refused keys,
/// silent hosts, dropped connections, ping and drain.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/installer.h>
#include <autoscale/ssh.h>

#include "doctest_support.h"
#include "fake_clock.h"
#include "sshd_harness.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecret = "rpc-s3cret-Zq9vXw";

std::size_t countOf(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
        ++count;
    return count;
}

struct InstallerFixture {
    std::unique_ptr<test::SshdHarness> sshd = test::startSshdOrSkip();
    std::unique_ptr<Clock> clock = makeSystemClock();
    MemorySink sink;

    [[nodiscard]] SshInstallerOptions options(HostKeyCheck check = HostKeyCheck::Pinned) const {
        SshInstallerOptions o;
        o.ssh = {.user = "root", .port = sshd->port(), .privateKeyFile = {}, .hostKeyCheck = check};
        o.clientPrivateKey = sshd->clientKey().privateKey;
        o.agent.token = kSecret;
        o.agent.image = "drone/drone-runner-docker:1";
        o.agent.environ = {"DRONE_DEBUG=true"};
        o.agent.volumes = {"/cache:/cache"};
        o.rpcProto = "https";
        o.rpcHost = "drone.example.com";
        o.labels = {{"team", "infra"}};
        o.concurrency = 3;
        o.checkInterval = 50ms;
        o.checkDeadline = 20s;
        o.connectTimeout = 5s;
        o.commandTimeout = 20s;
        o.pingTimeout = 10s;
        o.drainGrace = 3600s;
        return o;
    }
    std::unique_ptr<Installer> make(SshInstallerOptions o) {
        auto made = makeSshInstaller(std::move(o), *clock,
                                     Logger(sink, *clock, "installer", LogLevel::Debug));
        REQUIRE(made);
        return std::move(*made);
    }
    [[nodiscard]] Server server() const {
        Server s;
        s.name = "agent-test1";
        s.instanceId = "i-0abc";
        s.address = "127.0.0.1";
        s.region = "us-east-1a";
        s.size = "t3.medium";
        s.capacity = 2;
        s.hostKey = sshd->hostKey().publicKey;
        return s;
    }
    /// No command line, docker argument or log line holds the secret.
    void checkSecretOnlyOnStdin() const {
        for (const auto& recorded : sshd->commands())
            CHECK(recorded.command.find(kSecret) == std::string::npos);
        CHECK(sshd->dockerCalls().find(kSecret) == std::string::npos);
        CHECK(sink.text().find(kSecret) == std::string::npos);
    }
};

TEST_CASE_FIXTURE(InstallerFixture, "install writes the env file over stdin and starts one agent") {
    auto o = options();
    o.arch = "arm64";
    o.variant = "v8";
    o.kernel = "6.1";
    auto installer = make(o);
    Server s = server();
    const auto installed = installer->install(s, {});
    REQUIRE_MESSAGE(installed, (installed ? "" : installed.error().message));

    // The env file: mode 0600, the secret and the runner settings inside.
    const std::string envPath = sshd->path("home/.drone-runner/agent.env");
    struct stat info {};
    REQUIRE(::stat(envPath.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777U) == 0600U);
    const std::string env = sshd->readFile("home/.drone-runner/agent.env");
    CHECK(env.find(std::string("DRONE_RPC_SECRET=") + kSecret + "\n") != std::string::npos);
    CHECK(env.find("DRONE_RPC_HOST=drone.example.com\n") != std::string::npos);
    CHECK(env.find("DRONE_RPC_PROTO=https\n") != std::string::npos);
    CHECK(env.find("DRONE_RUNNER_NAME=agent-test1\n") != std::string::npos);
    CHECK(env.find("DRONE_RUNNER_CAPACITY=2\n") != std::string::npos);
    CHECK(env.find("DRONE_RUNNER_LABELS=team:infra\n") != std::string::npos);
    CHECK(env.find("DRONE_DEBUG=true\n") != std::string::npos);
    // The platform the pool plans for, so Drone routes those stages here.
    CHECK(env.find("DRONE_PLATFORM_OS=linux\n") != std::string::npos);
    CHECK(env.find("DRONE_PLATFORM_ARCH=arm64\n") != std::string::npos);
    CHECK(env.find("DRONE_PLATFORM_VARIANT=v8\n") != std::string::npos);
    CHECK(env.find("DRONE_PLATFORM_KERNEL=6.1\n") != std::string::npos);

    // The secret reached the instance on stdin only.
    const auto commands = sshd->commands();
    const auto withSecret = std::count_if(commands.begin(), commands.end(), [](const auto& c) {
        return c.input.find(kSecret) != std::string::npos;
    });
    CHECK(withSecret == 1);
    checkSecretOnlyOnStdin();

    // One container, started the way SPEC §7 says.
    CHECK(sshd->containers() == std::vector<std::string>{"agent"});
    const std::string args = sshd->readFile("containers/agent/args");
    CHECK(args.find("--restart always") != std::string::npos);
    CHECK(args.find("--volume /var/run/docker.sock:/var/run/docker.sock") != std::string::npos);
    CHECK(args.find("--volume /cache:/cache") != std::string::npos);
    CHECK(args.find("--env-file .drone-runner/agent.env") != std::string::npos);
    CHECK(args.find("--label io.drone.agent.name=agent-test1") != std::string::npos);
    CHECK(args.find("--label io.drone.agent.instance=i-0abc") != std::string::npos);
    CHECK(args.ends_with("drone/drone-runner-docker:1\n"));
    CHECK(countOf(sshd->dockerCalls(), "pull --quiet drone/drone-runner-docker:1") == 1);
    CHECK(installer->ping(s));
}

TEST_CASE_FIXTURE(InstallerFixture,
                  "installing twice leaves one container and does not restart it") {
    auto installer = make(options());
    Server s = server();
    REQUIRE(installer->install(s, {}));
    REQUIRE(installer->install(s, {}));
    CHECK(sshd->containers() == std::vector<std::string>{"agent"});
    CHECK(countOf(sshd->dockerCalls(), "run --detach") == 1);

    // A changed setting re-creates it: still one container, with the new image.
    auto changed = options();
    changed.agent.image = "drone/drone-runner-docker:1.8";
    REQUIRE(make(changed)->install(s, {}));
    CHECK(sshd->containers() == std::vector<std::string>{"agent"});
    CHECK(sshd->readFile("containers/agent/args").ends_with("drone/drone-runner-docker:1.8\n"));
    CHECK(countOf(sshd->dockerCalls(), "run --detach") == 2);

    // A changed env file (a rotated secret) restarts it too, with the new file.
    auto rotated = changed;
    rotated.agent.token = "rotated-secret";
    REQUIRE(make(rotated)->install(s, {}));
    CHECK(countOf(sshd->dockerCalls(), "run --detach") == 3);
    CHECK(sshd->containers() == std::vector<std::string>{"agent"});
    CHECK(sshd->readFile("containers/agent/env").find("DRONE_RPC_SECRET=rotated-secret\n") !=
          std::string::npos);
    CHECK(installer->ping(s));
    checkSecretOnlyOnStdin();
}

TEST_CASE_FIXTURE(InstallerFixture, "an env file changed while boot is awaited still restarts") {
    auto installer = make(options());
    Server s = server();
    REQUIRE(installer->install(s, {}));
    // The new env file lands in the first attempt, which finds cloud-init
    // running; the attempt that finds the server ready sees it unchanged.
    sshd->writeFile("cloud-init-running", "1");
    auto rotated = options();
    rotated.agent.token = "rotated-secret";
    REQUIRE(make(rotated)->install(s, {}));
    CHECK(countOf(sshd->dockerCalls(), "run --detach") == 2);
    CHECK(sshd->readFile("containers/agent/env").find("DRONE_RPC_SECRET=rotated-secret\n") !=
          std::string::npos);
}

TEST_CASE_FIXTURE(InstallerFixture, "a host presenting another key receives no command at all") {
    auto installer = make(options());
    Server s = server();
    auto generated = generateHostKey();
    REQUIRE(generated);
    s.hostKey = generated->publicKey; // The key we generated; sshd presents its own.
    const auto installed = installer->install(s, {});
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::HostKey);
    CHECK(installed.error().message.find("host key mismatch") != std::string::npos);
    CHECK(s.hostKey == generated->publicKey);
    CHECK(sshd->commands().empty());
    CHECK(sshd->containers().empty());
    CHECK(installer->ping(s).error().code == Errc::HostKey);
    CHECK(installer->drain(s).error().code == Errc::HostKey);
    CHECK(sshd->commands().empty());
}

TEST_CASE_FIXTURE(InstallerFixture, "pinned mode without a stored host key refuses to connect") {
    auto installer = make(options());
    Server s = server();
    s.hostKey.clear();
    const auto installed = installer->install(s, {});
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::HostKey);
    CHECK(sshd->commands().empty());
}

TEST_CASE_FIXTURE(InstallerFixture, "tofu learns the first key and requires it afterwards") {
    auto installer = make(options(HostKeyCheck::Tofu));
    Server s = server();
    s.hostKey.clear();
    REQUIRE(installer->install(s, {}));
    CHECK(s.hostKey == canonicalPublicKey(sshd->hostKey().publicKey));
    CHECK(sink.text().find(fingerprintOf(s.hostKey)) != std::string::npos);

    Server impostor = server();
    impostor.hostKey = generateHostKey()->publicKey;
    const auto commandsBefore = sshd->commands().size();
    CHECK(installer->install(impostor, {}).error().code == Errc::HostKey);
    CHECK(sshd->commands().size() == commandsBefore);
}

TEST_CASE("tofu against several real hosts: every runner started, secret on no command line") {
    std::vector<std::unique_ptr<test::SshdHarness>> hosts;
    hosts.reserve(3);
    for (int i = 0; i < 3; ++i)
        hosts.push_back(test::startSshdOrSkip());
    const auto clock = makeSystemClock();
    MemorySink sink;
    const auto clientKey = generateEd25519Key("autoscale");
    REQUIRE(clientKey);
    SshInstallerOptions o;
    o.ssh.hostKeyCheck = HostKeyCheck::Tofu;
    o.clientPrivateKey = clientKey->privateKey;
    o.agent.token = kSecret;
    o.rpcHost = "drone.example.com";
    o.checkInterval = 50ms;
    o.checkDeadline = 20s;
    auto installer =
            makeSshInstaller(o, *clock, Logger(sink, *clock, "installer", LogLevel::Debug));
    REQUIRE(installer);
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        hosts[i]->authorize(clientKey->publicKey);
        Server s;
        s.name = "agent-tofu" + std::to_string(i);
        s.address = "127.0.0.1:" + std::to_string(hosts[i]->port());
        REQUIRE((*installer)->install(s, {}));
        CHECK(s.hostKey == canonicalPublicKey(hosts[i]->hostKey().publicKey));
        CHECK((*installer)->ping(s));
    }
    for (const auto& host : hosts) {
        CHECK(host->containers() == std::vector<std::string>{"agent"});
        CHECK(host->readFile("home/.drone-runner/agent.env").find(kSecret) != std::string::npos);
        for (const auto& recorded : host->commands())
            CHECK(recorded.command.find(kSecret) == std::string::npos);
        CHECK(host->dockerCalls().find(kSecret) == std::string::npos);
    }
    CHECK(sink.text().find(kSecret) == std::string::npos);
}

TEST_CASE_FIXTURE(InstallerFixture,
                  "a refused key fails as Unauthorized once the deadline passes") {
    auto o = options();
    o.clientPrivateKey = generateEd25519Key("stranger")->privateKey;
    // Long enough for one refused handshake on a loaded 2-core machine (a
    // deadline that passes before any attempt finishes is a Timeout); the
    // attempt the deadline cuts short must not hide the refusal.
    o.checkDeadline = 4s;
    o.checkInterval = 100ms;
    auto installer = make(o);
    Server s = server();
    const auto start = clock->steadyNow();
    const auto installed = installer->install(s, {});
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::Unauthorized);
    CHECK(installed.error().message.find("deadline passed") != std::string::npos);
    CHECK(clock->steadyNow() - start < 10s);
    CHECK(sshd->commands().empty());
}

TEST_CASE_FIXTURE(InstallerFixture, "a silent host cannot hang install past its check deadline") {
    const test::SilentListener silent;
    auto o = options();
    o.checkDeadline = 1500ms;
    o.connectTimeout = 400ms;
    o.checkInterval = 100ms;
    auto installer = make(o);
    Server s = server();
    s.address = "127.0.0.1:" + std::to_string(silent.port());
    const auto start = clock->steadyNow();
    const auto installed = installer->install(s, {});
    const auto took = clock->steadyNow() - start;
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::Timeout);
    CHECK_MESSAGE(installed.error().message.find("deadline passed") != std::string::npos,
                  installed.error().message);
    CHECK(took >= 1s);
    CHECK(took < 5s);
}

TEST_CASE_FIXTURE(InstallerFixture, "DRONE_AGENT_ENV_FILE lines reach the runner's env file") {
    sshd->writeFile("agent.env", "# comment\n\nexport PLUGIN_MTU=1400\nQUOTED=\"a b\"\n"
                                 "  SINGLE='x=y'  \n");
    const auto lines = readEnvFile(sshd->path("agent.env"));
    REQUIRE(lines);
    CHECK(*lines == std::vector<std::string>{"PLUGIN_MTU=1400", "QUOTED=a b", "SINGLE=x=y"});
    sshd->writeFile("bad.env", "GOOD=1\nnot a pair\n");
    const auto bad = readEnvFile(sshd->path("bad.env"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::Parse);
    CHECK(bad.error().message.find("bad.env:2") != std::string::npos);
    CHECK(readEnvFile(sshd->path("missing.env")).error().code == Errc::Io);

    auto o = options();
    o.envFileLines = *lines;
    auto installer = make(o);
    Server s = server();
    REQUIRE(installer->install(s, {}));
    const std::string env = sshd->readFile("home/.drone-runner/agent.env");
    CHECK(env.starts_with("PLUGIN_MTU=1400\nQUOTED=a b\nSINGLE=x=y\n"));
}

TEST_CASE("install probes every check interval until the check deadline, on the injected clock") {
    int port = 0;
    {
        const test::SilentListener closed;
        port = closed.port();
    }
    const test::FakeClock clock;
    MemorySink sink;
    SshInstallerOptions o;
    o.clientPrivateKey = generateEd25519Key("k")->privateKey;
    o.checkInterval = 2s;
    o.checkDeadline = 10min;
    auto installer = makeSshInstaller(o, clock, Logger(sink, clock, "installer", LogLevel::Info));
    REQUIRE(installer);
    Server s;
    s.name = "agent-refused";
    s.address = "127.0.0.1:" + std::to_string(port);
    s.hostKey = generateHostKey()->publicKey;
    const auto begin = clock.steadyNow();
    const auto installed = (*installer)->install(s, {});
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::Timeout);
    // Refused connections return at once; only sleepFor moved the clock.
    CHECK(clock.steadyNow() - begin >= 10min - 2s);
    CHECK(clock.steadyNow() - begin <= 10min);
    CHECK(installed.error().message.find("after 300 attempts") != std::string::npos);
}

TEST_CASE_FIXTURE(InstallerFixture, "a stop request ends install while it waits") {
    const test::SilentListener silent;
    auto o = options();
    o.checkDeadline = 60s;
    auto installer = make(o);
    Server s = server();
    s.address = "127.0.0.1:" + std::to_string(silent.port());
    std::stop_source source;
    const auto start = clock->steadyNow();
    std::jthread stopper([&source] {
        std::this_thread::sleep_for(300ms); // The stop arrives while install waits.
        source.request_stop();
    });
    const auto installed = installer->install(s, source.get_token());
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::Timeout);
    CHECK(clock->steadyNow() - start < 5s);
}

TEST_CASE_FIXTURE(InstallerFixture, "a connection dropped mid-install is retried: one container") {
    sshd->writeFile("drop-after-run", "");
    auto installer = make(options());
    Server s = server();
    const auto installed = installer->install(s, {});
    REQUIRE_MESSAGE(installed, (installed ? "" : installed.error().message));
    CHECK(sshd->readFile("drop-after-run").empty());
    CHECK(sshd->containers() == std::vector<std::string>{"agent"});
    const std::string calls = sshd->dockerCalls();
    CHECK(countOf(calls, "run --detach") == 1);
    // The retry connected again and found the container it had started.
    CHECK(countOf(calls, "inspect --format") >= 2);
    CHECK(sink.text().find("\"attempts\":\"2\"") != std::string::npos);
    CHECK(installer->ping(s));
}

TEST_CASE_FIXTURE(InstallerFixture, "install waits for cloud-init and for docker") {
    sshd->writeFile("cloud-init-running", "3");
    auto installer = make(options());
    Server s = server();
    REQUIRE(installer->install(s, {}));
    CHECK(sshd->readFile("cloud-init-running") == "0\n");
    std::size_t statusCalls = 0;
    for (const auto& recorded : sshd->commands())
        statusCalls += recorded.command.find("cloud-init status") != std::string::npos ? 1U : 0U;
    CHECK(statusCalls == 4);
    CHECK(sshd->containers() == std::vector<std::string>{"agent"});
}

TEST_CASE_FIXTURE(InstallerFixture, "docker that never answers ends in a timeout, no container") {
    sshd->writeFile("docker-down", "");
    auto o = options();
    o.checkDeadline = 800ms;
    o.checkInterval = 100ms;
    auto installer = make(o);
    Server s = server();
    const auto installed = installer->install(s, {});
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::Timeout);
    CHECK(installed.error().message.find("docker does not answer") != std::string::npos);
    CHECK(sshd->containers().empty());
}

TEST_CASE_FIXTURE(InstallerFixture, "a failed pull is an install error, no container") {
    sshd->writeFile("fail-pull", "");
    auto installer = make(options());
    Server s = server();
    const auto installed = installer->install(s, {});
    REQUIRE_FALSE(installed);
    CHECK(installed.error().code == Errc::Unavailable);
    CHECK(installed.error().message.find("pull access denied") != std::string::npos);
    CHECK(sshd->containers().empty());
    CHECK(installer->ping(s).error().code == Errc::NotFound);
}

TEST_CASE_FIXTURE(InstallerFixture, "drain stops the runner with the grace period") {
    auto installer = make(options());
    Server s = server();
    REQUIRE(installer->install(s, {}));
    REQUIRE(installer->ping(s));
    REQUIRE(installer->drain(s));
    // docker stop runs in the background on the instance; wait for it.
    Result<void> pinged;
    const auto deadline = clock->steadyNow() + 10s;
    while ((pinged = installer->ping(s)) && clock->steadyNow() < deadline)
        std::this_thread::sleep_for(20ms); // Polling a condition, with a deadline.
    REQUIRE_FALSE(pinged);
    CHECK(pinged.error().code == Errc::NotFound);
    CHECK(sshd->readFile("containers/agent/stop") == "stop --time 3600 agent\n");
    CHECK(sshd->readFile("containers/agent/update") == "update --restart no agent\n");
    // Draining a server without a runner is not an error.
    std::filesystem::remove_all(sshd->path("containers/agent"));
    CHECK(installer->drain(s));
}

} // namespace
} // namespace autoscale
