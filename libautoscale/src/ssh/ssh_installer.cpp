// SPDX-License-Identifier: Apache-2.0
/// \file
/// The SSH Installer: one libssh2 session per call, the host key checked
/// before anything is sent, the runner's env file through stdin, and the
/// agent container (re)created only when its configuration changed.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <autoscale/installer.h>
#include <autoscale/ssh.h>

#include "agent_commands.h"
#include "ssh_session.h"

namespace autoscale {

namespace {

using namespace std::chrono_literals;
using detail::SshSession;

class SshInstaller final : public Installer {
public:
    SshInstaller(SshInstallerOptions options, const Clock& clock, Logger logger)
        : options_(std::move(options))
        , clock_(clock)
        , logger_(std::move(logger)) {}

    Result<void> install(Server& server, const std::stop_token& stop) override;
    Result<void> ping(const Server& server) override;
    Result<void> drain(const Server& server) override;

private:
    Result<std::unique_ptr<SshSession>> open(Server& server, SteadyTime deadline,
                                             const std::stop_token& stop, bool mayLearnKey);
    Result<detail::ExecResult> run(SshSession& session, const Server& server,
                                   const std::string& command, std::string_view input = {});
    Result<void> installOnce(Server& server, SteadyTime deadline, const std::stop_token& stop);
    Result<void> attempt(SshSession& session, const Server& server, SteadyTime deadline,
                         const std::stop_token& stop);

    SshInstallerOptions options_;
    const Clock& clock_;
    Logger logger_;
};

/// libssh2 host-key algorithms that can verify a key of this type.
std::string algorithmsFor(const std::string& publicKey) {
    std::string type = publicKey.substr(0, publicKey.find(' '));
    if (type == "ssh-rsa")
        return "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
    return type;
}

Error commandError(const Server& server, std::string_view what, const detail::ExecResult& result) {
    std::string detail = result.err.empty() ? result.out : result.err;
    if (detail.size() > 300)
        detail = detail.substr(detail.size() - 300);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r'))
        detail.pop_back();
    Error error =
            makeError(Errc::Unavailable,
                      std::string(what) + " failed on " + server.name + " (exit status " +
                              std::to_string(result.exitStatus) +
                              (result.exitSignal.empty() ? "" : ", signal " + result.exitSignal) +
                              "): " + detail);
    error.serviceCode = "command";
    return error;
}

/// Splits "host", "v4:port" or "[v6]:port"; the port defaults to DRONE_SSH_PORT.
std::pair<std::string, int> endpointOf(const std::string& address, int defaultPort) {
    if (address.starts_with('[')) {
        const auto close = address.find(']');
        if (close != std::string::npos && close + 1 < address.size() && address[close + 1] == ':')
            return {address.substr(1, close - 1), std::atoi(address.c_str() + close + 2)};
        return {address.substr(1, close == std::string::npos ? std::string::npos : close - 1),
                defaultPort};
    }
    const auto colon = address.find(':');
    if (colon != std::string::npos && address.find(':', colon + 1) == std::string::npos)
        return {address.substr(0, colon), std::atoi(address.c_str() + colon + 1)};
    return {address, defaultPort};
}

bool retryDuringInstall(const Error& error) {
    return error.code == Errc::Transport || error.code == Errc::Timeout ||
           error.code == Errc::Unauthorized;
}

} // namespace

Result<std::unique_ptr<Installer>> makeSshInstaller(SshInstallerOptions options, const Clock& clock,
                                                    Logger logger) {
    if (options.clientPrivateKey.empty())
        return makeError(Errc::InvalidArgument, "ssh installer: no client private key");
    if (options.ssh.user.empty())
        return makeError(Errc::InvalidArgument, "ssh installer: DRONE_SSH_USER is empty");
    if (options.ssh.port <= 0 || options.ssh.port > 65535) {
        return makeError(Errc::InvalidArgument,
                         "ssh installer: bad DRONE_SSH_PORT " + std::to_string(options.ssh.port));
    }
    if (options.agent.image.empty())
        return makeError(Errc::InvalidArgument, "ssh installer: DRONE_AGENT_IMAGE is empty");
    if (options.checkInterval <= 0ms || options.connectTimeout <= 0ms ||
        options.commandTimeout <= 0ms || options.pingTimeout <= 0ms)
        return makeError(Errc::InvalidArgument, "ssh installer: intervals must be positive");
    if (auto key = publicKeyOf(options.clientPrivateKey); !key) {
        return makeError(Errc::InvalidArgument,
                         "ssh installer: client key: " + key.error().message);
    }
    return std::unique_ptr<Installer>(
            std::make_unique<SshInstaller>(std::move(options), clock, std::move(logger)));
}

Result<std::unique_ptr<SshSession>> SshInstaller::open(Server& server, SteadyTime deadline,
                                                       const std::stop_token& stop,
                                                       bool mayLearnKey) {
    detail::HostKeyPolicy policy;
    if (options_.ssh.hostKeyCheck == HostKeyCheck::Pinned && server.hostKey.empty()) {
        return makeError(Errc::HostKey,
                         "host key check is pinned but no host key is stored for " + server.name);
    }
    if (server.hostKey.empty() && !mayLearnKey)
        return makeError(Errc::HostKey, "no host key is stored for " + server.name);
    if (!server.hostKey.empty()) {
        policy.expected = server.hostKey;
        policy.algorithms = algorithmsFor(server.hostKey);
    }
    const SteadyTime connectDeadline =
            std::min(deadline, clock_.steadyNow() + options_.connectTimeout);
    const auto [host, port] = endpointOf(server.address, options_.ssh.port);
    auto session = SshSession::connect(host, port, policy, clock_, connectDeadline, stop);
    if (!session)
        return session.error();
    if (server.hostKey.empty()) {
        server.hostKey = (*session)->hostKey();
        logger_.info("host key learned (tofu)",
                     {{"server", server.name}, {"fingerprint", fingerprintOf(server.hostKey)}});
    }
    if (auto auth = (*session)->authenticate(options_.ssh.user, options_.clientPrivateKey,
                                             connectDeadline);
        !auth)
        return auth.error();
    return session;
}

Result<detail::ExecResult> SshInstaller::run(SshSession& session, const Server& server,
                                             const std::string& command, std::string_view input) {
    logger_.debug("ssh exec", {{"server", server.name}, {"command", command}});
    return session.exec(command, input, clock_.steadyNow() + options_.commandTimeout);
}

Result<void> SshInstaller::install(Server& server, const std::stop_token& stop) {
    const SteadyTime deadline = clock_.steadyNow() + options_.checkDeadline;
    int attempt = 0;
    std::optional<Error> refused;
    for (;;) {
        ++attempt;
        auto outcome = installOnce(server, deadline, stop);
        if (outcome) {
            logger_.info("runner installed",
                         {{"server", server.name}, {"attempts", std::to_string(attempt)}});
            return {};
        }
        Error error = outcome.error();
        if (!retryDuringInstall(error))
            return error;
        // A refused key says more than a later attempt cut short before or
        // during authentication (the deadline passing mid-handshake, say); an
        // attempt that got further clears it.
        const bool beforeAuth = error.serviceCode == "connect" ||
                                error.serviceCode == "handshake" ||
                                error.serviceCode == "host_key" ||
                                (error.serviceCode == "auth" && error.code != Errc::Unauthorized);
        if (error.code == Errc::Unauthorized) {
            refused = error;
        } else if (refused && beforeAuth) {
            error = *refused;
        } else {
            refused.reset();
        }
        if (stop.stop_requested())
            return makeError(Errc::Timeout, "install of " + server.name + " cancelled");
        if (clock_.steadyNow() + options_.checkInterval >= deadline) {
            if (error.code != Errc::Unauthorized)
                error.code = Errc::Timeout;
            error.message = "install check deadline passed for " + server.name + " after " +
                            std::to_string(attempt) + " attempts: " + error.message;
            return error;
        }
        logger_.debug("server not reachable yet", {{"server", server.name},
                                                   {"attempt", std::to_string(attempt)},
                                                   {"error", error.message}});
        if (!clock_.sleepFor(options_.checkInterval, stop))
            return makeError(Errc::Timeout, "install of " + server.name + " cancelled");
    }
}

Result<void> SshInstaller::installOnce(Server& server, SteadyTime deadline,
                                       const std::stop_token& stop) {
    auto session = open(server, deadline, stop, options_.ssh.hostKeyCheck == HostKeyCheck::Tofu);
    if (!session)
        return session.error();
    return attempt(**session, server, deadline, stop);
}

Result<void> SshInstaller::attempt(SshSession& session, const Server& server, SteadyTime deadline,
                                   const std::stop_token& stop) {
    auto envFile = detail::renderEnvFile(options_, server);
    if (!envFile)
        return envFile.error();
    const std::string wantedHash = detail::agentConfigHash(options_, server);
    bool envChanged = false;
    for (;;) {
        // The env file, RPC secret included, travels on stdin only.
        auto ran = run(session, server, detail::installCommand(options_, server, envChanged),
                       *envFile);
        if (!ran)
            return ran.error();
        switch (ran->exitStatus) {
        case 0:
            break;
        case detail::kEnvFileFailed:
            return commandError(server, "writing the runner env file", *ran);
        case detail::kPullFailed:
            return commandError(server, "docker pull " + options_.agent.image, *ran);
        case detail::kRunFailed:
            return commandError(server, "docker run", *ran);
        default:
            return commandError(server, "the install script", *ran);
        }
        const auto state = detail::parsePrepare(ran->out);
        envChanged = envChanged || state.envChanged;
        if (state.cloudInit == detail::BootState::Failed)
            return commandError(server, "cloud-init", *ran);
        const bool cloudInitDone = state.cloudInit == detail::BootState::Done;
        if (cloudInitDone && state.dockerUp) {
            if (!state.agent.running || state.agent.configHash != wantedHash)
                return commandError(server, "starting the agent container", *ran);
            if (!state.started)
                logger_.info("runner already running", {{"server", server.name}});
            return {};
        }
        if (clock_.steadyNow() + options_.checkInterval >= deadline) {
            Error error = makeError(Errc::Timeout,
                                    "install check deadline passed for " + server.name + ": " +
                                            (cloudInitDone ? "docker does not answer"
                                                           : "cloud-init is still running"));
            error.serviceCode = "boot";
            return error;
        }
        logger_.debug("waiting for boot", {{"server", server.name},
                                           {"cloud_init_done", cloudInitDone ? "true" : "false"}});
        if (!clock_.sleepFor(options_.checkInterval, stop))
            return makeError(Errc::Timeout, "install of " + server.name + " cancelled");
    }
}

Result<void> SshInstaller::ping(const Server& server) {
    const SteadyTime deadline = clock_.steadyNow() + options_.pingTimeout;
    Server copy = server;
    auto session = open(copy, deadline, std::stop_token{}, false);
    if (!session)
        return session.error();
    auto inspected = (*session)->exec(detail::inspectCommand(), {}, deadline);
    if (!inspected)
        return inspected.error();
    const auto state = detail::parseInspect(inspected->out, inspected->exitStatus);
    if (!state.exists)
        return makeError(Errc::NotFound, "no agent container on " + server.name);
    if (!state.running)
        return makeError(Errc::NotFound, "the agent container is not running on " + server.name);
    return {};
}

Result<void> SshInstaller::drain(const Server& server) {
    const SteadyTime deadline = clock_.steadyNow() + options_.pingTimeout;
    Server copy = server;
    auto session = open(copy, deadline, std::stop_token{}, false);
    if (!session)
        return session.error();
    auto drained = (*session)->exec(detail::drainCommand(options_), {}, deadline);
    if (!drained)
        return drained.error();
    if (drained->exitStatus != 0)
        return commandError(server, "docker stop", *drained);
    logger_.info(
            "runner draining",
            {{"server", server.name},
             {"state", drained->out.find("absent") != std::string::npos ? "absent" : "stopping"}});
    return {};
}

} // namespace autoscale
