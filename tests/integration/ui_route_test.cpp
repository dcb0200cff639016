// SPDX-License-Identifier: Apache-2.0
// GET /ui over real HTTP: basic auth, 404 without a password, the page's
// content and escaping from an ApiServer over fakes, and the daemon's wiring
// of DRONE_UI_USERNAME / DRONE_UI_PASSWORD and its log ring.

#include <cctype>
#include <chrono>
#include <csignal>
#include <map>
#include <string>

#include <doctest/doctest.h>

#include <autoscale/fleet.h>
#include <autoscale/http.h>
#include <autoscale/sqlite_store.h>

#include "fake_drone.h"
#include "fake_ec2.h"
#include "process.h"
#include "temp_dir.h"
#include "ui_harness.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [key, value] : r.headers) {
        std::string lower = key;
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == name)
            return value;
    }
    return {};
}

TEST_CASE("without DRONE_UI_PASSWORD there is no /ui") {
    test::UiHarness h("");
    CHECK(h.get("/ui").status == 404);
    CHECK(h.get("/ui/").status == 404);
    CHECK(h.get("/ui", test::UiHarness::basic(test::kUiUser, "")).status == 404);
    CHECK(h.get("/healthz").status != 404); // The rest of the API is there.
}

TEST_CASE("a missing or wrong password is 401 with a Basic challenge") {
    test::UiHarness h;
    for (const std::string& auth :
         {std::string(), test::UiHarness::basic(test::kUiUser, "wrong"),
          test::UiHarness::basic("someone", test::kUiPassword),
          test::UiHarness::basic(test::kUiUser, std::string(test::kUiPassword) + "x"),
          std::string("Bearer ") + test::kUiPassword}) {
        CAPTURE(auth);
        const HttpResponse r = h.get("/ui", auth);
        CHECK(r.status == 401);
        CHECK(header(r, "www-authenticate") == "Basic realm=\"autoscaler\"");
        CHECK(r.body.find(test::kUiPassword) == std::string::npos);
        CHECK(r.body.find("agent-") == std::string::npos);
    }
    const HttpResponse ok = h.page();
    CHECK(ok.status == 200);
    CHECK(h.get("/ui/", test::UiHarness::basic(test::kUiUser, test::kUiPassword)).status == 200);
}

TEST_CASE("the page shows servers, stages, decisions and log lines, escaped") {
    test::UiHarness h;
    h.queue.set(test::UiHarness::pendingStages(3));
    for (int i = 0; i < 8; ++i) {
        (void)h.cycle();
        h.clock.advance(10s);
    }
    h.addHostileRow();
    const auto servers = h.store->list().value();
    REQUIRE(servers.size() >= 3);

    const HttpResponse r = h.page();
    REQUIRE(r.status == 200);
    CHECK(header(r, "content-type").starts_with("text/html"));
    CHECK(header(r, "cache-control") == "no-store");
    const std::string& page = r.body;
    for (const auto& s : servers) {
        CAPTURE(s.name);
        CHECK(page.find(htmlEscape(s.name)) != std::string::npos);
    }
    CHECK(page.find(">running</span>") != std::string::npos);
    for (const auto& s : servers) {
        if (!s.size.empty())
            CHECK(page.find(htmlEscape(s.size)) != std::string::npos);
    }
    // Hostile strings arrive escaped.
    CHECK(page.find("agent-&lt;b&gt;bold&lt;/b&gt;") != std::string::npos);
    CHECK(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("<b>bold") == std::string::npos);
    // The last plan's figures and reasons, and the engine's log lines.
    const Plan plan = h.engine->lastPlan();
    CHECK(page.find("<div class=\"k\">Pending stages</div><div class=\"n\">" +
                    std::to_string(plan.pending) + "</div>") != std::string::npos);
    REQUIRE_FALSE(h.engine->lastPlan().reasons.empty());
    CHECK(page.find(htmlEscape(plan.reasons.front())) != std::string::npos);
    REQUIRE_FALSE(h.ring.recent().empty());
    CHECK(page.find(htmlEscape(h.ring.recent().back().message)) != std::string::npos);
    // The password never reaches the page.
    CHECK(page.find(test::kUiPassword) == std::string::npos);
}

TEST_CASE("a fleet's page groups servers by pool and lists the unroutable stages") {
    test::FakeClock clock{WallTime{test::kUiT0}};
    test::FakeProvider amd64Cloud{clock};
    test::FakeProvider arm64Cloud{clock};
    test::FakeQueue queue;
    test::FakeInstaller installer;
    MemorySink sink;
    LogRing ring{sink};
    auto store = openSqliteStore({.path = ":memory:"}).value();
    auto options = [](const char* name, const char* arch) {
        EngineOptions o;
        o.pool = {.name = name, .arch = arch, .min = 0, .max = 2, .concurrency = 1};
        o.pool.launchDelay = 0s;
        o.workers = 0;
        return o;
    };
    std::vector<FleetPool> pools{
            {.options = options("amd64", "amd64"),
             .provider = &amd64Cloud,
             .installer = &installer},
            {.options = options("arm64", "arm64"),
             .provider = &arm64Cloud,
             .installer = &installer},
    };
    Fleet fleet(std::move(pools), 3, *store, queue, clock,
                Logger(ring, clock, "engine", LogLevel::Info), 10s);
    auto stages = test::UiHarness::pendingStages(2);
    stages.push_back({.id = 10, .status = "pending", .os = "linux", .arch = "arm64"});
    stages.push_back(
            {.id = 11, .buildId = 4, .status = "pending", .os = "windows", .arch = "amd64"});
    queue.set(stages);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(fleet.cycle());
        clock.advance(10s);
    }
    test::AllowAllAuthorizer authorizer;
    ApiOptions api;
    api.address = "127.0.0.1";
    api.uiUsername = test::kUiUser;
    api.uiPassword = test::kUiPassword;
    api.uiSampleEvery = 0ms;
    auto started = ApiServer::start(std::move(api), fleet, *store, authorizer, {}, clock,
                                    Logger(ring, clock, "api", LogLevel::Info));
    REQUIRE(started);
    auto http = makeCurlHttpClient(HttpOptions{.totalTimeout = 10s, .protocols = "http"}).value();
    HttpRequest request{.method = "GET",
                        .url = "http://127.0.0.1:" + std::to_string((*started)->port()) + "/ui"};
    request.headers.emplace_back("Authorization",
                                 test::UiHarness::basic(test::kUiUser, test::kUiPassword));
    const auto r = http->send(request);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const std::string& page = r->body;
    CHECK(page.find("pools <b>amd64, arm64</b>, fleet max 3") != std::string::npos);
    const auto amd64 = page.find(R"(<h3 id="pool-amd64">pool amd64</h3>)");
    const auto arm64 = page.find(R"(<h3 id="pool-arm64">pool arm64</h3>)");
    REQUIRE(amd64 != std::string::npos);
    REQUIRE(arm64 != std::string::npos);
    // amd64 wants 2 and arm64 1: they fit in 3, so each share is what it wants.
    CHECK(page.find("pending 2, running 0, servers 2, wanted 2, max 2, share 2", amd64) < arm64);
    CHECK(page.find("pending 1, running 0, servers 1, wanted 1, max 2, share 1", arm64) !=
          std::string::npos);
    const auto rows = store->list().value();
    REQUIRE(rows.size() == 3);
    for (const auto& row : rows) {
        CAPTURE(row.name);
        const auto at = page.find(row.name);
        REQUIRE(at != std::string::npos);
        CHECK((row.pool == "amd64" ? at > amd64 && at < arm64 : at > arm64));
    }
    const auto unroutable = page.find(R"(<section id="unroutable">)");
    REQUIRE(unroutable != std::string::npos);
    CHECK(page.find(R"(<td class="mono">11</td><td class="mono">4</td><td class="mono">)"
                    "windows/amd64</td>",
                    unroutable) != std::string::npos);
}

TEST_CASE("page requests sample the chart at most once a minute") {
    test::UiHarness h;
    h.queue.set(test::UiHarness::pendingStages(2));
    (void)h.cycle();
    CHECK(h.page().body.find("no samples yet") == std::string::npos); // The first sample.
    CHECK(h.page().body.find("id=\"servers\"") != std::string::npos);
    h.replayDay();
    const std::string page = h.page().body;
    // One sample per 10-minute step, across 24 hours: a long path of steps.
    const auto at = page.find("id=\"servers\" d=\"");
    REQUIRE(at != std::string::npos);
    const auto path = page.substr(at, page.find('"', at + 16) - at);
    std::size_t steps = 0;
    for (const char c : path)
        steps += c == 'V' ? 1 : 0;
    CHECK(steps >= 140);
    CHECK(steps <= 24 * 60 + 1);
}

// ---- the daemon ----------------------------------------------------------

struct DaemonUi {
    test::TempDir dir;
    std::unique_ptr<Clock> clock = makeSystemClock();
    test::FakeEc2 ec2{*clock};
    test::FakeDrone drone;
    int port = test::freePort();
    std::unique_ptr<HttpClient> http =
            makeCurlHttpClient(HttpOptions{.totalTimeout = 5000ms, .protocols = "http"}).value();

    std::map<std::string, std::string> env() const {
        return {{"DRONE_SERVER_PROTO", "http"},
                {"DRONE_SERVER_HOST", drone.host()},
                {"DRONE_SERVER_TOKEN", test::FakeDrone::kAdminToken},
                {"DRONE_AGENT_TOKEN", "rpc-secret-ui-0123456789"},
                {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"},
                {"DRONE_POOL_MIN", "0"},
                {"DRONE_POOL_MAX", "2"},
                {"DRONE_INTERVAL", "1s"},
                {"DRONE_SSH_HOST_KEY_CHECK", "tofu"},
                {"DRONE_DATABASE_DATASOURCE", dir.file("database.sqlite")},
                {"DRONE_HTTP_PORT", "127.0.0.1:" + std::to_string(port)},
                {"AWS_ACCESS_KEY_ID", test::kTestAccessKeyId},
                {"AWS_SECRET_ACCESS_KEY", test::kTestSecretKey},
                {"AWS_ENDPOINT_URL_EC2", ec2.endpoint()},
                {"AWS_EC2_METADATA_DISABLED", "true"},
                {"HOME", dir.path().string()}};
    }

    Result<HttpResponse> get(const std::string& path, const std::string& authorization = "") {
        HttpRequest r{.method = "GET", .url = "http://127.0.0.1:" + std::to_string(port) + path};
        if (!authorization.empty())
            r.headers.emplace_back("Authorization", authorization);
        return http->send(r);
    }

    bool healthy() {
        auto r = get("/healthz");
        return r && r->status == 200;
    }
};

TEST_CASE("the daemon serves /ui only with DRONE_UI_PASSWORD, with its own log lines") {
    DaemonUi d;
    {
        test::BackgroundProcess daemon({test::testEnv("AUTOSCALER_BIN"), "serve"}, d.env(),
                                       d.dir.file("off.log"));
        REQUIRE(test::waitFor([&] { return d.healthy(); }, 20s));
        auto r = d.get("/ui", test::UiHarness::basic("ops", "pw"));
        REQUIRE(r);
        CHECK(r->status == 404);
        daemon.signal(SIGTERM);
        CHECK(daemon.wait(20s) == 0);
    }
    auto env = d.env();
    env["DRONE_UI_USERNAME"] = "ops";
    env["DRONE_UI_PASSWORD"] = "ui-SECRET-pw";
    test::BackgroundProcess daemon({test::testEnv("AUTOSCALER_BIN"), "serve"}, env,
                                   d.dir.file("on.log"));
    REQUIRE(test::waitFor([&] { return d.healthy(); }, 20s));
    auto denied = d.get("/ui", test::UiHarness::basic("ops", "nope"));
    REQUIRE(denied);
    CHECK(denied->status == 401);
    auto page = d.get("/ui", test::UiHarness::basic("ops", "ui-SECRET-pw"));
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("API listening") != std::string::npos); // From the log ring.
    CHECK(page->body.find("ui-SECRET-pw") == std::string::npos);
    daemon.signal(SIGTERM);
    const int status = daemon.wait(20s);
    const std::string log = daemon.output();
    INFO("daemon output: " << log);
    CHECK(status == 0);
    CHECK(log.find("ui-SECRET-pw") == std::string::npos);
    CHECK(log.find("DRONE_UI_PASSWORD") == std::string::npos); // No "no effect" warning.
}

} // namespace
} // namespace autoscale
