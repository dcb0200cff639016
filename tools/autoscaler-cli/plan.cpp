// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-cli plan`: the queue, the servers and (read-only) EC2, one
/// planning cycle, printed.

#include <cstdio>
#include <memory>

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

int runPlan(const PlanFlags& flags) {
    auto config = loadConfigOrReport(
            processEnvironment(),
            ConfigNeeds{.drone = flags.queueFile.empty(), .agent = false, .amazon = false});
    if (!config)
        return kExitUsage;
    if (flags.policy == "classic")
        config->pool.policy = Policy::Classic;

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
    auto report = planOnce(config->pool, *queue, std::move(*servers), clock->now());
    if (!report) {
        (void)std::fprintf(stderr, "autoscaler-cli: cannot read the Drone queue: %s\n",
                           report.error().message.c_str());
        return kExitFailure;
    }
    // EC2, read-only: only list() (DescribeInstances) is called, to show the
    // instances tagged for this pool that the store does not know.
    if (config->aws.configured()) {
        if (config->drone.host.empty()) {
            (void)std::fprintf(stderr,
                               "autoscaler-cli: bad configuration:\nDRONE_SERVER_HOST: is "
                               "required to read EC2: instances are found by their owner tag, "
                               "the Drone host\n");
            return kExitUsage;
        }
        auto provider = makeEc2Provider(listOnlyEc2OptionsFrom(*config), config->aws, *clock);
        if (!provider) {
            (void)std::fprintf(stderr, "autoscaler-cli: cannot set up EC2: %s\n",
                               provider.error().message.c_str());
            return kExitFailure;
        }
        if (auto viewed = addCloudView(*report, **provider); !viewed) {
            (void)std::fprintf(stderr, "autoscaler-cli: cannot read EC2: %s\n",
                               viewed.error().message.c_str());
            return kExitFailure;
        }
    }
    const std::string out = flags.json ? planReportJson(*report) + "\n" : formatPlanText(*report);
    (void)std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

} // namespace autoscale::tools
