// SPDX-License-Identifier: Apache-2.0
/// \file
/// The one-shot CLI's main: `plan` (one planning cycle, changing nothing) and
/// `simulate` (a trace replayed through the engine on virtual time). Parses
/// the flags and runs the command (plan.cpp, simulate.cpp).

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "commands.h"

int main(int argc, char** argv) {
    using autoscale::tools::CurlGlobal;
    using autoscale::tools::kExitFailure;
    using autoscale::tools::kExitOk;
    using autoscale::tools::kExitUsage;
    using autoscale::tools::PlanFlags;
    using autoscale::tools::runPlan;
    using autoscale::tools::runSimulate;
    using autoscale::tools::SimulateFlags;
    using autoscale::tools::versionLine;
    try {
        const CurlGlobal curl;
        if (!curl.ok()) {
            std::cerr << "autoscaler-cli: curl_global_init failed\n";
            return kExitFailure;
        }
        CLI::App app{"autoscaler-cli: one-shot autoscaler commands. Configuration comes from the "
                     "same DRONE_* and AWS_* environment variables as the daemon (see README)."};
        app.require_subcommand(1);
        app.set_version_flag("--version", versionLine("autoscaler-cli"));

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
        plan->add_option("--pool", planFlags.pool,
                         "print only this pool's plan (a name from DRONE_POOL_FILE; without "
                         "one, the pool is named default)");

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
        simulate->add_option("--spot-price", simFlags.spotPrice,
                             "spot price as a fraction of on-demand (default 0.3)");
        simulate->add_option("--interruptions-per-hour", simFlags.interruptionsPerHour,
                             "spot reclaims per spot instance-hour (default 0)");
        simulate->add_option("--spot-outage", simFlags.spotOutages,
                             "START:END seconds into the trace when spot has no capacity "
                             "(repeatable)");
        simulate->add_flag("--compare-markets", simFlags.compareMarkets,
                           "run on-demand and spot on the same trace, side by side");
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
