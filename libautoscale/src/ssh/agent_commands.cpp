// SPDX-License-Identifier: Apache-2.0
/// \file
/// The installer's remote commands (see agent_commands.h).

#include "agent_commands.h"

#include <array>
#include <cstdlib>
#include <map>
#include <sstream>

#include <openssl/evp.h>

namespace autoscale::detail {

namespace {

constexpr std::string_view kSafeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./:=@,+%";

std::string agentName() {
    return std::string(kAgentContainer);
}

} // namespace

std::string shellQuote(std::string_view word) {
    if (!word.empty() && word.find_first_not_of(kSafeChars) == std::string_view::npos)
        return std::string(word);
    std::string quoted = "'";
    for (const char c : word) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    quoted += '\'';
    return quoted;
}

std::string shellJoin(const std::vector<std::string>& words) {
    std::string line;
    for (const auto& word : words) {
        if (!line.empty())
            line += ' ';
        line += shellQuote(word);
    }
    return line;
}

Result<std::string> renderEnvFile(const SshInstallerOptions& options, const Server& server) {
    std::vector<std::pair<std::string, std::string>> entries;
    auto set = [&entries](const std::string& key, const std::string& value) {
        std::erase_if(entries, [&key](const auto& entry) { return entry.first == key; });
        entries.emplace_back(key, value);
    };
    auto setLine = [&set](const std::string& line) {
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0)
            return; // A bare KEY means "from our environment"; config resolved it or it is unset.
        set(line.substr(0, eq), line.substr(eq + 1));
    };
    for (const auto& line : options.envFileLines)
        setLine(line);
    for (const auto& line : options.agent.environ)
        setLine(line);
    set("DRONE_RPC_PROTO", options.rpcProto);
    set("DRONE_RPC_HOST", options.rpcHost);
    set("DRONE_RPC_SERVER", options.rpcProto + "://" + options.rpcHost);
    set("DRONE_RPC_SECRET", options.agent.token);
    set("DRONE_RUNNER_CAPACITY",
        std::to_string(server.capacity > 0 ? server.capacity : options.concurrency));
    set("DRONE_RUNNER_NAME", server.name);
    if (!options.labels.empty()) {
        std::string labels;
        for (const auto& [key, value] : options.labels) {
            if (!labels.empty())
                labels += ',';
            labels.append(key).append(":").append(value);
        }
        set("DRONE_RUNNER_LABELS", labels);
    }
    // drone-runner-docker advertises these to Drone (linux/amd64 when unset);
    // a stage that sets a variant or kernel goes only to a runner with the same.
    set("DRONE_PLATFORM_OS", options.os);
    set("DRONE_PLATFORM_ARCH", options.arch);
    if (!options.variant.empty())
        set("DRONE_PLATFORM_VARIANT", options.variant);
    if (!options.kernel.empty())
        set("DRONE_PLATFORM_KERNEL", options.kernel);
    const std::array<std::pair<const char*, const std::string*>, 4> passThrough{{
            {"DRONE_RUNNER_VOLUMES", &options.agent.runnerVolumes},
            {"DRONE_RUNNER_DEVICES", &options.agent.runnerDevices},
            {"DRONE_RUNNER_PRIVILEGED_IMAGES", &options.agent.runnerPrivileged},
            {"DRONE_RUNNER_ENV_FILE", &options.agent.runnerEnvFile},
    }};
    for (const auto& [key, value] : passThrough) {
        if (!value->empty())
            set(key, *value);
    }
    std::string text;
    for (const auto& [key, value] : entries) {
        if (key.find_first_of("\n\r\0 ", 0, 4) != std::string::npos)
            return makeError(Errc::InvalidArgument, "runner environment: bad variable name " + key);
        if (value.find_first_of("\n\r\0", 0, 3) != std::string::npos) {
            return makeError(Errc::InvalidArgument,
                             "runner environment: the value of " + key + " has a line break");
        }
        text.append(key).append("=").append(value).append("\n");
    }
    return text;
}

std::vector<std::string> dockerRunArguments(const SshInstallerOptions& options,
                                            const Server& server) {
    std::vector<std::string> args{
            "docker", "run",       "--detach",
            "--name", agentName(), "--restart",
            "always", "--volume",  "/var/run/docker.sock:/var/run/docker.sock"};
    for (const auto& volume : options.agent.volumes) {
        args.emplace_back("--volume");
        args.push_back(volume);
    }
    for (const auto& port : options.agent.publishedPorts) {
        args.emplace_back("--publish");
        args.push_back(port);
    }
    args.emplace_back("--env-file");
    args.emplace_back(kEnvFilePath);
    const int capacity = server.capacity > 0 ? server.capacity : options.concurrency;
    const std::array<std::pair<const char*, std::string>, 5> labels{{
            {"io.drone.agent.name", server.name},
            {"io.drone.agent.zone", server.region},
            {"io.drone.agent.size", server.size},
            {"io.drone.agent.instance", server.instanceId},
            {"io.drone.agent.capacity", std::to_string(capacity)},
    }};
    for (const auto& [key, value] : labels) {
        args.emplace_back("--label");
        args.push_back(std::string(key) + "=" + value);
    }
    return args;
}

std::string configHash(const std::vector<std::string>& arguments) {
    std::string joined;
    for (const auto& arg : arguments) {
        joined += arg;
        joined += '\0';
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(joined.data(), joined.size(), digest.data(), &size, EVP_sha256(), nullptr);
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < 8 && i < size; ++i) {
        hex += kHex[digest[i] >> 4U];
        hex += kHex[digest[i] & 15U];
    }
    return hex;
}

std::string agentConfigHash(const SshInstallerOptions& options, const Server& server) {
    auto args = dockerRunArguments(options, server);
    args.push_back(options.agent.image);
    return configHash(args);
}

std::string dockerRunCommand(const SshInstallerOptions& options, const Server& server) {
    auto args = dockerRunArguments(options, server);
    const std::string hash = agentConfigHash(options, server);
    args.emplace_back("--label");
    args.push_back(std::string(kConfigLabel) + "=" + hash);
    args.push_back(options.agent.image);
    return shellJoin(args);
}

std::string installCommand(const SshInstallerOptions& options, const Server& server,
                           bool forceStart) {
    const std::string file(kEnvFilePath);
    const std::string next = file + ".new";
    const std::string wanted = "true " + agentConfigHash(options, server);
    std::string script;
    // 1. Boot state, reported for the installer's wait loop.
    script += "ci=$(cloud-init status </dev/null 2>&1); cie=$?; printf '%s\\n' \"$ci\"; "
              "echo \"cloud-init-exit=$cie\"; "
              "docker info --format '{{.ServerVersion}}' </dev/null >/dev/null 2>&1; de=$?; "
              "echo \"docker-exit=$de\"; ";
    // 2. The env file from stdin, mode 0600, replaced atomically when it changed.
    script += "{ umask 077 && mkdir -p .drone-runner && cat > " + next + " && chmod 600 " + next +
              " && if cmp -s " + next + " " + file + "; then rm -f " + next +
              " && envstate=unchanged; else mv -f " + next + " " + file +
              " && envstate=changed; fi; } || { echo env=failed; exit " +
              std::to_string(kEnvFileFailed) + "; }; echo \"env=$envstate\"; ";
    // 3. The container as it is.
    script += "agent=$(" + inspectCommand() +
              " 2>/dev/null) || agent=absent; echo \"agent=$agent\"; ";
    // 4. Not booted yet: stop here; the installer probes again.
    script += "case \"$ci\" in *'status: done'*|*'status: disabled'*) ;; "
              "*) [ \"$cie\" = 127 ] || exit 0 ;; esac; [ \"$de\" = 0 ] || exit 0; ";
    // 5. Up to date: nothing to do.
    if (!forceStart) {
        script += "[ \"$agent\" = " + shellQuote(wanted) +
                  " ] && [ \"$envstate\" = unchanged ] && exit 0; ";
    }
    // 6. (Re)start it.
    script += shellJoin({"docker", "pull", "--quiet", options.agent.image}) +
              " >/dev/null || exit " + std::to_string(kPullFailed) + "; docker rm --force " +
              agentName() + " >/dev/null 2>&1; " + dockerRunCommand(options, server) +
              " >/dev/null || exit " + std::to_string(kRunFailed) + "; printf started=; " +
              inspectCommand();
    return script;
}

std::string inspectCommand() {
    return "docker inspect --format '{{.State.Running}} {{index .Config.Labels \"" +
           std::string(kConfigLabel) + "\"}}' " + agentName();
}

std::string drainCommand(const SshInstallerOptions& options) {
    const auto grace = std::chrono::duration_cast<std::chrono::seconds>(options.drainGrace);
    return "if docker inspect " + agentName() +
           " >/dev/null 2>&1; then docker update --restart no " + agentName() +
           " >/dev/null && { nohup docker stop --time " + std::to_string(grace.count()) + " " +
           agentName() + " </dev/null >/dev/null 2>&1 & } && echo stopping; else echo absent; fi";
}

BootState parseCloudInitStatus(std::string_view output, int exitStatus) {
    if (exitStatus == 127)
        return BootState::Done;
    if (output.find("status: done") != std::string_view::npos ||
        output.find("status: disabled") != std::string_view::npos)
        return BootState::Done;
    if (output.find("status: error") != std::string_view::npos)
        return BootState::Failed;
    return BootState::Running;
}

Prepared parsePrepare(std::string_view output) {
    Prepared prepared;
    int cloudInitExit = -1;
    std::string_view status;
    bool statusDone = false;
    std::size_t pos = 0;
    while (pos < output.size()) {
        auto end = output.find('\n', pos);
        if (end == std::string_view::npos)
            end = output.size();
        const auto line = output.substr(pos, end - pos);
        if (line.starts_with("cloud-init-exit=")) {
            cloudInitExit = std::atoi(std::string(line.substr(16)).c_str());
            status = output.substr(0, pos);
            statusDone = true;
        } else if (statusDone && line.starts_with("docker-exit=")) {
            prepared.dockerUp = line.substr(12) == "0";
        } else if (statusDone && line.starts_with("env=")) {
            prepared.envChanged = line != "env=unchanged";
        } else if (statusDone && line.starts_with("agent=")) {
            prepared.agent = parseInspect(line.substr(6), 0);
        } else if (statusDone && line.starts_with("started=")) {
            prepared.started = true;
            prepared.agent = parseInspect(line.substr(8), 0);
        }
        pos = end + 1;
    }
    prepared.cloudInit = parseCloudInitStatus(status, cloudInitExit);
    return prepared;
}

AgentState parseInspect(std::string_view output, int exitStatus) {
    AgentState state;
    if (exitStatus != 0 || output.starts_with("absent"))
        return state;
    state.exists = true;
    std::istringstream in{std::string(output)};
    std::string running;
    in >> running >> state.configHash;
    state.running = running == "true";
    return state;
}

} // namespace autoscale::detail
