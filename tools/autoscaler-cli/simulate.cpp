// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-cli simulate`: a trace replayed through the engine with a
/// simulated cloud and queue, under one policy or both, printed.

#include <array>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <autoscale/simulation.h>
#include <autoscale/wiring.h>

#include "cli_common.h"
#include "commands.h"

namespace autoscale::tools {

namespace {

/// The text form's heading: the trace and the pool it ran against.
std::string heading(const SimulateFlags& flags, std::size_t stages, const PoolSettings& pool) {
    std::array<char, 32> price{};
    (void)std::snprintf(price.data(), price.size(), "%.4f", flags.price);
    return "trace: " + flags.trace + " (" + std::to_string(stages) + " stages)\n" + "pool: min " +
           std::to_string(pool.min) + ", max " + std::to_string(pool.max) + ", concurrency " +
           std::to_string(pool.concurrency) + ", buffer " + std::to_string(pool.buffer) +
           "; boot " + flags.boot + "; $" + price.data() + " per instance-hour\n" +
           (flags.coldStart ? "start: an empty pool (--cold-start)"
                            : "start: MIN servers launched at once under both policies") +
           "\n\n";
}

std::string render(const SimulateFlags& flags, std::size_t stages, const PoolSettings& pool,
                   const std::vector<std::pair<std::string, SimulationResult>>& results) {
    if (flags.json && results.size() == 1)
        return simulationJson(results[0].second) + "\n";
    if (flags.json) {
        std::string out = "{";
        for (std::size_t i = 0; i < results.size(); ++i) {
            out += (i > 0 ? ",\"" : "\"") + results[i].first +
                   "\":" + simulationJson(results[i].second);
        }
        return out + "}\n";
    }
    std::string out = heading(flags, stages, pool) + formatSimulationTable(results);
    for (const auto& [name, r] : results)
        out += "\n" + name + ": " + formatSimulationChart(r);
    return out;
}

} // namespace

int runSimulate(const SimulateFlags& flags) {
    const Environment env = processEnvironment();
    const auto config =
            loadConfigOrReport(env, ConfigNeeds{.drone = false, .agent = false, .amazon = false});
    if (!config)
        return kExitUsage;
    const auto boot = parseGoDuration(flags.boot);
    const auto jitter = parseGoDuration(flags.bootJitter);
    if (!boot || !jitter) {
        (void)std::fprintf(stderr,
                           "autoscaler-cli: --boot and --boot-jitter take a duration such as "
                           "60s or 2m30s\n");
        return kExitUsage;
    }
    if (!(flags.price >= 0) || !(flags.capacityFailures >= 0 && flags.capacityFailures < 1)) {
        (void)std::fprintf(stderr,
                           "autoscaler-cli: --price must be >= 0 and --capacity-failures in "
                           "[0, 1)\n");
        return kExitUsage;
    }
    auto trace = readTraceFile(flags.trace);
    if (!trace) {
        (void)std::fprintf(stderr, "autoscaler-cli: %s\n", trace.error().message.c_str());
        return kExitUsage;
    }
    const std::vector<Policy> policies =
            flags.compare ? std::vector<Policy>{Policy::Default, Policy::Classic}
                          : std::vector<Policy>{flags.policy == "classic" ? Policy::Classic
                                                                          : Policy::Default};

    std::vector<std::pair<std::string, SimulationResult>> results;
    for (const Policy policy : policies) {
        SimulationOptions options = simulationOptionsFrom(*config, env, policy);
        options.cloud = {.boot = *boot,
                         .bootJitter = *jitter,
                         .capacityFailureRate = flags.capacityFailures,
                         .seed = flags.seed};
        options.pricePerHour = flags.price;
        options.warmStart = !flags.coldStart;
        auto result = runSimulation(*trace, options);
        if (!result) {
            (void)std::fprintf(stderr, "autoscaler-cli: %s\n", result.error().message.c_str());
            return kExitUsage;
        }
        if (result->notRun > 0) {
            (void)std::fprintf(
                    stderr,
                    "autoscaler-cli: warning: %d of %d stages never ran (%s): no runner of "
                    "this pool (DRONE_AGENT_OS/ARCH/LABELS, DRONE_POOL_MAX) takes them\n",
                    result->notRun, result->stages, std::string(nameOf(policy)).c_str());
        }
        results.emplace_back(std::string(nameOf(policy)), std::move(*result));
    }
    const std::string out = render(flags, trace->size(), config->pool, results);
    (void)std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

} // namespace autoscale::tools
