// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's GET /api/queue and GET /api/user over the HttpClient, parsed with
/// RapidJSON into our own structs. Every failure is a value.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "autoscale/drone.h"
#include "json_value.h"

namespace autoscale {

namespace {

/// SAX handler for GET /api/queue: builds Stages directly, without a DOM, so
/// a 50,000-stage queue costs little more than the stages themselves.
class QueueHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, QueueHandler> {
public:
    std::vector<Stage> stages;
    std::string problem;
    bool sawNull = false;

    // NOLINTBEGIN(readability-identifier-naming): RapidJSON's handler concept names these.
    bool Default() { return scalar(); }
    bool Null() {
        if (depth_ == 0) {
            sawNull = true;
            return true;
        }
        return scalar();
    }
    bool Int(int v) { return integer(v); }
    bool Uint(unsigned v) { return integer(v); }
    bool Int64(std::int64_t v) { return integer(v); }
    bool Uint64(std::uint64_t v) {
        return integer(v > static_cast<std::uint64_t>(INT64_MAX) ? 0
                                                                 : static_cast<std::int64_t>(v));
    }
    bool String(const char* text, rapidjson::SizeType length, bool /*copy*/) {
        if (!topLevel())
            return false;
        if (depth_ == 2) {
            const std::string_view v(text, length);
            if (key_ == "status") {
                current().status = v;
            } else if (key_ == "machine") {
                current().machine = v;
            } else if (key_ == "os") {
                current().os = v;
            } else if (key_ == "arch") {
                current().arch = v;
            } else if (key_ == "variant") {
                current().variant = v;
            } else if (key_ == "kernel") {
                current().kernel = v;
            } else if (key_ == "type") {
                current().type = v;
            } else if (key_ == "kind") {
                current().kind = v;
            } else if (key_ == "name") {
                current().name = v;
            }
        } else if (depth_ == 3 && inLabels_) {
            current().labels[key_] = std::string(text, length);
        }
        return true;
    }
    bool Key(const char* text, rapidjson::SizeType length, bool /*copy*/) {
        key_.assign(text, length);
        return true;
    }
    bool StartObject() {
        if (depth_ == 0) {
            problem = "the Drone queue is not a JSON list of stages";
            return false;
        }
        if (depth_ == 1)
            stages.emplace_back();
        if (depth_ == 2 && key_ == "labels")
            inLabels_ = true;
        ++depth_;
        return true;
    }
    bool EndObject(rapidjson::SizeType /*count*/) {
        --depth_;
        if (depth_ == 2)
            inLabels_ = false;
        return true;
    }
    bool StartArray() {
        if (depth_ == 1)
            return notObject();
        ++depth_;
        return true;
    }
    bool EndArray(rapidjson::SizeType /*count*/) {
        --depth_;
        return true;
    }
    // NOLINTEND(readability-identifier-naming)

private:
    bool topLevel() {
        if (depth_ == 0) {
            problem = "the Drone queue is not a JSON list of stages";
            return false;
        }
        if (depth_ == 1)
            return notObject();
        return true;
    }
    bool notObject() {
        problem = "the Drone queue item " + std::to_string(stages.size()) + " is not a JSON object";
        return false;
    }
    bool scalar() { return topLevel(); }
    bool integer(std::int64_t v) {
        if (!topLevel())
            return false;
        if (depth_ != 2)
            return true;
        if (key_ == "id") {
            current().id = v;
        } else if (key_ == "build_id") {
            current().buildId = v;
        } else if (key_ == "created") {
            current().created = v;
        } else if (key_ == "repo_id") {
            current().repoId = v;
        } else if (key_ == "limit") {
            current().limit = clampToInt(v);
        } else if (key_ == "throttle") {
            current().throttle = clampToInt(v);
        }
        return true;
    }
    Stage& current() { return stages.back(); }
    static int clampToInt(std::int64_t v) {
        return static_cast<int>(std::clamp<std::int64_t>(v, 0, INT32_MAX));
    }

    int depth_ = 0;
    bool inLabels_ = false;
    std::string key_;
};

} // namespace

namespace {

template <unsigned Flags, typename Stream>
Result<std::vector<Stage>> parseQueueStream(Stream& stream) {
    QueueHandler handler;
    bool tooDeep = false;
    const auto result = detail::parseBounded<Flags | rapidjson::kParseStopWhenDoneFlag>(
            stream, handler, tooDeep);
    if (!handler.problem.empty())
        return makeError(Errc::Parse, handler.problem);
    if (result.IsError()) {
        const auto failed = detail::jsonSyntaxError(result.Code(), result.Offset(), tooDeep);
        return makeError(Errc::Parse, "the Drone queue is not valid JSON: " + failed.reason +
                                              " at offset " + std::to_string(failed.offset));
    }
    return std::move(handler.stages);
}

} // namespace

Result<std::vector<Stage>> parseQueueJson(std::string_view body) {
    rapidjson::MemoryStream stream(body.data(), body.size());
    return parseQueueStream<rapidjson::kParseDefaultFlags>(stream);
}

Result<std::vector<Stage>> parseQueueJsonInPlace(std::string& body) {
    if (body.find('\0') != std::string::npos)
        return parseQueueJson(body); // In situ parsing would stop at the NUL.
    // In situ: strings are decoded inside `body` instead of copied out.
    rapidjson::InsituStringStream stream(body.data());
    auto stages = parseQueueStream<rapidjson::kParseInsituFlag>(stream);
    body.clear();
    return stages;
}

Result<DroneUser> parseUserJson(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the Drone user");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the Drone user is not a JSON object");
    return DroneUser{.login = detail::jsonString(*doc, "login"),
                     .admin = detail::jsonBool(*doc, "admin", false),
                     .active = detail::jsonBool(*doc, "active", true)};
}

Result<std::vector<IncompleteStage>> parseIncompleteJson(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the Drone incomplete builds");
    if (!doc)
        return doc.error();
    std::vector<IncompleteStage> out;
    if (doc->IsNull())
        return out; // Go encodes an empty slice that was never appended to as null.
    if (!doc->IsArray())
        return makeError(Errc::Parse, "the Drone incomplete builds are not a JSON list");
    for (const auto& row : doc->GetArray()) {
        if (!row.IsObject()) {
            return makeError(Errc::Parse, "the Drone incomplete builds item " +
                                                  std::to_string(out.size()) +
                                                  " is not a JSON object");
        }
        out.push_back(IncompleteStage{.repoNamespace = detail::jsonString(row, "repo_namespace"),
                                      .repoName = detail::jsonString(row, "repo_name"),
                                      .buildNumber = detail::jsonInt64(row, "build_number"),
                                      .buildSender = detail::jsonString(row, "build_sender"),
                                      .stageName = detail::jsonString(row, "stage_name"),
                                      .stageStatus = detail::jsonString(row, "stage_status"),
                                      .stageMachine = detail::jsonString(row, "stage_machine"),
                                      .stageStarted = detail::jsonInt64(row, "stage_started")});
    }
    return out;
}

Result<std::int64_t> parseBuildNumberJson(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the Drone build");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the Drone build is not a JSON object");
    const std::int64_t number = detail::jsonInt64(*doc, "number");
    if (number <= 0)
        return makeError(Errc::Parse, "the Drone build has no positive \"number\"");
    return number;
}

DroneClient::DroneClient(DroneSettings settings, HttpClient& http)
    : settings_(std::move(settings))
    , http_(&http) {
}

Result<std::string> DroneClient::get(const std::string& path, const std::string& token) {
    return exchange("GET", path, token);
}

Result<std::string> DroneClient::send(const std::string& method, const std::string& path) {
    return exchange(method, path, settings_.token);
}

Result<std::string> DroneClient::exchange(const std::string& method, const std::string& path,
                                          const std::string& token) {
    const std::string url = settings_.baseUrl() + path;
    HttpRequest request{
            .method = method,
            .url = url,
            .headers = {{"Authorization", "Bearer " + token}, {"Accept", "application/json"}}};
    if (method == "POST")
        request.headers.emplace_back("Content-Type", "application/json");
    auto response = http_->send(request);
    if (!response) {
        Error e = response.error();
        e.message = "cannot reach the Drone server at " + e.message;
        return e;
    }
    const int status = response->status;
    if (status >= 200 && status < 300)
        return std::move(response->body);
    const std::string what =
            method + " " + path + " on " + hostPortOf(url) + " answered " + std::to_string(status);
    if (status == 401 || status == 403) {
        return Error{.code = status == 401 ? Errc::Unauthorized : Errc::Forbidden,
                     .message = what + ": the token is not a Drone admin token",
                     .httpStatus = status};
    }
    // Drone's errors are {"message": "..."} (handler/api/errors/errors.go).
    std::string said;
    if (auto doc = detail::parseJsonDocument(response->body, "the Drone error");
        doc && doc->IsObject())
        said = detail::jsonString(*doc, "message").substr(0, 200);
    const std::string detailText = said.empty() ? std::string() : ": " + said;
    if (status == 501) {
        return Error{.code = Errc::Unsupported,
                     .message = what + ": not implemented by this Drone build",
                     .httpStatus = status};
    }
    if (status >= 500) {
        return Error{.code = Errc::Unavailable,
                     .message = what + ": the Drone server failed" + detailText,
                     .httpStatus = status};
    }
    const Errc code = status == 404   ? Errc::NotFound
                      : status == 409 ? Errc::Conflict
                      : status == 429 ? Errc::Throttled
                                      : Errc::InvalidArgument;
    return Error{.code = code, .message = what + detailText, .httpStatus = status};
}

Result<std::vector<Stage>> DroneClient::stages() {
    auto body = get("/api/queue", settings_.token);
    if (!body)
        return body.error();
    return parseQueueJsonInPlace(*body);
}

Result<DroneUser> DroneClient::user(const std::string& token) {
    auto body = get("/api/user", token);
    if (!body)
        return body.error();
    return parseUserJson(*body);
}

Result<std::vector<IncompleteStage>> DroneClient::incompleteBuilds() {
    auto body = send("GET", "/api/builds/incomplete/v2");
    if (!body) {
        if (body.error().code != Errc::Unsupported)
            return body.error();
        Error e = body.error();
        e.message = kDroneOssMessage;
        return e;
    }
    return parseIncompleteJson(*body);
}

namespace {

std::string buildPath(const std::string& owner, const std::string& name, std::int64_t number) {
    return "/api/repos/" + uriEncode(owner) + "/" + uriEncode(name) + "/builds/" +
           std::to_string(number);
}

} // namespace

Result<void> DroneClient::cancelBuild(const std::string& owner, const std::string& name,
                                      std::int64_t number) {
    auto body = send("DELETE", buildPath(owner, name, number));
    if (!body)
        return body.error();
    return {};
}

Result<std::int64_t> DroneClient::restartBuild(const std::string& owner, const std::string& name,
                                               std::int64_t number) {
    auto body = send("POST", buildPath(owner, name, number));
    if (!body)
        return body.error();
    return parseBuildNumberJson(*body);
}

namespace {

class FileQueue final : public Queue {
public:
    explicit FileQueue(std::string path) : path_(std::move(path)) {}
    Result<std::vector<Stage>> stages() override {
        std::ifstream in(path_, std::ios::binary | std::ios::ate);
        if (!in)
            return makeError(Errc::Io, "cannot read queue file " + path_);
        std::string body(static_cast<std::size_t>(in.tellg()), '\0');
        in.seekg(0);
        in.read(body.data(), static_cast<std::streamsize>(body.size()));
        if (!in)
            return makeError(Errc::Io, "cannot read queue file " + path_);
        auto stages = parseQueueJsonInPlace(body);
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
