// SPDX-License-Identifier: Apache-2.0
/// \file
/// Putting the Drone runner on a server and taking it off again (SPEC §7):
/// the Installer seam the engine uses, its SSH implementation and the
/// cloud-init user data that prepares an instance for it.

#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/log.h>
#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale {

/// How the runner container is started on each server (DRONE_AGENT_*,
/// DRONE_RUNNER_*; SPEC §7).
struct AgentSettings {
    std::string token{}; ///< DRONE_RPC_SECRET. Secret.
    std::string image = "drone/drone-runner-docker:1";
    std::vector<std::string> environ{}; ///< K=V, with bare K resolved from our environment.
    std::string envFile{};
    std::vector<std::string> volumes{};
    std::vector<std::string> publishedPorts{};
    std::string namePrefix = "agent-";
    // drone/autoscaler's DRONE_RUNNER_* pass-through settings.
    std::string runnerVolumes{};
    std::string runnerDevices{};
    std::string runnerPrivileged{};
    std::string runnerEnvFile{};

    friend bool operator==(const AgentSettings&, const AgentSettings&) = default;
};

/// DRONE_SSH_HOST_KEY_CHECK: which host key a server must present.
enum class HostKeyCheck {
    Pinned, ///< The one we generated and injected through cloud-init.
    Tofu,   ///< The first one seen, stored and required afterwards.
};

/// How the autoscaler logs in to its instances (DRONE_SSH_*).
struct SshSettings {
    std::string user = "root";
    int port = 22;
    std::string privateKeyFile{};
    HostKeyCheck hostKeyCheck = HostKeyCheck::Pinned;

    friend bool operator==(const SshSettings&, const SshSettings&) = default;
};

/// Installs, checks and drains the runner container ("agent") of one server.
///
/// Implementations are thread-safe: the engine's workers call them
/// concurrently for different servers. Every call is bounded in time.
/// A server is reached at `Server::address`: an IP address, optionally with
/// a port ("10.0.0.5:2222", "[fd00::5]:2222"; DRONE_SSH_PORT otherwise).
class Installer {
public:
    virtual ~Installer(); // Defined in installer.cpp: anchors the vtable.

    /// Waits until the server answers (SSH, boot finished, Docker up), then
    /// starts the runner; idempotent: a second call leaves one container.
    /// May set `server.hostKey` (tofu mode, first connection); the caller
    /// stores it. Errors: Errc::HostKey when the server presents another key
    /// than the one required (nothing was sent to it); Errc::Timeout when the
    /// check deadline passed or `stop` was requested; Errc::Unauthorized when
    /// our key was refused until the deadline; Errc::Unavailable when a
    /// command on the server failed (cloud-init error, pull or run failed).
    [[nodiscard]] virtual Result<void> install(Server& server, const std::stop_token& stop) = 0;

    /// Succeeds when the runner container is running. Errc::NotFound when it
    /// is not (stopped or absent); transport errors as for install.
    [[nodiscard]] virtual Result<void> ping(const Server& server) = 0;

    /// Tells the runner to take no new stage: its restart policy is cleared
    /// and `docker stop --time <grace>` is started on the server in the
    /// background (SIGTERM now, SIGKILL after the grace period). Returns once
    /// the stop was started; ping() fails with Errc::NotFound once the
    /// container has exited. Whether a stage still names the server is the
    /// engine's question (drone's queue), not this one's.
    [[nodiscard]] virtual Result<void> drain(const Server& server) = 0;

    Installer(const Installer&) = delete;
    Installer& operator=(const Installer&) = delete;

protected:
    Installer() = default;
};

/// Everything the SSH installer needs (installerOptionsFrom() in wiring.h
/// builds it from a Config), plus the client key.
struct SshInstallerOptions {
    SshSettings ssh{};
    /// Our private key (OpenSSH or PEM text). Secret.
    std::string clientPrivateKey{};
    AgentSettings agent{};
    std::string rpcProto = "https";              ///< DRONE_SERVER_PROTO, as DRONE_RPC_PROTO.
    std::string rpcHost{};                       ///< DRONE_SERVER_HOST, as DRONE_RPC_HOST.
    std::map<std::string, std::string> labels{}; ///< DRONE_AGENT_LABELS.
    int concurrency = 2;                         ///< Used when Server::capacity is 0.
    /// The pool's platform (DRONE_AGENT_OS, _ARCH, _VERSION, _KERNEL), told to
    /// the runner as DRONE_PLATFORM_*; variant and kernel only when set.
    std::string os = "linux";
    std::string arch = "amd64";
    std::string variant{};
    std::string kernel{};
    /// KEY=VALUE lines of DRONE_AGENT_ENV_FILE, already read by the caller.
    std::vector<std::string> envFileLines{};
    std::chrono::milliseconds checkInterval{2000};   ///< DRONE_INSTALL_CHECK_INTERVAL.
    std::chrono::milliseconds checkDeadline{600000}; ///< DRONE_INSTALL_CHECK_DEADLINE.
    /// Bound of one connection attempt (TCP, handshake, host key, auth).
    std::chrono::milliseconds connectTimeout{15000};
    /// Bound of one command, `docker pull` included.
    std::chrono::milliseconds commandTimeout{600000};
    /// Bound of a whole ping() or drain() call.
    std::chrono::milliseconds pingTimeout{30000};
    /// Grace period of `docker stop` in drain() (DRONE_TIMEOUT_STOP).
    std::chrono::milliseconds drainGrace{3600000};
};

/// Reads a dotenv file into KEY=VALUE lines (comments and blank lines
/// dropped, `export ` and matching quotes removed). Errc::Io when unreadable,
/// Errc::Parse naming the line when a line is not KEY=VALUE.
Result<std::vector<std::string>> readEnvFile(const std::string& path);

/// The SSH installer. `clock` and `logger`'s sink must outlive it.
/// Errc::InvalidArgument when the options cannot work (no key, bad values).
Result<std::unique_ptr<Installer>> makeSshInstaller(SshInstallerOptions options, const Clock& clock,
                                                    Logger logger);

/// The values a user-data template can use (see docs/userdata.md).
struct UserDataValues {
    std::string name{};           ///< {{ .Name }}: the server name.
    std::string sshUser = "root"; ///< {{ .SshUser }}: DRONE_SSH_USER.
    std::string sshPublicKey{};   ///< {{ .SshPublicKey }}: our client key, one line.
    std::string hostPublicKey{};  ///< {{ .HostPublicKey }}: pinned mode only.
    std::string hostPrivateKey{}; ///< {{ .HostPrivateKey }}: pinned mode only. Secret.
    std::string image{};          ///< {{ .Image }}: DRONE_AGENT_IMAGE.
    std::string pool{};           ///< {{ .Pool }}: the pool's name.
};

/// The built-in cloud-init template (`#cloud-config`): Docker from the
/// distribution's docker.io package (any architecture), our key authorised
/// for the SSH user, the pinned host key installed, nothing else listening.
const std::string& defaultUserDataTemplate();

/// Renders a template: `{{ .Var }}`, `{{ .Var | json }}` (a quoted YAML/JSON
/// scalar), `{{ .Var | indent N }}`, `{{ .Var | base64 }}`, and
/// `{{ if .Var }}...{{ end }}` (true when not empty). Errc::InvalidArgument
/// naming the unknown variable, function or unbalanced block; values that
/// cannot be written safely (a user name with shell characters) are rejected,
/// and so is a result (or one value) over 16 KiB, EC2's limit, as soon as it grows past it.
Result<std::string> renderUserData(const std::string& templateText, const UserDataValues& values);

} // namespace autoscale
