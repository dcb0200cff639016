// SPDX-License-Identifier: Apache-2.0
/// \file
/// What `autoscaler-cli simulate` prints: the JSON object, the side-by-side
/// table and the chart of servers against demand.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "autoscale/simulation.h"

namespace autoscale {

namespace {

using FormatBuffer = std::array<char, 64>;

/// What std::snprintf wrote into `buf`, given its return value `n`: all of
/// it, or as much as fitted when the text was truncated.
std::string written(const FormatBuffer& buf, int n) {
    if (n < 0)
        return {};
    return {buf.data(), std::min(static_cast<std::size_t>(n), buf.size() - 1)};
}

std::string fixed(double v, int digits) {
    FormatBuffer buf{};
    return written(buf, std::snprintf(buf.data(), buf.size(), "%.*f", digits, v));
}

/// Seconds as "42s", "3m20s" or "1h05m".
std::string humanSeconds(double s) {
    const auto total = static_cast<long long>(std::llround(s));
    FormatBuffer buf{};
    int n = 0;
    if (total < 60) {
        n = std::snprintf(buf.data(), buf.size(), "%llds", total);
    } else if (total < 3600) {
        n = std::snprintf(buf.data(), buf.size(), "%lldm%02llds", total / 60, total % 60);
    } else {
        n = std::snprintf(buf.data(), buf.size(), "%lldh%02lldm", total / 3600, total % 3600 / 60);
    }
    return written(buf, n);
}

std::string padLeft(const std::string& s, std::size_t width) {
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}
std::string padRight(const std::string& s, std::size_t width) {
    return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

} // namespace

namespace {

std::string figuresJson(const SimulationResult& r) {
    std::string out =
            "\"builds\":" + std::to_string(r.builds) + ",\"wait_p50_s\":" + fixed(r.waitP50, 1) +
            ",\"wait_p95_s\":" + fixed(r.waitP95, 1) + ",\"wait_max_s\":" + fixed(r.waitMax, 1) +
            ",\"instance_hours\":" + fixed(r.instanceHours, 3) +
            ",\"idle_instance_hours\":" + fixed(r.idleInstanceHours, 3) +
            ",\"cost_usd\":" + fixed(r.costUsd, 2) +
            ",\"peak_servers\":" + std::to_string(r.peakServers);
    if (r.spot) {
        out += ",\"on_demand_cost_usd\":" + fixed(r.onDemandCostUsd, 2) +
               ",\"spot_instance_hours\":" + fixed(r.spotInstanceHours, 3) +
               ",\"on_demand_instance_hours\":" + fixed(r.onDemandInstanceHours, 3) +
               ",\"interruptions\":" + std::to_string(r.interruptions) +
               ",\"stages_rerun\":" + std::to_string(r.rerun) +
               ",\"spot_refusals\":" + std::to_string(r.spotRefusals);
    }
    if (r.unroutable > 0)
        out += ",\"unroutable\":" + std::to_string(r.unroutable);
    return out;
}

/// A JSON string literal of `s` (trace values: printable ASCII expected).
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            FormatBuffer buf{};
            out += written(buf, std::snprintf(buf.data(), buf.size(), "\\u%04x",
                                              static_cast<unsigned>(c)));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

} // namespace

std::string simulationJson(const SimulationResult& r) {
    return "{" + figuresJson(r) + "}";
}

std::string fleetSimulationJson(const FleetSimulationResult& result) {
    std::string out = "{\"pools\":[";
    for (std::size_t i = 0; i < result.pools.size(); ++i) {
        out += (i > 0 ? "," : "") + std::string("{\"name\":") + quoted(result.pools[i].first) +
               "," + figuresJson(result.pools[i].second) +
               ",\"stages\":" + std::to_string(result.pools[i].second.stages) + "}";
    }
    out += "],\"total\":{" + figuresJson(result.total) +
           ",\"stages\":" + std::to_string(result.total.stages) + ",\"fleet_max\":" +
           (result.fleetMax ? std::to_string(*result.fleetMax) : std::string("null")) +
           "},\"unroutable\":[";
    for (std::size_t i = 0; i < result.unroutable.size(); ++i) {
        const TraceStage& t = result.unroutable[i];
        out += (i > 0 ? "," : "") + std::string("{\"t\":") + fixed(t.t, 1) +
               ",\"os\":" + quoted(t.os) + ",\"arch\":" + quoted(t.arch) + ",\"labels\":{";
        bool firstLabel = true;
        for (const auto& [k, v] : t.labels) {
            out += (firstLabel ? "" : ",") + quoted(k) + ":" + quoted(v);
            firstLabel = false;
        }
        out += "}}";
    }
    return out + "]}";
}

std::string
formatSimulationTable(const std::vector<std::pair<std::string, SimulationResult>>& columns) {
    struct Row {
        const char* label;
        std::string (*value)(const SimulationResult&);
    };
    static const auto rows = std::to_array<Row>({
            {"stages run",
             [](const SimulationResult& r) {
                 return std::to_string(r.builds) + " of " + std::to_string(r.stages);
             }},
            {"wait p50",
             [](const SimulationResult& r) {
                 return humanSeconds(r.waitP50);
             }},
            {"wait p95",
             [](const SimulationResult& r) {
                 return humanSeconds(r.waitP95);
             }},
            {"wait max",
             [](const SimulationResult& r) {
                 return humanSeconds(r.waitMax);
             }},
            {"instance-hours",
             [](const SimulationResult& r) {
                 return fixed(r.instanceHours, 1);
             }},
            {"idle instance-hours",
             [](const SimulationResult& r) {
                 return fixed(r.idleInstanceHours, 1);
             }},
            {"cost (USD)",
             [](const SimulationResult& r) {
                 return fixed(r.costUsd, 2);
             }},
            {"peak servers",
             [](const SimulationResult& r) {
                 return std::to_string(r.peakServers);
             }},
            {"servers launched",
             [](const SimulationResult& r) {
                 return std::to_string(r.serversLaunched);
             }},
    });
    static const auto spotRows = std::to_array<Row>({
            {"on-demand cost (USD)",
             [](const SimulationResult& r) {
                 return fixed(r.onDemandCostUsd, 2);
             }},
            {"spot instance-hours",
             [](const SimulationResult& r) {
                 return fixed(r.spotInstanceHours, 1);
             }},
            {"on-demand inst-hours",
             [](const SimulationResult& r) {
                 return fixed(r.onDemandInstanceHours, 1);
             }},
            {"interruptions",
             [](const SimulationResult& r) {
                 return std::to_string(r.interruptions);
             }},
            {"stages rerun",
             [](const SimulationResult& r) {
                 return std::to_string(r.rerun);
             }},
    });
    static const auto fleetRows = std::to_array<Row>({
            {"unroutable stages",
             [](const SimulationResult& r) {
                 return std::to_string(r.unroutable);
             }},
    });
    constexpr std::size_t kLabel = 21;
    constexpr std::size_t kColumn = 14;
    std::string out = padRight("", kLabel);
    for (const auto& [name, r] : columns)
        out += padLeft(name, kColumn);
    out += "\n";
    const auto print = [&](const auto& table) {
        for (const auto& row : table) {
            out += padRight(row.label, kLabel);
            for (const auto& [name, r] : columns)
                out += padLeft(row.value(r), kColumn);
            out += "\n";
        }
    };
    print(rows);
    const bool spot = std::any_of(columns.begin(), columns.end(),
                                  [](const auto& c) { return c.second.spot; });
    const bool unroutable = std::any_of(columns.begin(), columns.end(),
                                        [](const auto& c) { return c.second.unroutable > 0; });
    if (spot)
        print(spotRows);
    if (unroutable)
        print(fleetRows);
    return out;
}

std::string formatSimulationChart(const SimulationResult& r, int width, int height) {
    constexpr int kAxis = 6; // "  12 |"
    const int columns = std::max(width - kAxis - 2, 10);
    height = std::max(height, 3);
    const int concurrency = std::max(r.concurrency, 1);
    std::vector<int> servers(static_cast<std::size_t>(columns), 0);
    std::vector<int> demand(static_cast<std::size_t>(columns), 0);
    const double span = std::max(r.simulatedSeconds, 1.0);
    for (const auto& s : r.samples) {
        auto c = static_cast<std::size_t>(s.t / span * columns);
        c = std::min(c, static_cast<std::size_t>(columns - 1));
        servers[c] = std::max(servers[c], s.servers);
        demand[c] = std::max(demand[c], (s.demand + concurrency - 1) / concurrency);
    }
    // The scale follows the servers; demand far above them is clipped at
    // twice their peak so that the servers stay readable.
    int peakServers = 1;
    int peakDemand = 0;
    for (std::size_t c = 0; c < servers.size(); ++c) {
        peakServers = std::max(peakServers, servers[c]);
        peakDemand = std::max(peakDemand, demand[c]);
    }
    const int top = std::max(peakServers, std::min(peakDemand, 2 * peakServers));
    const int rowsShown = std::min(height, top);
    std::string out = "servers over " + humanSeconds(span) +
                      " (#: serving demand, o: idle, !: demand waiting)\n";
    for (int row = rowsShown; row >= 1; --row) {
        // The level this row stands for, in servers.
        const double level = static_cast<double>(row) * top / rowsShown;
        const int shown = static_cast<int>(std::ceil(level - 1e-9));
        std::string line = padLeft(std::to_string(shown), kAxis - 2) + " |";
        for (std::size_t c = 0; c < servers.size(); ++c) {
            const bool s = servers[c] >= level - 1e-9;
            const bool d = demand[c] >= level - 1e-9;
            line += s && d ? '#' : s ? 'o' : d ? '!' : ' ';
        }
        // Drop trailing blanks.
        line.erase(line.find_last_not_of(' ') + 1);
        out += line + "\n";
    }
    out += padLeft("0", kAxis - 2) + " +" + std::string(static_cast<std::size_t>(columns), '-') +
           "\n";
    // Time labels: days when the run spans two days or more, else hours.
    const bool days = span >= 2 * 86400.0;
    const double step = days ? 86400.0 : (span > 12 * 3600.0 ? 4 * 3600.0 : 3600.0);
    std::string labels(static_cast<std::size_t>(kAxis + columns + 8), ' ');
    std::size_t used = 0;
    for (double t = 0; t <= span; t += step) {
        const auto col =
                static_cast<std::size_t>(kAxis) + static_cast<std::size_t>(t / span * columns);
        const std::string text = days ? "d" + std::to_string(static_cast<int>(t / 86400.0))
                                      : std::to_string(static_cast<int>(t / 3600.0)) + "h";
        if (col < used || col + text.size() > labels.size())
            continue;
        labels.replace(col, text.size(), text);
        used = col + text.size() + 1;
    }
    labels.erase(labels.find_last_not_of(' ') + 1);
    out += labels + "\n";
    return out;
}

} // namespace autoscale
