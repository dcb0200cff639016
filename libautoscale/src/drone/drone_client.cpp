// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's GET /api/queue and GET /api/user over the HttpClient, parsed with
/// RapidJSON into our own structs. Every failure is a value.

#include "autoscale/drone.h"

#include <fstream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace autoscale {

namespace {

using rapidjson::Value;

std::string stringMember(const Value& object, const char* name) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsString())
        return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

std::int64_t intMember(const Value& object, const char* name) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsInt64())
        return 0;
    return it->value.GetInt64();
}

bool boolMember(const Value& object, const char* name, bool fallback) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsBool())
        return fallback;
    return it->value.GetBool();
}

Result<rapidjson::Document> parseDocument(std::string_view body, const char* what) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseStopWhenDoneFlag>(body.data(), body.size());
    if (doc.HasParseError()) {
        return makeError(Errc::Parse, std::string(what) + " is not valid JSON: " +
                                              rapidjson::GetParseError_En(doc.GetParseError()) +
                                              " at offset " + std::to_string(doc.GetErrorOffset()));
    }
    return doc;
}

} // namespace

Result<std::vector<Stage>> parseQueueJson(std::string_view body) {
    auto doc = parseDocument(body, "the Drone queue");
    if (!doc)
        return doc.error();
    if (doc->IsNull())
        return std::vector<Stage>{}; // Drone answers `null` for an empty queue.
    if (!doc->IsArray())
        return makeError(Errc::Parse, "the Drone queue is not a JSON list of stages");
    std::vector<Stage> stages;
    stages.reserve(doc->Size());
    std::size_t index = 0;
    for (const auto& item : doc->GetArray()) {
        if (!item.IsObject()) {
            return makeError(Errc::Parse, "the Drone queue item " + std::to_string(index) +
                                                  " is not a JSON object");
        }
        Stage stage;
        stage.id = intMember(item, "id");
        stage.buildId = intMember(item, "build_id");
        stage.status = stringMember(item, "status");
        stage.machine = stringMember(item, "machine");
        stage.os = stringMember(item, "os");
        stage.arch = stringMember(item, "arch");
        stage.variant = stringMember(item, "variant");
        stage.kernel = stringMember(item, "kernel");
        stage.type = stringMember(item, "type");
        stage.created = intMember(item, "created");
        const auto labels = item.FindMember("labels");
        if (labels != item.MemberEnd() && labels->value.IsObject()) {
            for (const auto& label : labels->value.GetObject()) {
                if (!label.value.IsString())
                    continue;
                stage.labels[std::string(label.name.GetString(), label.name.GetStringLength())] =
                        std::string(label.value.GetString(), label.value.GetStringLength());
            }
        }
        stages.push_back(std::move(stage));
        ++index;
    }
    return stages;
}

Result<DroneUser> parseUserJson(std::string_view body) {
    auto doc = parseDocument(body, "the Drone user");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the Drone user is not a JSON object");
    return DroneUser{.login = stringMember(*doc, "login"),
                     .admin = boolMember(*doc, "admin", false),
                     .active = boolMember(*doc, "active", true)};
}

DroneClient::DroneClient(DroneSettings settings, HttpClient& http)
    : settings_(std::move(settings))
    , http_(&http) {}

Result<std::string> DroneClient::get(const std::string& path, const std::string& token) {
    const std::string url = settings_.baseUrl() + path;
    auto response = http_->send({.method = "GET",
                                 .url = url,
                                 .headers = {{"Authorization", "Bearer " + token},
                                             {"Accept", "application/json"}}});
    if (!response) {
        Error e = response.error();
        e.message = "cannot reach the Drone server at " + e.message;
        return e;
    }
    const int status = response->status;
    if (status == 401 || status == 403) {
        return Error{.code = status == 401 ? Errc::Unauthorized : Errc::Forbidden,
                     .message = "GET " + path + " on " + hostPortOf(url) + " answered " +
                                std::to_string(status) +
                                ": the token is not a Drone admin token",
                     .httpStatus = status};
    }
    if (status >= 500) {
        return Error{.code = Errc::Unavailable,
                     .message = "GET " + path + " on " + hostPortOf(url) + " answered " +
                                std::to_string(status) + ": the Drone server failed",
                     .httpStatus = status};
    }
    if (status != 200) {
        return Error{.code = status == 404 ? Errc::NotFound : Errc::InvalidArgument,
                     .message = "GET " + path + " on " + hostPortOf(url) + " answered " +
                                std::to_string(status),
                     .httpStatus = status};
    }
    return std::move(response->body);
}

Result<std::vector<Stage>> DroneClient::stages() {
    auto body = get("/api/queue", settings_.token);
    if (!body)
        return body.error();
    return parseQueueJson(*body);
}

Result<DroneUser> DroneClient::user(const std::string& token) {
    auto body = get("/api/user", token);
    if (!body)
        return body.error();
    return parseUserJson(*body);
}

namespace {

class FileQueue final : public Queue {
public:
    explicit FileQueue(std::string path) : path_(std::move(path)) {}
    Result<std::vector<Stage>> stages() override {
        std::ifstream in(path_, std::ios::binary);
        if (!in)
            return makeError(Errc::Io, "cannot read queue file " + path_);
        std::stringstream buffer;
        buffer << in.rdbuf();
        auto stages = parseQueueJson(buffer.str());
        if (!stages) {
            Error e = stages.error();
            e.message = path_ + ": " + e.message;
            return e;
        }
        return stages;
    }

private:
    std::string path_;
};

} // namespace

std::unique_ptr<Queue> makeFileQueue(std::string path) {
    return std::make_unique<FileQueue>(std::move(path));
}

} // namespace autoscale
