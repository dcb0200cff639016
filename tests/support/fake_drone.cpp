// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeDrone.

#include "fake_drone.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "json_text.h"

namespace autoscale::test {

namespace {

FakeReply unauthorized() {
    return FakeReply{.status = 401, .body = R"({"message":"Unauthorized"})"};
}

/// acl.AuthorizeAdmin: 401 without a known token, 403 for a user who is not an admin.
std::optional<FakeReply> refuseNonAdmin(const RecordedRequest& r) {
    const auto auth = r.headers.find("authorization");
    if (auth != r.headers.end() && auth->second == std::string("Bearer ") + FakeDrone::kAdminToken)
        return std::nullopt;
    if (auth != r.headers.end() && auth->second == std::string("Bearer ") + FakeDrone::kUserToken)
        return FakeReply{.status = 403, .body = R"({"message":"Forbidden"})"};
    return unauthorized();
}

bool unfinished(const std::string& status) {
    return status == "pending" || status == "running";
}

/// core.Build as Drone renders it (core/build.go; omitempty fields left out when empty).
std::string buildJson(const FakeBuild& b) {
    std::string json = "{\"id\":" + std::to_string(1000 + b.number) +
                       R"(,"repo_id":7,"trigger":"octocat","number":)" + std::to_string(b.number);
    if (b.parent != 0)
        json += ",\"parent\":" + std::to_string(b.parent);
    json += ",\"status\":" + detail::jsonQuote(b.status) +
            ",\"event\":\"push\",\"action\":\"\",\"link\":\"\",\"timestamp\":0,"
            "\"message\":\"ci\",\"before\":\"\",\"after\":\"abc\",\"ref\":"
            "\"refs/heads/main\",\"source_repo\":\"\",\"source\":\"main\",\"target\":"
            "\"main\",\"author_login\":\"octocat\",\"author_name\":\"\",\"author_email\":"
            "\"\",\"author_avatar\":\"\",\"sender\":\"octocat\"";
    if (!b.params.empty()) {
        std::string params;
        for (const auto& [k, v] : b.params) {
            params +=
                    (params.empty() ? "" : ",") + detail::jsonQuote(k) + ":" + detail::jsonQuote(v);
        }
        json += ",\"params\":{" + params + "}";
    }
    return json + ",\"started\":0,\"finished\":0,\"created\":1700000000,"
                  "\"updated\":1700000000,\"version\":1}";
}

/// Percent-decodes a path segment.
std::string decodeSegment(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

} // namespace

FakeDrone::FakeDrone() {
    server_.on("GET", "/api/queue", [this](const RecordedRequest& r) {
        const auto auth = r.headers.find("authorization");
        if (auth == r.headers.end())
            return unauthorized();
        if (auth->second == std::string("Bearer ") + kUserToken)
            return FakeReply{.status = 403, .body = R"({"message":"Forbidden"})"};
        if (auth->second != std::string("Bearer ") + kAdminToken)
            return unauthorized();
        const std::lock_guard lock(mutex_);
        return FakeReply{.status = status_, .body = body_, .delay = delay_};
    });
    server_.on("GET", "/api/user", [](const RecordedRequest& r) {
        const auto auth = r.headers.find("authorization");
        const std::string fields = R"("email":"x@example.com","avatar_url":"","active":true,)"
                                   R"("machine":false,"syncing":false,"synced":0,"created":1,)"
                                   R"("updated":1,"last_login":1)";
        if (auth != r.headers.end() && auth->second == std::string("Bearer ") + kAdminToken) {
            return FakeReply{.body = R"({"id":1,"login":"octocat",)" + fields +
                                     R"(,"admin":true})"};
        }
        if (auth != r.headers.end() && auth->second == std::string("Bearer ") + kUserToken)
            return FakeReply{.body = R"({"id":2,"login":"mona",)" + fields + R"(,"admin":false})"};
        return unauthorized();
    });
    server_.on("GET", "/api/builds/incomplete",
               [this](const RecordedRequest& r) { return incomplete(r); });
    server_.on("GET", "/api/builds/incomplete/v2",
               [this](const RecordedRequest& r) { return incomplete(r); });
    server_.on("DELETE", "*", [this](const RecordedRequest& r) { return buildCall(r); });
    server_.on("POST", "*", [this](const RecordedRequest& r) { return buildCall(r); });
}

void FakeDrone::addBuild(const std::string& repo, FakeBuild build) {
    const std::lock_guard lock(mutex_);
    builds_[repo][build.number] = std::move(build);
}

std::optional<FakeBuild> FakeDrone::build(const std::string& repo, std::int64_t number) const {
    const std::lock_guard lock(mutex_);
    const auto r = builds_.find(repo);
    if (r == builds_.end())
        return std::nullopt;
    const auto b = r->second.find(number);
    if (b == r->second.end())
        return std::nullopt;
    return b->second;
}

void FakeDrone::setOss(bool oss) {
    const std::lock_guard lock(mutex_);
    oss_ = oss;
}

void FakeDrone::failNextBuildCall(int status, std::string body) {
    const std::lock_guard lock(mutex_);
    buildFaults_.emplace_back(status, std::move(body));
}

std::vector<FakeBuildCall> FakeDrone::buildCalls() const {
    const std::lock_guard lock(mutex_);
    return buildCalls_;
}

int FakeDrone::restarts(const std::string& repo, std::int64_t number) const {
    int n = 0;
    const std::string path = "/api/repos/" + repo + "/builds/" + std::to_string(number);
    for (const auto& c : buildCalls()) {
        if (c.method == "POST" && c.path == path)
            ++n;
    }
    return n;
}

FakeReply FakeDrone::incomplete(const RecordedRequest& r) {
    if (auto refused = refuseNonAdmin(r))
        return *refused;
    const std::lock_guard lock(mutex_);
    FakeBuildCall call{.method = r.method, .path = r.path, .query = r.query};
    const auto record = [&](FakeReply reply) {
        call.status = reply.status;
        buildCalls_.push_back(call);
        return reply;
    };
    if (!buildFaults_.empty()) {
        auto [status, body] = buildFaults_.front();
        buildFaults_.pop_front();
        if (status != 0)
            return record(FakeReply{.status = status, .body = body});
    }
    if (oss_)
        return record(FakeReply{.status = 501, .body = R"({"message":"Not Implemented"})"});
    // core.RepoBuildStage rows of the stages pending or running (store/repos/repos.go).
    std::string rows;
    for (const auto& [repo, builds] : builds_) {
        const auto slash = repo.find('/');
        const std::string ns = repo.substr(0, slash);
        const std::string name = repo.substr(slash + 1);
        for (const auto& [number, b] : builds) {
            for (const auto& st : b.stages) {
                if (!unfinished(st.status))
                    continue;
                rows += (rows.empty() ? "" : ",") + std::string("{\"repo_namespace\":") +
                        detail::jsonQuote(ns) + ",\"repo_name\":" + detail::jsonQuote(name) +
                        ",\"repo_slug\":" + detail::jsonQuote(repo) +
                        ",\"build_number\":" + std::to_string(number) +
                        ",\"build_author\":\"octocat\",\"build_author_name\":\"\","
                        "\"build_author_email\":\"\",\"build_author_avatar\":\"\","
                        "\"build_sender\":\"octocat\",\"build_started\":0,"
                        "\"build_finished\":0,\"build_created\":1700000000,"
                        "\"build_updated\":1700000000,\"stage_name\":" +
                        detail::jsonQuote(st.name) +
                        ",\"stage_kind\":\"pipeline\",\"stage_type\":\"docker\","
                        "\"stage_status\":" +
                        detail::jsonQuote(st.status) +
                        ",\"stage_machine\":" + detail::jsonQuote(st.machine) +
                        ",\"stage_os\":\"linux\",\"stage_arch\":\"amd64\","
                        "\"stage_variant\":\"\",\"stage_kernel\":\"\",\"stage_limit\":"
                        "\"0\",\"stage_limit_repo\":\"0\",\"stage_started\":" +
                        std::to_string(st.started) + ",\"stage_stopped\":0}";
            }
        }
    }
    // Go renders a nil slice as null: no incomplete stage at all.
    return record(FakeReply{.body = rows.empty() ? "null" : "[" + rows + "]"});
}

FakeReply FakeDrone::buildCall(const RecordedRequest& r) {
    // /api/repos/{owner}/{name}/builds/{number}
    std::vector<std::string> parts;
    for (std::size_t start = 1; start <= r.path.size();) {
        const auto end = r.path.find('/', start);
        parts.push_back(
                r.path.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    if (parts.size() != 6 || parts[0] != "api" || parts[1] != "repos" || parts[4] != "builds")
        return FakeReply{.status = 404, .body = R"({"message":"no fake handler"})"};
    if (auto refused = refuseNonAdmin(r))
        return *refused;
    const std::lock_guard lock(mutex_);
    FakeBuildCall call{.method = r.method, .path = r.path, .query = r.query};
    const auto record = [&](FakeReply reply) {
        call.status = reply.status;
        buildCalls_.push_back(call);
        return reply;
    };
    if (!buildFaults_.empty()) {
        auto [status, body] = buildFaults_.front();
        buildFaults_.pop_front();
        if (status != 0)
            return record(FakeReply{.status = status, .body = body});
    }
    const std::string repo = decodeSegment(parts[2]) + "/" + decodeSegment(parts[3]);
    std::int64_t number = 0;
    try {
        number = std::stoll(parts[5]);
    } catch (const std::exception&) {
        return record(FakeReply{.status = 400, .body = R"({"message":"invalid syntax"})"});
    }
    const auto repoIt = builds_.find(repo);
    if (repoIt == builds_.end()) {
        return record(
                FakeReply{.status = 404, .body = R"({"message":"sql: no rows in result set"})"});
    }
    auto& builds = repoIt->second;
    const auto it = builds.find(number);
    if (it == builds.end()) {
        return record(
                FakeReply{.status = 404, .body = R"({"message":"sql: no rows in result set"})"});
    }
    FakeBuild& b = it->second;
    if (r.method == "DELETE") {
        if (unfinished(b.status)) {
            b.status = "killed";
            for (auto& st : b.stages) {
                if (unfinished(st.status))
                    st.status = st.started != 0 ? "killed" : "skipped";
            }
        }
        return record(FakeReply{.body = buildJson(b)});
    }
    if (b.status == "blocked") {
        return record(
                FakeReply{.status = 400, .body = R"({"message":"cannot start a blocked build"})"});
    }
    if (b.status == "declined") {
        return record(
                FakeReply{.status = 400, .body = R"({"message":"cannot start a declined build"})"});
    }
    FakeBuild next{.number = builds.rbegin()->first + 1, .parent = number, .status = "pending"};
    // Every query parameter but access_token and debug becomes a build parameter.
    for (std::size_t start = 0; start < r.query.size();) {
        const auto end = r.query.find('&', start);
        const std::string pair =
                r.query.substr(start, end == std::string::npos ? std::string::npos : end - start);
        const auto eq = pair.find('=');
        const std::string key = pair.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
        if (!key.empty() && key != "access_token" && key != "debug")
            next.params[key] = value;
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    for (const auto& [k, v] : b.params)
        next.params[k] = v;
    for (const auto& st : b.stages)
        next.stages.push_back(FakeBuildStage{.name = st.name, .status = "pending"});
    const std::string json = buildJson(next);
    builds[next.number] = std::move(next);
    return record(FakeReply{.body = json});
}

std::string FakeDrone::stageJson(const Stage& s) {
    std::string labels;
    for (const auto& [k, v] : s.labels)
        labels += (labels.empty() ? "" : ",") + detail::jsonQuote(k) + ":" + detail::jsonQuote(v);
    // Drone's core.Stage: kind, type, variant, kernel, limit and throttle are
    // omitempty; a stage without a repo or name gets repo 7 and "default".
    std::string json = "{\"id\":" + std::to_string(s.id) +
                       ",\"repo_id\":" + std::to_string(s.repoId == 0 ? 7 : s.repoId) +
                       ",\"build_id\":" + std::to_string(s.buildId) + R"(,"number":1,"name":)" +
                       detail::jsonQuote(s.name.empty() ? "default" : s.name) +
                       ",\"kind\":" + detail::jsonQuote(s.kind.empty() ? "pipeline" : s.kind) +
                       ",\"type\":" + detail::jsonQuote(s.type.empty() ? "docker" : s.type) +
                       ",\"status\":" + detail::jsonQuote(s.status) +
                       R"(,"error":"","errignore":false,"exit_code":0)";
    if (!s.machine.empty())
        json += ",\"machine\":" + detail::jsonQuote(s.machine);
    json += ",\"os\":" + detail::jsonQuote(s.os) + ",\"arch\":" + detail::jsonQuote(s.arch);
    if (!s.variant.empty())
        json += ",\"variant\":" + detail::jsonQuote(s.variant);
    if (!s.kernel.empty())
        json += ",\"kernel\":" + detail::jsonQuote(s.kernel);
    if (s.limit != 0)
        json += ",\"limit\":" + std::to_string(s.limit);
    if (s.throttle != 0)
        json += ",\"throttle\":" + std::to_string(s.throttle);
    json += R"(,"started":0,"stopped":0,"created":)" + std::to_string(s.created) +
            ",\"updated\":1700000005,\"version\":2,\"on_success\":true,\"on_failure\":false,"
            "\"depends_on\":[\"build\"]";
    if (!labels.empty())
        json += ",\"labels\":{" + labels + "}";
    return json + "}";
}

void FakeDrone::setStages(const std::vector<Stage>& stages) {
    std::string body = "[";
    for (std::size_t i = 0; i < stages.size(); ++i)
        body += (i == 0 ? "" : ",") + stageJson(stages[i]);
    body += "]";
    setRawQueue(200, std::move(body));
}

void FakeDrone::setRawQueue(int status, std::string body, std::chrono::milliseconds delay) {
    const std::lock_guard lock(mutex_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
}

std::string FakeDrone::host() const {
    return "127.0.0.1:" + std::to_string(server_.port());
}

int FakeDrone::queueRequests() const {
    int n = 0;
    for (const auto& r : server_.requests()) {
        if (r.path == "/api/queue")
            ++n;
    }
    return n;
}

} // namespace autoscale::test
