// SPDX-License-Identifier: Apache-2.0
/// \file
/// Loopback fakes for the credential sources: an IMDSv2 endpoint (token PUT, role
/// discovery, credentials JSON), an STS endpoint (AssumeRoleWithWebIdentity) and a
/// container-credentials endpoint. Each hands out numbered keys so refreshes are visible.

#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>

#include <autoscale/clock.h>

#include "fake_http_server.h"

namespace autoscale::test {

/// IMDSv2 on 127.0.0.1: PUT /latest/api/token, GET .../iam/security-credentials/[role].
class FakeImds {
public:
    /// Credentials expire `lifetime` after they are handed out (by `clock`).
    FakeImds(const Clock& clock, std::chrono::seconds lifetime);

    [[nodiscard]] std::string endpoint() const { return server_.baseUrl(); }
    [[nodiscard]] FakeHttpServer& server() { return server_; }
    /// Tokens handed out so far stop working (401), as after their TTL.
    void expireTokens();
    /// Role name served; empty means the instance has no role (404).
    void setRole(std::string role);
    /// Every request fails with this status (0: normal).
    void failWith(int status);
    [[nodiscard]] int credentialsServed() const { return served_; }
    [[nodiscard]] int tokensIssued() const;

private:
    const Clock& clock_;
    std::chrono::seconds lifetime_;
    mutable std::mutex mutex_;
    std::set<std::string> tokens_;
    int issued_ = 0;
    std::string role_ = "autoscaler-role";
    int failStatus_ = 0;
    std::atomic<int> served_{0};
    FakeHttpServer server_;
};

/// STS AssumeRoleWithWebIdentity on 127.0.0.1 (the request must be unsigned).
class FakeSts {
public:
    FakeSts(const Clock& clock, std::chrono::seconds lifetime);
    [[nodiscard]] std::string endpoint() const { return server_.baseUrl(); }
    [[nodiscard]] FakeHttpServer& server() { return server_; }
    [[nodiscard]] int calls() const { return calls_; }

private:
    const Clock& clock_;
    std::chrono::seconds lifetime_;
    std::atomic<int> calls_{0};
    FakeHttpServer server_;
};

/// Container credentials (ECS/EKS) on 127.0.0.1 at /creds; requires `authorization`
/// when it is not empty.
class FakeContainerCredentials {
public:
    FakeContainerCredentials(const Clock& clock, std::chrono::seconds lifetime,
                             std::string authorization);
    [[nodiscard]] std::string url() const { return server_.baseUrl() + "/creds"; }
    [[nodiscard]] FakeHttpServer& server() { return server_; }

private:
    const Clock& clock_;
    std::chrono::seconds lifetime_;
    std::string authorization_;
    std::atomic<int> served_{0};
    FakeHttpServer server_;
};

} // namespace autoscale::test
