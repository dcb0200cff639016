// SPDX-License-Identifier: Apache-2.0
/// \file
/// One SSH connection with libssh2 in non-blocking mode: every phase (TCP
/// connect, handshake, host-key check, authentication, exec, read) waits with
/// poll() for at most the time left before a deadline of the injected Clock,
/// and checks a stop_token at least every 100 ms. Errors carry libssh2's
/// message and the phase, also in Error::serviceCode ("handshake", "auth"...).

#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include <libssh2.h>

#include <autoscale/clock.h>
#include <autoscale/result.h>

namespace autoscale::detail {

/// The step of a connection that failed.
enum class SshPhase { Connect, Handshake, HostKey, Auth, Exec, Read };

/// Lower-case name, e.g. "handshake".
std::string_view nameOf(SshPhase phase);

/// What the session will accept as host key.
struct HostKeyPolicy {
    /// "type base64": the key required; empty to accept any (tofu, first use).
    std::string expected{};
    /// Host-key algorithms offered, e.g. "ssh-ed25519"; empty for libssh2's list.
    std::string algorithms{};
};

/// A finished remote command.
struct ExecResult {
    int exitStatus = -1;
    std::string exitSignal{}; ///< "KILL" etc. when the command died of a signal.
    std::string out{};
    std::string err{};
};

/// An authenticated connection. Not thread-safe; one per worker.
class SshSession {
public:
    /// Connects to `host` (a numeric IPv4/IPv6 address) and `port`, completes
    /// the handshake and checks the host key against `policy`, all before
    /// `deadline`. Errc::HostKey on a mismatch: nothing more is sent.
    /// `clock` must outlive the session.
    static Result<std::unique_ptr<SshSession>> connect(const std::string& host, int port,
                                                       const HostKeyPolicy& policy,
                                                       const Clock& clock, SteadyTime deadline,
                                                       const std::stop_token& stop);

    ~SshSession();
    SshSession(const SshSession&) = delete;
    SshSession& operator=(const SshSession&) = delete;

    /// The key the server presented, "type base64".
    [[nodiscard]] const std::string& hostKey() const { return hostKey_; }

    /// Public-key authentication with an OpenSSH or PEM private key held in
    /// memory. Errc::Unauthorized when the server refuses the key.
    [[nodiscard]] Result<void> authenticate(const std::string& user, const std::string& privateKey,
                                            SteadyTime deadline);

    /// Runs `command`, writes `input` to its stdin, closes stdin and collects
    /// output until the command exits or `deadline` passes (Errc::Timeout).
    /// A non-zero exit status is a successful exchange (see ExecResult).
    [[nodiscard]] Result<ExecResult> exec(const std::string& command, std::string_view input,
                                          SteadyTime deadline);

private:
    SshSession(int fd, const Clock& clock, std::stop_token stop, std::string peer);

    Result<void> waitSocket(SteadyTime deadline, SshPhase phase);
    Error failure(SshPhase phase, const std::string& what, int rc) const;
    Error timeout(SshPhase phase) const;

    int fd_ = -1;
    LIBSSH2_SESSION* session_ = nullptr;
    const Clock* clock_;
    std::stop_token stop_;
    std::string peer_;
    std::string hostKey_{};
};

} // namespace autoscale::detail
