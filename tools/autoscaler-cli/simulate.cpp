// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-cli simulate`: a trace replayed through the engine with a
/// simulated cloud and queue, under one policy or both, on-demand or spot or
/// both, for the one pool of the environment or the pools of DRONE_POOL_FILE
/// (the real Fleet), printed.

#include <array>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <autoscale/simulation.h>
#include <autoscale/wiring.h>

#include "cli_common.h"
#include "commands.h"

namespace autoscale::tools {

namespace {

/// One column of the report: a policy and, with --compare-markets, a market.
struct Variant {
    std::string name{};
    Policy policy = Policy::Default;
    std::string market{}; ///< Empty: each pool's own market.
};

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

/// One fleet run as text: a column per pool and the total, the stages no pool
/// serves, the fleet's servers over time.
std::string renderFleet(const std::string& name, const FleetSimulationResult& r) {
    std::vector<std::pair<std::string, SimulationResult>> columns = r.pools;
    columns.emplace_back("total", r.total);
    std::string out = name + " (fleet max " +
                      (r.fleetMax ? std::to_string(*r.fleetMax) : std::string("none")) + ")\n" +
                      formatSimulationTable(columns);
    if (!r.unroutable.empty()) {
        std::map<std::string, int> kinds;
        for (const auto& t : r.unroutable) {
            std::string kind = t.os + "/" + t.arch;
            for (const auto& [k, v] : t.labels) {
                kind += ' ';
                kind += k;
                kind += '=';
                kind += v;
            }
            ++kinds[kind];
        }
        out += "unroutable (no pool serves them; not in the waits):";
        for (const auto& [kind, n] : kinds)
            out += " " + std::to_string(n) + " × " + kind + ";";
        out += "\n";
    }
    return out + "\n" + name + ": " + formatSimulationChart(r.total);
}

/// "START:END" in seconds into the trace, START < END.
std::optional<std::pair<double, double>> parseOutage(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos)
        return std::nullopt;
    try {
        std::size_t used = 0;
        const double start = std::stod(text.substr(0, colon), &used);
        if (used != colon)
            return std::nullopt;
        const std::string rest = text.substr(colon + 1);
        const double end = std::stod(rest, &used);
        if (used != rest.size() || !(start >= 0) || !(end > start))
            return std::nullopt;
        return std::pair{start, end};
    } catch (const std::exception&) {
        return std::nullopt;
    }
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
    if (!(flags.spotPrice >= 0) || !(flags.interruptionsPerHour >= 0)) {
        (void)std::fprintf(stderr, "autoscaler-cli: --spot-price and --interruptions-per-hour "
                                   "must be >= 0\n");
        return kExitUsage;
    }
    std::vector<std::pair<double, double>> outages;
    for (const auto& text : flags.spotOutages) {
        const auto outage = parseOutage(text);
        if (!outage) {
            (void)std::fprintf(stderr,
                               "autoscaler-cli: --spot-outage %s: expected START:END, seconds "
                               "into the trace, START < END\n",
                               text.c_str());
            return kExitUsage;
        }
        outages.push_back(*outage);
    }
    auto trace = readTraceFile(flags.trace);
    if (!trace) {
        (void)std::fprintf(stderr, "autoscaler-cli: %s\n", trace.error().message.c_str());
        return kExitUsage;
    }
    const Policy chosen = flags.policy == "classic" ? Policy::Classic : Policy::Default;
    const std::vector<Policy> policies =
            flags.compare ? std::vector<Policy>{Policy::Default, Policy::Classic}
                          : std::vector<Policy>{chosen};
    std::vector<Variant> variants;
    for (const Policy policy : policies) {
        const std::string name(nameOf(policy));
        if (!flags.compareMarkets) {
            variants.push_back({.name = name, .policy = policy});
            continue;
        }
        const std::string prefix = flags.compare ? name + " " : "";
        variants.push_back({.name = prefix + "on-demand", .policy = policy, .market = "on-demand"});
        variants.push_back({.name = prefix + "spot", .policy = policy, .market = "spot"});
    }
    const bool fleet = !config->poolFile.empty();
    // The options of every pool (without a pool file: the one pool of the
    // environment, priced at --price) under one variant.
    const auto poolOptions = [&](const Variant& v) {
        std::vector<SimulationOptions> out;
        for (const auto& pool : config->pools) {
            const Config c = configForPool(*config, pool);
            SimulationOptions options = simulationOptionsFrom(c, env, v.policy);
            options.cloud = {.boot = *boot,
                             .bootJitter = *jitter,
                             .capacityFailureRate = flags.capacityFailures,
                             .seed = flags.seed,
                             .market = c.amazon.marketType == "spot" ? "spot" : "on-demand",
                             .spotFallback = c.amazon.spotFallback,
                             .onDemandMax = c.amazon.onDemandMax,
                             .interruptionsPerHour = flags.interruptionsPerHour,
                             .spotOutages = outages,
                             .instanceType = c.amazon.instanceType};
            if (!v.market.empty())
                options.cloud.market = v.market;
            options.pricePerHour =
                    fleet ? onDemandPricePerHour(c.amazon.instanceType).value_or(flags.price)
                          : flags.price;
            options.spotPriceFraction = flags.spotPrice;
            options.warmStart = !flags.coldStart;
            out.push_back(std::move(options));
        }
        return out;
    };

    if (!fleet) {
        std::vector<std::pair<std::string, SimulationResult>> results;
        for (const auto& v : variants) {
            auto result = runSimulation(*trace, poolOptions(v).front());
            if (!result) {
                (void)std::fprintf(stderr, "autoscaler-cli: %s\n", result.error().message.c_str());
                return kExitUsage;
            }
            if (result->notRun > 0) {
                (void)std::fprintf(
                        stderr,
                        "autoscaler-cli: warning: %d of %d stages never ran (%s): no runner of "
                        "this pool (DRONE_AGENT_OS/ARCH/LABELS, DRONE_POOL_MAX) takes them\n",
                        result->notRun, result->stages, v.name.c_str());
            }
            results.emplace_back(v.name, std::move(*result));
        }
        const std::string out = render(flags, trace->size(), config->pool, results);
        (void)std::fwrite(out.data(), 1, out.size(), stdout);
        return kExitOk;
    }

    std::vector<std::pair<std::string, FleetSimulationResult>> runs;
    for (const auto& v : variants) {
        auto result = runFleetSimulation(*trace, poolOptions(v), config->fleetMax);
        if (!result) {
            (void)std::fprintf(stderr, "autoscaler-cli: %s\n", result.error().message.c_str());
            return kExitUsage;
        }
        if (result->total.unroutable > 0) {
            (void)std::fprintf(stderr,
                               "autoscaler-cli: warning: %d of %d stages are unroutable (%s): "
                               "no pool of %s serves them\n",
                               result->total.unroutable, result->total.stages, v.name.c_str(),
                               config->poolFile.c_str());
        }
        runs.emplace_back(v.name, std::move(*result));
    }
    const auto one = [&](const FleetSimulationResult& r) {
        return r.pools.size() == 1 ? simulationJson(r.pools.front().second)
                                   : fleetSimulationJson(r);
    };
    std::string out;
    if (flags.json && runs.size() == 1) {
        out = one(runs.front().second) + "\n";
    } else if (flags.json) {
        out = "{";
        for (std::size_t i = 0; i < runs.size(); ++i)
            out += (i > 0 ? ",\"" : "\"") + runs[i].first + "\":" + one(runs[i].second);
        out += "}\n";
    } else {
        out = "trace: " + flags.trace + " (" + std::to_string(trace->size()) + " stages)\n" +
              "pools: " + config->poolFile + "; boot " + flags.boot + "\n\n";
        for (const auto& [name, r] : runs)
            out += renderFleet(name, r) + "\n";
    }
    (void)std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

} // namespace autoscale::tools
