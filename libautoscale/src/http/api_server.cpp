// SPDX-License-Identifier: Apache-2.0
/// \file
/// The REST API on cpp-httplib, the Drone token authorizer, the counting
/// provider decorator, Prometheus rendering and the database lock.

#include "autoscale/api_server.h"

#include <array>
#include <charconv>
#include <fcntl.h>
#include <httplib.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

#include <autoscale/json.h>

#include "json_text.h"
#include "ui_history.h"
#include "ui_page.h"

namespace autoscale {

TokenAuthorizer::~TokenAuthorizer() = default;

DroneAuthorizer::DroneAuthorizer(std::unique_ptr<HttpClient> http, DroneSettings drone,
                                 const Clock& clock, std::chrono::seconds ttl)
    : http_(std::move(http))
    , client_(std::move(drone), *http_)
    , clock_(clock)
    , ttl_(std::min(ttl, std::chrono::seconds{60})) {
}

Result<DroneUser> DroneAuthorizer::user(const std::string& token) {
    const std::lock_guard lock(mutex_);
    const SteadyTime now = clock_.steadyNow();
    if (auto it = cache_.find(token); it != cache_.end() && now - it->second.first < ttl_)
        return it->second.second;
    auto answer = client_.user(token);
    // Transport failures are not cached: the next request asks again.
    const bool cacheable = answer.has_value() || answer.error().code == Errc::Unauthorized ||
                           answer.error().code == Errc::Forbidden;
    if (cacheable) {
        if (cache_.size() > 1000)
            cache_.clear();
        cache_.insert_or_assign(token, std::make_pair(now, answer));
    }
    return answer;
}

// ---- CountingProvider ----------------------------------------------------

void CountingProvider::note(const char* action, const Error* error) {
    std::string code = "ok";
    if (error != nullptr)
        code = error->serviceCode.empty() ? std::string(nameOf(error->code)) : error->serviceCode;
    const std::lock_guard lock(mutex_);
    ++counts_[{action, code}];
}

Result<Instance> CountingProvider::create(const CreateRequest& request) {
    auto r = inner_.create(request);
    note("RunInstances", r ? nullptr : &r.error());
    return r;
}

Result<std::vector<Instance>> CountingProvider::list() {
    auto r = inner_.list();
    note("DescribeInstances", r ? nullptr : &r.error());
    return r;
}

Result<Instance> CountingProvider::describe(const std::string& id) {
    auto r = inner_.describe(id);
    note("DescribeInstances", r ? nullptr : &r.error());
    return r;
}

Result<void> CountingProvider::destroy(std::span<const std::string> ids) {
    auto r = inner_.destroy(ids);
    note("TerminateInstances", r ? nullptr : &r.error());
    return r;
}

std::map<std::pair<std::string, std::string>, std::int64_t> CountingProvider::counts() const {
    const std::lock_guard lock(mutex_);
    return counts_;
}

// ---- Prometheus --------------------------------------------------------------

namespace {

std::string number(double v) {
    // As printf's "%.17g" would print it; 64 characters always suffice.
    std::array<char, 64> buf{};
    const auto written =
            std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general, 17);
    return {buf.data(), written.ptr};
}

void histogram(std::string& out, const std::string& name, const std::string& help,
               const Histogram& h) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
    std::int64_t cumulative = 0;
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
        cumulative += h.counts[i];
        out += name + "_bucket{le=\"" + number(h.bounds[i]) + "\"} " + std::to_string(cumulative) +
               "\n";
    }
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += name + "_sum " + number(h.sum) + "\n";
    out += name + "_count " + std::to_string(h.count) + "\n";
}

void scalar(std::string& out, const std::string& name, const char* type, const std::string& help,
            const std::string& value) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           value + "\n";
}

std::string labelValue(const std::string& v) {
    std::string out;
    for (const char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

} // namespace

std::string renderMetrics(const EngineMetrics& m, const EngineStatus& status,
                          const std::map<std::pair<std::string, std::string>, std::int64_t>& ec2) {
    std::string out;
    const auto count = [&](const char* state) {
        const auto it = m.serversByState.find(state);
        return it == m.serversByState.end() ? 0 : it->second;
    };
    // drone/autoscaler's names.
    histogram(out, "drone_server_create_time_seconds", "Time to create a server.", m.createTime);
    histogram(out, "drone_server_boot_time_seconds", "Time from creation until reachable.",
              m.bootTime);
    histogram(out, "drone_server_install_time_seconds", "Time to install the runner.",
              m.installTime);
    scalar(out, "drone_server_create_errors_total", "counter", "Server creation errors.",
           std::to_string(m.createErrors));
    scalar(out, "drone_server_boot_errors_total", "counter", "Server boot errors.",
           std::to_string(m.bootErrors));
    scalar(out, "drone_server_install_errors_total", "counter", "Runner install errors.",
           std::to_string(m.installErrors));
    scalar(out, "drone_servers_created", "counter", "Servers created.",
           std::to_string(m.serversCreated));
    scalar(out, "drone_servers_created_err", "counter", "Servers that failed to create.",
           std::to_string(m.createErrors));
    scalar(out, "drone_servers_deleted", "counter", "Servers terminated.",
           std::to_string(m.serversTerminated));
    scalar(out, "drone_servers_deleted_err", "counter", "Failed terminations.",
           std::to_string(m.terminateErrors));
    scalar(out, "drone_server_count", "gauge", "Servers in state running.",
           std::to_string(count("running")));
    // Ours.
    scalar(out, "autoscaler_pending_stages", "gauge", "Matching stages waiting.",
           std::to_string(m.pendingStages));
    scalar(out, "autoscaler_running_stages", "gauge", "Matching stages running.",
           std::to_string(m.runningStages));
    out += "# HELP autoscaler_servers Servers by state.\n# TYPE autoscaler_servers gauge\n";
    for (const char* state : {"pending", "creating", "booting", "installing", "running", "draining",
                              "terminating", "terminated", "error"}) {
        out += std::string("autoscaler_servers{state=\"") + state + "\"} " +
               std::to_string(count(state)) + "\n";
    }
    histogram(out, "autoscaler_reaction_time_seconds",
              "From a stage first seen pending to capacity requested for it.", m.reaction);
    out += "# HELP autoscaler_ec2_calls_total EC2 calls by action and outcome.\n"
           "# TYPE autoscaler_ec2_calls_total counter\n";
    for (const auto& [key, n] : ec2) {
        out += "autoscaler_ec2_calls_total{action=\"" + labelValue(key.first) + "\",code=\"" +
               labelValue(key.second) + "\"} " + std::to_string(n) + "\n";
    }
    scalar(out, "autoscaler_orphans_terminated_total", "counter",
           "Instances tagged as ours that the store did not know, terminated.",
           std::to_string(m.orphansTerminated));
    scalar(out, "autoscaler_instances_vanished_total", "counter",
           "Instances that disappeared outside the autoscaler (spot reclaim, manual).",
           std::to_string(m.vanished));
    scalar(out, "autoscaler_consecutive_failures", "gauge",
           "Consecutive server failures (creation back-off).",
           std::to_string(m.consecutiveFailures));
    scalar(out, "autoscaler_backoff_seconds", "gauge", "Seconds until creation may resume.",
           number(static_cast<double>(m.backoffRemaining.count()) / 1000.0));
    scalar(out, "autoscaler_paused", "gauge", "1 while paused.", status.paused ? "1" : "0");
    scalar(out, "autoscaler_cycles_total", "counter", "Planning cycles.", std::to_string(m.cycles));
    scalar(out, "autoscaler_cycle_errors_total", "counter",
           "Cycles that could not read the queue or the store.", std::to_string(m.cycleErrors));
    return out;
}

// ---- the server ----------------------------------------------------------

class ApiServer::Impl {
public:
    Impl(ApiOptions options, Engine& engine, Store& store, TokenAuthorizer& authorizer,
         const CountingProvider* counting, const Clock& clock, Logger logger)
        : options_(std::move(options))
        , engine_(engine)
        , store_(store)
        , authorizer_(authorizer)
        , counting_(counting)
        , clock_(clock)
        , log_(std::move(logger)) {}

    Result<void> start() {
        routes();
        // stop() waits for every idle keep-alive connection to time out
        // (cpp-httplib 0.11 looks for stop() only between requests): 1 s, not
        // the default 5 s, keeps SIGTERM-to-exit within `docker stop`'s grace.
        server_.set_keep_alive_timeout(1);
        if (options_.port == 0) {
            port_ = server_.bind_to_any_port(options_.address);
        } else {
            port_ = server_.bind_to_port(options_.address, options_.port) ? options_.port : -1;
        }
        if (port_ <= 0) {
            return makeError(Errc::Io, "cannot listen on " + options_.address + ":" +
                                               std::to_string(options_.port) +
                                               " (DRONE_HTTP_PORT): address in use or not allowed");
        }
        thread_ = std::jthread([this] { server_.listen_after_bind(); });
        while (!server_.is_running())
            std::this_thread::yield();
        log_.info("API listening", {{"address", options_.address + ":" + std::to_string(port_)}});
        if (uiEnabled() && options_.uiSampleEvery.count() > 0) {
            sampler_ = std::jthread([this](const std::stop_token& stop) {
                // The stop check is explicit: SystemClock::sleepFor returns true
                // even when woken by the stop request.
                while (!stop.stop_requested()) {
                    sampleForUi();
                    (void)clock_.sleepFor(options_.uiSampleEvery, stop);
                }
            });
        }
        return {};
    }

    void stop() {
        if (sampler_.joinable()) {
            sampler_.request_stop();
            sampler_.join();
        }
        server_.stop();
        if (thread_.joinable())
            thread_.join();
    }

    [[nodiscard]] int port() const { return port_; }

private:
    static void json(httplib::Response& res, int status, const std::string& body) {
        res.status = status;
        res.set_content(body, "application/json");
    }
    static void message(httplib::Response& res, int status, const std::string& text) {
        json(res, status, messageJson(text));
    }

    [[nodiscard]] bool uiEnabled() const { return !options_.uiPassword.empty(); }

    /// One chart sample and the current decision, from the last plan.
    Plan sampleForUi() {
        Plan plan = engine_.lastPlan();
        const WallTime now = clock_.now();
        history_.record(UiSample{
                .time = now, .servers = plan.servers, .demand = plan.pending + plan.running});
        history_.recordPlan(now, plan);
        return plan;
    }

    void statusPage(const httplib::Request& req, httplib::Response& res) {
        if (!basicAuthMatches(req.get_header_value("Authorization"), options_.uiUsername,
                              options_.uiPassword)) {
            res.status = 401;
            res.set_header("WWW-Authenticate", "Basic realm=\"autoscaler\"");
            res.set_content("401 unauthorized: the status page needs DRONE_UI_USERNAME and "
                            "DRONE_UI_PASSWORD\n",
                            "text/plain; charset=utf-8");
            return;
        }
        const EngineStatus status = engine_.status();
        UiPageData page{.now = clock_.now(),
                        .version = options_.version,
                        .paused = status.paused,
                        .lastError = status.lastError,
                        .backoffUntil = status.backoffUntil};
        page.plan = sampleForUi();
        page.pool = page.plan.pool.empty() ? "default" : page.plan.pool;
        if (auto rows = store_.list()) {
            page.servers = std::move(*rows);
        } else {
            page.serversReadable = false;
            page.storeError = rows.error().message;
        }
        page.decisions = history_.decisions();
        page.samples = history_.samples();
        if (options_.uiLog != nullptr)
            page.log = options_.uiLog->recent();
        res.set_header("Cache-Control", "no-store");
        res.set_content(renderStatusPage(page), "text/html; charset=utf-8");
    }

    static std::string bearer(const httplib::Request& req) {
        const std::string auth = req.get_header_value("Authorization");
        if (auth.size() > 7 && (auth.starts_with("Bearer ") || auth.starts_with("bearer ")))
            return auth.substr(7);
        return {};
    }

    /// Drone admin only; answers 401/403 itself and returns false.
    bool authorized(const httplib::Request& req, httplib::Response& res) {
        const std::string token = bearer(req);
        if (token.empty()) {
            message(res, 401, "missing bearer token: use a Drone admin token");
            return false;
        }
        auto who = authorizer_.user(token);
        if (!who) {
            if (who.error().code == Errc::Unauthorized) {
                message(res, 401, "the token was rejected by the Drone server");
            } else if (who.error().code == Errc::Forbidden) {
                message(res, 403, "the token is not a Drone admin token");
            } else {
                message(res, 503, "cannot check the token with the Drone server");
            }
            return false;
        }
        if (!who->admin) {
            message(res, 403, "the token is not a Drone admin token");
            return false;
        }
        return true;
    }

    void routes() {
        server_.set_exception_handler([this](const httplib::Request&, httplib::Response& res,
                                             const std::exception_ptr& ep) {
            std::string what = "unknown";
            try {
                if (ep)
                    std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            log_.error("API handler failed", {{"error", what}});
            message(res, 500, "internal error");
        });
        server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
            if (res.body.empty())
                message(res, res.status, res.status == 404 ? "not found" : "bad request");
        });
        server_.set_payload_max_length(1U << 20U);

        server_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
            const EngineStatus s = engine_.status();
            if (auto probe = store_.find("\x01healthz");
                !probe && probe.error().code != Errc::NotFound) {
                res.status = 503;
                res.set_content("store: " + probe.error().message, "text/plain");
                return;
            }
            const auto limit = 3 * options_.interval;
            if (!s.lastGoodCycle || clock_.steadyNow() - *s.lastGoodCycle > limit) {
                res.status = 503;
                res.set_content("no successful planning cycle in the last " +
                                        std::to_string(limit.count() / 1000) + "s" +
                                        (s.lastError.empty() ? "" : ": " + s.lastError),
                                "text/plain");
                return;
            }
            res.set_content("OK", "text/plain");
        });
        server_.Get("/version", [this](const httplib::Request&, httplib::Response& res) {
            json(res, 200,
                 R"({"source":"https://github.com/autoscale/autoscale","version":)" +
                         detail::jsonQuote(options_.version) +
                         ",\"commit\":" + detail::jsonQuote(options_.commit) + "}");
        });
        server_.Get("/varz", [this](const httplib::Request&, httplib::Response& res) {
            const EngineStatus s = engine_.status();
            const EngineMetrics m = engine_.metrics();
            json(res, 200,
                 std::string("{\"paused\":") + (s.paused ? "true" : "false") +
                         ",\"backoff_seconds\":" +
                         std::to_string(m.backoffRemaining.count() / 1000) +
                         ",\"consecutive_failures\":" + std::to_string(m.consecutiveFailures) +
                         ",\"last_error\":" + detail::jsonQuote(s.lastError) + "}");
        });
        server_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
            if (!options_.prometheusToken.empty() && bearer(req) != options_.prometheusToken) {
                message(res, 401, "missing or wrong bearer token (DRONE_PROMETHEUS_AUTH_TOKEN)");
                return;
            }
            const auto ec2 =
                    counting_ != nullptr
                            ? counting_->counts()
                            : std::map<std::pair<std::string, std::string>, std::int64_t>{};
            res.set_content(renderMetrics(engine_.metrics(), engine_.status(), ec2),
                            "text/plain; version=0.0.4");
        });
        server_.Get("/api/servers", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            auto rows = store_.list();
            if (!rows) {
                message(res, 500, "cannot read the store: " + rows.error().message);
                return;
            }
            json(res, 200, serversToJson(*rows));
        });
        server_.Post("/api/servers", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            auto row = engine_.createServer();
            if (!row) {
                const Errc code = row.error().code;
                message(res, code == Errc::Conflict || code == Errc::AlreadyExists ? 409 : 500,
                        row.error().message);
                return;
            }
            json(res, 200, serverToJson(*row));
        });
        server_.Get(R"(/api/servers/([^/]+))", [this](const httplib::Request& req,
                                                      httplib::Response& res) {
            if (!authorized(req, res))
                return;
            auto row = store_.find(req.matches[1].str());
            if (!row) {
                message(res, row.error().code == Errc::NotFound ? 404 : 500, row.error().message);
                return;
            }
            json(res, 200, serverToJson(*row));
        });
        server_.Delete(R"(/api/servers/([^/]+))",
                       [this](const httplib::Request& req, httplib::Response& res) {
                           if (!authorized(req, res))
                               return;
                           const bool force = req.get_param_value("force") == "true";
                           auto r = engine_.destroyServer(req.matches[1].str(), force);
                           if (!r) {
                               const int status = r.error().code == Errc::NotFound   ? 404
                                                  : r.error().code == Errc::Conflict ? 409
                                                                                     : 500;
                               message(res, status, r.error().message);
                               return;
                           }
                           if (!r->has_value()) {
                               res.status = 204;
                               return;
                           }
                           json(res, 200, serverToJson(**r));
                       });
        server_.Post("/api/pause", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            engine_.pause();
            res.status = 204;
        });
        server_.Post("/api/resume", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            engine_.resume();
            res.status = 204;
        });
        server_.Get("/api/plan", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            json(res, 200, planToJson(engine_.lastPlan()));
        });
        // Without a password there is no route: /ui answers 404 like any unknown path.
        if (uiEnabled()) {
            server_.Get(R"(/ui/?)", [this](const httplib::Request& req, httplib::Response& res) {
                statusPage(req, res);
            });
        }
    }

    ApiOptions options_;
    Engine& engine_;
    Store& store_;
    TokenAuthorizer& authorizer_;
    const CountingProvider* counting_;
    const Clock& clock_;
    Logger log_;
    httplib::Server server_;
    int port_ = -1;
    std::jthread thread_;
    UiHistory history_;
    std::jthread sampler_; ///< Declared last: stopped first, before what it reads goes away.
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
}

ApiServer::~ApiServer() {
    if (impl_)
        impl_->stop();
}

Result<std::unique_ptr<ApiServer>> ApiServer::start(ApiOptions options, Engine& engine,
                                                    Store& store, TokenAuthorizer& authorizer,
                                                    const CountingProvider* counting,
                                                    const Clock& clock, Logger logger) {
    auto impl = std::make_unique<Impl>(std::move(options), engine, store, authorizer, counting,
                                       clock, std::move(logger));
    if (auto r = impl->start(); !r)
        return r.error();
    return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

int ApiServer::port() const {
    return impl_->port();
}
void ApiServer::stop() {
    impl_->stop();
}

// ---- ProcessLock ---------------------------------------------------------

Result<ProcessLock> ProcessLock::acquire(const std::string& path) {
    const std::string lockPath = path + ".lock";
    const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return makeError(Errc::Io, "cannot open the lock file " + lockPath);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return makeError(Errc::Conflict, "another autoscaler is already running on " + path +
                                                 " (it holds " + lockPath +
                                                 "); stop it first or use another database");
    }
    return ProcessLock(fd);
}

ProcessLock::ProcessLock(ProcessLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
}

ProcessLock& ProcessLock::operator=(ProcessLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

ProcessLock::~ProcessLock() {
    if (fd_ >= 0)
        ::close(fd_);
}

} // namespace autoscale
