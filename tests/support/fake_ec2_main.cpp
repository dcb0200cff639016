// SPDX-License-Identifier: Apache-2.0
/// \file
/// The fake EC2 as a standalone server for end-to-end tests:
///   fake_ec2 [--port N] [--region R] [--pending-ms MS] [--throttle-every N]
///            [--no-capacity MARKET[:TYPE[:SUBNET[:CODE]]]]...
/// Listens on 127.0.0.1 only, prints "listening http://127.0.0.1:PORT" on stdout, and runs
/// until SIGINT or SIGTERM. Requests must be signed with the test keys (AKIDEXAMPLE /
/// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY). --no-capacity adds a capacity rule at start
/// (MARKET is spot, on-demand or *; an empty or * field matches anything; CODE defaults to
/// InsufficientInstanceCapacity): "--no-capacity spot" is "no spot capacity anywhere".
/// The /_fake/... control endpoints (capacity rules, spot reclaims, call and instance
/// listings; see fake_ec2.h) are served on the same port.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <signal.h>
#include <sstream>
#include <string>
#include <vector>

#include <autoscale/clock.h>

#include "fake_ec2.h"

namespace {

/// "MARKET[:TYPE[:SUBNET[:CODE]]]", "*" or empty meaning any.
autoscale::test::FakeCapacityRule parseRule(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ':');)
        parts.push_back(part == "*" ? std::string() : part);
    parts.resize(4);
    autoscale::test::FakeCapacityRule rule{
            .market = parts[0], .instanceType = parts[1], .subnet = parts[2]};
    if (!parts[3].empty())
        rule.code = parts[3];
    return rule;
}

} // namespace

int main(int argc, char** argv) {
    try {
        autoscale::test::FakeEc2Options options;
        options.controlEndpoints = true;
        int throttleEvery = 0;
        std::vector<autoscale::test::FakeCapacityRule> rules;
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
            } else if (flag == "--no-capacity") {
                rules.push_back(parseRule(value));
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
        ec2.faults([&](autoscale::test::FakeEc2Faults& f) {
            f.throttleEvery = throttleEvery;
            f.capacity = rules;
        });
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
