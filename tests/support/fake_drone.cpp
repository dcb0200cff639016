// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeDrone.

#include "fake_drone.h"

#include "json_text.h"

namespace autoscale::test {

namespace {

FakeReply unauthorized() {
    return FakeReply{.status = 401, .body = R"({"message":"Unauthorized"})"};
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
        if (auth != r.headers.end() && auth->second == std::string("Bearer ") + kAdminToken)
            return FakeReply{.body = R"({"id":1,"login":"octocat",)" + fields +
                                     R"(,"admin":true})"};
        if (auth != r.headers.end() && auth->second == std::string("Bearer ") + kUserToken)
            return FakeReply{.body = R"({"id":2,"login":"mona",)" + fields + R"(,"admin":false})"};
        return unauthorized();
    });
}

std::string FakeDrone::stageJson(const Stage& s) {
    std::string labels;
    for (const auto& [k, v] : s.labels)
        labels += (labels.empty() ? "" : ",") + detail::jsonQuote(k) + ":" + detail::jsonQuote(v);
    // Drone's core.Stage: kind, type, variant, kernel, limit and throttle are
    // omitempty; a stage without a repo or name gets repo 7 and "default".
    std::string json = "{\"id\":" + std::to_string(s.id) +
                       ",\"repo_id\":" + std::to_string(s.repoId == 0 ? 7 : s.repoId) +
                       ",\"build_id\":" + std::to_string(s.buildId) + ",\"number\":1,\"name\":" +
                       detail::jsonQuote(s.name.empty() ? "default" : s.name) +
                       ",\"kind\":" + detail::jsonQuote(s.kind.empty() ? "pipeline" : s.kind) +
                       ",\"type\":" + detail::jsonQuote(s.type.empty() ? "docker" : s.type) +
                       ",\"status\":" + detail::jsonQuote(s.status) +
                       ",\"error\":\"\",\"errignore\":false,\"exit_code\":0";
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
    json += ",\"started\":0,\"stopped\":0,\"created\":" + std::to_string(s.created) +
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
