// SPDX-License-Identifier: Apache-2.0
/// \file
/// Simulation speed: a 7-day trace of 50,000 stages through the engine with
/// the default policy, on one thread. Prints the wall time; the issue's
/// target is 10 s or less on one core. With `--pools`: the same arrivals
/// spread over three pools (amd64, arm64, gpu-labelled) and a few stages no
/// pool serves, through autoscale::Fleet under a fleet max.

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/simulation.h>

namespace {

using namespace autoscale;

/// Wall and CPU seconds of `run()`. Tests may read the real clock; CPU time
/// too, since on a shared machine the wall time depends on the neighbours.
template <typename F>
auto timed(F run, double& seconds, double& cpu) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    auto result = run();
    cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

/// The trace's stages dealt to three pools (60 % amd64, 25 % arm64, 12 % gpu)
/// and 3 % windows stages no pool serves.
int runPools(std::vector<TraceStage> trace) {
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> coin(0, 1);
    int routable = 0;
    for (auto& stage : trace) {
        const double c = coin(rng);
        if (c >= 0.97) {
            stage.os = "windows";
            continue;
        }
        ++routable;
        if (c >= 0.85)
            stage.labels = {{"gpu", "yes"}};
        else if (c >= 0.60)
            stage.arch = "arm64";
    }
    std::vector<SimulationOptions> pools(3);
    const std::array<const char*, 3> names{"amd64", "arm64", "gpu"};
    const std::array<int, 3> max{120, 60, 40};
    for (std::size_t i = 0; i < pools.size(); ++i) {
        pools[i].pool.name = names[i];
        pools[i].pool.max = max[i];
        pools[i].pool.concurrency = i == 2 ? 1 : 4;
    }
    pools[1].pool.arch = "arm64";
    pools[2].pool.labels = {{"gpu", "yes"}};
    double seconds = 0;
    double cpu = 0;
    auto result = timed([&] { return runFleetSimulation(trace, pools, 180); }, seconds, cpu);
    if (!result) {
        std::fprintf(stderr, "simulate_bench: %s\n", result.error().message.c_str());
        return 1;
    }
    const SimulationResult& total = result->total;
    std::printf("simulate --pools: %zu stages over 7 days in 3 pools (%.0f simulated hours, "
                "%lld fleet cycles) in %.2f s wall, %.2f s CPU; %d builds, %d unroutable, wait "
                "p95 %.0f s, %.0f instance-hours, peak %d servers (fleet max 180)\n",
                trace.size(), total.simulatedSeconds / 3600, static_cast<long long>(total.cycles),
                seconds, cpu, total.builds, total.unroutable, total.waitP95, total.instanceHours,
                total.peakServers);
    return total.builds == routable && total.peakServers <= 180 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    const bool withPools = argc > 1 && std::string_view(argv[1]) == "--pools";
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
    if (withPools)
        return runPools(std::move(trace));
    SimulationOptions options;
    options.pool.max = 200;
    options.pool.concurrency = 4;
    double seconds = 0;
    double cpu = 0;
    auto result = timed([&] { return runSimulation(trace, options); }, seconds, cpu);
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
