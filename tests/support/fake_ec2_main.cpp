// SPDX-License-Identifier: Apache-2.0
/// \file
/// The fake EC2 as a standalone server for end-to-end tests:
///   fake_ec2 [--port N] [--region R] [--pending-ms MS] [--throttle-every N]
/// Listens on 127.0.0.1 only, prints "listening http://127.0.0.1:PORT" on stdout, and runs
/// until SIGINT or SIGTERM. Requests must be signed with the test keys (AKIDEXAMPLE /
/// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY).

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <signal.h>
#include <string>

#include <autoscale/clock.h>

#include "fake_ec2.h"

int main(int argc, char** argv) {
    try {
        autoscale::test::FakeEc2Options options;
        int throttleEvery = 0;
        for (int i = 1; i + 1 < argc; i += 2) {
            const std::string flag = argv[i];
            const std::string value = argv[i + 1];
            if (flag == "--port") {
                options.port = std::stoi(value);
            } else if (flag == "--region") {
                options.region = value;
            } else if (flag == "--pending-ms") {
                options.pendingFor = std::chrono::milliseconds(std::stol(value));
            } else if (flag == "--throttle-every") {
                throttleEvery = std::stoi(value);
            } else {
                (void)std::fprintf(stderr, "fake_ec2: unknown flag %s\n", flag.c_str());
                return 2;
            }
        }
        // Block the signals before any thread starts, then wait for one.
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals, nullptr);

        const auto clock = autoscale::makeSystemClock();
        autoscale::test::FakeEc2 ec2(*clock, options);
        ec2.faults([&](autoscale::test::FakeEc2Faults& f) { f.throttleEvery = throttleEvery; });
        (void)std::printf("listening %s\n", ec2.endpoint().c_str());
        (void)std::fflush(stdout);
        int received = 0;
        sigwait(&signals, &received);
        (void)std::fprintf(stderr, "fake_ec2: %zu requests, %d signature failures\n",
                           ec2.calls().size(), ec2.signatureFailures());
        return 0;
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "fake_ec2: %s\n", e.what());
        return 1;
    }
}
