// SPDX-License-Identifier: Apache-2.0
/// \file
/// The one-shot CLI: `plan` (one planning cycle, changing nothing) and
/// `simulate` (a trace replayed through the engine on virtual time). Parses flags, builds Config,
/// wires concrete objects, runs.

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include <autoscale/config.h>
#include <autoscale/drone.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/json.h>
#include <autoscale/plan_report.h>
#include <autoscale/simulation.h>
#include <autoscale/sqlite_store.h>

#include "cli_common.h"

namespace {

using namespace autoscale;
using tools::kExitFailure;
using tools::kExitOk;
using tools::kExitUsage;

struct PlanFlags {
    bool json = false;
    std::string queueFile;
    std::string serversFile;
    std::string policy;
};

Result<std::vector<Server>> readServers(const Config& config, const PlanFlags& flags) {
    if (!flags.serversFile.empty()) {
        std::ifstream in(flags.serversFile, std::ios::binary);
        if (!in)
            return makeError(Errc::Io, "cannot read servers file " + flags.serversFile);
        std::stringstream buffer;
        buffer << in.rdbuf();
        auto servers = parseServersJson(buffer.str());
        if (!servers) {
            Error e = servers.error();
            e.message = flags.serversFile + ": " + e.message;
            return e;
        }
        return servers;
    }
    if (config.databaseDriver != "sqlite3") {
        return makeError(Errc::InvalidArgument,
                         "DRONE_DATABASE_DRIVER=" + config.databaseDriver +
                                 " is not supported by this version; use sqlite3 or "
                                 "--servers-file");
    }
    auto store = openSqliteStore(
            {.path = sqlitePathFromDatasource(config.databaseDatasource), .readOnly = true});
    if (!store)
        return store.error();
    return (*store)->list();
}

/// The configuration for a command, or nullopt after printing every problem.
std::optional<Config> loadConfig(ConfigNeeds needs) {
    auto config = parseConfig(tools::processEnvironment(), needs);
    if (!config) {
        std::fprintf(stderr, "autoscaler-cli: bad configuration:\n%s\n",
                     config.error().message.c_str());
        return std::nullopt;
    }
    for (const auto& warning : config->warnings)
        std::fprintf(stderr, "autoscaler-cli: warning: %s\n", warning.c_str());
    return std::move(*config);
}

int runPlan(const PlanFlags& flags) {
    auto config = loadConfig(
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
        auto made = makeCurlHttpClient(
                HttpOptions{.protocols = config->drone.proto == "http" ? "http" : "https"});
        if (!made) {
            std::fprintf(stderr, "autoscaler-cli: %s\n", made.error().message.c_str());
            return kExitFailure;
        }
        http = std::move(*made);
        queue = std::make_unique<DroneClient>(config->drone, *http);
    }

    auto servers = readServers(*config, flags);
    if (!servers) {
        std::fprintf(stderr, "autoscaler-cli: cannot read the servers: %s\n",
                     servers.error().message.c_str());
        return kExitFailure;
    }
    const auto clock = makeSystemClock();
    auto report = planOnce(config->pool, *queue, std::move(*servers), clock->now());
    if (!report) {
        std::fprintf(stderr, "autoscaler-cli: cannot read the Drone queue: %s\n",
                     report.error().message.c_str());
        return kExitFailure;
    }
    // EC2, read-only: only list() (DescribeInstances) is called, to show the
    // instances tagged for this pool that the store does not know.
    if (config->aws.configured()) {
        if (config->drone.host.empty()) {
            std::fprintf(stderr, "autoscaler-cli: bad configuration:\nDRONE_SERVER_HOST: is "
                                 "required to read EC2: instances are found by their owner tag, "
                                 "the Drone host\n");
            return kExitUsage;
        }
        Ec2Options ec2{.amazon = config->amazon,
                       .poolName = config->pool.name,
                       .owner = config->drone.host,
                       .retry = RetrySettings{.maxAttempts = config->amazon.retries}};
        // The provider checks that it could launch; plan never launches, so
        // DRONE_AMAZON_IMAGE is optional here.
        if (ec2.amazon.image.empty())
            ec2.amazon.image = "ami-00000000000000000";
        auto provider = makeEc2Provider(ec2, config->aws, *clock);
        if (!provider) {
            std::fprintf(stderr, "autoscaler-cli: cannot set up EC2: %s\n",
                         provider.error().message.c_str());
            return kExitFailure;
        }
        if (auto viewed = addCloudView(*report, **provider); !viewed) {
            std::fprintf(stderr, "autoscaler-cli: cannot read EC2: %s\n",
                         viewed.error().message.c_str());
            return kExitFailure;
        }
    }
    const std::string out = flags.json ? planReportJson(*report) + "\n" : formatPlanText(*report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

struct SimulateFlags {
    std::string trace;
    std::string policy = "default";
    std::string boot = "60s";
    std::string bootJitter = "0s";
    double capacityFailures = 0;
    double price = 0.0416;
    std::uint64_t seed = 1;
    bool json = false;
    bool compare = false;
    bool coldStart = false;
};

/// The options for one policy: the pool from the environment, the policy's
/// own timings. Classic gets drone/autoscaler's (5 m planning, 10 s
/// allocation, 55 m minimum age) unless DRONE_INTERVAL or
/// DRONE_POOL_MIN_AGE are set explicitly.
SimulationOptions simulationOptions(const Config& config, const Environment& env, Policy policy,
                                    const SimProviderOptions& cloud, double price, bool coldStart) {
    SimulationOptions o;
    o.pool = config.pool;
    o.pool.policy = policy;
    o.interval = config.interval;
    o.timeoutStop = config.timeoutStop;
    o.cloud = cloud;
    o.pricePerHour = price;
    o.warmStart = !coldStart;
    if (policy == Policy::Classic) {
        o = withClassicTimings(o);
        if (env.contains("DRONE_INTERVAL"))
            o.planInterval = config.interval;
        if (env.contains("DRONE_POOL_MIN_AGE"))
            o.pool.minAge = config.pool.minAge;
    }
    return o;
}

int runSimulate(const SimulateFlags& flags) {
    const Environment env = tools::processEnvironment();
    auto config = loadConfig(ConfigNeeds{.drone = false, .agent = false, .amazon = false});
    if (!config)
        return kExitUsage;
    const auto boot = parseGoDuration(flags.boot);
    const auto jitter = parseGoDuration(flags.bootJitter);
    if (!boot || !jitter) {
        std::fprintf(stderr, "autoscaler-cli: --boot and --boot-jitter take a duration such as "
                             "60s or 2m30s\n");
        return kExitUsage;
    }
    if (!(flags.price >= 0) || !(flags.capacityFailures >= 0 && flags.capacityFailures < 1)) {
        std::fprintf(stderr, "autoscaler-cli: --price must be >= 0 and --capacity-failures in "
                             "[0, 1)\n");
        return kExitUsage;
    }
    auto trace = readTraceFile(flags.trace);
    if (!trace) {
        std::fprintf(stderr, "autoscaler-cli: %s\n", trace.error().message.c_str());
        return kExitUsage;
    }
    const SimProviderOptions cloud{.boot = *boot,
                                   .bootJitter = *jitter,
                                   .capacityFailureRate = flags.capacityFailures,
                                   .seed = flags.seed};
    std::vector<Policy> policies;
    if (flags.compare)
        policies = {Policy::Default, Policy::Classic};
    else
        policies = {flags.policy == "classic" ? Policy::Classic : Policy::Default};

    std::vector<std::pair<std::string, SimulationResult>> results;
    for (const Policy policy : policies) {
        auto result = runSimulation(*trace, simulationOptions(*config, env, policy, cloud,
                                                              flags.price, flags.coldStart));
        if (!result) {
            std::fprintf(stderr, "autoscaler-cli: %s\n", result.error().message.c_str());
            return kExitUsage;
        }
        if (result->notRun > 0) {
            std::fprintf(stderr,
                         "autoscaler-cli: warning: %d of %d stages never ran (%s): no runner of "
                         "this pool (DRONE_AGENT_OS/ARCH/LABELS, DRONE_POOL_MAX) takes them\n",
                         result->notRun, result->stages, std::string(nameOf(policy)).c_str());
        }
        results.emplace_back(std::string(nameOf(policy)), std::move(*result));
    }

    std::string out;
    if (flags.json) {
        if (results.size() == 1) {
            out = simulationJson(results[0].second) + "\n";
        } else {
            out = "{";
            for (std::size_t i = 0; i < results.size(); ++i) {
                out += (i > 0 ? ",\"" : "\"") + results[i].first +
                       "\":" + simulationJson(results[i].second);
            }
            out += "}\n";
        }
    } else {
        const auto& pool = config->pool;
        char price[32];
        std::snprintf(price, sizeof price, "%.4f", flags.price);
        out = "trace: " + flags.trace + " (" + std::to_string(trace->size()) + " stages)\n" +
              "pool: min " + std::to_string(pool.min) + ", max " + std::to_string(pool.max) +
              ", concurrency " + std::to_string(pool.concurrency) + ", buffer " +
              std::to_string(pool.buffer) + "; boot " + flags.boot + "; $" + price +
              " per instance-hour\n" +
              (flags.coldStart ? "start: an empty pool (--cold-start)"
                               : "start: MIN servers launched at once under both policies") +
              "\n\n";
        out += formatSimulationTable(results);
        for (const auto& [name, r] : results)
            out += "\n" + name + ": " + formatSimulationChart(r);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

} // namespace

int main(int argc, char** argv) {
    try {
        const tools::CurlGlobal curl;
        if (!curl.ok()) {
            std::cerr << "autoscaler-cli: curl_global_init failed\n";
            return kExitFailure;
        }
        CLI::App app{"autoscaler-cli: one-shot autoscaler commands. Configuration comes from the "
                     "same DRONE_* and AWS_* environment variables as the daemon (see README)."};
        app.require_subcommand(1);

        PlanFlags planFlags;
        auto* plan = app.add_subcommand(
                "plan", "Run one planning cycle against the Drone queue and the store and print "
                        "the decision. Changes nothing: the store is opened read-only and no "
                        "cloud call that creates or destroys is made. Exit 0 on success, 1 when "
                        "Drone or the store cannot be read, 2 on bad configuration.");
        plan->add_flag("--json", planFlags.json, "print one JSON object instead of text");
        plan->add_option("--queue-file", planFlags.queueFile,
                         "read the queue from this file (what GET /api/queue returns) instead "
                         "of the Drone server");
        plan->add_option("--servers-file", planFlags.serversFile,
                         "read the servers from this file (what GET /api/servers returns) "
                         "instead of the store");
        plan->add_option("--policy", planFlags.policy, "planning policy")
                ->check(CLI::IsMember({"default", "classic"}));

        SimulateFlags simFlags;
        auto* simulate = app.add_subcommand(
                "simulate",
                "Replay a workload trace (JSON lines {\"t\", \"duration\", \"os\", \"arch\", "
                "\"labels\"}) through the engine with a simulated cloud and Drone queue on a "
                "virtual clock. The pool comes from the same DRONE_* variables as the daemon; "
                "no Drone server or AWS account is used. Exit 0 on success, 2 on a malformed "
                "trace or bad configuration.");
        simulate->add_option("--trace", simFlags.trace, "the trace file")->required();
        simulate->add_option("--policy", simFlags.policy, "planning policy (default: default)")
                ->check(CLI::IsMember({"default", "classic"}));
        simulate->add_flag("--compare", simFlags.compare,
                           "run both policies and print them side by side");
        simulate->add_option("--boot", simFlags.boot,
                             "time from RunInstances to a runner that takes stages (default 60s)");
        simulate->add_option("--boot-jitter", simFlags.bootJitter,
                             "random extra boot time, up to this much (default 0s)");
        simulate->add_option("--capacity-failures", simFlags.capacityFailures,
                             "share of RunInstances calls failing for lack of capacity (0..1)");
        simulate->add_option("--price", simFlags.price,
                             "USD per instance-hour (default 0.0416, t3.medium us-east-1)");
        simulate->add_option("--seed", simFlags.seed, "seed of the simulated randomness");
        simulate->add_flag("--cold-start", simFlags.coldStart,
                           "start from an empty pool, as a first deployment does (default: MIN "
                           "servers launched at the start under both policies, as in a "
                           "deployment that has been running)");
        simulate->add_flag("--json", simFlags.json, "print one JSON object instead of text");

        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? kExitOk : kExitUsage;
        }
        if (plan->parsed())
            return runPlan(planFlags);
        return runSimulate(simFlags);
    } catch (const std::exception& e) {
        std::cerr << "autoscaler-cli: " << e.what() << "\n";
        return kExitFailure;
    }
}
