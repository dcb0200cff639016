// SPDX-License-Identifier: Apache-2.0
/// \file
/// A real OpenSSH server for tests: Debian's /usr/sbin/sshd on 127.0.0.1 with
/// a free port, its own config, host key and authorized key in a temp dir,
/// and a ForceCommand that stands in for a build instance. The stand-in
/// records every command (SSH_ORIGINAL_COMMAND) and its stdin, and answers
/// like `docker` and `cloud-init` would, with the containers kept as files.

#pragma once

#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include <autoscale/ssh.h>

namespace autoscale::test {

/// One command the stand-in received, in arrival order.
struct RecordedCommand {
    std::string command{}; ///< SSH_ORIGINAL_COMMAND.
    std::string input{};   ///< Everything it read on stdin.
};

/// A running sshd. Stopped (SIGTERM, reaped) and its directory removed by
/// the destructor. Thread-safe for reading the records.
///
/// Stand-in controls (files in dir()):
/// - "cloud-init-running" holding N: `cloud-init status` says running N times;
/// - "docker-down": `docker info` fails;
/// - "fail-pull": `docker pull` fails;
/// - "drop-after-run": the first `docker run` creates the container, then
///   kills this SSH connection's server processes (a dropped connection).
class SshdHarness {
public:
    /// Starts sshd; nullptr with `whyNot` set when it cannot run here. Creates
    /// /run/sshd (sshd's privilege separation directory) when it is missing.
    static std::unique_ptr<SshdHarness> start(std::string& whyNot);

    ~SshdHarness();
    SshdHarness(const SshdHarness&) = delete;
    SshdHarness& operator=(const SshdHarness&) = delete;

    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] const std::string& dir() const { return dir_; }
    /// dir() + "/" + relative.
    [[nodiscard]] std::string path(const std::string& relative) const;
    /// The host key sshd presents (ed25519, from generateHostKey()).
    [[nodiscard]] const SshKeyPair& hostKey() const { return hostKey_; }
    /// A client key that is authorised.
    [[nodiscard]] const SshKeyPair& clientKey() const { return clientKey_; }

    /// Authorises one more public key line.
    void authorize(const std::string& publicKeyLine) const;
    /// Writes a control file of the stand-in (see the class comment).
    void writeFile(const std::string& relative, const std::string& text) const;
    /// Reads a file of dir(); empty when missing.
    [[nodiscard]] std::string readFile(const std::string& relative) const;

    /// Every command received, oldest first.
    [[nodiscard]] std::vector<RecordedCommand> commands() const;
    /// Names of the fake containers that exist.
    [[nodiscard]] std::vector<std::string> containers() const;
    /// Every argument list the fake `docker` was called with, one per line.
    [[nodiscard]] std::string dockerCalls() const { return readFile("docker-argv.log"); }
    /// sshd's own log (-e).
    [[nodiscard]] std::string log() const { return readFile("sshd.log"); }

private:
    SshdHarness() = default;
    bool launch(std::string& whyNot);

    std::string dir_{};
    int port_ = 0;
    pid_t pid_ = -1;
    SshKeyPair hostKey_{};
    SshKeyPair clientKey_{};
};

/// Starts an SshdHarness or ends the test program with status 77, which
/// meson reports as SKIP.
std::unique_ptr<SshdHarness> startSshdOrSkip();

/// A TCP socket on 127.0.0.1 that listens and never accepts or writes: the
/// kernel completes the TCP handshake, then nothing happens (a host that
/// accepts TCP and never speaks SSH).
class SilentListener {
public:
    SilentListener();
    ~SilentListener();
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    [[nodiscard]] int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

} // namespace autoscale::test
