// SPDX-License-Identifier: Apache-2.0
/// \file
/// A fake Drone server on loopback: GET /api/queue and GET /api/user with
/// Drone's real JSON shapes, an admin token and a user token, and scriptable
/// failures (status codes, raw bodies, slow answers); and the builds API the
/// lost-builds restarter uses, written from Drone's source (harness/harness, branch
/// drone): GET /api/builds/incomplete/v2 (handler/api/api.go routes it under
/// acl.AuthorizeAdmin; handler/api/builds/builds.go serves core.RepoBuildStage rows
/// from core/repo.go, of stages pending or running; builds_oss.go answers 501
/// {"message":"Not Implemented"} in OSS builds), DELETE and POST
/// /api/repos/{owner}/{name}/builds/{number} (handler/api/repos/builds/cancel.go:
/// 404 for an unknown repo or build, a pending or running build and its unfinished
/// stages become killed, or skipped when not started, 200 with the build either way;
/// retry.go: 404, 400 for a blocked or declined build, every query parameter but
/// access_token and debug becomes a build parameter, 200 with the new build, whose
/// parent is the old number; core/build.go for the build JSON).

#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <autoscale/model.h>

#include "fake_http_server.h"

namespace autoscale::test {

/// A stage of a fake build.
struct FakeBuildStage {
    std::string name = "default";
    std::string status = "running"; ///< pending, running, success, killed, skipped, ...
    std::string machine{};          ///< The runner that took it.
    std::int64_t started = 0;
};

/// A build the fake Drone knows.
struct FakeBuild {
    std::int64_t number = 0;
    std::int64_t parent = 0;
    std::string status = "running"; ///< pending, running, blocked, declined, killed, ...
    std::map<std::string, std::string> params{};
    std::vector<FakeBuildStage> stages{};
};

/// One call to the builds API.
struct FakeBuildCall {
    std::string method{};
    std::string path{};
    std::string query{};
    int status = 0;
};

class FakeDrone {
public:
    static constexpr const char* kAdminToken = "admin-token-0123456789";
    static constexpr const char* kUserToken = "user-token-0123456789";

    FakeDrone();

    /// Serves these stages (as Drone's JSON) from now on.
    void setStages(const std::vector<Stage>& stages);
    /// Serves this body verbatim with `status` from now on.
    void setRawQueue(int status, std::string body, std::chrono::milliseconds delay = {});

    [[nodiscard]] std::string host() const; ///< "127.0.0.1:PORT"
    [[nodiscard]] std::string baseUrl() const { return server_.baseUrl(); }
    [[nodiscard]] int queueRequests() const;
    FakeHttpServer& server() { return server_; }

    /// Drone's JSON for one stage (every field Drone sends).
    static std::string stageJson(const Stage& stage);

    /// Adds (or replaces) build `build.number` of repository "owner/name".
    void addBuild(const std::string& repo, FakeBuild build);
    /// The build, or nullopt.
    [[nodiscard]] std::optional<FakeBuild> build(const std::string& repo,
                                                 std::int64_t number) const;
    /// OSS mode: the incomplete-builds endpoints answer 501, as Drone's OSS build does.
    void setOss(bool oss);
    /// The next builds-API requests (incomplete, cancel, restart) get these replies, in
    /// order; status 0 lets that request be answered normally.
    void failNextBuildCall(int status, std::string body);
    /// Every builds-API call, in order.
    [[nodiscard]] std::vector<FakeBuildCall> buildCalls() const;
    /// How many POST (restart) calls named this build.
    [[nodiscard]] int restarts(const std::string& repo, std::int64_t number) const;

private:
    FakeReply incomplete(const RecordedRequest& request);
    FakeReply buildCall(const RecordedRequest& request);

    mutable std::mutex mutex_;
    std::map<std::string, std::map<std::int64_t, FakeBuild>> builds_;
    std::deque<std::pair<int, std::string>> buildFaults_;
    std::vector<FakeBuildCall> buildCalls_;
    bool oss_ = false;
    int status_ = 200;
    std::string body_ = "[]";
    std::chrono::milliseconds delay_{0};
    FakeHttpServer server_; // Last: its thread reads the members above; stopped first.
};

} // namespace autoscale::test
