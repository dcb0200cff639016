// SPDX-License-Identifier: Apache-2.0
/// \file
/// The CLI's commands, each given its parsed flags; each returns the exit status.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <autoscale/config.h>

namespace autoscale::tools {

/// `plan`'s flags.
struct PlanFlags {
    bool json = false;
    std::string queueFile{};
    std::string serversFile{};
    std::string policy{};
    std::string pool{}; ///< `--pool NAME`: that pool's plan alone.
};

/// `simulate`'s flags.
struct SimulateFlags {
    std::string trace{};
    std::string policy = "default";
    std::string boot = "60s";
    std::string bootJitter = "0s";
    double capacityFailures = 0;
    double price = 0.0416;
    std::uint64_t seed = 1;
    bool json = false;
    bool compare = false;
    bool coldStart = false;
    double spotPrice = 0.3;                 ///< A spot hour's price, as a fraction of on-demand.
    double interruptionsPerHour = 0;        ///< Reclaims per spot instance-hour.
    std::vector<std::string> spotOutages{}; ///< "START:END" seconds into the trace.
    bool compareMarkets = false;            ///< On-demand against spot, side by side.
};

/// The configuration for a command from the environment and DRONE_POOL_FILE
/// (autoscale::loadConfig), its warnings printed; nullopt after printing every
/// problem.
std::optional<Config> loadConfigOrReport(const Environment& env, ConfigNeeds needs);

/// One planning cycle, changing nothing: 0, 1 when Drone, the store or EC2
/// cannot be read, 2 on bad configuration or an unknown `--pool`. With a pool
/// file: the queue routed to the pools as the daemon's Fleet routes it, each
/// pool planned on its own servers with its share of the fleet's max.
int runPlan(const PlanFlags& flags);

/// A trace replayed through the engine on virtual time: 0, or 2 on a
/// malformed trace, bad flags or bad configuration.
int runSimulate(const SimulateFlags& flags);

} // namespace autoscale::tools
