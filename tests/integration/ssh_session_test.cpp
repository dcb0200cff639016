// SPDX-License-Identifier: Apache-2.0
/// \file
/// The libssh2 wrapper against a real sshd on loopback: host-key pinning,
/// authentication with ed25519 and RSA keys, deadlines in every phase, and
/// the client key kept on disk.

#include "ssh/ssh_session.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <autoscale/clock.h>
#include <autoscale/ssh.h>

#include "doctest_support.h"
#include "sshd_harness.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;
using detail::HostKeyPolicy;
using detail::SshSession;

struct SessionFixture {
    std::unique_ptr<test::SshdHarness> sshd = test::startSshdOrSkip();
    std::unique_ptr<Clock> clock = makeSystemClock();

    Result<std::unique_ptr<SshSession>> connect(const HostKeyPolicy& policy,
                                                std::chrono::milliseconds budget = 10s) const {
        return SshSession::connect("127.0.0.1", sshd->port(), policy, *clock,
                                   clock->steadyNow() + budget, {});
    }
    [[nodiscard]] HostKeyPolicy pinned() const {
        return {.expected = sshd->hostKey().publicKey, .algorithms = "ssh-ed25519"};
    }
    [[nodiscard]] SteadyTime in(std::chrono::milliseconds budget) const {
        return clock->steadyNow() + budget;
    }
};

/// A PKCS#8 PEM RSA key made with OpenSSL.
std::string rsaPem() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    REQUIRE(key != nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return pem;
}

TEST_CASE_FIXTURE(SessionFixture, "pinned key, ed25519 auth, exec with stdin and exit status") {
    auto session = connect(pinned());
    REQUIRE(session);
    CHECK((*session)->hostKey() == canonicalPublicKey(sshd->hostKey().publicKey));
    REQUIRE((*session)->authenticate("root", sshd->clientKey().privateKey, in(10s)));

    auto echoed = (*session)->exec("cat; echo err >&2; exit 3", "hello stdin", in(10s));
    REQUIRE(echoed);
    CHECK(echoed->out == "hello stdin");
    CHECK(echoed->err == "err\n");
    CHECK(echoed->exitStatus == 3);

    // A second command on the same session.
    auto second = (*session)->exec("echo two", {}, in(10s));
    REQUIRE(second);
    CHECK(second->out == "two\n");
    CHECK(second->exitStatus == 0);

    const auto commands = sshd->commands();
    REQUIRE(commands.size() == 2);
    CHECK(commands[0].command == "cat; echo err >&2; exit 3");
    CHECK(commands[0].input == "hello stdin");
}

TEST_CASE_FIXTURE(SessionFixture, "large stdin and output pass through intact") {
    auto session = connect(pinned());
    REQUIRE(session);
    REQUIRE((*session)->authenticate("root", sshd->clientKey().privateKey, in(10s)));
    std::string big;
    for (int i = 0; big.size() < 600000; ++i)
        big += "line " + std::to_string(i) + "\n";
    auto echoed = (*session)->exec("cat", big, in(20s));
    REQUIRE(echoed);
    CHECK(echoed->out.size() == big.size());
    CHECK(echoed->out == big);
}

TEST_CASE_FIXTURE(SessionFixture,
                  "a host key other than the pinned one fails before anything is sent") {
    auto other = generateHostKey();
    REQUIRE(other);
    auto session = connect({.expected = other->publicKey, .algorithms = "ssh-ed25519"});
    REQUIRE_FALSE(session);
    CHECK(session.error().code == Errc::HostKey);
    CHECK(session.error().serviceCode == "host_key");
    CHECK(session.error().message.find("host key mismatch") != std::string::npos);
    CHECK(session.error().message.find(fingerprintOf(other->publicKey)) != std::string::npos);
    CHECK(session.error().message.find(fingerprintOf(sshd->hostKey().publicKey)) !=
          std::string::npos);
    CHECK(sshd->commands().empty());
}

TEST_CASE_FIXTURE(SessionFixture, "an unknown client key is refused as Unauthorized") {
    auto session = connect(pinned());
    REQUIRE(session);
    auto stranger = generateEd25519Key("stranger");
    REQUIRE(stranger);
    const auto auth = (*session)->authenticate("root", stranger->privateKey, in(10s));
    REQUIRE_FALSE(auth);
    CHECK(auth.error().code == Errc::Unauthorized);
    CHECK(auth.error().serviceCode == "auth");
    CHECK(sshd->commands().empty());
}

TEST_CASE_FIXTURE(SessionFixture, "RSA client keys in PEM authenticate") {
    const std::string pem = rsaPem();
    auto pub = publicKeyOf(pem);
    REQUIRE(pub);
    CHECK(pub->starts_with("ssh-rsa AAAAB3NzaC1yc2E"));
    sshd->authorize(*pub);
    auto session = connect(pinned());
    REQUIRE(session);
    REQUIRE((*session)->authenticate("root", pem, in(10s)));
    auto who = (*session)->exec("echo ok", {}, in(10s));
    REQUIRE(who);
    CHECK(who->out == "ok\n");
}

TEST_CASE_FIXTURE(SessionFixture, "the generated client key is kept with mode 0600 and reused") {
    const std::string path = sshd->path("state/id_ed25519");
    std::filesystem::create_directories(sshd->path("state"));
    auto created = loadOrCreateClientKey(path);
    REQUIRE(created);
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777U) == 0600U);
    CHECK(sshd->readFile("state/id_ed25519") == created->privateKey);
    CHECK(sshd->readFile("state/id_ed25519.pub") == created->publicKey + "\n");

    auto again = loadOrCreateClientKey(path);
    REQUIRE(again);
    CHECK(again->privateKey == created->privateKey);
    CHECK(canonicalPublicKey(again->publicKey) == canonicalPublicKey(created->publicKey));

    sshd->authorize(created->publicKey);
    auto session = connect(pinned());
    REQUIRE(session);
    CHECK((*session)->authenticate("root", again->privateKey, in(10s)));

    auto missing = loadClientKey(sshd->path("state/nope"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::Io);
}

TEST_CASE("a host that accepts TCP and never speaks SSH cannot outlast the deadline") {
    const test::SilentListener silent;
    const auto clock = makeSystemClock();
    const auto start = clock->steadyNow();
    auto session = SshSession::connect("127.0.0.1", silent.port(), {}, *clock, start + 700ms, {});
    const auto took = clock->steadyNow() - start;
    REQUIRE_FALSE(session);
    CHECK(session.error().code == Errc::Timeout);
    CHECK(session.error().serviceCode == "handshake");
    CHECK(took >= 700ms);
    CHECK(took < 3s);
}

TEST_CASE("a stop request ends a wait early") {
    const test::SilentListener silent;
    const auto clock = makeSystemClock();
    std::stop_source source;
    source.request_stop();
    const auto start = clock->steadyNow();
    auto session = SshSession::connect("127.0.0.1", silent.port(), {}, *clock, start + 30s,
                                       source.get_token());
    REQUIRE_FALSE(session);
    CHECK(session.error().code == Errc::Timeout);
    CHECK(session.error().message.find("cancelled") != std::string::npos);
    CHECK(clock->steadyNow() - start < 2s);
}

TEST_CASE("a closed port is a transport error of the connect phase") {
    int port = 0;
    {
        const test::SilentListener closed;
        port = closed.port();
    }
    const auto clock = makeSystemClock();
    auto session = SshSession::connect("127.0.0.1", port, {}, *clock, clock->steadyNow() + 5s, {});
    REQUIRE_FALSE(session);
    CHECK(session.error().code == Errc::Transport);
    CHECK(session.error().serviceCode == "connect");
    auto named = SshSession::connect("localhost", port, {}, *clock, clock->steadyNow() + 5s, {});
    REQUIRE_FALSE(named);
    CHECK(named.error().code == Errc::InvalidArgument);
}

TEST_CASE_FIXTURE(SessionFixture, "a command that outlives its deadline is a read timeout") {
    auto session = connect(pinned());
    REQUIRE(session);
    REQUIRE((*session)->authenticate("root", sshd->clientKey().privateKey, in(10s)));
    const auto start = clock->steadyNow();
    auto slow = (*session)->exec("sleep 5", {}, start + 400ms);
    REQUIRE_FALSE(slow);
    CHECK(slow.error().code == Errc::Timeout);
    CHECK(slow.error().serviceCode == "read");
    CHECK(clock->steadyNow() - start < 3s);
}

} // namespace
} // namespace autoscale
