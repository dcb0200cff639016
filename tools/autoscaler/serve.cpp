// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler serve`: parse the configuration, construct every component from
/// it (wiring.h builds their options) and run the engine and the API until a
/// stop signal.

#include "serve.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <stop_token>
#include <string>

#include <autoscale/admin_client.h>
#include <autoscale/api_server.h>
#include <autoscale/config.h>
#include <autoscale/drone.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/engine.h>
#include <autoscale/installer.h>
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
    const auto clock = makeSystemClock();
    const auto stderrSink = makeStderrSink(config->logsPretty);
    const auto sink = std::make_unique<LogRing>(*stderrSink); // The last lines, for /ui.
    const Logger log(*sink, *clock, "main", logLevelOf(*config));
    for (const auto& warning : config->warnings)
        log.warn("configuration", {{"warning", warning}});

    // Files first: a problem in them exits 2 before any database or cloud call.
    const auto dbPath = databasePathOf(*config);
    if (!dbPath)
        return badConfiguration(dbPath.error());
    const auto files = readInstallFiles(*config, *dbPath);
    if (!files) {
        badConfiguration(files.error());
        return files.error().code == Errc::InvalidArgument ? kExitUsage : kExitFailure;
    }

    auto lock = ProcessLock::acquire(*dbPath);
    if (!lock) {
        log.error("refusing to start", {{"error", lock.error().message}});
        return kExitFailure;
    }
    auto store = openStore(config->store, StoreAccess::ReadWrite);
    if (!store) {
        log.error("cannot open the store", {{"error", store.error().message}});
        return kExitFailure;
    }

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

    auto ec2Provider =
            makeEc2Provider(ec2OptionsFrom(*config), config->aws, *clock, {}, sink.get());
    if (!ec2Provider) {
        log.error("cannot set up EC2", {{"error", ec2Provider.error().message}});
        return kExitFailure;
    }
    CountingProvider provider(**ec2Provider);

    SshInstallerOptions installerOptions =
            installerOptionsFrom(*config, files->clientKey.privateKey);
    installerOptions.envFileLines = files->envFileLines;
    auto installer = makeSshInstaller(std::move(installerOptions), *clock, log.child("ssh"));
    if (!installer) {
        log.error("cannot set up the SSH installer", {{"error", installer.error().message}});
        return kExitFailure;
    }

    EngineOptions engineOptions = engineOptionsFrom(*config);
    engineOptions.userData =
            userDataFunction(*config, files->userDataTemplate, files->clientKey.publicKey);
    Engine engine(std::move(engineOptions), **store, provider, queue, **installer, *clock,
                  log.child("engine"));

    ApiOptions apiOptions = apiOptionsFrom(*config);
    apiOptions.uiLog = sink.get();
    auto api = ApiServer::start(std::move(apiOptions), engine, **store, authorizer, &provider,
                                *clock, log.child("api"));
    if (!api) {
        log.error("cannot start the API", {{"error", api.error().message}});
        return kExitFailure;
    }

    std::stop_source stop;
    const StopOnSignal signals(stop, log, kShutdownLimit);
    engine.run(stop.get_token());
    if (!engine.waitIdleFor(kShutdownGrace)) {
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
