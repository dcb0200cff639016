// SPDX-License-Identifier: Apache-2.0
/// \file
/// Each component's options built from a Config, the files the daemon reads
/// before it starts, and the engine's user-data function.

#include "autoscale/wiring.h"

#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <autoscale/json.h>
#include <autoscale/sqlite_store.h>
#include <autoscale/store.h>

namespace autoscale {

namespace {

/// The whole file, or Errc::Io with the system's reason.
Result<std::string> readWholeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(Errc::Io, path + ": " + std::generic_category().message(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

LogLevel logLevelOf(const Config& config) {
    if (config.logsTrace)
        return LogLevel::Trace;
    if (config.logsDebug)
        return LogLevel::Debug;
    return LogLevel::Info;
}

HttpOptions droneHttpOptions(const Config& config) {
    return HttpOptions{.protocols = config.drone.proto == "http" ? "http" : "https"};
}

Ec2Options ec2OptionsFrom(const Config& config) {
    return Ec2Options{.amazon = config.amazon,
                      .poolName = config.pool.name,
                      .owner = config.drone.host,
                      .retry = RetrySettings{.maxAttempts = config.amazon.retries}};
}

Ec2Options listOnlyEc2OptionsFrom(const Config& config) {
    Ec2Options options = ec2OptionsFrom(config);
    if (options.amazon.image.empty())
        options.amazon.image = kPlaceholderImage;
    return options;
}

SshInstallerOptions installerOptionsFrom(const Config& config, std::string clientPrivateKey) {
    SshInstallerOptions options;
    options.ssh = config.ssh;
    options.clientPrivateKey = std::move(clientPrivateKey);
    options.agent = config.agent;
    options.rpcProto = config.drone.proto;
    options.rpcHost = config.drone.host;
    options.labels = config.pool.labels;
    options.concurrency = config.pool.concurrency;
    options.os = config.pool.os;
    options.arch = config.pool.arch;
    options.variant = config.pool.variant;
    options.kernel = config.pool.kernel;
    options.checkInterval = config.installCheckInterval;
    options.checkDeadline = config.installCheckDeadline;
    options.drainGrace = config.timeoutStop;
    return options;
}

UserDataValues userDataValuesFor(const Server& server, const Config& config,
                                 const std::string& clientPublicKey) {
    UserDataValues values;
    values.name = server.name;
    values.sshUser = config.ssh.user;
    values.sshPublicKey = clientPublicKey;
    if (config.ssh.hostKeyCheck == HostKeyCheck::Pinned) {
        values.hostPublicKey = server.hostKey;
        values.hostPrivateKey = server.hostPrivateKey;
    }
    values.image = config.agent.image;
    values.pool = config.pool.name;
    return values;
}

Result<std::string> userDataTemplateFor(const AmazonSettings& amazon) {
    if (!amazon.userData.empty())
        return amazon.userData;
    if (amazon.userDataFile.empty())
        return defaultUserDataTemplate();
    auto text = readWholeFile(amazon.userDataFile);
    if (!text) {
        return makeError(Errc::Io,
                         "DRONE_AMAZON_USERDATA_FILE: cannot read " + text.error().message);
    }
    return text;
}

Result<InstallFiles> readInstallFiles(const Config& config, const std::string& databasePath) {
    InstallFiles files;
    std::vector<std::string> problems;
    if (auto text = userDataTemplateFor(config.amazon)) {
        files.userDataTemplate = std::move(*text);
    } else {
        problems.push_back(text.error().message);
    }
    if (!config.agent.envFile.empty()) {
        if (auto lines = readEnvFile(config.agent.envFile)) {
            files.envFileLines = std::move(*lines);
        } else {
            problems.push_back("DRONE_AGENT_ENV_FILE: " + lines.error().message);
        }
    }
    if (!config.ssh.privateKeyFile.empty()) {
        if (auto key = loadClientKey(config.ssh.privateKeyFile)) {
            files.clientKey = std::move(*key);
        } else {
            problems.push_back("DRONE_SSH_PRIVATE_KEY_FILE: " + key.error().message);
        }
    }
    if (config.store.driver == "postgres" && config.ssh.privateKeyFile.empty()) {
        problems.emplace_back("DRONE_SSH_PRIVATE_KEY_FILE: required with DRONE_DATABASE_DRIVER="
                              "postgres: every daemon must use the same SSH client key (mount one "
                              "secret file on each); none is generated in this mode");
    }
    if (!problems.empty()) {
        std::string message;
        for (const auto& line : problems)
            message += (message.empty() ? "" : "\n") + line;
        return makeError(Errc::InvalidArgument, std::move(message));
    }
    if (config.ssh.privateKeyFile.empty()) {
        auto key = loadOrCreateClientKey(defaultClientKeyPath(databasePath));
        if (!key)
            return makeError(Errc::Io, "cannot create the SSH client key: " + key.error().message);
        files.clientKey = std::move(*key);
    }
    return files;
}

UserDataFunction userDataFunction(const Config& config, std::string templateText,
                                  std::string clientPublicKey) {
    return [config, templateText = std::move(templateText),
            clientPublicKey = std::move(clientPublicKey)](Server& server) -> Result<std::string> {
        if (config.ssh.hostKeyCheck == HostKeyCheck::Pinned && server.hostPrivateKey.empty()) {
            auto key = generateHostKey();
            if (!key)
                return key.error();
            server.hostKey = key->publicKey;
            server.hostPrivateKey = key->privateKey;
        }
        return renderUserData(templateText, userDataValuesFor(server, config, clientPublicKey));
    };
}

EngineOptions engineOptionsFrom(const Config& config) {
    return EngineOptions{.pool = config.pool,
                         .namePrefix = config.agent.namePrefix,
                         .image = config.amazon.image,
                         .instanceType = config.amazon.instanceType,
                         .privateIp = config.amazon.privateIp,
                         .interval = config.interval,
                         .bootDeadline = config.installCheckDeadline,
                         .timeoutStop = config.timeoutStop,
                         .pingerInterval = config.pingerInterval,
                         .spotPool = config.amazon.marketType == kMarketSpot,
                         .onDemandMax = config.amazon.onDemandMax};
}

ApiOptions apiOptionsFrom(const Config& config) {
    ApiOptions options;
    static_cast<ApiSettings&>(options) = config.api;
    options.interval = config.interval;
    return options;
}

Result<std::string> databasePathOf(const Config& config) {
    if (config.store.driver == "postgres")
        return std::string();
    if (config.store.driver != "sqlite3") {
        return makeError(Errc::InvalidArgument, "DRONE_DATABASE_DRIVER: \"" + config.store.driver +
                                                        "\" is not available in this build; "
                                                        "expected sqlite3 or postgres");
    }
    return sqlitePathFromDatasource(config.store.datasource);
}

std::string haIdentity(const Config& config) {
    if (!config.ha.id.empty())
        return config.ha.id;
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0)
        host[0] = '\0';
    const std::string name = host[0] != '\0' ? std::string(host.data()) : std::string("autoscaler");
    return name + "-" + std::to_string(::getpid());
}

Result<std::vector<Server>> readServers(const Config& config, const std::string& serversFile) {
    if (!serversFile.empty()) {
        auto text = readWholeFile(serversFile);
        if (!text)
            return makeError(Errc::Io, "cannot read servers file " + text.error().message);
        auto servers = parseServersJson(*text);
        if (!servers) {
            Error error = servers.error();
            error.message = serversFile + ": " + error.message;
            return error;
        }
        return servers;
    }
    auto store = openStore(config.store, StoreAccess::ReadOnly);
    if (!store) {
        Error error = store.error();
        if (error.code == Errc::InvalidArgument)
            error.message += " or --servers-file";
        return error;
    }
    return (*store)->list();
}

SimulationOptions simulationOptionsFrom(const Config& config, const Environment& env,
                                        Policy policy) {
    SimulationOptions options;
    options.pool = config.pool;
    options.pool.policy = policy;
    options.interval = config.interval;
    options.timeoutStop = config.timeoutStop;
    if (policy == Policy::Classic) {
        options = withClassicTimings(options);
        if (env.contains("DRONE_INTERVAL"))
            options.planInterval = config.interval;
        if (env.contains("DRONE_POOL_MIN_AGE"))
            options.pool.minAge = config.pool.minAge;
    }
    return options;
}

} // namespace autoscale
