// SPDX-License-Identifier: Apache-2.0
/// \file
/// Renders the status page: a header with the engine's state, figures from the
/// last plan, the 24-hour chart as inline SVG, the servers, the last decisions
/// and the last log lines. No script, no external asset; every outside string
/// goes through htmlEscape.

#include "ui_page.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

#include <autoscale/dispatch.h>
#include <autoscale/fleet.h>

#include "time_format.h"

namespace autoscale {

namespace {

using namespace std::chrono_literals;

/// Whole seconds from `from` to `to` (negative when `to` is earlier).
std::int64_t secondsBetween(WallTime from, WallTime to) {
    return std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
}

/// "HH:MM" (UTC) of `time`.
std::string clockTime(WallTime time) {
    return detail::formatIso8601(time).substr(11, 5);
}

/// "HH:MM:SS" (UTC) of `time`.
std::string clockTimeSeconds(WallTime time) {
    return detail::formatIso8601(time).substr(11, 8);
}

std::string fixed1(double value) {
    std::array<char, 32> buffer{};
    (void)std::snprintf(buffer.data(), buffer.size(), "%.1f", value);
    return buffer.data();
}

/// The CSS class that colours a state's badge.
std::string_view stateClass(ServerState state) {
    switch (state) {
    case ServerState::Pending:
    case ServerState::Creating:
        return "s-new";
    case ServerState::Booting:
    case ServerState::Installing:
        return "s-starting";
    case ServerState::Running:
        return "s-running";
    case ServerState::Draining:
        return "s-draining";
    case ServerState::Terminating:
    case ServerState::Terminated:
        return "s-gone";
    case ServerState::Error:
        return "s-error";
    }
    return "s-new";
}

std::string_view levelClass(LogLevel level) {
    switch (level) {
    case LogLevel::Trace:
    case LogLevel::Debug:
        return "l-debug";
    case LogLevel::Info:
        return "l-info";
    case LogLevel::Warn:
        return "l-warn";
    case LogLevel::Error:
        return "l-error";
    }
    return "l-info";
}

/// Live rows first (oldest first), then terminated ones (latest first).
std::vector<Server> sortedServers(std::vector<Server> servers) {
    std::stable_sort(servers.begin(), servers.end(), [](const Server& a, const Server& b) {
        const bool aGone = a.state == ServerState::Terminated;
        const bool bGone = b.state == ServerState::Terminated;
        if (aGone != bGone)
            return !aGone;
        if (aGone)
            return a.stopped > b.stopped;
        return a.created < b.created;
    });
    return servers;
}

constexpr const char* kStyle = R"(
:root{--bg:#f4f6f8;--card:#fff;--ink:#1d2530;--muted:#667085;--line:#e4e7ec;--blue:#2563eb;--orange:#ea7a12}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{background:#1d2530;color:#fff;padding:14px 28px;display:flex;align-items:baseline;gap:18px;flex-wrap:wrap}
header h1{font-size:19px;margin:0;font-weight:600}
header .meta{color:#b8c2cf;font-size:13px}
header .right{margin-left:auto}
main{max-width:1240px;margin:0 auto;padding:20px 28px 40px}
.banner{border-radius:8px;padding:10px 14px;margin-bottom:16px;font-weight:500}
.banner.paused{background:#fff4d6;border:1px solid #f2c94c}
.banner.error{background:#fde8e8;border:1px solid #f3a5a5;color:#8a1c1c}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:18px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile .n{font-size:26px;font-weight:650;line-height:1.1}
.tile .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .d{color:var(--muted);font-size:12px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:18px}
section h2{font-size:15px;margin:0 0 12px;font-weight:600}
section h2 .count{color:var(--muted);font-weight:400}
table{border-collapse:collapse;width:100%}
th{text-align:left;color:var(--muted);font-weight:500;font-size:12px;text-transform:uppercase;letter-spacing:.04em;border-bottom:1px solid var(--line);padding:6px 10px}
td{border-bottom:1px solid var(--line);padding:7px 10px;vertical-align:top}
tr:last-child td{border-bottom:none}
td.name{font-weight:600;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}
td.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}
td.err{color:#a61b1b;max-width:380px;word-break:break-word}
tr.gone td{color:#98a2b3}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600}
.s-new{background:#e8eefc;color:#2848a8}
.s-starting{background:#fff1d6;color:#8a5a00}
.s-running{background:#dcf5e3;color:#146c2e}
.s-draining{background:#efe4fb;color:#6a2ea6}
.s-gone{background:#eceff3;color:#667085}
.s-error{background:#fde2e2;color:#a61b1b}
.empty{color:var(--muted);font-style:italic}
.chart svg{width:100%;height:auto;display:block}
.decisions{max-height:360px;overflow:auto}
.decision{border-left:3px solid var(--line);padding:1px 0 1px 12px;margin-bottom:8px}
.decision.latest{border-left-color:var(--blue)}
.decision .when{color:var(--muted);font-size:12px;margin-right:8px}
.decision .what{font-weight:600}
.decision ul{margin:2px 0 0;padding-left:18px;font-size:13px;color:#344054}
.log{max-height:520px;overflow:auto;border:1px solid var(--line);border-radius:8px}
.log table{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.log td{padding:3px 8px;white-space:pre-wrap;word-break:break-word}
.log td.t{color:var(--muted);white-space:nowrap}
.log td.c{color:#475467;white-space:nowrap}
.log .f{color:#667085}
.log td.lv{font-weight:700;white-space:nowrap}
.l-debug{color:#98a2b3}.l-info{color:#2563eb}.l-warn{color:#b25e00}.l-error{color:#c01818}
section h3{font-size:14px;margin:16px 0 4px;font-weight:600}
section h3:first-of-type{margin-top:4px}
.poolsum{color:var(--muted);font-size:13px;margin:0 0 8px}
details{margin-top:10px}
summary{cursor:pointer;color:var(--muted);padding:4px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
)";

void tile(std::string& out, const std::string& key, const std::string& value,
          const std::string& detail) {
    out += R"(<div class="tile"><div class="k">)" + htmlEscape(key) + R"(</div><div class="n">)" +
           htmlEscape(value) + R"(</div><div class="d">)" + htmlEscape(detail) + "</div></div>\n";
}

std::string optionalCount(const std::optional<int>& n) {
    return n ? std::to_string(*n) : "—";
}

void renderTiles(std::string& out, const UiPageData& d) {
    int running = 0;
    int live = 0;
    int errors = 0;
    for (const auto& s : d.servers) {
        running += s.state == ServerState::Running ? 1 : 0;
        live += s.state != ServerState::Terminated ? 1 : 0;
        errors += s.state == ServerState::Error ? 1 : 0;
    }
    Plan p = d.plan;
    if (d.pools.size() > 1) {
        // A fleet: the figures of every pool together.
        p = Plan{};
        for (const auto& pool : d.pools) {
            p.servers += pool.plan.servers;
            p.wanted += pool.plan.wanted;
            p.create += pool.plan.create;
            p.pending += pool.plan.pending;
            p.running += pool.plan.running;
            p.capacity += pool.plan.capacity;
            p.drain.insert(p.drain.end(), pool.plan.drain.begin(), pool.plan.drain.end());
        }
    }
    out += "<div class=\"tiles\">\n";
    tile(out, "Servers", std::to_string(p.servers),
         std::to_string(running) + " running, " + std::to_string(live) + " live" +
                 (errors > 0 ? ", " + std::to_string(errors) + " in error" : ""));
    tile(out, "Wanted", std::to_string(p.wanted),
         "create " + std::to_string(p.create) + ", drain " + std::to_string(p.drain.size()));
    tile(out, "Pending stages", std::to_string(p.pending),
         "matched; left out " + optionalCount(d.leftOutPending));
    tile(out, "Running stages", std::to_string(p.running),
         "matched; left out " + optionalCount(d.leftOutRunning));
    tile(out, "Capacity", std::to_string(p.capacity), "stage slots");
    if (d.pools.size() > 1 || !d.unroutable.empty()) {
        tile(out, "Unroutable", std::to_string(d.unroutable.size()),
             "pending stages no pool serves");
    }
    out += "</div>\n";
}

void serverTable(std::string& out, const UiPageData& d, const std::vector<Server>& rows) {
    out += "<table><thead><tr><th>Name</th><th>State</th><th>Pool</th><th>Type</th>"
           "<th>Address</th><th>Age</th><th>Last error</th></tr></thead><tbody>\n";
    for (const auto& s : rows) {
        out += s.state == ServerState::Terminated ? R"(<tr class="gone">)" : "<tr>";
        out += R"(<td class="name">)" + htmlEscape(s.name) + "</td>";
        out += R"(<td><span class="badge )" + std::string(stateClass(s.state)) + R"(">)" +
               htmlEscape(uiStateName(s.state)) + "</span></td>";
        out += "<td>" + htmlEscape(s.pool.empty() ? d.pool : s.pool) + "</td>";
        out += R"(<td class="mono">)" + htmlEscape(s.size.empty() ? "—" : s.size) + "</td>";
        out += R"(<td class="mono">)" + htmlEscape(s.address.empty() ? "—" : s.address) + "</td>";
        out += "<td>" + htmlEscape(formatAge(s.created, d.now)) + "</td>";
        out += R"(<td class="err">)" + htmlEscape(s.error) + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
}

/// Live rows as a table (or "no live servers"), terminated ones collapsed.
void serverGroup(std::string& out, const UiPageData& d, const std::vector<Server>& rows,
                 const std::string& none) {
    std::vector<Server> live;
    std::vector<Server> gone;
    for (const auto& s : rows)
        (s.state == ServerState::Terminated ? gone : live).push_back(s);
    if (live.empty()) {
        out += R"(<p class="empty">)" + htmlEscape(none) + "</p>";
    } else {
        serverTable(out, d, live);
    }
    if (!gone.empty()) {
        // Collapsed without script: <details> opens on a click.
        out += "<details><summary>" + std::to_string(gone.size()) +
               " terminated (rows are kept 24 hours)</summary>\n";
        serverTable(out, d, gone);
        out += "</details>\n";
    }
}

/// "pending 4, running 1, servers 2, wanted 3, max 3, share 2" for a pool.
std::string poolSummary(const UiPool& pool) {
    const Plan& p = pool.plan;
    std::string out = "pending " + std::to_string(p.pending) + ", running " +
                      std::to_string(p.running) + ", servers " + std::to_string(p.servers) +
                      ", wanted " + std::to_string(p.wanted) + ", max " + std::to_string(pool.max);
    if (pool.share)
        out += ", share " + std::to_string(*pool.share);
    if (p.create > 0)
        out += "; create " + std::to_string(p.create);
    if (!p.drain.empty())
        out += "; drain " + std::to_string(p.drain.size());
    return out;
}

void renderServers(std::string& out, const UiPageData& d) {
    const std::vector<Server> sorted = sortedServers(d.servers);
    const auto live = std::count_if(sorted.begin(), sorted.end(), [](const Server& s) {
        return s.state != ServerState::Terminated;
    });
    out += R"(<section id="servers"><h2>Servers <span class="count">()" + std::to_string(live) +
           " live)</span></h2>\n";
    if (!d.serversReadable) {
        out += R"(<p class="empty">the store cannot be read: )" + htmlEscape(d.storeError) +
               "</p></section>\n";
        return;
    }
    if (d.pools.size() <= 1) {
        serverGroup(out, d, sorted, "no live servers");
        out += "</section>\n";
        return;
    }
    // A heading per pool; rows of no pool or of a pool not configured are the
    // first pool's, as the first engine claims them.
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < d.pools.size(); ++i)
        index.emplace(d.pools[i].name, i);
    std::vector<std::vector<Server>> byPool(d.pools.size());
    for (const auto& s : sorted) {
        const auto it = index.find(s.pool);
        byPool[it == index.end() ? 0 : it->second].push_back(s);
    }
    for (std::size_t i = 0; i < d.pools.size(); ++i) {
        const UiPool& pool = d.pools[i];
        out += R"(<h3 id="pool-)" + htmlEscape(pool.name) + R"(">pool )" + htmlEscape(pool.name) +
               "</h3>\n";
        out += R"(<p class="poolsum">)" + htmlEscape(poolSummary(pool)) + "</p>\n";
        serverGroup(out, d, byPool[i], "no live servers in this pool");
    }
    out += "</section>\n";
}

void renderUnroutable(std::string& out, const UiPageData& d) {
    if (d.pools.size() <= 1 && d.unroutable.empty())
        return;
    out += R"(<section id="unroutable"><h2>Unroutable stages <span class="count">()" +
           std::to_string(d.unroutable.size()) + ")</span></h2>\n";
    if (d.unroutable.empty()) {
        out += R"(<p class="empty">every pending stage has a pool</p></section>)"
               "\n";
        return;
    }
    out += "<p class=\"poolsum\">Pending stages whose platform or labels match no pool: they "
           "wait until a runner that matches them polls.</p>\n";
    out += "<table><thead><tr><th>Stage</th><th>Build</th><th>Platform</th></tr></thead>"
           "<tbody>\n";
    for (const auto& stage : d.unroutable) {
        out += R"(<tr><td class="mono">)" + std::to_string(stage.id) + R"(</td><td class="mono">)" +
               std::to_string(stage.buildId) + R"(</td><td class="mono">)" +
               htmlEscape(describePlatform(stage)) + "</td></tr>\n";
    }
    out += "</tbody></table></section>\n";
}

std::string decisionSummary(const Plan& p) {
    std::string what = "wants " + std::to_string(p.wanted) + " server" +
                       (p.wanted == 1 ? "" : "s") + " for " + std::to_string(p.pending) +
                       " pending and " + std::to_string(p.running) + " running";
    if (p.create > 0)
        what += "; create " + std::to_string(p.create);
    if (!p.drain.empty()) {
        what += "; drain";
        for (const auto& name : p.drain)
            what += " " + name;
    }
    if (p.create == 0 && p.drain.empty())
        what += "; no change";
    return what;
}

void renderDecisions(std::string& out, const UiPageData& d) {
    out += R"(<section id="decisions"><h2>Decisions <span class="count">(last )" +
           std::to_string(d.decisions.size()) + ")</span></h2>\n";
    if (d.decisions.empty()) {
        out += "<p class=\"empty\">no decision yet</p></section>\n";
        return;
    }
    out += R"(<div class="decisions">)";
    bool first = true;
    for (const auto& decision : d.decisions) {
        out += first ? R"(<div class="decision latest">)" : R"(<div class="decision">)";
        out += R"(<span class="when">)" + htmlEscape(clockTimeSeconds(decision.time)) + " (" +
               htmlEscape(formatAge(decision.time, d.now)) + " ago)</span>";
        out += R"(<span class="what">)" + htmlEscape(decisionSummary(decision.plan)) + "</span>";
        if (!decision.plan.reasons.empty()) {
            out += "<ul>";
            for (const auto& reason : decision.plan.reasons)
                out += "<li>" + htmlEscape(reason) + "</li>";
            out += "</ul>";
        }
        out += "</div>\n";
        first = false;
    }
    out += "</div></section>\n";
}

void renderLog(std::string& out, const UiPageData& d) {
    out += R"(<section id="log"><h2>Log <span class="count">(last )" +
           std::to_string(d.log.size()) + " lines, newest first)</span></h2>\n";
    if (d.log.empty()) {
        out += "<p class=\"empty\">nothing logged yet</p></section>\n";
        return;
    }
    out += "<div class=\"log\"><table><tbody>\n";
    for (std::size_t i = d.log.size(); i-- > 0;) {
        const LogRecord& r = d.log[i];
        out += R"(<tr><td class="t" title=")" + htmlEscape(detail::formatIso8601(r.time)) +
               R"(">)" + htmlEscape(clockTimeSeconds(r.time)) + "</td>";
        out += R"(<td class="lv )" + std::string(levelClass(r.level)) + R"(">)" +
               htmlEscape(nameOf(r.level)) + "</td>";
        out += R"(<td class="c">)" + htmlEscape(r.component) + "</td><td>" + htmlEscape(r.message);
        for (const auto& f : r.fields)
            out += R"( <span class="f">)" + htmlEscape(f.key) + "=</span>" + htmlEscape(f.value);
        out += "</td></tr>\n";
    }
    out += "</tbody></table></div></section>\n";
}

/// An SVG <line>; coordinates with one decimal.
std::string lineElement(double x1, double x2, double y1, double y2, std::string_view stroke) {
    return R"(<line x1=")" + fixed1(x1) + R"(" x2=")" + fixed1(x2) + R"(" y1=")" + fixed1(y1) +
           R"(" y2=")" + fixed1(y2) + R"(" stroke=")" + std::string(stroke) + R"("/>)";
}

/// An SVG <text>; `text` is ours (numbers, times), escaped all the same.
std::string textElement(double x, double y, std::string_view anchor, std::string_view text) {
    return R"(<text x=")" + fixed1(x) + R"(" y=")" + fixed1(y) + R"(" text-anchor=")" +
           std::string(anchor) + R"(">)" + htmlEscape(text) + "</text>\n";
}

/// The smallest of 1, 2, 5, 10, 20, 50, ... that is >= value / 4, so the axis
/// gets at most five labelled lines.
int tickStep(int top) {
    int step = 1;
    while (step * 4 < top) {
        if (step * 2 * 4 >= top)
            return step * 2;
        if (step * 5 * 4 >= top)
            return step * 5;
        step *= 10;
    }
    return step;
}

} // namespace

std::string htmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string_view uiStateName(ServerState state) {
    return nameOf(state);
}

std::string formatAge(WallTime since, WallTime now) {
    if (since == WallTime{})
        return "—";
    const std::int64_t s = std::max<std::int64_t>(0, secondsBetween(since, now));
    if (s < 60)
        return std::to_string(s) + "s";
    if (s < 3600)
        return std::to_string(s / 60) + "m";
    const auto two = [](std::int64_t v) {
        return (v < 10 ? "0" : "") + std::to_string(v);
    };
    if (s < 86400)
        return std::to_string(s / 3600) + "h " + two((s % 3600) / 60) + "m";
    return std::to_string(s / 86400) + "d " + std::to_string((s % 86400) / 3600) + "h";
}

std::string renderChart(const std::vector<UiSample>& samples, WallTime now) {
    constexpr double kWidth = 960;
    constexpr double kHeight = 250;
    constexpr double kLeft = 44;
    constexpr double kRight = 16;
    constexpr double kTop = 28;
    constexpr double kBottom = 30;
    constexpr double kPlotW = kWidth - kLeft - kRight;
    constexpr double kPlotH = kHeight - kTop - kBottom;
    const WallTime start = now - kUiHistorySpan;
    const double span = std::chrono::duration<double>(kUiHistorySpan).count();

    std::vector<UiSample> in;
    for (const auto& s : samples) {
        if (s.time >= start - kUiSampleInterval && s.time <= now)
            in.push_back(s);
    }
    int top = 1;
    for (const auto& s : in)
        top = std::max({top, s.servers, s.demand});
    const int step = tickStep(top);
    top = (top + step - 1) / step * step;

    const auto x = [&](WallTime t) {
        const double f = std::chrono::duration<double>(t - start).count() / span;
        return kLeft + std::clamp(f, 0.0, 1.0) * kPlotW;
    };
    const auto y = [&](int v) {
        return kTop + kPlotH - kPlotH * v / top;
    };

    std::string svg = R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )" + fixed1(kWidth) +
                      " " + fixed1(kHeight) +
                      R"(" role="img" aria-labelledby="chart-title">)"
                      "<title id=\"chart-title\">Servers against demand, last 24 hours</title>\n";
    svg += "<style>text{font:11px system-ui,\"DejaVu Sans\",sans-serif;fill:#667085}</style>\n";
    // Horizontal grid with values.
    for (int v = 0; v <= top; v += step) {
        svg += lineElement(kLeft, kLeft + kPlotW, y(v), y(v), v == 0 ? "#98a2b3" : "#e4e7ec");
        svg += textElement(kLeft - 8, y(v) + 4, "end", std::to_string(v));
    }
    // Vertical grid every 3 hours, labelled in UTC.
    for (int h = 0; h <= 24; h += 3) {
        const WallTime t = start + std::chrono::hours{h};
        svg += lineElement(x(t), x(t), kTop, kTop + kPlotH, "#eef0f3");
        const char* anchor = h == 0 ? "start" : h == 24 ? "end" : "middle";
        svg += textElement(x(t), kHeight - 10, anchor,
                           h == 24 ? "now " + clockTime(t) : clockTime(t));
    }
    // Legend.
    svg += R"(<rect x=")" + fixed1(kLeft) +
           R"(" y="8" width="14" height="4" fill="#2563eb"/>)"
           R"(<text x=")" +
           fixed1(kLeft + 20) +
           R"(" y="14">servers</text>)"
           R"(<rect x=")" +
           fixed1(kLeft + 90) +
           R"(" y="8" width="14" height="4" )"
           R"(fill="#ea7a12"/><text x=")" +
           fixed1(kLeft + 110) + "\" y=\"14\">demand (stages pending + running)</text>\n";
    if (in.empty()) {
        svg += R"(<text x=")" + fixed1(kLeft + kPlotW / 2) + R"(" y=")" +
               fixed1(kTop + kPlotH / 2) +
               R"(" text-anchor="middle">no samples yet (one is taken every minute)</text>)";
        return svg + "</svg>";
    }
    // Each series as a step line; the last value holds until `now` while
    // samples are fresh.
    const WallTime end = now - in.back().time <= 5 * kUiSampleInterval ? now : in.back().time;
    const auto stepPath = [&](auto value) {
        std::string d = "M" + fixed1(x(in.front().time)) + " " + fixed1(y(value(in.front())));
        for (std::size_t i = 1; i < in.size(); ++i) {
            d += " H" + fixed1(x(in[i].time)) + " V" + fixed1(y(value(in[i])));
        }
        d += " H" + fixed1(x(end));
        return d;
    };
    const std::string demand = stepPath([](const UiSample& s) { return s.demand; });
    const std::string servers = stepPath([](const UiSample& s) { return s.servers; });
    svg += R"(<path id="demand-area" d=")" + demand + " V" + fixed1(y(0)) + " H" +
           fixed1(x(in.front().time)) + " Z\" fill=\"#ea7a12\" fill-opacity=\"0.12\"/>\n";
    svg += R"(<path id="demand" d=")" + demand +
           "\" fill=\"none\" stroke=\"#ea7a12\" stroke-width=\"2\"/>\n";
    svg += R"(<path id="servers" d=")" + servers +
           "\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2.5\"/>\n";
    return svg + "</svg>";
}

std::vector<UiPool> uiPools(const std::vector<PoolSettings>& pools, const std::vector<Plan>& plans,
                            std::optional<int> fleetMax) {
    const std::size_t n = std::min(pools.size(), plans.size());
    std::vector<PoolDemand> demands;
    for (std::size_t i = 0; i < n; ++i) {
        const PoolSettings& pool = pools[i];
        const int demand = plans[i].pending + plans[i].running + std::max(pool.buffer, 0);
        const int concurrency = std::max(pool.concurrency, 1);
        const int wanted = std::clamp((demand + concurrency - 1) / concurrency, pool.min,
                                      std::max(pool.min, pool.max));
        demands.push_back({.min = pool.min, .max = pool.max, .wanted = wanted});
    }
    const auto shares = fleetShares(demands, fleetMax);
    std::vector<UiPool> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(
                {.name = pools[i].name, .plan = plans[i], .max = pools[i].max, .share = shares[i]});
    }
    return out;
}

std::string renderStatusPage(const UiPageData& d) {
    std::string poolNames = d.pool;
    if (d.pools.size() > 1) {
        poolNames.clear();
        for (const auto& pool : d.pools)
            poolNames += (poolNames.empty() ? "" : ", ") + pool.name;
    }
    std::string out = "<!DOCTYPE html>\n"
                      R"(<html lang="en"><head><meta charset="utf-8">)"
                      R"(<meta name="viewport" content="width=device-width, initial-scale=1">)"
                      "<title>autoscaler — " +
                      htmlEscape(poolNames) + "</title><style>" + kStyle +
                      "</style></head><body>\n";
    out += R"(<header><h1>Drone autoscaler</h1><span class="meta">)" +
           std::string(d.pools.size() > 1 ? "pools" : "pool") + " <b>" + htmlEscape(poolNames) +
           "</b>" + (d.fleetMax ? ", fleet max " + std::to_string(*d.fleetMax) : std::string()) +
           R"(</span><span class="meta">version )" + htmlEscape(d.version) +
           R"(</span><span class="meta right">)" + htmlEscape(detail::formatIso8601(d.now)) +
           "</span></header>\n<main>\n";
    if (d.paused) {
        out += R"(<div class="banner paused">Paused: no new decisions until resumed )"
               "(POST /api/resume).</div>\n";
    }
    if (!d.lastError.empty()) {
        out += R"(<div class="banner error">Last cycle failed: )" + htmlEscape(d.lastError) +
               "</div>\n";
    }
    if (d.backoffUntil && *d.backoffUntil > d.now) {
        out += R"(<div class="banner error">Creation backs off for another )" +
               htmlEscape(formatAge(d.now, *d.backoffUntil)) + " after repeated failures.</div>\n";
    }
    renderTiles(out, d);
    out += R"(<section class="chart" id="chart"><h2>Servers against demand, last 24 hours )"
           "<span class=\"count\">(UTC, one sample a minute)</span></h2>\n" +
           renderChart(d.samples, d.now) + "</section>\n";
    renderServers(out, d);
    renderUnroutable(out, d);
    renderDecisions(out, d);
    renderLog(out, d);
    out += "<footer>Rendered by the autoscaler at " + htmlEscape(detail::formatIso8601(d.now)) +
           "; reload for fresh figures.</footer>\n</main></body></html>\n";
    return out;
}

namespace {

/// The 6-bit value of a base64 character, or -1.
int base64Value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/// Decodes standard base64 (RFC 4648, with or without padding); nullopt when
/// the text is not base64.
std::optional<std::string> base64Decode(std::string_view text) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] != '='; ++i) {
        const int v = base64Value(text[i]);
        if (v < 0)
            return std::nullopt;
        buffer = (buffer << 6U) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    for (; i < text.size(); ++i) {
        if (text[i] != '=')
            return std::nullopt;
    }
    return out;
}

/// Compares `given` with `expected` in time that depends only on the length
/// of `expected`.
bool constantTimeEquals(std::string_view given, std::string_view expected) {
    unsigned diff = given.size() == expected.size() ? 0U : 1U;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto g = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
        diff |= static_cast<unsigned>(g ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0;
}

} // namespace

bool basicAuthMatches(std::string_view header, std::string_view username,
                      std::string_view password) {
    if (password.empty() || header.size() < 6)
        return false;
    const std::string_view scheme = header.substr(0, 6);
    if (scheme != "Basic " && scheme != "basic " && scheme != "BASIC ")
        return false;
    std::string_view encoded = header.substr(6);
    while (!encoded.empty() && encoded.front() == ' ')
        encoded.remove_prefix(1);
    while (!encoded.empty() && encoded.back() == ' ')
        encoded.remove_suffix(1);
    const auto decoded = base64Decode(encoded);
    if (!decoded)
        return false;
    const std::size_t colon = decoded->find(':');
    if (colon == std::string::npos)
        return false;
    const std::string_view user = std::string_view(*decoded).substr(0, colon);
    const std::string_view pass = std::string_view(*decoded).substr(colon + 1);
    const bool userOk = username.empty() || constantTimeEquals(user, username);
    const bool passOk = constantTimeEquals(pass, password);
    return userOk && passOk; // Both were computed: no early exit on the user name.
}

} // namespace autoscale
