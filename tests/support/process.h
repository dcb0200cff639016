// SPDX-License-Identifier: Apache-2.0
/// \file
/// Runs one of our executables for a test: given argv and a complete
/// environment, returns its exit status, stdout and stderr.

#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace autoscale::test {

struct ProcessResult {
    int exitCode = -1; ///< -1 when killed by a signal or the deadline.
    std::string out{};
    std::string err{};
    bool timedOut = false;
};

/// Runs `argv` with exactly `env` (no inherited variables) and `input` on
/// stdin; kills it after `deadline`.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds deadline = std::chrono::seconds{60},
                         const std::string& input = {});

/// The value of an environment variable set by meson for the test, or "".
std::string testEnv(const char* name);

} // namespace autoscale::test
