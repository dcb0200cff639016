// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's REST API as the autoscaler uses it: the queue, who a token belongs to, and
/// the builds of lost stages (list the incomplete ones, cancel, restart).

#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/http.h>
#include <autoscale/queue.h>

namespace autoscale {

/// The Drone server and the runner's connection back to it (DRONE_SERVER_*).
struct DroneSettings {
    std::string proto{}; ///< "http" or "https".
    std::string host{};  ///< host[:port].
    std::string token{}; ///< Admin token. Secret.

    /// proto://host
    [[nodiscard]] std::string baseUrl() const { return proto + "://" + host; }

    friend bool operator==(const DroneSettings&, const DroneSettings&) = default;
};

/// The fields of GET /api/user we read.
struct DroneUser {
    std::string login{};
    bool admin = false;
    bool active = true;
};

/// One row of GET /api/builds/incomplete/v2: a pending or running stage with its build
/// and repository (Drone's core.RepoBuildStage; the JSON names in the comments).
struct IncompleteStage {
    std::string repoNamespace{};   ///< "repo_namespace", e.g. "octocat".
    std::string repoName{};        ///< "repo_name", e.g. "hello-world".
    std::int64_t buildNumber = 0;  ///< "build_number".
    std::string buildSender{};     ///< "build_sender".
    std::string stageName{};       ///< "stage_name": the pipeline's name.
    std::string stageStatus{};     ///< "stage_status": "pending" or "running".
    std::string stageMachine{};    ///< "stage_machine": the runner (our server's name).
    std::int64_t stageStarted = 0; ///< "stage_started", Unix seconds; 0 when not started.

    friend bool operator==(const IncompleteStage&, const IncompleteStage&) = default;
};

/// A Queue over GET /api/queue, plus GET /api/user for authorising API callers.
/// Borrows the HttpClient, which must outlive it; not thread-safe (one per thread).
class DroneClient final : public Queue {
public:
    DroneClient(DroneSettings settings, HttpClient& http);

    /// GET /api/queue with the admin token. Errors: Errc::Transport/Timeout
    /// (message names host and port), Errc::Unauthorized/Forbidden for 401/403
    /// ("the token is not a Drone admin token"), Errc::Unavailable for 5xx,
    /// Errc::Parse for a body that is not a JSON list of stages (with offset).
    [[nodiscard]] Result<std::vector<Stage>> stages() override;

    /// GET /api/user with `token` (the caller's, not ours).
    [[nodiscard]] Result<DroneUser> user(const std::string& token);

    /// GET /api/builds/incomplete/v2 (admin): one row per pending or running stage.
    /// Errc::Unsupported when Drone answers 501: an OSS build of Drone ("oss" build tag)
    /// has no incomplete-builds API, so the builds of a lost server cannot be found
    /// (kDroneOssMessage says so). Otherwise the errors of stages().
    [[nodiscard]] Result<std::vector<IncompleteStage>> incompleteBuilds();

    /// DELETE /api/repos/{owner}/{name}/builds/{number}: cancels a pending or running
    /// build (a finished one is left as it is; both answer 200). Errc::NotFound for an
    /// unknown repository or build, Errc::Conflict when Drone could not write the build
    /// (409), otherwise the errors of stages().
    [[nodiscard]] Result<void> cancelBuild(const std::string& owner, const std::string& name,
                                           std::int64_t number);

    /// POST /api/repos/{owner}/{name}/builds/{number}, with no query parameter (Drone
    /// turns every one into a build parameter): starts a new build from that one and
    /// returns its number. Errc::InvalidArgument for a blocked or declined build (400),
    /// Errc::NotFound, otherwise the errors of stages(). A transport error or timeout
    /// leaves it unknown whether Drone started the build.
    [[nodiscard]] Result<std::int64_t> restartBuild(const std::string& owner,
                                                    const std::string& name, std::int64_t number);

private:
    Result<std::string> get(const std::string& path, const std::string& token);
    Result<std::string> send(const std::string& method, const std::string& path);
    Result<std::string> exchange(const std::string& method, const std::string& path,
                                 const std::string& token);

    DroneSettings settings_;
    HttpClient* http_;
};

/// Parses GET /api/queue's body. Never crashes on bad input.
Result<std::vector<Stage>> parseQueueJson(std::string_view body);

/// The same, decoding strings inside `body` (faster, no copies); `body` is
/// consumed (left empty).
Result<std::vector<Stage>> parseQueueJsonInPlace(std::string& body);

/// Parses GET /api/user's body.
Result<DroneUser> parseUserJson(std::string_view body);

/// Parses GET /api/builds/incomplete/v2's body (a JSON list, or null for none).
Result<std::vector<IncompleteStage>> parseIncompleteJson(std::string_view body);

/// Parses the "number" of the build JSON Drone answers a restart with.
Result<std::int64_t> parseBuildNumberJson(std::string_view body);

/// The message of DroneClient::incompleteBuilds' Errc::Unsupported error.
inline constexpr const char* kDroneOssMessage =
        "Drone answered 501 to GET /api/builds/incomplete/v2: this Drone (an OSS build) has no "
        "incomplete-builds API, so the builds of a lost server cannot be found or restarted";

/// A Queue reading a file that holds what GET /api/queue returns.
std::unique_ptr<Queue> makeFileQueue(std::string path);

} // namespace autoscale
