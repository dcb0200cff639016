// SPDX-License-Identifier: Apache-2.0
/// \file
/// Server and Plan JSON with RapidJSON. No rapidjson::Value escapes this file.

#include "autoscale/json.h"

#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json_value.h"
#include "time_format.h"

namespace autoscale {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using rapidjson::Value;

void key(Writer& w, const char* name) {
    w.Key(name);
}
void str(Writer& w, const char* name, const std::string& value) {
    w.Key(name);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}
void num(Writer& w, const char* name, std::int64_t value) {
    w.Key(name);
    w.Int64(value);
}

void writeLostBuilds(Writer& w, const std::vector<LostBuild>& builds) {
    w.StartArray();
    for (const auto& b : builds) {
        w.StartObject();
        str(w, "repo", b.repo);
        num(w, "number", b.number);
        num(w, "stage", b.stage);
        str(w, "outcome", b.outcome);
        num(w, "restarted_as", b.restartedAs);
        w.EndObject();
    }
    w.EndArray();
}

Result<std::vector<LostBuild>> readLostBuilds(const Value& list, const std::string& where) {
    std::vector<LostBuild> builds;
    if (list.IsNull())
        return builds;
    if (!list.IsArray())
        return makeError(Errc::Parse, where + ": \"lost_builds\" is not a list");
    for (const auto& item : list.GetArray()) {
        if (!item.IsObject())
            return makeError(Errc::Parse, where + ": a lost build is not an object");
        builds.push_back(LostBuild{.repo = detail::jsonString(item, "repo"),
                                   .number = detail::jsonInt64(item, "number"),
                                   .stage = detail::jsonInt64(item, "stage"),
                                   .outcome = detail::jsonString(item, "outcome"),
                                   .restartedAs = detail::jsonInt64(item, "restarted_as")});
    }
    return builds;
}

void writeServer(Writer& w, const Server& s) {
    w.StartObject();
    str(w, "id", s.instanceId);
    str(w, "provider", s.provider);
    str(w, "state", std::string(droneStateOf(s.state)));
    str(w, "name", s.name);
    str(w, "image", s.image);
    str(w, "region", s.region);
    str(w, "size", s.size);
    str(w, "platform", "");
    str(w, "address", s.address);
    num(w, "capacity", s.capacity);
    str(w, "secret", "");
    str(w, "error", s.error);
    num(w, "created", detail::toUnixSeconds(s.created));
    num(w, "updated", detail::toUnixSeconds(s.updated));
    num(w, "started", detail::toUnixSeconds(s.started));
    num(w, "stopped", detail::toUnixSeconds(s.stopped));
    num(w, "last_busy", detail::toUnixSeconds(s.lastBusy));
    num(w, "version", s.version);
    str(w, "phase", std::string(nameOf(s.state)));
    str(w, "pool", s.pool);
    str(w, "market", s.market);
    num(w, "reclaim_notice", detail::toUnixSeconds(s.reclaimNotice));
    w.Key("lost_builds");
    writeLostBuilds(w, s.lostBuilds);
    w.EndObject();
}

/// `state` in either vocabulary; `phase`, when present, refines it only if it
/// agrees with `state` (a hand-edited file may change one and not the other).
std::optional<ServerState> mapState(const std::string& state, const std::string& phase) {
    const auto coarse = parseAnyServerState(state);
    if (!coarse)
        return std::nullopt;
    const auto fine = parseServerState(phase);
    if (fine && droneStateOf(*fine) == droneStateOf(*coarse))
        return fine;
    return coarse;
}

Result<Server> readServer(const Value& o, std::size_t index) {
    if (!o.IsObject())
        return makeError(Errc::Parse, "server " + std::to_string(index) + " is not an object");
    Server s;
    s.name = detail::jsonString(o, "name");
    if (s.name.empty())
        return makeError(Errc::Parse, "server " + std::to_string(index) + " has no name");
    const std::string stateName = detail::jsonString(o, "state");
    const auto mapped = mapState(stateName, detail::jsonString(o, "phase"));
    if (!mapped) {
        return makeError(Errc::Parse,
                         "server " + s.name + " has an unknown state \"" + stateName + "\"");
    }
    restoreState(s, *mapped);
    s.instanceId = detail::jsonString(o, "id");
    s.provider = detail::jsonString(o, "provider");
    s.image = detail::jsonString(o, "image");
    s.region = detail::jsonString(o, "region");
    s.size = detail::jsonString(o, "size");
    s.address = detail::jsonString(o, "address");
    s.capacity = static_cast<int>(detail::jsonInt64(o, "capacity"));
    s.error = detail::jsonString(o, "error");
    s.pool = detail::jsonString(o, "pool");
    s.market = detail::jsonString(o, "market");
    if (const auto lost = o.FindMember("lost_builds"); lost != o.MemberEnd()) {
        auto builds = readLostBuilds(lost->value, "server " + s.name);
        if (!builds)
            return builds.error();
        s.lostBuilds = std::move(*builds);
    }
    for (const auto& [name, field] :
         {std::pair{"created", &Server::created}, std::pair{"updated", &Server::updated},
          std::pair{"started", &Server::started}, std::pair{"stopped", &Server::stopped},
          std::pair{"last_busy", &Server::lastBusy},
          std::pair{"reclaim_notice", &Server::reclaimNotice}}) {
        const std::int64_t seconds = detail::jsonInt64(o, name);
        if (!detail::inUnixSecondsRange(seconds)) {
            return makeError(Errc::Parse, "server " + s.name + " has \"" + name + "\": " +
                                                  std::to_string(seconds) + ", outside the years " +
                                                  std::to_string(detail::kMinYear) + "-" +
                                                  std::to_string(detail::kMaxYear));
        }
        s.*field = detail::fromUnixSeconds(seconds);
    }
    s.version = detail::jsonInt64(o, "version");
    return s;
}

} // namespace

namespace detail {

JsonSyntaxError jsonSyntaxError(rapidjson::ParseErrorCode code, std::size_t offset, bool tooDeep) {
    if (tooDeep) { // The reader has taken the '[' or '{': name its offset.
        return {.reason = "nesting deeper than " + std::to_string(kMaxJsonDepth) +
                          " arrays and objects",
                .offset = offset > 0 ? offset - 1 : 0};
    }
    return {.reason = rapidjson::GetParseError_En(code), .offset = offset};
}

std::optional<JsonSyntaxError> parseJsonInto(std::string_view body, rapidjson::Document& doc) {
    rapidjson::MemoryStream stream(body.data(), body.size());
    rapidjson::ParseResult result;
    bool tooDeep = false;
    auto generator = [&](rapidjson::Document& handler) {
        result = parseBounded<rapidjson::kParseDefaultFlags>(stream, handler, tooDeep);
        return !result.IsError();
    };
    doc.Populate(generator);
    if (!result.IsError())
        return std::nullopt;
    return jsonSyntaxError(result.Code(), result.Offset(), tooDeep);
}

Result<rapidjson::Document> parseJsonDocument(std::string_view body, const char* what) {
    rapidjson::Document doc;
    if (auto failed = parseJsonInto(body, doc)) {
        return makeError(Errc::Parse, std::string(what) + " is not valid JSON: " + failed->reason +
                                              " at offset " + std::to_string(failed->offset));
    }
    return doc;
}

std::string jsonString(const rapidjson::Value& object, const char* name) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsString())
        return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

std::int64_t jsonInt64(const rapidjson::Value& object, const char* name) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsInt64())
        return 0;
    return it->value.GetInt64();
}

bool jsonBool(const rapidjson::Value& object, const char* name, bool fallback) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsBool())
        return fallback;
    return it->value.GetBool();
}

} // namespace detail

std::string serverToJson(const Server& server) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    writeServer(w, server);
    return {buffer.GetString(), buffer.GetSize()};
}

std::string lostBuildsToJson(const std::vector<LostBuild>& builds) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    writeLostBuilds(w, builds);
    return {buffer.GetString(), buffer.GetSize()};
}

Result<std::vector<LostBuild>> parseLostBuildsJson(std::string_view body) {
    if (body.empty())
        return std::vector<LostBuild>{};
    auto doc = detail::parseJsonDocument(body, "the lost builds");
    if (!doc)
        return doc.error();
    return readLostBuilds(*doc, "the lost builds");
}

std::string serversToJson(const std::vector<Server>& servers) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartArray();
    for (const auto& s : servers)
        writeServer(w, s);
    w.EndArray();
    return {buffer.GetString(), buffer.GetSize()};
}

Result<std::vector<Server>> parseServersJson(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the server list");
    if (!doc)
        return doc.error();
    std::vector<Server> servers;
    if (doc->IsNull())
        return servers;
    if (!doc->IsArray())
        return makeError(Errc::Parse, "the server list is not a JSON list");
    servers.reserve(doc->Size());
    std::size_t index = 0;
    for (const auto& item : doc->GetArray()) {
        auto server = readServer(item, index++);
        if (!server)
            return server.error();
        servers.push_back(std::move(*server));
    }
    return servers;
}

Result<Server> parseServerJson(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the server");
    if (!doc)
        return doc.error();
    return readServer(*doc, 0);
}

namespace {

void writePlan(Writer& w, const Plan& plan) {
    w.StartObject();
    str(w, "pool", plan.pool);
    str(w, "policy", std::string(nameOf(plan.policy)));
    num(w, "pending", plan.pending);
    num(w, "running", plan.running);
    num(w, "servers", plan.servers);
    num(w, "live", plan.live);
    num(w, "capacity", plan.capacity);
    num(w, "wanted", plan.wanted);
    num(w, "create", plan.create);
    key(w, "left_out");
    w.StartObject();
    num(w, "kind", plan.leftOut.kind);
    num(w, "platform", plan.leftOut.platform);
    num(w, "labels", plan.leftOut.labels);
    num(w, "limit", plan.leftOut.limit);
    num(w, "throttle", plan.leftOut.throttle);
    num(w, "status", plan.leftOut.status);
    num(w, "routed", plan.leftOut.routed);
    w.EndObject();
    key(w, "drain");
    w.StartArray();
    for (const auto& name : plan.drain)
        w.String(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.EndArray();
    key(w, "reasons");
    w.StartArray();
    for (const auto& reason : plan.reasons)
        w.String(reason.c_str(), static_cast<rapidjson::SizeType>(reason.size()));
    w.EndArray();
    key(w, "cooling");
    w.StartArray();
    for (const auto& c : plan.cooling) {
        w.StartObject();
        str(w, "instance_type", c.instanceType);
        str(w, "subnet", c.subnet);
        str(w, "market", c.market);
        num(w, "seconds_left", c.secondsLeft);
        str(w, "code", c.code);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
}

} // namespace

std::string planToJson(const Plan& plan) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    writePlan(w, plan);
    return {buffer.GetString(), buffer.GetSize()};
}

std::string fleetPlanToJson(const std::vector<Plan>& plans, const std::vector<Stage>& unroutable) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    key(w, "pools");
    w.StartArray();
    for (const auto& plan : plans)
        writePlan(w, plan);
    w.EndArray();
    num(w, "unroutable", static_cast<std::int64_t>(unroutable.size()));
    key(w, "unroutable_stages");
    w.StartArray();
    for (const auto& stage : unroutable) {
        w.StartObject();
        num(w, "id", stage.id);
        num(w, "build_id", stage.buildId);
        str(w, "os", stage.os);
        str(w, "arch", stage.arch);
        str(w, "variant", stage.variant);
        key(w, "labels");
        w.StartObject();
        for (const auto& [k, v] : stage.labels)
            str(w, k.c_str(), v);
        w.EndObject();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

Result<Plan> parsePlanJson(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the plan");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the plan is not a JSON object");
    Plan p;
    p.pool = detail::jsonString(*doc, "pool");
    p.policy = detail::jsonString(*doc, "policy") == "classic" ? Policy::Classic : Policy::Default;
    p.pending = static_cast<int>(detail::jsonInt64(*doc, "pending"));
    p.running = static_cast<int>(detail::jsonInt64(*doc, "running"));
    p.servers = static_cast<int>(detail::jsonInt64(*doc, "servers"));
    p.live = static_cast<int>(detail::jsonInt64(*doc, "live"));
    p.capacity = static_cast<int>(detail::jsonInt64(*doc, "capacity"));
    p.wanted = static_cast<int>(detail::jsonInt64(*doc, "wanted"));
    p.create = static_cast<int>(detail::jsonInt64(*doc, "create"));
    const rapidjson::Value& root = *doc; // Const iterators: clang 14 finds == ambiguous otherwise.
    if (const auto it = root.FindMember("left_out");
        it != root.MemberEnd() && it->value.IsObject()) {
        const auto count = [&it](const char* name) {
            return static_cast<int>(detail::jsonInt64(it->value, name));
        };
        p.leftOut = {.status = count("status"),
                     .kind = count("kind"),
                     .platform = count("platform"),
                     .labels = count("labels"),
                     .limit = count("limit"),
                     .throttle = count("throttle"),
                     .routed = count("routed")};
    }
    for (const char* name : {"drain", "reasons"}) {
        const auto it = root.FindMember(name);
        if (it == root.MemberEnd() || !it->value.IsArray())
            continue;
        auto& out = std::string_view(name) == "drain" ? p.drain : p.reasons;
        for (const auto& v : it->value.GetArray()) {
            if (v.IsString())
                out.emplace_back(v.GetString(), v.GetStringLength());
        }
    }
    if (const auto it = root.FindMember("cooling"); it != root.MemberEnd() && it->value.IsArray()) {
        for (const auto& v : it->value.GetArray()) {
            if (!v.IsObject())
                continue;
            p.cooling.push_back(
                    {.instanceType = detail::jsonString(v, "instance_type"),
                     .subnet = detail::jsonString(v, "subnet"),
                     .market = detail::jsonString(v, "market"),
                     .secondsLeft = static_cast<int>(detail::jsonInt64(v, "seconds_left")),
                     .code = detail::jsonString(v, "code")});
        }
    }
    return p;
}

std::string messageJson(std::string_view text) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    str(w, "message", std::string(text));
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

} // namespace autoscale
