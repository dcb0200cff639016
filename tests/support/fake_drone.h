// SPDX-License-Identifier: Apache-2.0
/// \file
/// A fake Drone server on loopback: GET /api/queue and GET /api/user with
/// Drone's real JSON shapes, an admin token and a user token, and scriptable
/// failures (status codes, raw bodies, slow answers).

#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <autoscale/model.h>

#include "fake_http_server.h"

namespace autoscale::test {

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

private:
    mutable std::mutex mutex_;
    int status_ = 200;
    std::string body_ = "[]";
    std::chrono::milliseconds delay_{0};
    FakeHttpServer server_; // Last: its thread reads the members above; stopped first.
};

} // namespace autoscale::test
