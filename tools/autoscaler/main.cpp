// SPDX-License-Identifier: Apache-2.0
/// \file
/// The daemon's main: `autoscaler serve` (also what runs with no argument, as
/// drone/autoscaler's image does). Parses flags, builds Config, wires the
/// concrete objects (SQLite store, Drone queue, EC2 provider, SSH installer,
/// engine, REST API) and runs until SIGTERM or SIGINT.

#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include <autoscale/admin_client.h>
#include <autoscale/api_server.h>
#include <autoscale/config.h>
#include <autoscale/drone.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/engine.h>
#include <autoscale/installer.h>
#include <autoscale/sqlite_store.h>
#include <autoscale/ssh.h>

#include "cli_common.h"

namespace {

using namespace autoscale;
using namespace std::chrono_literals;
using tools::kExitFailure;
using tools::kExitOk;
using tools::kExitUsage;

constexpr const char* kVersion = "0.1.0";
/// After SIGTERM, in-flight work gets this long to stop before the process
/// exits without it (its rows resume at the next start).
constexpr auto kShutdownGrace = 5s;
/// Exit 0 at the latest this long after SIGTERM, whatever is still blocked
/// (a cycle in a slow Drone or EC2 call): well within `docker stop`'s 10 s.
constexpr auto kShutdownLimit = 8s;

/// Ends the process now with `status`, skipping destructors: for threads
/// blocked in network calls that cannot be joined in time. SQLite's journal
/// keeps the store consistent, as after a crash.
[[noreturn]] void exitNow(int status) {
    (void)std::fflush(nullptr);
    std::_Exit(status);
}

std::optional<std::string> readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

/// What serve needs beyond Config, read from files before any cloud call.
struct Prepared {
    std::string userDataTemplate;
    std::vector<std::string> envFileLines;
    SshKeyPair clientKey;
};

Result<Prepared> prepare(const Config& config, const std::string& databasePath) {
    Prepared p;
    std::vector<std::string> problems;
    if (!config.amazon.userDataFile.empty()) {
        auto text = readFile(config.amazon.userDataFile);
        if (!text)
            problems.push_back("DRONE_AMAZON_USERDATA_FILE: cannot read " +
                               config.amazon.userDataFile);
        else
            p.userDataTemplate = *text;
    } else if (!config.amazon.userData.empty()) {
        p.userDataTemplate = config.amazon.userData;
    } else {
        p.userDataTemplate = defaultUserDataTemplate();
    }
    if (!config.agent.envFile.empty()) {
        auto lines = readEnvFile(config.agent.envFile);
        if (!lines)
            problems.push_back("DRONE_AGENT_ENV_FILE: " + lines.error().message);
        else
            p.envFileLines = std::move(*lines);
    }
    if (!config.ssh.privateKeyFile.empty()) {
        auto key = loadClientKey(config.ssh.privateKeyFile);
        if (!key)
            problems.push_back("DRONE_SSH_PRIVATE_KEY_FILE: " + key.error().message);
        else
            p.clientKey = std::move(*key);
    }
    if (!problems.empty()) {
        std::string message;
        for (const auto& line : problems)
            message += (message.empty() ? "" : "\n") + line;
        return makeError(Errc::InvalidArgument, message);
    }
    if (config.ssh.privateKeyFile.empty()) {
        auto key = loadOrCreateClientKey(defaultClientKeyPath(databasePath));
        if (!key)
            return makeError(Errc::Io, "cannot create the SSH client key: " + key.error().message);
        p.clientKey = std::move(*key);
    }
    return p;
}

int serve(const std::string& commit) {
    const Environment env = tools::processEnvironment();
    auto config = parseConfig(env);
    if (!config) {
        std::fprintf(stderr, "autoscaler: bad configuration:\n%s\n",
                     config.error().message.c_str());
        return kExitUsage;
    }
    const auto clock = makeSystemClock();
    const auto stderrSink = makeStderrSink(config->logsPretty);
    const auto sink = std::make_unique<LogRing>(*stderrSink); // The last lines, for /ui.
    const LogLevel level = config->logsTrace   ? LogLevel::Trace
                           : config->logsDebug ? LogLevel::Debug
                                               : LogLevel::Info;
    const Logger log(*sink, *clock, "main", level);
    for (const auto& warning : config->warnings)
        log.warn("configuration", {{"warning", warning}});

    if (config->databaseDriver != "sqlite3") {
        std::fprintf(stderr,
                     "autoscaler: bad configuration:\nDRONE_DATABASE_DRIVER: \"%s\" is "
                     "not available in this build; expected sqlite3\n",
                     config->databaseDriver.c_str());
        return kExitUsage;
    }
    const std::string dbPath = sqlitePathFromDatasource(config->databaseDatasource);
    auto prepared = prepare(*config, dbPath);
    if (!prepared) {
        std::fprintf(stderr, "autoscaler: bad configuration:\n%s\n",
                     prepared.error().message.c_str());
        return prepared.error().code == Errc::InvalidArgument ? kExitUsage : kExitFailure;
    }

    auto lock = ProcessLock::acquire(dbPath);
    if (!lock) {
        log.error("refusing to start", {{"error", lock.error().message}});
        return kExitFailure;
    }
    auto store = openSqliteStore({.path = dbPath});
    if (!store) {
        log.error("cannot open the store", {{"error", store.error().message}});
        return kExitFailure;
    }

    const std::string protocols = config->drone.proto == "http" ? "http" : "https";
    auto queueHttp = makeCurlHttpClient(HttpOptions{.protocols = protocols});
    auto authHttp = makeCurlHttpClient(HttpOptions{.totalTimeout = 10s, .protocols = protocols});
    if (!queueHttp || !authHttp) {
        log.error("cannot create an HTTP client");
        return kExitFailure;
    }
    DroneClient queue(config->drone, **queueHttp);
    DroneAuthorizer authorizer(std::move(*authHttp), config->drone, *clock);

    Ec2Options ec2{.amazon = config->amazon,
                   .poolName = config->pool.name,
                   .owner = config->drone.host,
                   .retry = RetrySettings{.maxAttempts = config->amazon.retries}};
    auto ec2Provider = makeEc2Provider(ec2, config->aws, *clock, {}, sink.get());
    if (!ec2Provider) {
        log.error("cannot set up EC2", {{"error", ec2Provider.error().message}});
        return kExitFailure;
    }
    CountingProvider provider(**ec2Provider);

    SshInstallerOptions installerOptions =
            installerOptionsFrom(*config, prepared->clientKey.privateKey);
    installerOptions.envFileLines = prepared->envFileLines;
    auto installer = makeSshInstaller(std::move(installerOptions), *clock, log.child("ssh"));
    if (!installer) {
        log.error("cannot set up the SSH installer", {{"error", installer.error().message}});
        return kExitFailure;
    }

    EngineOptions options{.pool = config->pool,
                          .namePrefix = config->agent.namePrefix,
                          .image = config->amazon.image,
                          .instanceType = config->amazon.instanceType,
                          .privateIp = config->amazon.privateIp,
                          .interval = config->interval,
                          .bootDeadline = config->installCheckDeadline,
                          .timeoutStop = config->timeoutStop,
                          .pingerInterval = config->pingerInterval};
    const bool pinned = config->ssh.hostKeyCheck == HostKeyCheck::Pinned;
    options.userData = [&config, &prepared, pinned](Server& server) -> Result<std::string> {
        UserDataValues values{.name = server.name,
                              .sshUser = config->ssh.user,
                              .sshPublicKey = prepared->clientKey.publicKey,
                              .image = config->agent.image,
                              .pool = config->pool.name};
        if (pinned) {
            if (server.hostPrivateKey.empty()) {
                auto key = generateHostKey();
                if (!key)
                    return key.error();
                server.hostKey = key->publicKey;
                server.hostPrivateKey = key->privateKey;
            }
            values.hostPublicKey = server.hostKey;
            values.hostPrivateKey = server.hostPrivateKey;
        }
        return renderUserData(prepared->userDataTemplate, values);
    };
    Engine engine(std::move(options), **store, provider, queue, **installer, *clock,
                  log.child("engine"));

    auto api = ApiServer::start(ApiOptions{.address = config->httpAddress,
                                           .port = config->httpPort,
                                           .prometheusToken = config->prometheusToken,
                                           .version = kVersion,
                                           .commit = commit,
                                           .interval = config->interval,
                                           .uiUsername = config->uiUsername,
                                           .uiPassword = config->uiPassword,
                                           .uiLog = sink.get()},
                                engine, **store, authorizer, &provider, *clock, log.child("api"));
    if (!api) {
        log.error("cannot start the API", {{"error", api.error().message}});
        return kExitFailure;
    }

    // SIGTERM and SIGINT end the loop; they were blocked in main before any
    // thread started, so only this thread receives them. It then ends the
    // process kShutdownLimit later if the shutdown below has not by then.
    // From here on serve() never returns: it ends with exitNow().
    std::stop_source stop;
    std::jthread signals([&stop, &log](const std::stop_token& token) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        int sig = 0;
        while (!token.stop_requested() && !stop.stop_requested()) {
            if (sigwait(&set, &sig) != 0)
                continue;
            log.info("signal received: stopping",
                     {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
            stop.request_stop();
        }
        // Counts down from the signal; a second signal only wakes this loop.
        const auto deadline = std::chrono::steady_clock::now() + kShutdownLimit;
        while (!token.stop_requested()) {
            const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    deadline - std::chrono::steady_clock::now());
            if (left <= 0ns) {
                log.warn("still stopping after " + std::to_string(kShutdownLimit.count()) +
                         "s: exiting; in-flight work resumes at the next start");
                exitNow(kExitOk);
            }
            const timespec wait{.tv_sec = static_cast<time_t>(left.count() / 1000000000),
                                .tv_nsec = static_cast<long>(left.count() % 1000000000)};
            (void)sigtimedwait(&set, nullptr, &wait);
        }
    });

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

/// `autoscaler healthcheck`: the image's HEALTHCHECK (no curl in the image).
int healthcheck() {
    auto config = parseConfig(tools::processEnvironment(),
                              ConfigNeeds{.drone = false, .agent = false, .amazon = false});
    if (!config) {
        std::fprintf(stderr, "autoscaler: bad configuration:\n%s\n",
                     config.error().message.c_str());
        return kExitUsage;
    }
    auto http = makeCurlHttpClient(HttpOptions{.totalTimeout = 5s, .protocols = "http"});
    if (!http) {
        std::fprintf(stderr, "autoscaler: cannot create an HTTP client\n");
        return kExitFailure;
    }
    AdminClient daemon(localApiUrl(config->httpAddress, config->httpPort), "", **http);
    auto health = daemon.health();
    if (!health) {
        std::fprintf(stderr, "autoscaler: unhealthy: %s\n", health.error().message.c_str());
        return kExitFailure;
    }
    std::printf("%s\n", health->c_str());
    return kExitOk;
}

} // namespace

int main(int argc, char** argv) {
    // Before any thread starts: signals go to the sigwait thread only.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        const tools::CurlGlobal curl;
        const Ssh2Global ssh2;
        if (!curl.ok() || !ssh2.ok()) {
            std::cerr << "autoscaler: cannot initialise libcurl or libssh2\n";
            return kExitFailure;
        }
        CLI::App app{"autoscaler: keeps enough EC2 build machines for a Drone CI queue. "
                     "Configuration comes from DRONE_* and AWS_* environment variables (see "
                     "README); bad configuration exits 2 naming every bad variable."};
        app.require_subcommand(0, 1);
        app.add_subcommand("serve", "run the daemon: planner, engine and REST API on "
                                    "DRONE_HTTP_PORT (the default when no command is given)");
        auto* health = app.add_subcommand(
                "healthcheck", "GET /healthz from the daemon listening on DRONE_HTTP_PORT on "
                               "this host; exit 0 when it is healthy, 1 otherwise");
        app.set_version_flag("--version", kVersion);
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? kExitOk : kExitUsage;
        }
        if (health->parsed())
            return healthcheck();
        return serve("");
    } catch (const std::exception& e) {
        std::cerr << "autoscaler: " << e.what() << "\n";
        return kExitFailure;
    }
}
