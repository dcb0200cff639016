// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-cli plan`: the queue, the servers and (read-only) EC2, one
/// planning cycle, printed.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <autoscale/drone.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/plan_report.h>
#include <autoscale/wiring.h>

#include "cli_common.h"
#include "commands.h"

namespace autoscale::tools {

std::optional<Config> loadConfigOrReport(const Environment& env, ConfigNeeds needs) {
    auto config = loadConfig(env, needs);
    if (!config) {
        (void)std::fprintf(stderr, "autoscaler-cli: bad configuration:\n%s\n",
                           config.error().message.c_str());
        return std::nullopt;
    }
    for (const auto& warning : config->warnings)
        (void)std::fprintf(stderr, "autoscaler-cli: warning: %s\n", warning.c_str());
    return std::move(*config);
}

namespace {

/// The read-only EC2 view of one pool, when credentials are set: 0, or the
/// exit status after printing why not.
int addEc2View(const Config& config, PlanReport& report, const Clock& clock) {
    if (!config.aws.configured())
        return kExitOk;
    if (config.drone.host.empty()) {
        (void)std::fprintf(stderr, "autoscaler-cli: bad configuration:\nDRONE_SERVER_HOST: is "
                                   "required to read EC2: instances are found by their owner "
                                   "tag, the Drone host\n");
        return kExitUsage;
    }
    // EC2, read-only: only list() (DescribeInstances) is called, to show the
    // instances tagged for this pool that the store does not know.
    auto provider = makeEc2Provider(listOnlyEc2OptionsFrom(config), config.aws, clock);
    if (!provider) {
        (void)std::fprintf(stderr, "autoscaler-cli: cannot set up EC2: %s\n",
                           provider.error().message.c_str());
        return kExitFailure;
    }
    if (auto viewed = addCloudView(report, **provider); !viewed) {
        (void)std::fprintf(stderr, "autoscaler-cli: cannot read EC2: %s\n",
                           viewed.error().message.c_str());
        return kExitFailure;
    }
    return kExitOk;
}

void print(const std::string& out) {
    (void)std::fwrite(out.data(), 1, out.size(), stdout);
}

} // namespace

int runPlan(const PlanFlags& flags) {
    auto config = loadConfigOrReport(
            processEnvironment(),
            ConfigNeeds{.drone = flags.queueFile.empty(), .agent = false, .amazon = false});
    if (!config)
        return kExitUsage;
    if (flags.policy == "classic") {
        config->pool.policy = Policy::Classic;
        for (auto& pool : config->pools)
            pool.pool.policy = Policy::Classic;
    }
    const bool fleet = !config->poolFile.empty() && !config->pools.empty();
    if (!flags.pool.empty()) {
        std::string known;
        bool found = false;
        if (fleet) {
            for (const auto& pool : config->pools) {
                known += (known.empty() ? "" : ", ") + pool.pool.name;
                found = found || pool.pool.name == flags.pool;
            }
        } else {
            known = config->pool.name;
            found = config->pool.name == flags.pool;
        }
        if (!found) {
            (void)std::fprintf(stderr, "autoscaler-cli: --pool %s: no such pool (pools: %s)\n",
                               flags.pool.c_str(), known.c_str());
            return kExitUsage;
        }
    }

    std::unique_ptr<HttpClient> http;
    std::unique_ptr<Queue> queue;
    if (!flags.queueFile.empty()) {
        queue = makeFileQueue(flags.queueFile);
    } else {
        auto made = makeCurlHttpClient(droneHttpOptions(*config));
        if (!made) {
            (void)std::fprintf(stderr, "autoscaler-cli: %s\n", made.error().message.c_str());
            return kExitFailure;
        }
        http = std::move(*made);
        queue = std::make_unique<DroneClient>(config->drone, *http);
    }

    auto servers = readServers(*config, flags.serversFile);
    if (!servers) {
        (void)std::fprintf(stderr, "autoscaler-cli: cannot read the servers: %s\n",
                           servers.error().message.c_str());
        return kExitFailure;
    }
    const auto clock = makeSystemClock();
    if (!fleet) {
        auto report = planOnce(config->pool, *queue, std::move(*servers), clock->now());
        if (!report) {
            (void)std::fprintf(stderr, "autoscaler-cli: cannot read the Drone queue: %s\n",
                               report.error().message.c_str());
            return kExitFailure;
        }
        if (const int status = addEc2View(*config, *report, *clock); status != kExitOk)
            return status;
        print(flags.json ? planReportJson(*report) + "\n" : formatPlanText(*report));
        return kExitOk;
    }

    std::vector<PoolSettings> pools;
    pools.reserve(config->pools.size());
    for (const auto& pool : config->pools)
        pools.push_back(pool.pool);
    auto report = planFleetOnce(pools, config->fleetMax, *queue, std::move(*servers), clock->now());
    if (!report) {
        (void)std::fprintf(stderr, "autoscaler-cli: cannot read the Drone queue: %s\n",
                           report.error().message.c_str());
        return kExitFailure;
    }
    for (std::size_t i = 0; i < report->pools.size(); ++i) {
        if (!flags.pool.empty() && report->pools[i].pool.name != flags.pool)
            continue;
        const Config forPool = configForPool(*config, config->pools[i]);
        if (const int status = addEc2View(forPool, report->pools[i], *clock); status != kExitOk)
            return status;
    }
    if (!flags.pool.empty() || report->pools.size() == 1) {
        for (const auto& pool : report->pools) {
            if (!flags.pool.empty() && pool.pool.name != flags.pool)
                continue;
            print(flags.json ? planReportJson(pool) + "\n" : formatPlanText(pool));
        }
        return kExitOk;
    }
    print(flags.json ? fleetPlanReportJson(*report) + "\n" : formatFleetPlanText(*report));
    return kExitOk;
}

} // namespace autoscale::tools
