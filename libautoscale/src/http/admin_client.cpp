// SPDX-License-Identifier: Apache-2.0
/// \file
/// AdminClient and the table formats of autoscaler-admin.

#include "autoscale/admin_client.h"

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <autoscale/json.h>

#include "json_value.h"
#include "time_format.h"

namespace autoscale {

namespace {

/// The daemon's {"message": "..."}, or the raw body trimmed.
std::string daemonMessage(const HttpResponse& response) {
    if (auto doc = detail::parseJsonDocument(response.body, "the answer"); doc && doc->IsObject()) {
        if (std::string message = detail::jsonString(*doc, "message"); !message.empty())
            return message;
    }
    std::string text = response.body.substr(0, 200);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text.empty() ? "HTTP " + std::to_string(response.status) : text;
}

Errc kindOf(int status) {
    switch (status) {
    case 401:
        return Errc::Unauthorized;
    case 403:
        return Errc::Forbidden;
    case 404:
        return Errc::NotFound;
    case 409:
        return Errc::Conflict;
    default:
        return status >= 500 ? Errc::Unavailable : Errc::InvalidArgument;
    }
}

std::string when(WallTime t) {
    return t == WallTime{} ? "-" : detail::formatIso8601(t);
}

} // namespace

AdminClient::AdminClient(std::string server, std::string token, HttpClient& http)
    : server_(std::move(server))
    , token_(std::move(token))
    , http_(&http) {
    while (!server_.empty() && server_.back() == '/')
        server_.pop_back();
}

Result<HttpResponse> AdminClient::call(const std::string& method, const std::string& path) {
    HttpRequest request{.method = method, .url = server_ + path};
    request.headers.emplace_back("Authorization", "Bearer " + token_);
    request.headers.emplace_back("Accept", "application/json");
    auto response = http_->send(request);
    if (!response) {
        Error e = response.error();
        e.message = "cannot reach the autoscaler at " + e.message;
        return e;
    }
    if (response->status >= 400) {
        return Error{.code = kindOf(response->status),
                     .message = "the autoscaler answered " + std::to_string(response->status) +
                                ": " + daemonMessage(*response),
                     .httpStatus = response->status};
    }
    return response;
}

Result<std::string> AdminClient::health() {
    auto response = http_->send(HttpRequest{.method = "GET", .url = server_ + "/healthz"});
    if (!response) {
        Error e = response.error();
        e.message = "cannot reach the autoscaler at " + e.message;
        return e;
    }
    if (response->status != 200) {
        return Error{.code = kindOf(response->status),
                     .message = "the autoscaler answered " + std::to_string(response->status) +
                                ": " + daemonMessage(*response),
                     .httpStatus = response->status};
    }
    return response->body;
}

std::string localApiUrl(const std::string& address, int port) {
    std::string host = address.empty() || address == "0.0.0.0" ? "127.0.0.1"
                       : address == "::"                       ? "::1"
                                                               : address;
    if (host.find(':') != std::string::npos)
        host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(port);
}

Result<std::vector<Server>> AdminClient::listServers(const std::string& pool) {
    auto r = call("GET", "/api/servers");
    if (!r)
        return r.error();
    auto rows = parseServersJson(r->body);
    if (!rows || pool.empty())
        return rows;
    std::erase_if(*rows, [&pool](const Server& s) { return s.pool != pool; });
    return rows;
}

Result<Server> AdminClient::server(const std::string& name) {
    auto r = call("GET", "/api/servers/" + uriEncode(name));
    if (!r)
        return r.error();
    return parseServerJson(r->body);
}

Result<Server> AdminClient::createServer(const std::string& pool) {
    auto r = call("POST", "/api/servers" + (pool.empty() ? "" : "?pool=" + uriEncode(pool)));
    if (!r)
        return r.error();
    return parseServerJson(r->body);
}

Result<std::optional<Server>> AdminClient::destroyServer(const std::string& name, bool force) {
    auto r = call("DELETE", "/api/servers/" + uriEncode(name) + (force ? "?force=true" : ""));
    if (!r)
        return r.error();
    if (r->status == 204)
        return std::optional<Server>();
    auto s = parseServerJson(r->body);
    if (!s)
        return s.error();
    return std::optional<Server>(std::move(*s));
}

Result<void> AdminClient::pause() {
    auto r = call("POST", "/api/pause");
    if (!r)
        return r.error();
    return {};
}

Result<void> AdminClient::resume() {
    auto r = call("POST", "/api/resume");
    if (!r)
        return r.error();
    return {};
}

Result<Plan> AdminClient::plan() {
    auto r = call("GET", "/api/plan");
    if (!r)
        return r.error();
    return parsePlanJson(r->body);
}

Result<FleetPlanView> AdminClient::fleetPlan() {
    auto r = call("GET", "/api/plan");
    if (!r)
        return r.error();
    auto doc = detail::parseJsonDocument(r->body, "the plan");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the plan is not a JSON object");
    FleetPlanView view;
    const rapidjson::Value& root = *doc;
    const auto pools = root.FindMember("pools");
    if (pools == root.MemberEnd()) {
        auto one = parsePlanJson(r->body);
        if (!one)
            return one.error();
        view.pools.push_back(std::move(*one));
    } else {
        if (!pools->value.IsArray())
            return makeError(Errc::Parse, "the plan's \"pools\" is not an array");
        for (const auto& pool : pools->value.GetArray()) {
            rapidjson::StringBuffer buffer;
            rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
            pool.Accept(writer);
            auto plan = parsePlanJson({buffer.GetString(), buffer.GetSize()});
            if (!plan)
                return plan.error();
            view.pools.push_back(std::move(*plan));
        }
        view.unroutable = static_cast<int>(detail::jsonInt64(root, "unroutable"));
    }
    view.json = std::move(r->body);
    return view;
}

std::string formatServerTable(const std::vector<Server>& servers) {
    const bool market = std::any_of(servers.begin(), servers.end(),
                                    [](const Server& s) { return !s.market.empty(); });
    const auto orDash = [](const std::string& text) {
        return text.empty() ? "-" : text;
    };
    std::vector<std::string> header = {"NAME", "POOL", "STATE", "PHASE", "ADDRESS", "SIZE"};
    if (market)
        header.emplace_back("MARKET");
    for (const char* column : {"REGION", "CREATED", "ERROR"})
        header.emplace_back(column);
    std::vector<std::vector<std::string>> rows = {header};
    for (const auto& s : servers) {
        std::vector<std::string> row = {s.name,
                                        orDash(s.pool),
                                        std::string(droneStateOf(s.state)),
                                        std::string(nameOf(s.state)),
                                        orDash(s.address),
                                        orDash(s.size)};
        if (market)
            row.push_back(orDash(s.market));
        row.push_back(orDash(s.region));
        row.push_back(when(s.created));
        row.push_back(s.error);
        rows.push_back(std::move(row));
    }
    std::vector<std::size_t> width(header.size(), 0);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string formatServerInfo(const Server& s) {
    std::string out;
    auto line = [&out](const char* key, const std::string& value) {
        out += std::string(key) + ": " + (value.empty() ? "-" : value) + "\n";
    };
    line("Name", s.name);
    line("Pool", s.pool);
    line("State", std::string(droneStateOf(s.state)));
    line("Phase", std::string(nameOf(s.state)));
    line("Instance", s.instanceId);
    line("Provider", s.provider);
    line("Address", s.address);
    line("Size", s.size);
    line("Market", s.market);
    line("Region", s.region);
    line("Image", s.image);
    line("Capacity", std::to_string(s.capacity));
    line("Created", when(s.created));
    line("Updated", when(s.updated));
    line("Started", when(s.started));
    line("Stopped", when(s.stopped));
    line("Last busy", when(s.lastBusy));
    line("Error", s.error);
    return out;
}

} // namespace autoscale
