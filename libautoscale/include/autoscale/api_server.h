// SPDX-License-Identifier: Apache-2.0
/// \file
/// The daemon's REST API (SPEC §6) on cpp-httplib: drone/autoscaler's paths
/// and Server JSON (so `drone server ls` works, without any key), Drone-admin
/// authorisation cached for at most 60 s, /healthz with real checks, /varz,
/// /version, /metrics in Prometheus text format, /api/plan, and the status
/// page /ui behind HTTP basic auth.

#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/drone.h>
#include <autoscale/engine.h>
#include <autoscale/fleet.h>
#include <autoscale/log.h>
#include <autoscale/store.h>
#include <autoscale/version.h>

namespace autoscale {

/// Who a bearer token belongs to. Implementations are thread-safe.
class TokenAuthorizer {
public:
    virtual ~TokenAuthorizer();
    /// Errc::Unauthorized when the token is not valid.
    [[nodiscard]] virtual Result<DroneUser> user(const std::string& token) = 0;

    TokenAuthorizer(const TokenAuthorizer&) = delete;
    TokenAuthorizer& operator=(const TokenAuthorizer&) = delete;

protected:
    TokenAuthorizer() = default;
};

/// Asks Drone (GET /api/user) and caches each answer for `ttl` (≤ 60 s).
/// Owns its DroneClient; calls to Drone are serialised.
class DroneAuthorizer final : public TokenAuthorizer {
public:
    DroneAuthorizer(std::unique_ptr<HttpClient> http, DroneSettings drone, const Clock& clock,
                    std::chrono::seconds ttl = std::chrono::seconds{60});
    [[nodiscard]] Result<DroneUser> user(const std::string& token) override;

private:
    std::unique_ptr<HttpClient> http_;
    DroneClient client_;
    const Clock& clock_;
    std::chrono::seconds ttl_;
    std::mutex mutex_;
    std::map<std::string, std::pair<SteadyTime, Result<DroneUser>>> cache_;
};

/// Counts cloud calls by EC2 action and outcome ("ok" or the error code),
/// forwarding to another Provider. Thread-safe if the inner one is.
class CountingProvider final : public Provider {
public:
    explicit CountingProvider(Provider& inner) : inner_(inner) {}
    Result<Instance> create(const CreateRequest& request) override;
    Result<std::vector<Instance>> list() override;
    Result<Instance> describe(const std::string& id) override;
    Result<void> destroy(std::span<const std::string> ids) override;
    /// Not a cloud call: forwarded, not counted.
    std::vector<CoolingChoice> coolingDown() const override { return inner_.coolingDown(); }

    /// (action, code) → calls.
    [[nodiscard]] std::map<std::pair<std::string, std::string>, std::int64_t> counts() const;

private:
    void note(const char* action, const Error* error);

    Provider& inner_;
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, std::int64_t> counts_;
};

/// A log sink decorator that forwards every record to `inner` and keeps the
/// last `capacity` of them for the status page. `inner` is borrowed and must
/// outlive it. Thread-safe. Records hold no secrets (the loggers never get any).
class LogRing final : public LogSink {
public:
    /// The status page shows this many lines, as drone/autoscaler does.
    static constexpr std::size_t kDefaultCapacity = 250;

    explicit LogRing(LogSink& inner, std::size_t capacity = kDefaultCapacity);
    void write(const LogRecord& record) override;
    /// The kept records, oldest first.
    [[nodiscard]] std::vector<LogRecord> recent() const;

private:
    LogSink& inner_;
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<LogRecord> records_;
};

/// What the operator configures for the API (DRONE_HTTP_PORT, DRONE_PROMETHEUS_AUTH_TOKEN).
struct ApiSettings {
    std::string address = "0.0.0.0";
    int port = 8080;               ///< 0 picks a free port (tests).
    std::string prometheusToken{}; ///< Bearer token for /metrics. Secret.
    /// GET /ui is served only when uiPassword is set (DRONE_UI_PASSWORD, a
    /// secret: never logged, never in a page); otherwise it is 404.
    std::string uiUsername{}; ///< DRONE_UI_USERNAME; empty accepts any user name.
    std::string uiPassword{};

    friend bool operator==(const ApiSettings&, const ApiSettings&) = default;
};

/// The settings plus what the program supplies.
struct ApiOptions : ApiSettings {
    std::string version{buildVersion()};       ///< GET /version's "version".
    std::string commit{buildCommit()};         ///< GET /version's "commit".
    std::chrono::milliseconds interval{10000}; ///< /healthz: a good cycle within 3 intervals.
    /// The log lines /ui shows; borrowed, must outlive the server. Null: no log lines.
    const LogRing* uiLog = nullptr;
    /// How often a background thread samples servers against demand for /ui's
    /// chart (page requests sample too, at most once a minute). Zero: no
    /// thread (tests driving a FakeClock).
    std::chrono::milliseconds uiSampleEvery{60000};
};

/// One pool's numbers for /metrics.
struct PoolMetrics {
    std::string pool{};
    EngineMetrics metrics{};
    /// EC2 calls by (action, outcome), from the pool's CountingProvider.
    std::map<std::pair<std::string, std::string>, std::int64_t> ec2{};
};

/// Renders the Prometheus text exposition: every series about servers,
/// stages, reaction, back-off and EC2 calls once per pool, with a `pool`
/// label; `unroutable` pending stages that no pool serves.
std::string renderMetrics(std::span<const PoolMetrics> pools, const EngineStatus& status,
                          int unroutable);

/// Serves the API on its own threads until stopped or destroyed. Borrows
/// everything: it must outlive nothing it was given.
class ApiServer {
public:
    /// Binds and starts serving. Errc::Io when the address cannot be bound.
    /// `counting`: each pool's EC2 call counter, in pool order (entries may be null).
    static Result<std::unique_ptr<ApiServer>> start(ApiOptions options, Fleet& fleet, Store& store,
                                                    TokenAuthorizer& authorizer,
                                                    std::vector<const CountingProvider*> counting,
                                                    const Clock& clock, Logger logger);
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    [[nodiscard]] int port() const;
    void stop();

    class Impl;

private:
    explicit ApiServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// An exclusive lock on `<path>.lock` for the life of the object, so that a
/// second daemon on the same database refuses to start.
class ProcessLock {
public:
    /// Errc::Conflict naming the file when another process holds it.
    static Result<ProcessLock> acquire(const std::string& path);
    ProcessLock(ProcessLock&& other) noexcept;
    ProcessLock& operator=(ProcessLock&& other) noexcept;
    ~ProcessLock();
    ProcessLock(const ProcessLock&) = delete;
    ProcessLock& operator=(const ProcessLock&) = delete;

private:
    explicit ProcessLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

} // namespace autoscale
