// SPDX-License-Identifier: Apache-2.0
/// \file
/// Server and Plan JSON with RapidJSON. No rapidjson::Value escapes this file.

#include "autoscale/json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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

void writeServer(Writer& w, const Server& s) {
    w.StartObject();
    str(w, "id", s.instanceId);
    str(w, "provider", s.provider);
    str(w, "state", std::string(nameOf(s.state)));
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
    w.EndObject();
}

std::string getString(const Value& o, const char* name) {
    const auto it = o.FindMember(name);
    if (it == o.MemberEnd() || !it->value.IsString())
        return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

std::int64_t getInt(const Value& o, const char* name) {
    const auto it = o.FindMember(name);
    if (it == o.MemberEnd() || !it->value.IsInt64())
        return 0;
    return it->value.GetInt64();
}

std::optional<ServerState> mapState(const std::string& name) {
    if (auto ours = parseServerState(name))
        return ours;
    if (name == "created")
        return ServerState::Booting;
    if (name == "staging")
        return ServerState::Installing;
    if (name == "shutdown")
        return ServerState::Draining;
    if (name == "stopping")
        return ServerState::Terminating;
    if (name == "stopped")
        return ServerState::Terminated;
    return std::nullopt;
}

Result<Server> readServer(const Value& o, std::size_t index) {
    if (!o.IsObject())
        return makeError(Errc::Parse, "server " + std::to_string(index) + " is not an object");
    Server s;
    s.name = getString(o, "name");
    if (s.name.empty())
        return makeError(Errc::Parse, "server " + std::to_string(index) + " has no name");
    const std::string state = getString(o, "state");
    const auto mapped = mapState(state);
    if (!mapped) {
        return makeError(Errc::Parse,
                         "server " + s.name + " has an unknown state \"" + state + "\"");
    }
    s.state = *mapped;
    s.instanceId = getString(o, "id");
    s.provider = getString(o, "provider");
    s.image = getString(o, "image");
    s.region = getString(o, "region");
    s.size = getString(o, "size");
    s.address = getString(o, "address");
    s.capacity = static_cast<int>(getInt(o, "capacity"));
    s.error = getString(o, "error");
    s.created = detail::fromUnixSeconds(getInt(o, "created"));
    s.updated = detail::fromUnixSeconds(getInt(o, "updated"));
    s.started = detail::fromUnixSeconds(getInt(o, "started"));
    s.stopped = detail::fromUnixSeconds(getInt(o, "stopped"));
    s.lastBusy = detail::fromUnixSeconds(getInt(o, "last_busy"));
    s.version = getInt(o, "version");
    return s;
}

Result<rapidjson::Document> parse(std::string_view body, const char* what) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError()) {
        return makeError(Errc::Parse, std::string(what) + " is not valid JSON: " +
                                              rapidjson::GetParseError_En(doc.GetParseError()) +
                                              " at offset " + std::to_string(doc.GetErrorOffset()));
    }
    return doc;
}

} // namespace

std::string serverToJson(const Server& server) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    writeServer(w, server);
    return {buffer.GetString(), buffer.GetSize()};
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
    auto doc = parse(body, "the server list");
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
    auto doc = parse(body, "the server");
    if (!doc)
        return doc.error();
    return readServer(*doc, 0);
}

std::string planToJson(const Plan& plan) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
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
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

Result<Plan> parsePlanJson(std::string_view body) {
    auto doc = parse(body, "the plan");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the plan is not a JSON object");
    Plan p;
    p.pool = getString(*doc, "pool");
    p.policy = getString(*doc, "policy") == "classic" ? Policy::Classic : Policy::Default;
    p.pending = static_cast<int>(getInt(*doc, "pending"));
    p.running = static_cast<int>(getInt(*doc, "running"));
    p.servers = static_cast<int>(getInt(*doc, "servers"));
    p.live = static_cast<int>(getInt(*doc, "live"));
    p.capacity = static_cast<int>(getInt(*doc, "capacity"));
    p.wanted = static_cast<int>(getInt(*doc, "wanted"));
    p.create = static_cast<int>(getInt(*doc, "create"));
    for (const char* name : {"drain", "reasons"}) {
        const auto it = doc->FindMember(name);
        if (it == doc->MemberEnd() || !it->value.IsArray())
            continue;
        auto& out = std::string_view(name) == "drain" ? p.drain : p.reasons;
        for (const auto& v : it->value.GetArray()) {
            if (v.IsString())
                out.emplace_back(v.GetString(), v.GetStringLength());
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
