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
/// DRONE_AGENT_ENVIRON, then ours (DRONE_RPC_*, DRONE_RUNNER_*), a later key
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

/// One round trip before the runner starts: prints `cloud-init status`,
/// "cloud-init-exit=N" and "docker-exit=N" (of `docker info`); writes stdin
/// to the env file with mode 0600 (atomically, through a temporary file) and
/// prints "env=changed" or "env=unchanged" ("env=failed" and exit 90 when it
/// cannot); then "agent=" and the container's state line (see
/// inspectCommand) or "agent=absent". Writing the env file before boot has
/// finished is harmless: the file is rewritten, unchanged, on every probe.
std::string prepareCommand();

/// Prints "<running> <config hash>" of the agent container; fails when there is none.
std::string inspectCommand();

/// Pulls the image (exit 90 when that fails), removes any agent container,
/// starts the new one and prints its state line (see inspectCommand).
std::string startCommand(const SshInstallerOptions& options, const Server& server);

/// Clears the restart policy and starts `docker stop --time <grace>` in the
/// background; prints "absent" when there is no container.
std::string drainCommand(const SshInstallerOptions& options);

/// The exit status of prepareCommand and startCommand when their first
/// step fails (the env file, the pull).
inline constexpr int kFirstStepFailed = 90;

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

/// What prepareCommand reported.
struct Prepared {
    BootState cloudInit = BootState::Running;
    bool dockerUp = false;
    bool envChanged = false;
    AgentState agent{};
};

/// Parses prepareCommand's output.
Prepared parsePrepare(std::string_view output);

} // namespace autoscale::detail
