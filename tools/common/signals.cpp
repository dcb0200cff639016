// SPDX-License-Identifier: Apache-2.0
/// \file
/// blockStopSignals and the sigwait thread.

#include "signals.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <string>

namespace autoscale::tools {

namespace {

sigset_t stopSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1); // Wakes the waiting thread at exit.
    return set;
}

} // namespace

void blockStopSignals() {
    const sigset_t set = stopSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    (void)std::signal(SIGPIPE, SIG_IGN);
}

void exitNow(int status) {
    (void)std::fflush(nullptr);
    std::_Exit(status);
}

StopOnSignal::StopOnSignal(const std::stop_source& stop, const Logger& log,
                           std::chrono::seconds limit)
    : thread_([source = stop, log, limit](const std::stop_token& token) mutable {
        const sigset_t set = stopSignals();
        int sig = 0;
        while (!token.stop_requested()) {
            if (sigwait(&set, &sig) != 0 || sig == SIGUSR1)
                continue;
            log.info("signal received: stopping",
                     {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
            source.request_stop();
            break;
        }
        // The watchdog: counts down from the signal; a second signal only wakes it.
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!token.stop_requested()) {
            const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    deadline - std::chrono::steady_clock::now());
            if (left <= std::chrono::nanoseconds{0}) {
                log.warn("still stopping after " + std::to_string(limit.count()) +
                         "s: exiting; in-flight work resumes at the next start");
                exitNow(0);
            }
            const timespec wait{.tv_sec = static_cast<time_t>(left.count() / 1000000000),
                                .tv_nsec = static_cast<long>(left.count() % 1000000000)};
            (void)sigtimedwait(&set, nullptr, &wait);
        }
    }) {
}

StopOnSignal::~StopOnSignal() {
    thread_.request_stop();
    pthread_kill(thread_.native_handle(), SIGUSR1);
}

} // namespace autoscale::tools
