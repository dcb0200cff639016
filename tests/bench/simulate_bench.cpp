// SPDX-License-Identifier: Apache-2.0
/// \file
/// Simulation speed: a 7-day trace of 50,000 stages through the engine with
/// the default policy, on one thread. Prints the wall time; the issue's
/// target is 10 s or less on one core.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>

#include <autoscale/simulation.h>

int main() {
    using namespace autoscale;
    // Office-hours weighted Poisson arrivals over a week, log-normal durations.
    std::mt19937_64 rng(50000);
    std::lognormal_distribution<double> duration(std::log(360.0), 0.6);
    std::uniform_real_distribution<double> when(0, 7 * 86400.0);
    std::uniform_real_distribution<double> coin(0, 1);
    std::vector<TraceStage> trace;
    trace.reserve(50000);
    while (trace.size() < 50000) {
        const double t = when(rng);
        const double hour = std::fmod(t, 86400.0) / 3600;
        const double weight = hour >= 8 && hour < 18 ? 1.0 : 0.15;
        if (coin(rng) < weight)
            trace.push_back({.t = t, .duration = std::min(duration(rng), 3600.0)});
    }
    SimulationOptions options;
    options.pool.max = 200;
    options.pool.concurrency = 4;
    // Wall time of the benchmark itself: tests may read the real clock.
    // CPU time too: on a shared machine the wall time depends on the neighbours.
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    auto result = runSimulation(trace, options);
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!result) {
        std::fprintf(stderr, "simulate_bench: %s\n", result.error().message.c_str());
        return 1;
    }
    std::printf("simulate: %zu stages over 7 days (%.0f simulated hours, %lld engine cycles) in "
                "%.2f s wall, %.2f s CPU; %d builds, wait p95 %.0f s, %.0f instance-hours, peak %d "
                "servers\n",
                trace.size(), result->simulatedSeconds / 3600,
                static_cast<long long>(result->cycles), seconds, cpu, result->builds,
                result->waitP95, result->instanceHours, result->peakServers);
    return result->builds == static_cast<int>(trace.size()) ? 0 : 1;
}
