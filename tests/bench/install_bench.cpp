// SPDX-License-Identifier: Apache-2.0
/// \file
/// Benchmark: install the runner on 32 servers in parallel, each one a real
/// sshd on loopback with the stand-in instance behind it (pinned host keys).
/// Prints the wall time; exits 1 when an install fails, 77 without sshd.

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/installer.h>
#include <autoscale/log.h>
#include <autoscale/ssh.h>

#include "sshd_harness.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

constexpr int kDefaultServers = 32;

double cpuSeconds(int who) {
    rusage usage{};
    ::getrusage(who, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int run(int servers) {
    const auto clientKey = generateEd25519Key("autoscale-bench");
    if (!clientKey)
        return 1;
    std::vector<std::unique_ptr<test::SshdHarness>> hosts;
    for (int i = 0; i < servers; ++i) {
        hosts.push_back(test::startSshdOrSkip());
        hosts.back()->authorize(clientKey->publicKey);
    }
    const auto clock = makeSystemClock();
    MemorySink sink;
    SshInstallerOptions options;
    options.clientPrivateKey = clientKey->privateKey;
    options.agent.token = "bench-secret";
    options.rpcHost = "drone.example.com";
    options.checkInterval = 100ms;
    options.checkDeadline = 60s;
    auto installer =
            makeSshInstaller(options, *clock, Logger(sink, *clock, "installer", LogLevel::Info));
    if (!installer) {
        std::cerr << installer.error().message << "\n";
        return 1;
    }
    std::vector<Server> rows(static_cast<std::size_t>(servers));
    std::vector<Result<void>> results(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i].name = "agent-bench" + std::to_string(i);
        rows[i].address = "127.0.0.1:" + std::to_string(hosts[i]->port());
        rows[i].hostKey = hosts[i]->hostKey().publicKey;
        rows[i].capacity = 2;
    }

    const double cpuBefore = cpuSeconds(RUSAGE_SELF);
    const double childrenBefore = cpuSeconds(RUSAGE_CHILDREN);
    const auto start = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> workers;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            workers.emplace_back(
                    [&, i] { results[i] = (*installer)->install(rows[i], std::stop_token{}); });
        }
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    const double clientCpu = cpuSeconds(RUSAGE_SELF) - cpuBefore;

    int failed = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (!results[i]) {
            ++failed;
            std::cerr << rows[i].name << ": " << results[i].error().message << "\n";
        } else if (hosts[i]->containers() != std::vector<std::string>{"agent"}) {
            ++failed;
            std::cerr << rows[i].name << ": no agent container\n";
        }
    }
    std::cout << std::fixed << std::setprecision(2) << "installed " << servers - failed
              << " servers in parallel over ssh in " << took.count() << " s (" << failed
              << " failed, target <= 5 s)\n";
    hosts.clear(); // Reaps the sshd processes, so that their CPU time is counted.
    std::cout << "cpu: autoscaler side " << clientCpu << " s, sshd hosts and stand-in scripts "
              << cpuSeconds(RUSAGE_CHILDREN) - childrenBefore << " s\n";
    return failed == 0 ? 0 : 1;
}

} // namespace
} // namespace autoscale

int main(int argc, char** argv) {
    const autoscale::Ssh2Global ssh2;
    if (!ssh2.ok())
        return 1;
    const int servers = argc > 1 ? std::atoi(argv[1]) : autoscale::kDefaultServers;
    return autoscale::run(servers > 0 ? servers : autoscale::kDefaultServers);
}
