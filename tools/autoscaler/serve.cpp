// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler serve`: parse the configuration, construct every component from
/// it (wiring.h builds their options) and run the engine and the API until a
/// stop signal.

#include "serve.h"

#include <chrono>
#include <cstdio>
#include <stop_token>

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

int badConfiguration(const Error& error) {
    (void)std::fprintf(stderr, "autoscaler: bad configuration:\n%s\n", error.message.c_str());
    return kExitUsage;
}

} // namespace

int serve() {
    const auto config = parseConfig(processEnvironment());
    if (!config)
        return badConfiguration(config.error());
    const auto clock = makeSystemClock();
    const auto sink = makeStderrSink(config->logsPretty);
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

    auto api = ApiServer::start(apiOptionsFrom(*config), engine, **store, authorizer, &provider,
                                *clock, log.child("api"));
    if (!api) {
        log.error("cannot start the API", {{"error", api.error().message}});
        return kExitFailure;
    }

    std::stop_source stop;
    {
        const StopOnSignal signals(stop, log);
        engine.run(stop.get_token());
        if (!engine.waitIdleFor(30s)) {
            log.warn("in-flight work still running after 30s; exiting; it resumes at the next "
                     "start");
        }
        (*api)->stop();
    }
    log.info("stopped");
    return kExitOk;
}

} // namespace autoscale::tools
