// SPDX-License-Identifier: Apache-2.0
/// \file
/// blockStopSignals and the sigwait thread.

#include "signals.h"

#include <csignal>
#include <pthread.h>

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

StopOnSignal::StopOnSignal(const std::stop_source& stop, const Logger& log)
    : thread_([source = stop, log](const std::stop_token& token) mutable {
        const sigset_t set = stopSignals();
        int sig = 0;
        while (!token.stop_requested()) {
            if (sigwait(&set, &sig) != 0 || sig == SIGUSR1)
                continue;
            log.info("signal received: stopping",
                     {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
            source.request_stop();
            return;
        }
    }) {
}

StopOnSignal::~StopOnSignal() {
    thread_.request_stop();
    pthread_kill(thread_.native_handle(), SIGUSR1);
}

} // namespace autoscale::tools
