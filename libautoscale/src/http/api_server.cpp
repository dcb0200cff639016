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

namespace {

/// The Prometheus text format, one family at a time, one series per pool.
class MetricsText {
public:
    explicit MetricsText(std::span<const PoolMetrics> pools) : pools_(pools) {}

    /// A counter or gauge with one series per pool.
    template <typename Value>
    void perPool(const std::string& name, const char* type, const std::string& help, Value value) {
        header(name, type, help);
        for (const auto& p : pools_)
            out_ += name + "{pool=\"" + labelValue(p.pool) + "\"} " + value(p) + "\n";
    }

    /// A histogram with one set of series per pool.
    void histogram(const std::string& name, const std::string& help,
                   Histogram EngineMetrics::*field) {
        header(name, "histogram", help);
        for (const auto& p : pools_) {
            const Histogram& h = p.metrics.*field;
            const std::string pool = "pool=\"" + labelValue(p.pool) + "\"";
            std::int64_t cumulative = 0;
            const auto bucket = [&](const std::string& le, std::int64_t n) {
                out_ += name;
                out_ += "_bucket{";
                out_ += pool;
                out_ += ",le=\"";
                out_ += le;
                out_ += "\"} ";
                out_ += std::to_string(n);
                out_ += '\n';
            };
            for (std::size_t i = 0; i < h.bounds.size(); ++i) {
                cumulative += h.counts[i];
                bucket(number(h.bounds[i]), cumulative);
            }
            bucket("+Inf", h.count);
            const auto line = [&](const char* suffix, const std::string& value) {
                out_ += name;
                out_ += suffix;
                out_ += '{';
                out_ += pool;
                out_ += "} ";
                out_ += value;
                out_ += '\n';
            };
            line("_sum", number(h.sum));
            line("_count", std::to_string(h.count));
        }
    }

    /// One series without labels (about the whole process).
    void single(const std::string& name, const char* type, const std::string& help,
                const std::string& value) {
        header(name, type, help);
        out_ += name + " " + value + "\n";
    }

    void header(const std::string& name, const char* type, const std::string& help) {
        out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void line(const std::string& text) { out_ += text + "\n"; }

    std::string take() { return std::move(out_); }

private:
    std::span<const PoolMetrics> pools_;
    std::string out_;
};

int stateCount(const EngineMetrics& m, const char* state) {
    const auto it = m.serversByState.find(state);
    return it == m.serversByState.end() ? 0 : it->second;
}

template <typename Field>
auto counter(Field EngineMetrics::*field) {
    return [field](const PoolMetrics& p) {
        return std::to_string(p.metrics.*field);
    };
}

} // namespace

std::string renderMetrics(std::span<const PoolMetrics> pools, const EngineStatus& status,
                          int unroutable) {
    MetricsText t(pools);
    // drone/autoscaler's names (with a pool label; a selector without it still matches).
    t.histogram("drone_server_create_time_seconds", "Time to create a server.",
                &EngineMetrics::createTime);
    t.histogram("drone_server_boot_time_seconds", "Time from creation until reachable.",
                &EngineMetrics::bootTime);
    t.histogram("drone_server_install_time_seconds", "Time to install the runner.",
                &EngineMetrics::installTime);
    t.perPool("drone_server_create_errors_total", "counter", "Server creation errors.",
              counter(&EngineMetrics::createErrors));
    t.perPool("drone_server_boot_errors_total", "counter", "Server boot errors.",
              counter(&EngineMetrics::bootErrors));
    t.perPool("drone_server_install_errors_total", "counter", "Runner install errors.",
              counter(&EngineMetrics::installErrors));
    t.perPool("drone_servers_created", "counter", "Servers created.",
              counter(&EngineMetrics::serversCreated));
    t.perPool("drone_servers_created_err", "counter", "Servers that failed to create.",
              counter(&EngineMetrics::createErrors));
    t.perPool("drone_servers_deleted", "counter", "Servers terminated.",
              counter(&EngineMetrics::serversTerminated));
    t.perPool("drone_servers_deleted_err", "counter", "Failed terminations.",
              counter(&EngineMetrics::terminateErrors));
    t.perPool("drone_server_count", "gauge", "Servers in state running.", [](const PoolMetrics& p) {
        return std::to_string(stateCount(p.metrics, "running"));
    });
    // Ours.
    t.perPool("autoscaler_pending_stages", "gauge", "Stages routed to the pool, waiting.",
              counter(&EngineMetrics::pendingStages));
    t.perPool("autoscaler_running_stages", "gauge", "Stages routed to the pool, running.",
              counter(&EngineMetrics::runningStages));
    t.single("autoscaler_unroutable_stages", "gauge",
             "Pending stages no pool serves (their platform or labels match none).",
             std::to_string(unroutable));
    t.header("autoscaler_servers", "gauge", "Servers by pool and state.");
    for (const auto& p : pools) {
        for (const char* state : {"pending", "creating", "booting", "installing", "running",
                                  "draining", "terminating", "terminated", "error"}) {
            t.line(std::string("autoscaler_servers{pool=\"") + labelValue(p.pool) + "\",state=\"" +
                   state + "\"} " + std::to_string(stateCount(p.metrics, state)));
        }
    }
    t.histogram("autoscaler_reaction_time_seconds",
                "From a stage first seen pending to capacity requested for it.",
                &EngineMetrics::reaction);
    t.header("autoscaler_ec2_calls_total", "counter", "EC2 calls by pool, action and outcome.");
    for (const auto& p : pools) {
        for (const auto& [key, n] : p.ec2) {
            t.line("autoscaler_ec2_calls_total{pool=\"" + labelValue(p.pool) + "\",action=\"" +
                   labelValue(key.first) + "\",code=\"" + labelValue(key.second) + "\"} " +
                   std::to_string(n));
        }
    }
    t.perPool("autoscaler_orphans_terminated_total", "counter",
              "Instances tagged as ours that the store did not know, terminated.",
              counter(&EngineMetrics::orphansTerminated));
    t.perPool("autoscaler_instances_vanished_total", "counter",
              "Instances that disappeared outside the autoscaler (spot reclaim, manual).",
              counter(&EngineMetrics::vanished));
    t.header("autoscaler_servers_by_market", "gauge",
             "Live servers by pool and market (spot, on-demand; unknown before launch).");
    for (const auto& p : pools) {
        for (const auto& [market, n] : p.metrics.serversByMarket) {
            t.line("autoscaler_servers_by_market{pool=\"" + labelValue(p.pool) + "\",market=\"" +
                   labelValue(market.empty() ? "unknown" : market) + "\"} " + std::to_string(n));
        }
    }
    t.perPool("autoscaler_interruptions_total", "counter",
              "Interruption notices acted on (warnings that drained a server, state changes "
              "that closed one).",
              counter(&EngineMetrics::interruptions));
    t.perPool("autoscaler_stages_lost_total", "counter",
              "Builds whose stages ran on a server that was reclaimed or vanished (recorded on "
              "its row).",
              counter(&EngineMetrics::stagesLost));
    t.perPool("autoscaler_capacity_waits_total", "counter",
              "Launches refused for capacity in every allowed choice (the server waits).",
              counter(&EngineMetrics::capacityWaits));
    t.perPool("autoscaler_consecutive_failures", "gauge",
              "Consecutive server failures (creation back-off).",
              counter(&EngineMetrics::consecutiveFailures));
    t.perPool("autoscaler_backoff_seconds", "gauge", "Seconds until creation may resume.",
              [](const PoolMetrics& p) {
                  return number(static_cast<double>(p.metrics.backoffRemaining.count()) / 1000.0);
              });
    t.single("autoscaler_paused", "gauge", "1 while paused.", status.paused ? "1" : "0");
    t.perPool("autoscaler_cycles_total", "counter", "Planning cycles.",
              counter(&EngineMetrics::cycles));
    t.perPool("autoscaler_cycle_errors_total", "counter",
              "Cycles that could not read the queue or the store.",
              counter(&EngineMetrics::cycleErrors));
    return t.take();
}

// ---- the server ----------------------------------------------------------

class ApiServer::Impl {
public:
    Impl(ApiOptions options, Fleet& fleet, Store& store, TokenAuthorizer& authorizer,
         std::vector<const CountingProvider*> counting, const Clock& clock, Logger logger)
        : options_(std::move(options))
        , fleet_(fleet)
        , store_(store)
        , authorizer_(authorizer)
        , counting_(std::move(counting))
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

    /// One chart sample and the current decision, from the last plans: the
    /// first pool's decision, the whole fleet's servers and demand.
    Plan sampleForUi() {
        const FleetPlan plans = fleet_.lastPlan();
        Plan plan = plans.pools.front();
        int servers = 0;
        int demand = 0;
        for (const auto& p : plans.pools) {
            servers += p.servers;
            demand += p.pending + p.running;
        }
        const WallTime now = clock_.now();
        history_.record(UiSample{.time = now, .servers = servers, .demand = demand});
        history_.recordPlan(now, plan);
        return plan;
    }

    /// The pool a request names with ?pool=NAME, or the first; nullptr (and a
    /// 404 answered) when no pool has that name.
    Engine* poolOf(const httplib::Request& req, httplib::Response& res) {
        const std::string name = req.get_param_value("pool");
        if (name.empty())
            return &fleet_.engine(0);
        Engine* engine = fleet_.find(name);
        if (engine == nullptr)
            message(res, 404, "no pool named " + name);
        return engine;
    }

    /// The engine that manages a row: its pool's, else the first pool's
    /// (which claims rows of no pool or of a pool no longer configured).
    Engine& engineFor(const std::string& serverName) {
        if (auto row = store_.find(serverName); row && !row->pool.empty()) {
            if (Engine* engine = fleet_.find(row->pool))
                return *engine;
        }
        return fleet_.engine(0);
    }

    /// ,"role":...,"id":...,"leader":... with several daemons; empty alone.
    std::string roleJson() const {
        const FleetRole role = fleet_.role();
        if (!role.shared)
            return {};
        return ",\"role\":" + detail::jsonQuote(role.leader ? "leader" : "follower") +
               ",\"id\":" + detail::jsonQuote(role.id) +
               ",\"leader\":" + detail::jsonQuote(role.leaderId);
    }

    std::vector<PoolMetrics> poolMetrics() const {
        std::vector<PoolMetrics> out;
        for (std::size_t i = 0; i < fleet_.size(); ++i) {
            const Engine& engine = fleet_.engine(i);
            PoolMetrics m{.pool = engine.pool().name, .metrics = engine.metrics()};
            if (i < counting_.size() && counting_[i] != nullptr)
                m.ec2 = counting_[i]->counts();
            out.push_back(std::move(m));
        }
        return out;
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
        const EngineStatus status = fleet_.status();
        UiPageData page{.now = clock_.now(),
                        .version = options_.version,
                        .paused = status.paused,
                        .lastError = status.lastError,
                        .backoffUntil = status.backoffUntil};
        page.plan = sampleForUi();
        page.pool = page.plan.pool.empty() ? "default" : page.plan.pool;
        {
            // The pools' headings and the unroutable stages (ui_page.h).
            const FleetPlan plans = fleet_.lastPlan();
            std::vector<PoolSettings> settings;
            for (std::size_t i = 0; i < fleet_.size(); ++i)
                settings.push_back(fleet_.engine(i).pool());
            page.pools = uiPools(settings, plans.pools, fleet_.fleetMax());
            page.fleetMax = fleet_.fleetMax();
            page.unroutable = plans.unroutable;
        }
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
            const EngineStatus s = fleet_.status();
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
            const FleetRole role = fleet_.role();
            res.set_content(role.shared ? "OK " + std::string(role.leader ? "leader" : "follower") +
                                                  " (leader: " + role.leaderId + ")"
                                        : std::string("OK"),
                            "text/plain");
        });
        server_.Get("/version", [this](const httplib::Request&, httplib::Response& res) {
            json(res, 200,
                 R"({"source":"https://github.com/autoscale/autoscale","version":)" +
                         detail::jsonQuote(options_.version) +
                         ",\"commit\":" + detail::jsonQuote(options_.commit) + "}");
        });
        server_.Get("/varz", [this](const httplib::Request&, httplib::Response& res) {
            const EngineStatus s = fleet_.status();
            std::int64_t backoff = 0;
            int failures = 0;
            std::string pools;
            for (const auto& p : poolMetrics()) {
                backoff =
                        std::max<std::int64_t>(backoff, p.metrics.backoffRemaining.count() / 1000);
                failures = std::max(failures, p.metrics.consecutiveFailures);
                pools += (pools.empty() ? "" : ",") + detail::jsonQuote(p.pool);
            }
            json(res, 200,
                 std::string("{\"paused\":") + (s.paused ? "true" : "false") +
                         ",\"backoff_seconds\":" + std::to_string(backoff) +
                         ",\"consecutive_failures\":" + std::to_string(failures) +
                         ",\"last_error\":" + detail::jsonQuote(s.lastError) + ",\"pools\":[" +
                         pools + "]" + roleJson() + "}");
        });
        server_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
            if (!options_.prometheusToken.empty() && bearer(req) != options_.prometheusToken) {
                message(res, 401, "missing or wrong bearer token (DRONE_PROMETHEUS_AUTH_TOKEN)");
                return;
            }
            const auto pools = poolMetrics();
            std::string text = renderMetrics(pools, fleet_.status(),
                                             static_cast<int>(fleet_.lastPlan().unroutable.size()));
            text += "# HELP autoscaler_leader 1 on the daemon that leads (always 1 alone).\n"
                    "# TYPE autoscaler_leader gauge\nautoscaler_leader " +
                    std::string(fleet_.role().leader ? "1" : "0") + "\n";
            res.set_content(text, "text/plain; version=0.0.4");
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
            Engine* engine = poolOf(req, res);
            if (engine == nullptr)
                return;
            auto row = engine->createServer();
            if (!row) {
                const Errc code = row.error().code;
                message(res,
                        code == Errc::Conflict || code == Errc::AlreadyExists ||
                                        code == Errc::LimitReached
                                ? 409
                                : 500,
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
                           const std::string name = req.matches[1].str();
                           auto r = engineFor(name).destroyServer(name, force);
                           if (!r) {
                               const int status = r.error().code == Errc::NotFound    ? 404
                                                  : r.error().code == Errc::Conflict  ? 409
                                                  : r.error().code == Errc::NotLeader ? 503
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
            if (auto r = fleet_.pause(); !r) {
                message(res, 503, "cannot store the pause: " + r.error().message);
                return;
            }
            res.status = 204;
        });
        server_.Post("/api/resume", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            if (auto r = fleet_.resume(); !r) {
                message(res, 503, "cannot store the resume: " + r.error().message);
                return;
            }
            res.status = 204;
        });
        server_.Get("/api/plan", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            const FleetPlan plans = fleet_.lastPlan();
            if (req.has_param("pool")) {
                Engine* engine = poolOf(req, res);
                if (engine != nullptr)
                    json(res, 200, planToJson(engine->lastPlan()));
                return;
            }
            json(res, 200,
                 plans.pools.size() == 1 ? planToJson(plans.pools.front())
                                         : fleetPlanToJson(plans.pools, plans.unroutable));
        });
        // Without a password there is no route: /ui answers 404 like any unknown path.
        if (uiEnabled()) {
            server_.Get(R"(/ui/?)", [this](const httplib::Request& req, httplib::Response& res) {
                statusPage(req, res);
            });
        }
    }

    ApiOptions options_;
    Fleet& fleet_;
    Store& store_;
    TokenAuthorizer& authorizer_;
    std::vector<const CountingProvider*> counting_;
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

Result<std::unique_ptr<ApiServer>> ApiServer::start(ApiOptions options, Fleet& fleet, Store& store,
                                                    TokenAuthorizer& authorizer,
                                                    std::vector<const CountingProvider*> counting,
                                                    const Clock& clock, Logger logger) {
    auto impl = std::make_unique<Impl>(std::move(options), fleet, store, authorizer,
                                       std::move(counting), clock, std::move(logger));
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
