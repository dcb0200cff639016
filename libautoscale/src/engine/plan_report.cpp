// SPDX-License-Identifier: Apache-2.0
/// \file
/// planOnce and its two printed forms.

#include "autoscale/plan_report.h"

#include <set>

#include <autoscale/json.h>
#include <autoscale/planner.h>

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
    // Filter in place: a 50,000-stage queue is not copied.
    std::erase_if(*stages, [&](const Stage& s) {
        return !(s.status == "pending" || s.status == "running") || !stageMatches(s, pool);
    });
    report.stagesMatched = static_cast<int>(stages->size());
    PlanInput input{
            .pool = pool, .servers = std::move(servers), .stages = std::move(*stages), .now = now};
    report.plan = plan(input);
    report.servers = std::move(input.servers);
    return report;
}

Result<void> addCloudView(PlanReport& report, Provider& provider) {
    auto instances = provider.list();
    if (!instances)
        return instances.error();
    std::set<std::string> knownIds;
    std::set<std::string> knownNames;
    for (const auto& s : report.servers) {
        if (s.state == ServerState::Terminated)
            continue;
        knownIds.insert(s.instanceId);
        knownNames.insert(s.name);
    }
    report.cloudChecked = true;
    for (const auto& instance : *instances) {
        if (instance.state == InstanceState::Terminated)
            continue;
        if (knownIds.contains(instance.id) || knownNames.contains(instance.serverName))
            continue;
        report.unknownInstances.push_back(instance);
    }
    return {};
}

std::string formatPlanText(const PlanReport& r) {
    const Plan& p = r.plan;
    const PoolSettings& pool = r.pool;
    std::string labels;
    for (const auto& [k, v] : pool.labels)
        labels += (labels.empty() ? "" : ",") + k + ":" + v;
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
           " running for this pool (" + std::to_string(r.stagesTotal - r.stagesMatched) +
           " other stages ignored)\n";
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
        for (const auto& i : r.unknownInstances)
            out += "\n  " + i.id + " " + std::string(nameOf(i.state)) +
                   (i.serverName.empty() ? "" : " (" + i.serverName + ")");
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

} // namespace autoscale
