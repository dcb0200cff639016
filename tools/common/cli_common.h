// SPDX-License-Identifier: Apache-2.0
/// \file
/// What the three mains share: process-wide init guards, the environment map,
/// the --version line and the exit statuses.

#pragma once

#include <string>
#include <string_view>

#include <autoscale/config.h>

namespace autoscale::tools {

/// curl_global_init for the life of main; before any thread starts.
class CurlGlobal {
public:
    CurlGlobal();
    ~CurlGlobal();
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
    [[nodiscard]] bool ok() const { return ok_; }

private:
    bool ok_ = false;
};

/// The process environment as a map (the only place that reads `environ`).
Environment processEnvironment();

/// What `--version` prints: "<tool> <version> (commit <commit>)", the commit
/// left out when the build did not come from a git checkout.
std::string versionLine(std::string_view tool);

/// Exit statuses shared by the tools.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

} // namespace autoscale::tools
