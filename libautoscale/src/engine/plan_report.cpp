// SPDX-License-Identifier: Apache-2.0
/// \file
/// planOnce and its two printed forms.

#include "autoscale/plan_report.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <autoscale/dispatch.h>
#include <autoscale/fleet.h>
#include <autoscale/json.h>
#include <autoscale/planner.h>

#include "engine/cloud_sweep.h"
#include "json_text.h"

namespace autoscale {

Result<PlanReport> planOnce(const PoolSettings& pool, Queue& queue, std::vector<Server> servers,
                            WallTime now) {
    auto stages = queue.stages();
    if (!stages)
        return stages.error();
    PlanReport report;
    report.pool = pool;
    report.stagesTotal = static_cast<int>(stages->size());
    // Drone's dispatch rule, in place: a 50,000-stage queue is not copied.
    const StagesLeftOut leftOut = keepDispatched(*stages, pool);
    report.stagesMatched = static_cast<int>(stages->size());
    PlanInput input{
            .pool = pool, .servers = std::move(servers), .stages = std::move(*stages), .now = now};
    report.plan = plan(input);
    report.plan.leftOut = leftOut;
    report.servers = std::move(input.servers);
    return report;
}

FleetPlanReport planFleet(std::span<const PoolSettings> pools, std::optional<int> fleetMax,
                          std::vector<Stage> queue, std::vector<Server> servers, WallTime now) {
    const std::size_t n = pools.size();
    FleetPlanReport out;
    out.fleetMax = fleetMax;
    out.stagesTotal = static_cast<int>(queue.size());
    out.pools.resize(n);

    // Routing, as Fleet::cycle() does it.
    PartitionedQueue routed = partitionQueue(std::move(queue), pools);
    out.unroutable = std::move(routed.unroutable);
    auto& parts = routed.parts;

    // Each pool's rows: by Server::pool, rows without one to the first pool.
    std::vector<std::vector<Server>> rows(n);
    for (auto& server : servers) {
        std::size_t at = n;
        if (server.pool.empty()) {
            at = 0;
        } else {
            for (std::size_t p = 0; p < n; ++p) {
                if (pools[p].name == server.pool) {
                    at = p;
                    break;
                }
            }
        }
        if (at == n) {
            ++out.serversElsewhere;
            continue;
        }
        rows[at].push_back(std::move(server));
    }

    std::vector<PoolDemand> demands;
    demands.reserve(n);
    for (std::size_t p = 0; p < n; ++p) {
        demands.push_back({.min = pools[p].min,
                           .max = pools[p].max,
                           .wanted = wantedServers(pools[p], parts[p].stages)});
    }
    const auto shares = fleetShares(demands, fleetMax);

    for (std::size_t p = 0; p < n; ++p) {
        PlanReport& report = out.pools[p];
        report.pool = pools[p];
        report.share = shares[p];
        report.stagesTotal = out.stagesTotal;
        report.stagesMatched = static_cast<int>(parts[p].stages.size());
        // The engine's cap: a share below the pool's max lowers it, never
        // below the pool's min.
        PoolSettings capped = pools[p];
        const bool shareBinds = shares[p] && *shares[p] < capped.max;
        if (shareBinds)
            capped.max = std::max(*shares[p], capped.min);
        report.plan = plan(capped, rows[p], parts[p].stages, now);
        report.plan.leftOut = parts[p].leftOut;
        if (shareBinds) {
            report.plan.reasons.push_back("the fleet's max leaves this pool " +
                                          std::to_string(capped.max) +
                                          " live servers this cycle (its own max is " +
                                          std::to_string(pools[p].max) + ")");
        }
        report.servers = std::move(rows[p]);
    }
    return out;
}

Result<FleetPlanReport> planFleetOnce(std::span<const PoolSettings> pools,
                                      std::optional<int> fleetMax, Queue& queue,
                                      std::vector<Server> servers, WallTime now) {
    auto stages = queue.stages();
    if (!stages)
        return stages.error();
    return planFleet(pools, fleetMax, std::move(*stages), std::move(servers), now);
}

Result<void> addCloudView(PlanReport& report, Provider& provider) {
    auto instances = provider.list();
    if (!instances)
        return instances.error();
    // The orphan sweep's own rule of which instances the store claims.
    report.unknownInstances =
            classifyCloud(report.servers, *instances, WallTime{}, std::chrono::milliseconds{0})
                    .unknown;
    report.cloudChecked = true;
    return {};
}

std::string formatPlanText(const PlanReport& r) {
    const Plan& p = r.plan;
    const PoolSettings& pool = r.pool;
    std::string labels;
    for (const auto& [k, v] : pool.labels) {
        if (!labels.empty())
            labels += ',';
        labels.append(k).append(":").append(v);
    }
    std::string out;
    out += "pool " + pool.name + ": " + pool.os + "/" + pool.arch;
    if (!pool.variant.empty())
        out += "/" + pool.variant;
    if (!pool.kernel.empty())
        out += " kernel " + pool.kernel;
    if (!labels.empty())
        out += " labels " + labels;
    out += ", concurrency " + std::to_string(pool.concurrency) + ", min " +
           std::to_string(pool.min) + ", max " + std::to_string(pool.max) + ", buffer " +
           std::to_string(pool.buffer) + ", policy " + std::string(nameOf(p.policy)) + "\n";
    out += "queue: " + std::to_string(p.pending) + " pending, " + std::to_string(p.running) +
           " running for this pool; " + formatLeftOut(p.leftOut) + "\n";
    std::map<std::string, int> byState;
    for (const auto& s : r.servers)
        ++byState[std::string(nameOf(s.state))];
    out += "servers: " + std::to_string(p.servers) + " providing " + std::to_string(p.capacity) +
           " slots, " + std::to_string(p.live) + " counted against max";
    if (!byState.empty()) {
        out += " (";
        bool first = true;
        for (const auto& [state, n] : byState) {
            out += (first ? "" : ", ") + std::to_string(n) + " " + state;
            first = false;
        }
        out += ")";
    }
    out += "\n";
    if (r.cloudChecked) {
        out += "cloud: " + std::to_string(r.unknownInstances.size()) +
               " instance(s) tagged for this pool that the store does not know";
        for (const auto& i : r.unknownInstances) {
            out += "\n  " + i.id + " " + std::string(nameOf(i.state)) +
                   (i.serverName.empty() ? "" : " (" + i.serverName + ")");
        }
        out += "\n";
    }
    out += "plan: create " + std::to_string(p.create) + ", drain " +
           std::to_string(p.drain.size()) + "\n";
    for (const auto& reason : p.reasons)
        out += "  - " + reason + "\n";
    return out;
}

std::string planReportJson(const PlanReport& r) {
    std::string json = planToJson(r.plan);
    if (!r.cloudChecked)
        return json;
    json.pop_back(); // '}'
    json += ",\"unknown_instances\":[";
    bool first = true;
    for (const auto& i : r.unknownInstances) {
        json += (first ? "" : ",") + detail::jsonQuote(i.id);
        first = false;
    }
    json += "]}";
    return json;
}

std::string formatFleetPlanText(const FleetPlanReport& r) {
    std::string out = "fleet: " + std::to_string(r.pools.size()) + " pools, max " +
                      (r.fleetMax ? std::to_string(*r.fleetMax) : std::string("none")) + ", " +
                      std::to_string(r.stagesTotal) + " stages in the queue\n";
    if (r.serversElsewhere > 0) {
        out += "servers of no configured pool (not planned): " +
               std::to_string(r.serversElsewhere) + "\n";
    }
    for (const auto& pool : r.pools) {
        out += "\n";
        out += formatPlanText(pool);
        if (pool.share)
            out += "fleet share: " + std::to_string(*pool.share) + " live servers\n";
    }
    out += "\nunroutable: " + std::to_string(r.unroutable.size()) + " stage(s) no pool serves\n";
    for (const auto& stage : r.unroutable) {
        out += "  - stage " + std::to_string(stage.id) + " (build " +
               std::to_string(stage.buildId) + "): " + describePlatform(stage) + "\n";
    }
    return out;
}

std::string fleetPlanReportJson(const FleetPlanReport& r) {
    std::vector<Plan> plans;
    plans.reserve(r.pools.size());
    bool cloud = false;
    for (const auto& pool : r.pools) {
        plans.push_back(pool.plan);
        cloud = cloud || pool.cloudChecked;
    }
    std::string json = fleetPlanToJson(plans, r.unroutable);
    json.pop_back(); // '}'
    json += ",\"fleet_max\":" + (r.fleetMax ? std::to_string(*r.fleetMax) : std::string("null"));
    if (cloud) {
        json += ",\"unknown_instances\":{";
        bool firstPool = true;
        for (const auto& pool : r.pools) {
            if (!pool.cloudChecked)
                continue;
            json += (firstPool ? "" : ",") + detail::jsonQuote(pool.pool.name) + ":[";
            firstPool = false;
            bool first = true;
            for (const auto& i : pool.unknownInstances) {
                json += (first ? "" : ",") + detail::jsonQuote(i.id);
                first = false;
            }
            json += "]";
        }
        json += "}";
    }
    return json + "}";
}

} // namespace autoscale
