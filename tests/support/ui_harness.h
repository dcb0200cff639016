// SPDX-License-Identifier: Apache-2.0
/// \file
/// An ApiServer on loopback serving /ui for an Engine over fakes (provider,
/// queue, installer, in-memory store) on a FakeClock, for the route test and
/// the browser test. Requests go through real libcurl.

#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/api_server.h>
#include <autoscale/engine.h>
#include <autoscale/fleet.h>
#include <autoscale/http.h>
#include <autoscale/log.h>
#include <autoscale/sqlite_store.h>

#include "fake_clock.h"
#include "fakes.h"
#include "http/ui_page.h"

namespace autoscale::test {

/// Lets every token through: /ui does not use it, the harness needs one.
class AllowAllAuthorizer final : public TokenAuthorizer {
public:
    Result<DroneUser> user(const std::string&) override { return DroneUser{.admin = true}; }
};

constexpr const char* kUiUser = "ops";
constexpr const char* kUiPassword = "s3cret-UI-pass!";

/// 2026-11-27T00:00:00Z: a replayed day's hours are the clock's hours.
constexpr std::chrono::sys_seconds kUiT0{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27}};

struct UiHarness {
    FakeClock clock{WallTime{kUiT0}};
    FakeProvider provider{clock};
    FakeQueue queue;
    FakeInstaller installer;
    MemorySink stderrStandIn;
    LogRing ring{stderrStandIn};
    std::unique_ptr<Store> store = openSqliteStore({.path = ":memory:"}).value();
    std::unique_ptr<Fleet> fleet;
    Engine* engine = nullptr; ///< The fleet's one pool.
    AllowAllAuthorizer authorizer;
    std::unique_ptr<ApiServer> api;
    std::unique_ptr<HttpClient> http =
            makeCurlHttpClient(
                    HttpOptions{.totalTimeout = std::chrono::seconds{10}, .protocols = "http"})
                    .value();

    /// Starts the engine (MIN 0, MAX 6, concurrency 2, inline work) and the API
    /// with `password` (empty: /ui off).
    explicit UiHarness(const std::string& password = kUiPassword) {
        EngineOptions o;
        o.pool.min = 0;
        o.pool.max = 6;
        o.pool.concurrency = 2;
        o.pool.idleTimeout = std::chrono::minutes{10};
        o.pool.launchDelay = std::chrono::seconds{0};
        o.interval = std::chrono::seconds{10};
        o.workers = 0;
        o.instanceType = "c7i.large";
        std::vector<FleetPool> pools{
                {.options = o, .provider = &provider, .installer = &installer}};
        fleet = std::make_unique<Fleet>(std::move(pools), std::nullopt, *store, queue, clock,
                                        Logger(ring, clock, "engine", LogLevel::Info), o.interval);
        engine = &fleet->engine(0);
        ApiOptions options;
        options.address = "127.0.0.1";
        options.port = 0;
        options.uiUsername = kUiUser;
        options.uiPassword = password;
        options.version = "9.9.9-test";
        options.uiLog = &ring;
        options.uiSampleEvery = std::chrono::milliseconds{0};
        auto started = ApiServer::start(std::move(options), *fleet, *store, authorizer, {}, clock,
                                        Logger(ring, clock, "api", LogLevel::Info));
        REQUIRE(started);
        api = std::move(*started);
    }

    [[nodiscard]] std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(api->port()) + path;
    }

    /// GET `path` with an optional raw Authorization header value.
    HttpResponse get(const std::string& path, const std::string& authorization = "") {
        HttpRequest r{.method = "GET", .url = url(path)};
        if (!authorization.empty())
            r.headers.emplace_back("Authorization", authorization);
        auto answer = http->send(r);
        REQUIRE(answer);
        return *answer;
    }

    /// "Basic base64(user:password)".
    static std::string basic(const std::string& user, const std::string& password) {
        static constexpr char kAlphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const std::string in = user + ":" + password;
        std::string out;
        unsigned buffer = 0;
        int bits = 0;
        for (const char c : in) {
            buffer = (buffer << 8U) | static_cast<unsigned char>(c);
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                out += kAlphabet[(buffer >> static_cast<unsigned>(bits)) & 0x3FU];
            }
        }
        if (bits > 0)
            out += kAlphabet[(buffer << static_cast<unsigned>(6 - bits)) & 0x3FU];
        while (out.size() % 4 != 0)
            out += '=';
        return "Basic " + out;
    }

    HttpResponse page() { return get("/ui", basic(kUiUser, kUiPassword)); }

    Plan cycle() {
        auto p = engine->cycle();
        REQUIRE(p);
        return *p;
    }

    /// `n` pending linux/amd64 stages, ids from `first`.
    static std::vector<Stage> pendingStages(int n, int first = 1) {
        std::vector<Stage> out;
        for (int i = 0; i < n; ++i)
            out.push_back({.id = first + i, .status = "pending", .os = "linux", .arch = "amd64"});
        return out;
    }

    /// Replays a day of demand, one step every 10 minutes: a few engine cycles
    /// and one page request (which samples). Ends at kUiT0 + 24 h.
    void replayDay() {
        for (int step = 0; step < 24 * 6; ++step) {
            const int hour = step / 6;
            static constexpr std::array<int, 6> kBusy = {2, 5, 8, 6, 3, 4};
            int demand = 0;
            if (hour >= 8 && hour < 18)
                demand = kBusy[static_cast<std::size_t>(step) % kBusy.size()]; // Working hours.
            else if (hour >= 18 && hour < 20)
                demand = step % 3;
            queue.set(pendingStages(demand));
            for (int i = 0; i < 3; ++i) {
                (void)cycle();
                clock.advance(std::chrono::seconds{10});
            }
            clock.advance(std::chrono::minutes{10} - std::chrono::seconds{30});
            CHECK(page().status == 200);
        }
    }

    /// Adds a row whose name and error hold HTML, as a hostile or careless
    /// source could write them.
    void addHostileRow() {
        Server s;
        s.name = "agent-<b>bold</b>";
        s.state = ServerState::Error;
        s.size = "m5.large";
        s.address = "10.0.0.9";
        s.error = "install failed: <script>alert('x')</script> & \"quoted\"";
        s.created = clock.now() - std::chrono::hours{2};
        s.updated = s.created;
        REQUIRE(store->insert(s));
    }
};

} // namespace autoscale::test
