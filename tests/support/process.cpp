// SPDX-License-Identifier: Apache-2.0
/// \file
/// fork/exec with three pipes and a poll loop.

#include "process.h"

#include <arpa/inet.h>
#include <array>
#include <cstdlib>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace autoscale::test {

namespace {

/// argv and envp for execve, built before fork (no allocation in the child).
class ExecArgs {
public:
    ExecArgs(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
        for (const auto& [k, v] : env)
            envStrings_.push_back(k + "=" + v);
        for (const auto& a : argv)
            argv_.push_back(const_cast<char*>(a.c_str()));
        argv_.push_back(nullptr);
        for (auto& e : envStrings_)
            envp_.push_back(e.data());
        envp_.push_back(nullptr);
    }
    [[nodiscard]] const char* path() const { return argv_[0]; }
    [[nodiscard]] char* const* argv() const { return argv_.data(); }
    [[nodiscard]] char* const* envp() const { return envp_.data(); }

private:
    std::vector<std::string> envStrings_;
    std::vector<char*> argv_;
    std::vector<char*> envp_;
};

} // namespace

std::string testEnv(const char* name) {
    const char* value = std::getenv(name); // NOLINT(concurrency-mt-unsafe): test setup only.
    return value == nullptr ? std::string() : std::string(value);
}

ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds deadline, const std::string& input) {
    ProcessResult result;
    std::array<int, 2> inPipe{};
    std::array<int, 2> outPipe{};
    std::array<int, 2> errPipe{};
    if (::pipe2(inPipe.data(), O_CLOEXEC) != 0 || ::pipe2(outPipe.data(), O_CLOEXEC) != 0 ||
        ::pipe2(errPipe.data(), O_CLOEXEC) != 0)
        return result;
    ExecArgs exec(argv, env);

    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(inPipe[0], 0);
        ::dup2(outPipe[1], 1);
        ::dup2(errPipe[1], 2);
        ::execve(exec.path(), exec.argv(), exec.envp());
        ::_exit(127);
    }
    ::close(inPipe[0]);
    ::close(outPipe[1]);
    ::close(errPipe[1]);
    if (!input.empty()) {
        const auto written = ::write(inPipe[1], input.data(), input.size());
        (void)written;
    }
    ::close(inPipe[1]);

    const auto end = std::chrono::steady_clock::now() + deadline;
    std::array<pollfd, 2> fds{{{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}}};
    int open = 2;
    std::array<char, 4096> buffer{};
    while (open > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timedOut = true;
            ::kill(pid, SIGKILL);
            break;
        }
        if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0)
            break;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            const auto n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
                continue;
            }
            (i == 0 ? result.out : result.err).append(buffer.data(), static_cast<std::size_t>(n));
        }
    }
    for (auto& f : fds) {
        if (f.fd >= 0)
            ::close(f.fd);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status))
        result.exitCode = WEXITSTATUS(status);
    return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env,
                                     const std::string& logPath)
    : logPath_(logPath) {
    ExecArgs exec(argv, env);
    const int out = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
        const int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::execve(exec.path(), exec.argv(), exec.envp());
        ::_exit(127);
    }
    ::close(out);
}

BackgroundProcess::~BackgroundProcess() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

void BackgroundProcess::signal(int sig) const {
    if (pid_ > 0 && !reaped_)
        ::kill(pid_, sig);
}

int BackgroundProcess::wait(std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!reaped_) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        if (std::chrono::steady_clock::now() >= end)
            return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds{20}); // Waiting for a condition.
    }
    return status_;
}

bool BackgroundProcess::running() {
    if (reaped_)
        return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return false;
    }
    return true;
}

std::string BackgroundProcess::output() const {
    std::string text;
    const int fd = ::open(logPath_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return text;
    std::array<char, 4096> buffer{};
    ssize_t n = 0;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0)
        text.append(buffer.data(), static_cast<std::size_t>(n));
    ::close(fd);
    return text;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds{20}); // Polling a condition.
    }
    return true;
}

int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

} // namespace autoscale::test
