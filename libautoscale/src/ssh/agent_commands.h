// SPDX-License-Identifier: Apache-2.0
/// \file
/// The shell commands the SSH installer runs on a server, as pure functions
/// of the options and the server, so that unit tests can read them. No
/// command line ever carries a secret: the runner's environment, RPC secret
/// included, travels as the stdin of kWriteEnvFileCommand.

#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/installer.h>
#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale::detail {

/// The runner container's name, as drone/autoscaler calls it.
inline constexpr std::string_view kAgentContainer = "agent";
/// Where the env file lives, relative to the SSH user's home directory.
inline constexpr std::string_view kEnvFilePath = ".drone-runner/agent.env";
/// The label holding the hash of the `docker run` arguments.
inline constexpr std::string_view kConfigLabel = "io.autoscale.config";

/// Single-quotes `word` for a POSIX shell.
std::string shellQuote(std::string_view word);

/// Joins words with spaces, quoting each one that needs it.
std::string shellJoin(const std::vector<std::string>& words);

/// The runner's env file (KEY=VALUE lines): DRONE_AGENT_ENV_FILE's lines,
/// DRONE_AGENT_ENVIRON, then ours (DRONE_RPC_*, DRONE_RUNNER_*, DRONE_PLATFORM_*), a later key
/// replacing an earlier one. Errc::InvalidArgument naming the key of a value
/// with a newline. Holds the RPC secret.
Result<std::string> renderEnvFile(const SshInstallerOptions& options, const Server& server);

/// `docker run` and its options for the agent container, without the
/// config label and the image (see agentConfigHash).
std::vector<std::string> dockerRunArguments(const SshInstallerOptions& options,
                                            const Server& server);

/// A short hex digest of the arguments: equal arguments, equal hash.
std::string configHash(const std::vector<std::string>& arguments);

/// The hash the agent container carries in kConfigLabel: of the
/// `docker run` arguments and the image.
std::string agentConfigHash(const SshInstallerOptions& options, const Server& server);

/// The full `docker run` command line, config label included.
std::string dockerRunCommand(const SshInstallerOptions& options, const Server& server);

/// One install attempt in one round trip. Prints `cloud-init status`,
/// "cloud-init-exit=N" and "docker-exit=N" (of `docker info`); writes stdin
/// to the env file with mode 0600 (atomically, through a temporary file) and
/// prints "env=changed" or "env=unchanged" (exit kEnvFileFailed when it
/// cannot); prints "agent=" and the container's state line (see
/// inspectCommand) or "agent=absent". Stops there (exit 0) while cloud-init
/// runs or Docker does not answer, and when the container runs with the
/// wanted configuration and the env file did not change (unless
/// `forceStart`). Otherwise pulls the image (exit kPullFailed), replaces the
/// container (exit kRunFailed) and prints "started=" and its state line.
/// Writing the env file before boot has finished is harmless: the next
/// attempt rewrites it, unchanged.
std::string installCommand(const SshInstallerOptions& options, const Server& server,
                           bool forceStart);

/// Prints "<running> <config hash>" of the agent container; fails when there is none.
std::string inspectCommand();

/// Clears the restart policy and starts `docker stop --time <grace>` in the
/// background; prints "absent" when there is no container.
std::string drainCommand(const SshInstallerOptions& options);

/// Exit statuses of installCommand's failing steps.
inline constexpr int kEnvFileFailed = 90;
inline constexpr int kPullFailed = 91;
inline constexpr int kRunFailed = 92;

/// What `cloud-init status` said.
enum class BootState { Running, Done, Failed };

/// Reads `cloud-init status` output and exit status; a missing cloud-init
/// (exit 127) counts as done.
BootState parseCloudInitStatus(std::string_view output, int exitStatus);

/// The agent container as `inspectCommand` reports it.
struct AgentState {
    bool exists = false;
    bool running = false;
    std::string configHash{};
};

/// Parses the output and exit status of inspectCommand.
AgentState parseInspect(std::string_view output, int exitStatus);

/// What installCommand reported.
struct Prepared {
    BootState cloudInit = BootState::Running;
    bool dockerUp = false;
    bool envChanged = false;
    bool started = false; ///< The container was (re)started; `agent` is its new state.
    AgentState agent{};
};

/// Parses installCommand's output.
Prepared parsePrepare(std::string_view output);

} // namespace autoscale::detail
