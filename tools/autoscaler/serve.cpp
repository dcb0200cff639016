// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler serve`: parse the configuration, construct every component from
/// it (wiring.h builds their options) and run the engine and the API until a
/// stop signal.

#include "serve.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <autoscale/admin_client.h>
#include <autoscale/api_server.h>
#include <autoscale/config.h>
#include <autoscale/drone.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/engine.h>
#include <autoscale/fleet.h>
#include <autoscale/installer.h>
#include <autoscale/interruption_poller.h>
#include <autoscale/interruptions.h>
#include <autoscale/leader.h>
#include <autoscale/leader_guard.h>
#include <autoscale/postgres_store.h>
#include <autoscale/store.h>
#include <autoscale/wiring.h>

#include "cli_common.h"
#include "signals.h"

namespace autoscale::tools {

namespace {

using namespace std::chrono_literals;

/// After SIGTERM, in-flight work gets this long to stop before the process
/// exits without it (its rows resume at the next start).
constexpr auto kShutdownGrace = 5s;
/// Exit 0 at the latest this long after SIGTERM, whatever is still blocked:
/// well within `docker stop`'s 10 s.
constexpr auto kShutdownLimit = 8s;

int badConfiguration(const Error& error) {
    (void)std::fprintf(stderr, "autoscaler: bad configuration:\n%s\n", error.message.c_str());
    return kExitUsage;
}

} // namespace

int serve() {
    const auto config = loadConfig(processEnvironment());
    if (!config)
        return badConfiguration(config.error());
    const std::shared_ptr<const Clock> clock = makeSystemClock();
    const auto stderrSink = makeStderrSink(config->logsPretty);
    const auto sink = std::make_unique<LogRing>(*stderrSink); // The last lines, for /ui.
    const Logger log(*sink, *clock, "main", logLevelOf(*config));
    for (const auto& warning : config->warnings)
        log.warn("configuration", {{"warning", warning}});

    // Files first: a problem in them exits 2 before any database or cloud call.
    const auto dbPath = databasePathOf(*config);
    if (!dbPath)
        return badConfiguration(dbPath.error());
    std::vector<Config> poolConfigs;
    std::vector<InstallFiles> poolFiles;
    for (const auto& pool : config->pools) {
        poolConfigs.push_back(configForPool(*config, pool));
        auto files = readInstallFiles(poolConfigs.back(), *dbPath);
        if (!files) {
            badConfiguration(files.error());
            return files.error().code == Errc::InvalidArgument ? kExitUsage : kExitFailure;
        }
        poolFiles.push_back(std::move(*files));
    }

    // One daemon on SQLite (a second refuses to start), or several on
    // PostgreSQL: one leads, the others serve the API from the store.
    std::optional<ProcessLock> lock;
    std::unique_ptr<Store> sqlite;
    std::unique_ptr<PostgresStore> postgres;
    std::unique_ptr<LeaderElection> election;
    std::unique_ptr<Store> fenced;
    if (config->store.driver == "postgres") {
        auto opened = openPostgresStore({.dsn = config->store.datasource});
        if (!opened) {
            log.error("cannot open the store", {{"error", opened.error().message}});
            return kExitFailure;
        }
        postgres = std::move(*opened);
        election = std::make_unique<LeaderElection>(
                makePgLockSession({.dsn = config->store.datasource}), clock, haIdentity(*config));
        // A frozen leader (SIGSTOP, a stalled VM) that wakes up after another
        // took over has stepped down already; exit so that it restarts clean.
        election->setOnFrozen([] { std::_Exit(kExitFailure); });
        fenced = makeLeaderFencedStore(*postgres, *election);
        log.info("sharing the store: leader election on",
                 {{"id", election->id()}, {"database", redactDsn(config->store.datasource)}});
    } else {
        auto acquired = ProcessLock::acquire(*dbPath);
        if (!acquired) {
            log.error("refusing to start", {{"error", acquired.error().message}});
            return kExitFailure;
        }
        lock = std::move(*acquired);
        auto opened = openStore(config->store, StoreAccess::ReadWrite);
        if (!opened) {
            log.error("cannot open the store", {{"error", opened.error().message}});
            return kExitFailure;
        }
        sqlite = std::move(*opened);
    }
    Store& sharedStore = postgres ? static_cast<Store&>(*postgres) : *sqlite;
    Store& engineStore = fenced ? *fenced : sharedStore;

    HttpOptions authHttpOptions = droneHttpOptions(*config);
    authHttpOptions.totalTimeout = 10s;
    auto queueHttp = makeCurlHttpClient(droneHttpOptions(*config));
    auto authHttp = makeCurlHttpClient(authHttpOptions);
    if (!queueHttp || !authHttp) {
        log.error("cannot create an HTTP client");
        return kExitFailure;
    }
    DroneClient queue(config->drone, **queueHttp);
    DroneAuthorizer authorizer(std::move(*authHttp), config->drone, *clock);

    // Builds lost with a reclaimed or vanished server: found through Drone,
    // restarted once each with DRONE_RESTART_LOST_BUILDS (one Drone client).
    auto lostHttp = makeCurlHttpClient(droneHttpOptions(*config));
    if (!lostHttp) {
        log.error("cannot create an HTTP client");
        return kExitFailure;
    }
    const LostBuildHooks lostBuilds =
            makeLostBuildHooks(config->drone, std::move(*lostHttp), engineStore,
                               log.child("lost-builds"), config->interruptions.restartLostBuilds);

    // One provider and one installer per pool: each has its own image, types,
    // subnets, tags and runner.
    std::vector<std::unique_ptr<Provider>> ec2Providers;
    std::vector<std::unique_ptr<CountingProvider>> providers;
    std::vector<std::unique_ptr<LeaderGuardedProvider>> guarded;
    std::vector<std::unique_ptr<Installer>> installers;
    std::vector<FleetPool> pools;
    for (std::size_t i = 0; i < poolConfigs.size(); ++i) {
        const Config& poolConfig = poolConfigs[i];
        const Logger poolLog = log.with({{"pool", poolConfig.pool.name}});
        auto ec2Provider =
                makeEc2Provider(ec2OptionsFrom(poolConfig), config->aws, *clock, {}, sink.get());
        if (!ec2Provider) {
            poolLog.error("cannot set up EC2", {{"error", ec2Provider.error().message}});
            return kExitFailure;
        }
        ec2Providers.push_back(std::move(*ec2Provider));
        providers.push_back(std::make_unique<CountingProvider>(*ec2Providers.back()));

        SshInstallerOptions installerOptions =
                installerOptionsFrom(poolConfig, poolFiles[i].clientKey.privateKey);
        installerOptions.envFileLines = poolFiles[i].envFileLines;
        auto installer =
                makeSshInstaller(std::move(installerOptions), *clock, poolLog.child("ssh"));
        if (!installer) {
            poolLog.error("cannot set up the SSH installer",
                          {{"error", installer.error().message}});
            return kExitFailure;
        }
        installers.push_back(std::move(*installer));

        EngineOptions engineOptions = engineOptionsFrom(poolConfig);
        engineOptions.userData = userDataFunction(poolConfig, poolFiles[i].userDataTemplate,
                                                  poolFiles[i].clientKey.publicKey);
        Provider* provider = providers.back().get();
        if (election) {
            guarded.push_back(std::make_unique<LeaderGuardedProvider>(*provider, *election));
            provider = guarded.back().get();
        }
        engineOptions.findLostBuilds = lostBuilds.find;
        engineOptions.handleLostBuilds = lostBuilds.handle;
        pools.push_back(FleetPool{.options = std::move(engineOptions),
                                  .provider = provider,
                                  .installer = installers.back().get()});
    }
    std::optional<FleetLeadership> leadership;
    if (election) {
        const LeaderElection* e = election.get();
        leadership =
                FleetLeadership{.term = [e] { return e->role() == Role::Leader ? e->epoch() : 0; },
                                .leaderId = [e] { return e->leaderId(); },
                                .id = e->id()};
    }
    Fleet fleet(std::move(pools), config->fleetMax, engineStore, queue, *clock, log.child("engine"),
                config->interval, std::move(leadership), &sharedStore);

    ApiOptions apiOptions = apiOptionsFrom(*config);
    apiOptions.uiLog = sink.get();
    std::vector<const CountingProvider*> counting;
    counting.reserve(providers.size());
    for (const auto& p : providers)
        counting.push_back(p.get());
    auto api = ApiServer::start(std::move(apiOptions), fleet, sharedStore, authorizer,
                                std::move(counting), *clock, log.child("api"));
    if (!api) {
        log.error("cannot start the API", {{"error", api.error().message}});
        return kExitFailure;
    }

    // Interruption notices (DRONE_AMAZON_INTERRUPTION_QUEUE): one poller per
    // process, started here (with leadership: only while leading).
    std::unique_ptr<InterruptionQueue> interruptionQueue;
    std::unique_ptr<InterruptionPoller> poller;
    if (!config->interruptions.queueUrl.empty()) {
        auto made =
                makeSqsInterruptionQueue(SqsQueueOptions{.queueUrl = config->interruptions.queueUrl,
                                                         .fallbackRegion = config->amazon.region},
                                         config->aws, *clock, {}, sink.get());
        if (!made) {
            log.error("cannot set up the interruption queue", {{"error", made.error().message}});
            return kExitFailure;
        }
        interruptionQueue = std::move(*made);
        poller = std::make_unique<InterruptionPoller>(
                *interruptionQueue,
                [&fleet](const CloudNotice& notice) { return handleFleetNotice(fleet, notice); },
                *clock, log.child("interruptions"));
        poller->active = [&fleet] {
            return fleet.role().leader;
        };
        poller->start();
    }

    std::stop_source stop;
    const StopOnSignal signals(stop, log, kShutdownLimit);
    std::jthread electing;
    if (election) {
        electing = std::jthread([&election, token = stop.get_token()] { election->run(token); });
    }
    fleet.run(stop.get_token());
    // The poller is not joined: its long poll may take 20 s to end, and
    // exitNow() below ends it; a notice received but not handled is not
    // deleted and comes back to the next start.
    if (!fleet.waitIdleFor(kShutdownGrace)) {
        log.warn("in-flight work still running after " + std::to_string(kShutdownGrace.count()) +
                 "s: abandoned; it resumes at the next start");
    }
    (*api)->stop();
    log.info("stopped");
    // Every state change is committed. Workers still blocked in a network call
    // (a best-effort drain command, or work past the grace) are not joined.
    exitNow(kExitOk);
}

int healthcheck() {
    const auto config = loadConfig(processEnvironment(),
                                   ConfigNeeds{.drone = false, .agent = false, .amazon = false});
    if (!config)
        return badConfiguration(config.error());
    auto http = makeCurlHttpClient(HttpOptions{.totalTimeout = 5s, .protocols = "http"});
    if (!http) {
        (void)std::fprintf(stderr, "autoscaler: cannot create an HTTP client\n");
        return kExitFailure;
    }
    AdminClient daemon(localApiUrl(config->api.address, config->api.port), "", **http);
    const auto health = daemon.health();
    if (!health) {
        (void)std::fprintf(stderr, "autoscaler: unhealthy: %s\n", health.error().message.c_str());
        return kExitFailure;
    }
    (void)std::printf("%s\n", health->c_str());
    return kExitOk;
}

} // namespace autoscale::tools
