// SPDX-License-Identifier: Apache-2.0
/// \file
/// Init guards and the environment map.

#include "cli_common.h"

#include <string>

#include <curl/curl.h>

extern "C" {
extern char** environ; // NOLINT(readability-identifier-naming): POSIX name.
}

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

} // namespace autoscale::tools
