// SPDX-License-Identifier: Apache-2.0
/// \file
/// SshSession: libssh2 in non-blocking mode over a socket we connect
/// ourselves, so that every wait is a poll() bounded by the Clock's deadline.

#include "ssh_session.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <autoscale/ssh.h>

#include "ssh_wire.h"

namespace autoscale {

Ssh2Global::Ssh2Global() : ok_(libssh2_init(0) == 0) {
}

Ssh2Global::~Ssh2Global() {
    if (ok_)
        libssh2_exit();
}

} // namespace autoscale

namespace autoscale::detail {

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kPollSlice{100};
constexpr std::size_t kMaxOutput = 4U << 20U;
constexpr int kCleanupTries = 20;
constexpr int kCleanupPollMs = 25;

/// Waits briefly for the socket; used only while tearing down.
void pollBriefly(int fd) {
    pollfd pfd{.fd = fd, .events = POLLIN | POLLOUT, .revents = 0};
    ::poll(&pfd, 1, kCleanupPollMs);
}

/// Frees a channel; bounded, because a dead peer never confirms the close.
class ChannelGuard {
public:
    ChannelGuard(LIBSSH2_CHANNEL* channel, int fd) : channel_(channel), fd_(fd) {}
    ~ChannelGuard() {
        for (int i = 0; channel_ != nullptr && i < kCleanupTries; ++i) {
            if (libssh2_channel_free(channel_) != LIBSSH2_ERROR_EAGAIN)
                return;
            pollBriefly(fd_);
        }
        // Still pending: libssh2_session_free() releases it with the session.
    }
    ChannelGuard(const ChannelGuard&) = delete;
    ChannelGuard& operator=(const ChannelGuard&) = delete;
    [[nodiscard]] LIBSSH2_CHANNEL* get() const { return channel_; }

private:
    LIBSSH2_CHANNEL* channel_;
    int fd_;
};

} // namespace

std::string_view nameOf(SshPhase phase) {
    switch (phase) {
    case SshPhase::Connect:
        return "connect";
    case SshPhase::Handshake:
        return "handshake";
    case SshPhase::HostKey:
        return "host_key";
    case SshPhase::Auth:
        return "auth";
    case SshPhase::Exec:
        return "exec";
    case SshPhase::Read:
        return "read";
    }
    return "unknown";
}

SshSession::SshSession(int fd, const Clock& clock, std::stop_token stop, std::string peer)
    : fd_(fd)
    , clock_(&clock)
    , stop_(std::move(stop))
    , peer_(std::move(peer)) {
}

SshSession::~SshSession() {
    if (session_ != nullptr) {
        for (int i = 0; i < kCleanupTries; ++i) {
            if (libssh2_session_disconnect(session_, "bye") != LIBSSH2_ERROR_EAGAIN)
                break;
            pollBriefly(fd_);
        }
        // From here on every read and write fails at once, so freeing cannot
        // wait for a peer that no longer answers.
        ::shutdown(fd_, SHUT_RDWR);
        for (int i = 0; i < kCleanupTries; ++i) {
            if (libssh2_session_free(session_) != LIBSSH2_ERROR_EAGAIN)
                break;
            pollBriefly(fd_);
        }
    }
    if (fd_ >= 0)
        ::close(fd_);
}

Error SshSession::failure(SshPhase phase, const std::string& what, int rc) const {
    std::string detail;
    if (session_ != nullptr) {
        char* message = nullptr;
        int length = 0;
        libssh2_session_last_error(session_, &message, &length, 0);
        if (message != nullptr && length > 0)
            detail.assign(message, static_cast<std::size_t>(length));
    }
    Error error;
    error.code = rc == LIBSSH2_ERROR_TIMEOUT ? Errc::Timeout : Errc::Transport;
    error.message = "ssh " + std::string(nameOf(phase)) + " " + peer_ + ": " + what;
    if (!detail.empty())
        error.message += ": " + detail;
    error.message += " (libssh2 error " + std::to_string(rc) + ")";
    error.serviceCode = std::string(nameOf(phase));
    return error;
}

Error SshSession::timeout(SshPhase phase) const {
    Error error;
    error.code = Errc::Timeout;
    error.message = "ssh " + std::string(nameOf(phase)) + " " + peer_ +
                    (stop_.stop_requested() ? ": cancelled" : ": deadline passed");
    error.serviceCode = std::string(nameOf(phase));
    return error;
}

Result<void> SshSession::waitSocket(SteadyTime deadline, SshPhase phase) {
    short events = POLLOUT;
    if (session_ != nullptr) {
        const int directions = libssh2_session_block_directions(session_);
        events = 0;
        if ((directions & LIBSSH2_SESSION_BLOCK_INBOUND) != 0)
            events |= POLLIN;
        if ((directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0)
            events |= POLLOUT;
        if (events == 0)
            events = POLLIN;
    }
    for (;;) {
        if (stop_.stop_requested())
            return timeout(phase);
        const auto left = deadline - clock_->steadyNow();
        if (left <= SteadyTime::duration::zero())
            return timeout(phase);
        pollfd pfd{.fd = fd_, .events = events, .revents = 0};
        const auto slice =
                std::clamp(std::chrono::ceil<std::chrono::milliseconds>(left), 1ms, kPollSlice);
        const int rc = ::poll(&pfd, 1, static_cast<int>(slice.count()));
        if (rc > 0)
            return {};
        if (rc < 0 && errno != EINTR) {
            Error error = makeError(Errc::Transport,
                                    "ssh " + std::string(nameOf(phase)) + " " + peer_ +
                                            ": poll: " + std::generic_category().message(errno));
            error.serviceCode = std::string(nameOf(phase));
            return error;
        }
    }
}

Result<std::unique_ptr<SshSession>> SshSession::connect(const std::string& host, int port,
                                                        const HostKeyPolicy& policy,
                                                        const Clock& clock, SteadyTime deadline,
                                                        const std::stop_token& stop) {
    const std::string peer = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                             std::to_string(port);
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        Error error =
                makeError(Errc::InvalidArgument,
                          "ssh connect " + peer + ": not a numeric address: " + ::gai_strerror(rc));
        error.serviceCode = "connect";
        return error;
    }
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ::freeaddrinfo(found);
        return makeError(Errc::Internal, "ssh connect " + peer + ": socket: " +
                                                 std::generic_category().message(errno));
    }
    // The session owns fd from here on: every early return closes it.
    std::unique_ptr<SshSession> self(new SshSession(fd, clock, stop, peer));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int connected = ::connect(fd, found->ai_addr, found->ai_addrlen);
    const int connectErrno = errno;
    ::freeaddrinfo(found);
    auto connectError = [&](int err) {
        Error error = makeError(Errc::Transport, "ssh connect " + peer + ": " +
                                                         std::generic_category().message(err));
        error.serviceCode = "connect";
        return error;
    };
    if (connected != 0 && connectErrno != EINPROGRESS)
        return connectError(connectErrno);
    if (connected != 0) {
        if (auto waited = self->waitSocket(deadline, SshPhase::Connect); !waited)
            return waited.error();
        int soError = 0;
        socklen_t size = sizeof soError;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size) != 0)
            return connectError(errno);
        if (soError != 0)
            return connectError(soError);
    }

    self->session_ = libssh2_session_init();
    if (self->session_ == nullptr)
        return makeError(Errc::Internal, "ssh connect " + peer + ": libssh2_session_init failed");
    libssh2_session_set_blocking(self->session_, 0);
    if (!policy.algorithms.empty()) {
        const int rc = libssh2_session_method_pref(self->session_, LIBSSH2_METHOD_HOSTKEY,
                                                   policy.algorithms.c_str());
        if (rc != 0) {
            return self->failure(SshPhase::Handshake, "host key algorithms " + policy.algorithms,
                                 rc);
        }
    }
    for (;;) {
        const int rc = libssh2_session_handshake(self->session_, fd);
        if (rc == 0)
            break;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return self->failure(SshPhase::Handshake, "handshake failed", rc);
        if (auto waited = self->waitSocket(deadline, SshPhase::Handshake); !waited)
            return waited.error();
    }

    std::size_t length = 0;
    int type = 0;
    const char* blob = libssh2_session_hostkey(self->session_, &length, &type);
    if (blob == nullptr || length == 0)
        return self->failure(SshPhase::HostKey, "no host key", LIBSSH2_ERROR_HOSTKEY_INIT);
    self->hostKey_ = publicKeyLineOf({blob, length});
    if (!policy.expected.empty() && canonicalPublicKey(policy.expected) != self->hostKey_) {
        Error error = makeError(Errc::HostKey, "host key mismatch for " + peer + ": expected " +
                                                       fingerprintOf(policy.expected) + ", got " +
                                                       fingerprintOf(self->hostKey_));
        error.serviceCode = "host_key";
        return error;
    }
    return self;
}

Result<void> SshSession::authenticate(const std::string& user, const std::string& privateKey,
                                      SteadyTime deadline) {
    for (;;) {
        const int rc = libssh2_userauth_publickey_frommemory(session_, user.c_str(), user.size(),
                                                             nullptr, 0, privateKey.c_str(),
                                                             privateKey.size(), nullptr);
        if (rc == 0)
            return {};
        if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
            Error error = failure(SshPhase::Auth, "public key refused for user " + user, rc);
            error.code = Errc::Unauthorized;
            return error;
        }
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return failure(SshPhase::Auth, "public key authentication for user " + user, rc);
        if (auto waited = waitSocket(deadline, SshPhase::Auth); !waited)
            return waited.error();
    }
}

Result<ExecResult> SshSession::exec(const std::string& command, std::string_view input,
                                    SteadyTime deadline) {
    LIBSSH2_CHANNEL* raw = nullptr;
    for (;;) {
        raw = libssh2_channel_open_session(session_);
        if (raw != nullptr)
            break;
        const int rc = libssh2_session_last_errno(session_);
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return failure(SshPhase::Exec, "cannot open a channel", rc);
        if (auto waited = waitSocket(deadline, SshPhase::Exec); !waited)
            return waited.error();
    }
    const ChannelGuard channel(raw, fd_);
    LIBSSH2_CHANNEL* const ch = channel.get();

    for (;;) {
        const int rc = libssh2_channel_process_startup(ch, "exec", 4, command.c_str(),
                                                       static_cast<unsigned>(command.size()));
        if (rc == 0)
            break;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return failure(SshPhase::Exec, "exec refused", rc);
        if (auto waited = waitSocket(deadline, SshPhase::Exec); !waited)
            return waited.error();
    }

    ExecResult result;
    std::size_t written = 0;
    bool eofSent = false;
    std::array<char, 16384> buffer{};
    auto append = [](std::string& to, const char* data, std::size_t size) {
        if (to.size() < kMaxOutput)
            to.append(data, std::min(size, kMaxOutput - to.size()));
    };
    for (;;) {
        bool progress = false;
        if (written < input.size()) {
            const auto n =
                    libssh2_channel_write(ch, input.data() + written, input.size() - written);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
                progress = true;
            } else if (n != LIBSSH2_ERROR_EAGAIN) {
                if (libssh2_channel_eof(ch) != 1)
                    return failure(SshPhase::Exec, "writing stdin", static_cast<int>(n));
                written = input.size(); // The command exited without reading it all.
                eofSent = true;
            }
        } else if (!eofSent) {
            const int rc = libssh2_channel_send_eof(ch);
            if (rc == 0) {
                eofSent = true;
                progress = true;
            } else if (rc != LIBSSH2_ERROR_EAGAIN) {
                if (libssh2_channel_eof(ch) != 1)
                    return failure(SshPhase::Exec, "closing stdin", rc);
                eofSent = true;
            }
        }
        for (const int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
            const auto n = libssh2_channel_read_ex(ch, stream, buffer.data(), buffer.size());
            if (n > 0) {
                append(stream == 0 ? result.out : result.err, buffer.data(),
                       static_cast<std::size_t>(n));
                progress = true;
            } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
                return failure(SshPhase::Read, "reading output", static_cast<int>(n));
            }
        }
        if (progress)
            continue;
        if (libssh2_channel_eof(ch) == 1)
            break;
        if (auto waited = waitSocket(deadline, SshPhase::Read); !waited)
            return waited.error();
    }

    for (;;) {
        const int rc = libssh2_channel_close(ch);
        if (rc == 0)
            break;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return failure(SshPhase::Read, "closing the channel", rc);
        if (auto waited = waitSocket(deadline, SshPhase::Read); !waited)
            return waited.error();
    }
    for (;;) {
        const int rc = libssh2_channel_wait_closed(ch);
        if (rc == 0)
            break;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return failure(SshPhase::Read, "waiting for the channel to close", rc);
        if (auto waited = waitSocket(deadline, SshPhase::Read); !waited)
            return waited.error();
    }
    result.exitStatus = libssh2_channel_get_exit_status(ch);
    char* signal = nullptr;
    std::size_t signalLength = 0;
    if (libssh2_channel_get_exit_signal(ch, &signal, &signalLength, nullptr, nullptr, nullptr,
                                        nullptr) == 0 &&
        signal != nullptr) {
        result.exitSignal.assign(signal, signalLength);
        libssh2_free(session_, signal);
    }
    return result;
}

} // namespace autoscale::detail
