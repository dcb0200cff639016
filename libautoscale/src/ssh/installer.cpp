// SPDX-License-Identifier: Apache-2.0
/// \file
/// The Installer seam's anchor and the options helpers of installer.h.

#include "autoscale/installer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace autoscale {

Installer::~Installer() = default;

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

Result<std::vector<std::string>> readEnvFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return makeError(Errc::Io,
                         "cannot read " + path + ": " + std::generic_category().message(errno));
    }
    std::vector<std::string> lines;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#')
            continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        if (line.starts_with("export "))
            line = line.substr(7);
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) {
            return makeError(Errc::Parse,
                             path + ":" + std::to_string(number) + ": expected KEY=VALUE");
        }
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        lines.push_back(line.substr(0, eq) + "=" + value);
    }
    return lines;
}

} // namespace autoscale
