// SPDX-License-Identifier: Apache-2.0
/// \file
/// Runs one of our executables for a test: given argv and a complete
/// environment, returns its exit status, stdout and stderr.

#pragma once

#include <chrono>
#include <functional>
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

/// A process running in the background; its stdout and stderr go to files.
/// Killed (SIGKILL) by the destructor if still running.
class BackgroundProcess {
public:
    BackgroundProcess(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& logPath);
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    [[nodiscard]] int pid() const { return pid_; }
    void signal(int sig) const;
    /// Waits for exit; the exit status, or -1 on timeout or death by signal.
    int wait(std::chrono::milliseconds deadline);
    [[nodiscard]] bool running();
    /// Everything written so far to stdout and stderr.
    [[nodiscard]] std::string output() const;

private:
    int pid_ = -1;
    bool reaped_ = false;
    int status_ = -1;
    std::string logPath_;
};

/// Polls `condition` every 20 ms until it holds or `deadline` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int freePort();

/// The value of an environment variable set by meson for the test, or "".
std::string testEnv(const char* name);

} // namespace autoscale::test
