// SPDX-License-Identifier: Apache-2.0
/// \file
/// Init guards, the environment map and the version line.

#include "cli_common.h"

#include <string>
#include <unistd.h> // environ (g++ and clang++ define _GNU_SOURCE, which declares it)

#include <curl/curl.h>

#include <autoscale/version.h>

namespace autoscale::tools {

CurlGlobal::CurlGlobal() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
}
CurlGlobal::~CurlGlobal() {
    if (ok_)
        curl_global_cleanup();
}

Environment processEnvironment() {
    Environment env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string item(*entry);
        const auto eq = item.find('=');
        if (eq == std::string::npos)
            continue;
        env[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return env;
}

std::string versionLine(std::string_view tool) {
    std::string line = std::string(tool) + " " + std::string(buildVersion());
    if (!buildCommit().empty())
        line += " (commit " + std::string(buildCommit()) + ")";
    return line;
}

} // namespace autoscale::tools
