// SPDX-License-Identifier: Apache-2.0
// The status page without a server: escaping, the chart, the sampler's memory,
// the log ring, basic-auth checking and the two configuration variables.

#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include <autoscale/api_server.h>
#include <autoscale/config.h>

#include "doctest_support.h"
#include "http/ui_history.h"
#include "http/ui_page.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

const WallTime kNow{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 12h};

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

/// A page with one of everything that comes from outside holding HTML.
UiPageData hostilePage() {
    UiPageData d;
    d.now = kNow;
    d.version = "1.2.3";
    d.pool = "default";
    d.lastError = "queue: <i>502</i>";
    d.servers.push_back(Server{.name = "agent-<img src=x onerror=alert(1)>",
                               .state = ServerState::Error,
                               .size = "c7i.large",
                               .address = "10.0.0.1",
                               .error = "boom <script>alert('x')</script> & \"q\"",
                               .created = kNow - 90min});
    d.servers.push_back(Server{.name = "agent-ok",
                               .state = ServerState::Running,
                               .size = "c7i.large",
                               .address = "10.0.0.2",
                               .created = kNow - 26h});
    Plan plan{.pool = "default", .pending = 3, .running = 1, .servers = 1, .wanted = 2};
    plan.create = 1;
    plan.reasons = {"create 1: 3 stages wait for <2> slots"};
    d.plan = plan;
    d.decisions.push_back(UiDecision{.time = kNow - 5min, .plan = plan});
    d.log.push_back(LogRecord{.time = kNow - 1min,
                              .level = LogLevel::Warn,
                              .component = "engine",
                              .message = "odd <stage>",
                              .fields = {{"error", "<b>x</b>"}, {"k<y", "v"}}});
    return d;
}

TEST_CASE("htmlEscape replaces the five characters that matter and nothing else") {
    CHECK(htmlEscape("") == "");
    CHECK(htmlEscape("plain text 123") == "plain text 123");
    CHECK(htmlEscape("<a href=\"x\">it's & more</a>") ==
          "&lt;a href=&quot;x&quot;&gt;it&#39;s &amp; more&lt;/a&gt;");
    CHECK(htmlEscape("&amp;") == "&amp;amp;");
    CHECK(htmlEscape("é ✓") == "é ✓");
}

TEST_CASE("the page shows our state names through one function") {
    for (const auto state : {ServerState::Pending, ServerState::Creating, ServerState::Booting,
                             ServerState::Installing, ServerState::Running, ServerState::Draining,
                             ServerState::Terminating, ServerState::Terminated, ServerState::Error})
        CHECK(uiStateName(state) == nameOf(state));
    const std::string page = renderStatusPage(hostilePage());
    CHECK(page.find(">error</span>") != std::string::npos);
    CHECK(page.find(">running</span>") != std::string::npos);
}

TEST_CASE("ages read at a glance") {
    CHECK(formatAge(WallTime{}, kNow) == "—");
    CHECK(formatAge(kNow, kNow) == "0s");
    CHECK(formatAge(kNow - 59s, kNow) == "59s");
    CHECK(formatAge(kNow - 60s, kNow) == "1m");
    CHECK(formatAge(kNow - 3599s, kNow) == "59m");
    CHECK(formatAge(kNow - 3h - 5min, kNow) == "3h 05m");
    CHECK(formatAge(kNow - 50h, kNow) == "2d 2h");
    CHECK(formatAge(kNow + 1min, kNow) == "0s"); // A row from a clock ahead of ours.
}

TEST_CASE("everything that comes from outside is HTML-escaped on the page") {
    const std::string page = renderStatusPage(hostilePage());
    // Nothing from the data opens a tag.
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("<img") == std::string::npos);
    CHECK(page.find("<i>502") == std::string::npos);
    CHECK(page.find("<stage>") == std::string::npos);
    CHECK(page.find("<b>x</b>") == std::string::npos);
    CHECK(page.find("<2>") == std::string::npos);
    // The escaped text is there.
    CHECK(page.find("agent-&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
    CHECK(page.find("boom &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;") !=
          std::string::npos);
    CHECK(page.find("queue: &lt;i&gt;502&lt;/i&gt;") != std::string::npos);
    CHECK(page.find("odd &lt;stage&gt;") != std::string::npos);
    CHECK(page.find("&lt;b&gt;x&lt;/b&gt;") != std::string::npos);
    CHECK(page.find("k&lt;y=") != std::string::npos);
    CHECK(page.find("3 stages wait for &lt;2&gt; slots") != std::string::npos);
    // No script and no external asset.
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("src=\"http") == std::string::npos);
    CHECK(page.find("href=\"http") == std::string::npos);
    CHECK(page.find("@import") == std::string::npos);
}

TEST_CASE("the page lists servers, figures, decisions and log lines") {
    const std::string page = renderStatusPage(hostilePage());
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(page.find("agent-ok") != std::string::npos);
    CHECK(page.find("c7i.large") != std::string::npos);
    CHECK(page.find("10.0.0.2") != std::string::npos);
    CHECK(page.find("1d 2h") != std::string::npos);  // agent-ok's age
    CHECK(page.find("1h 30m") != std::string::npos); // the error row's age
    CHECK(page.find("Pending stages") != std::string::npos);
    CHECK(page.find("left out —") != std::string::npos); // Not reported yet.
    CHECK(page.find("create 1") != std::string::npos);
    CHECK(page.find("11:59:00") != std::string::npos); // The log line's time.
    CHECK(page.find("Last cycle failed") != std::string::npos);
    // Live rows come before terminated ones.
    UiPageData d = hostilePage();
    d.servers.insert(d.servers.begin(), Server{.name = "agent-gone",
                                               .state = ServerState::Terminated,
                                               .created = kNow - 3h,
                                               .stopped = kNow - 2h});
    const std::string sorted = renderStatusPage(d);
    CHECK(sorted.find("agent-gone") > sorted.find("agent-ok"));
    // Terminated rows are folded away below the live ones.
    CHECK(sorted.find("<details><summary>1 terminated") > sorted.find("agent-ok"));
    CHECK(sorted.find("<details><summary>1 terminated") < sorted.find("agent-gone"));
    CHECK(sorted.find("<tr class=\"gone\"><td class=\"name\">agent-gone") != std::string::npos);
    CHECK(sorted.find("(2 live)") != std::string::npos);
    d.leftOutPending = 3;
    CHECK(renderStatusPage(d).find("left out 3") != std::string::npos);
}

/// A fleet of three pools: issue 13's acceptance (amd64 max 3, arm64 max 2, gpu
/// max 1, fleet max 5) with 4, 3 and 2 pending stages and a windows stage.
UiPageData fleetPage() {
    UiPageData d = hostilePage();
    const std::vector<PoolSettings> pools = {
            {.name = "amd64", .min = 0, .max = 3, .concurrency = 1},
            {.name = "arm64", .arch = "arm64", .min = 0, .max = 2, .concurrency = 1},
            {.name = "gpu", .labels = {{"gpu", "yes"}}, .min = 0, .max = 1, .concurrency = 1},
    };
    const std::vector<Plan> plans = {
            {.pool = "amd64", .pending = 4, .servers = 1, .wanted = 2, .create = 1},
            {.pool = "arm64", .pending = 3, .servers = 1, .wanted = 2, .create = 1},
            {.pool = "gpu", .pending = 2, .servers = 0, .wanted = 1, .create = 1},
    };
    d.pools = uiPools(pools, plans, 5);
    d.fleetMax = 5;
    d.pool = "amd64";
    d.servers = {
            Server{.name = "amd64-aaaa", .pool = "amd64", .state = ServerState::Running},
            Server{.name = "arm64-bbbb", .pool = "arm64", .state = ServerState::Booting},
            Server{.name = "old-row", .state = ServerState::Running}, // No pool: the first's.
    };
    Stage windows{.id = 99, .buildId = 7, .status = "pending", .os = "windows", .arch = "amd64"};
    windows.labels = {{"<team>", "a&b"}};
    d.unroutable = {windows};
    return d;
}

TEST_CASE("uiPools gives each pool its max and its share of the fleet's max") {
    const UiPageData d = fleetPage();
    REQUIRE(d.pools.size() == 3);
    CHECK(d.pools[0].name == "amd64");
    CHECK(d.pools[0].max == 3);
    CHECK(d.pools[1].max == 2);
    // fleetShares: one each, then the 2 left by largest remainder: 2, 2, 1.
    CHECK(d.pools[0].share == 2);
    CHECK(d.pools[1].share == 2);
    CHECK(d.pools[2].share == 1);
    CHECK(d.pools[2].plan.pending == 2);
    const auto unshared =
            uiPools({{.name = "a", .max = 3}}, {Plan{.pool = "a", .pending = 9}}, std::nullopt);
    REQUIRE(unshared.size() == 1);
    CHECK_FALSE(unshared[0].share.has_value());
}

TEST_CASE("with several pools the servers are grouped under a heading per pool") {
    const std::string page = renderStatusPage(fleetPage());
    CHECK(page.find("pools <b>amd64, arm64, gpu</b>, fleet max 5") != std::string::npos);
    const auto amd64 = page.find(R"(<h3 id="pool-amd64">pool amd64</h3>)");
    const auto arm64 = page.find(R"(<h3 id="pool-arm64">pool arm64</h3>)");
    const auto gpu = page.find(R"(<h3 id="pool-gpu">pool gpu</h3>)");
    REQUIRE(amd64 != std::string::npos);
    REQUIRE(arm64 != std::string::npos);
    REQUIRE(gpu != std::string::npos);
    CHECK(amd64 < arm64);
    CHECK(arm64 < gpu);
    CHECK(page.find("pending 4, running 0, servers 1, wanted 2, max 3, share 2; create 1") > amd64);
    CHECK(page.find("pending 3, running 0, servers 1, wanted 2, max 2, share 2") > arm64);
    CHECK(page.find("pending 2, running 0, servers 0, wanted 1, max 1, share 1") > gpu);
    // Each server under its pool's heading; a row without a pool under the first.
    const auto a = page.find("amd64-aaaa");
    const auto b = page.find("arm64-bbbb");
    const auto old = page.find("old-row");
    CHECK((a > amd64 && a < arm64));
    CHECK((old > amd64 && old < arm64));
    CHECK((b > arm64 && b < gpu));
    CHECK(page.find("no live servers in this pool") > gpu);
    // The fleet's totals in the tiles.
    CHECK(page.find(R"(<div class="k">Pending stages</div><div class="n">9</div>)") !=
          std::string::npos);
}

TEST_CASE("the unroutable stages are counted and listed, escaped") {
    const std::string page = renderStatusPage(fleetPage());
    CHECK(page.find(R"(<div class="k">Unroutable</div><div class="n">1</div>)") !=
          std::string::npos);
    const auto section = page.find(R"(<section id="unroutable"><h2>Unroutable stages)");
    REQUIRE(section != std::string::npos);
    CHECK(page.find("(1)</span></h2>", section) != std::string::npos);
    CHECK(page.find(R"(<td class="mono">99</td><td class="mono">7</td>)", section) !=
          std::string::npos);
    CHECK(page.find("windows/amd64 labels &lt;team&gt;:a&amp;b", section) != std::string::npos);
    CHECK(page.find("<team>") == std::string::npos);

    UiPageData none = fleetPage();
    none.unroutable.clear();
    const std::string clean = renderStatusPage(none);
    CHECK(clean.find("every pending stage has a pool") != std::string::npos);
}

TEST_CASE("one pool keeps the one-pool page: no pool headings, no unroutable section") {
    const std::string page = renderStatusPage(hostilePage());
    CHECK(page.find("<h3 id=\"pool-") == std::string::npos);
    CHECK(page.find("id=\"unroutable\"") == std::string::npos);
    CHECK(page.find("Unroutable") == std::string::npos);
    CHECK(page.find("pool <b>default</b>") != std::string::npos);
}

TEST_CASE("the chart without samples says so") {
    const std::string svg = renderChart({}, kNow);
    CHECK(svg.starts_with("<svg"));
    CHECK(svg.ends_with("</svg>"));
    CHECK(svg.find("no samples yet") != std::string::npos);
    CHECK(svg.find("<path") == std::string::npos);
}

TEST_CASE("the chart draws servers and demand as steps over the last 24 hours") {
    // Plot: x from 44 to 944 over 24 h (37.5 per hour); y from 220 (0) up to 28 (top).
    const std::vector<UiSample> samples = {
            {.time = kNow - 30h, .servers = 50, .demand = 50}, // Outside the window: ignored.
            {.time = kNow - 24h, .servers = 0, .demand = 0},
            {.time = kNow - 12h, .servers = 4, .demand = 7},
            {.time = kNow - 1min, .servers = 3, .demand = 2},
    };
    const std::string svg = renderChart(samples, kNow);
    CHECK(svg.find("no samples yet") == std::string::npos);
    // The axis tops at 8 (7 rounded up to a step of 2): labels 0, 2, 4, 6, 8 and no 50.
    CHECK(svg.find(">8</text>") != std::string::npos);
    CHECK(svg.find(">10</text>") == std::string::npos);
    CHECK(svg.find(">50</text>") == std::string::npos);
    // Servers: start at 0 on the left edge, step to 4 at -12 h, to 3 at -1 min, held to now.
    CHECK(svg.find("id=\"servers\" d=\"M44.0 220.0 H494.0 V124.0 H943.4 V148.0 H944.0\"") !=
          std::string::npos);
    CHECK(svg.find("id=\"demand\" d=\"M44.0 220.0 H494.0 V52.0 H943.4 V172.0 H944.0\"") !=
          std::string::npos);
    // UTC labels every 3 hours, the last one "now".
    CHECK(svg.find(">12:00</text>") != std::string::npos);
    CHECK(svg.find(">now 12:00</text>") != std::string::npos);
    CHECK(count(svg, "</text>") == 5 + 9 + 2);
}

TEST_CASE("a stale last sample is not drawn up to now") {
    const std::vector<UiSample> samples = {{.time = kNow - 2h, .servers = 1, .demand = 1}};
    const std::string svg = renderChart(samples, kNow);
    // 22 h into the window: 44 + 22 * 37.5 = 869.
    CHECK(svg.find("id=\"servers\" d=\"M869.0 28.0 H869.0\"") != std::string::npos);
}

TEST_CASE("the sampler keeps one sample a minute") {
    UiHistory h;
    CHECK(h.record({.time = kNow, .servers = 1, .demand = 2}));
    CHECK_FALSE(h.record({.time = kNow + 59s, .servers = 5, .demand = 5}));
    CHECK(h.record({.time = kNow + 60s, .servers = 2, .demand = 3}));
    const auto samples = h.samples();
    REQUIRE(samples.size() == 2);
    CHECK(samples[0] == UiSample{.time = kNow, .servers = 1, .demand = 2});
    CHECK(samples[1] == UiSample{.time = kNow + 60s, .servers = 2, .demand = 3});
}

TEST_CASE("the sampler is bounded to 24 hours") {
    UiHistory h;
    for (int i = 0; i < 3 * 24 * 60; ++i)
        CHECK(h.record({.time = kNow + std::chrono::minutes{i}, .servers = i, .demand = 0}));
    const auto samples = h.samples();
    REQUIRE(samples.size() == 24 * 60 + 1);
    CHECK(samples.back().time - samples.front().time == 24h);
    CHECK(samples.back().servers == 3 * 24 * 60 - 1);
    // A wall clock set back starts over rather than drawing lines backwards.
    CHECK(h.record({.time = kNow, .servers = 7, .demand = 7}));
    CHECK(h.samples().size() == 1);
}

TEST_CASE("decisions are recorded when the plan changes, newest first, at most 20") {
    UiHistory h;
    h.recordPlan(kNow, Plan{}); // No plan yet.
    CHECK(h.decisions().empty());
    Plan a{.pool = "default", .pending = 1, .wanted = 1, .create = 1, .reasons = {"create 1"}};
    h.recordPlan(kNow, a);
    h.recordPlan(kNow + 1min, a); // The same plan, seen again.
    REQUIRE(h.decisions().size() == 1);
    CHECK(h.decisions()[0].time == kNow);
    for (int i = 0; i < 30; ++i) {
        Plan p = a;
        p.pending = 2 + i;
        h.recordPlan(kNow + std::chrono::minutes{2 + i}, p);
    }
    const auto decisions = h.decisions();
    REQUIRE(decisions.size() == kUiDecisions);
    CHECK(decisions.front().plan.pending == 31);
    CHECK(decisions.back().plan.pending == 12);
}

TEST_CASE("the log ring forwards every record and keeps the last 250") {
    MemorySink inner;
    LogRing ring(inner);
    for (int i = 0; i < 300; ++i)
        ring.write(LogRecord{.message = "line " + std::to_string(i)});
    CHECK(inner.records().size() == 300);
    const auto kept = ring.recent();
    REQUIRE(kept.size() == 250);
    CHECK(kept.front().message == "line 50");
    CHECK(kept.back().message == "line 299");
}

TEST_CASE("basic auth: user and password must both match") {
    const auto basic = [](const char* b64) {
        return std::string("Basic ") + b64;
    };
    // "ops:pa:ss" -> b3BzOnBhOnNz; "ops:pass" -> b3BzOnBhc3M=; "x:pass" -> eDpwYXNz;
    // "ops:pas" -> b3BzOnBhcw==; "ops:passX" -> b3BzOnBhc3NY
    CHECK(basicAuthMatches(basic("b3BzOnBhc3M="), "ops", "pass"));
    CHECK(basicAuthMatches(basic("b3BzOnBhc3M"), "ops", "pass")); // Padding is optional.
    CHECK(basicAuthMatches("basic b3BzOnBhc3M=", "ops", "pass"));
    CHECK(basicAuthMatches(basic("b3BzOnBhOnNz"), "ops", "pa:ss")); // Split at the first colon.
    CHECK_FALSE(basicAuthMatches(basic("b3BzOnBhcw=="), "ops", "pass"));
    CHECK_FALSE(basicAuthMatches(basic("b3BzOnBhc3NY"), "ops", "pass"));
    CHECK_FALSE(basicAuthMatches(basic("eDpwYXNz"), "ops", "pass"));
    CHECK(basicAuthMatches(basic("eDpwYXNz"), "", "pass")); // No user name configured.
    CHECK_FALSE(basicAuthMatches("", "ops", "pass"));
    CHECK_FALSE(basicAuthMatches("Bearer b3BzOnBhc3M=", "ops", "pass"));
    CHECK_FALSE(basicAuthMatches(basic("!!!"), "ops", "pass"));
    CHECK_FALSE(basicAuthMatches(basic("b3Bz"), "ops", "pass")); // "ops": no colon.
    CHECK_FALSE(basicAuthMatches(basic("b3BzOg=="), "ops", "")); // No password: never.
}

TEST_CASE("DRONE_UI_USERNAME and DRONE_UI_PASSWORD are read; the password is a secret") {
    const auto c = parseConfig({{"DRONE_UI_USERNAME", "ops"}, {"DRONE_UI_PASSWORD", "pw-SECRET"}},
                               ConfigNeeds{.drone = false, .agent = false, .amazon = false});
    REQUIRE(c);
    CHECK(c->api.uiUsername == "ops");
    CHECK(c->api.uiPassword == "pw-SECRET");
    for (const auto& warning : c->warnings)
        CHECK(warning.find("DRONE_UI_") == std::string::npos);
    CHECK(isSecretVariable("DRONE_UI_PASSWORD"));
    CHECK_FALSE(isSecretVariable("DRONE_UI_USERNAME"));
}

} // namespace
} // namespace autoscale
