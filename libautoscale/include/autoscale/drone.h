// SPDX-License-Identifier: Apache-2.0
/// \file
/// Drone's REST API as the autoscaler uses it: the queue, and who a token belongs to.

#pragma once

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

private:
    Result<std::string> get(const std::string& path, const std::string& token);

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

/// A Queue reading a file that holds what GET /api/queue returns.
std::unique_ptr<Queue> makeFileQueue(std::string path);

} // namespace autoscale
