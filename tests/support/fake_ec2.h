// SPDX-License-Identifier: Apache-2.0
/// \file
/// A fake EC2 Query API endpoint on 127.0.0.1 for tests and end-to-end runs. It checks
/// every request's SigV4 signature with the test secret, keeps an instance table
/// (pending -> running after a set time, shutting-down -> terminated, tags, client-token
/// idempotency, NextToken paging, spot instances) and injects faults (throttling, 5xx,
/// capacity errors per type, subnet and market, spot reclaims, a NotFound window after
/// launch, truncated XML).
///
/// Spot, for tests of the spot walk and of reclaims:
/// - RunInstances reads InstanceMarketOptions as EC2 does (MarketType=spot;
///   SpotOptions.SpotInstanceType one-time|persistent, InstanceInterruptionBehavior
///   terminate|stop|hibernate, persistent only with stop or hibernate, MaxPrice >= 0.001;
///   anything else under InstanceMarketOptions is InvalidParameterValue or
///   UnknownParameter). A spot instance reports instanceLifecycle=spot and a
///   spotInstanceRequestId in every reply.
/// - Capacity: add FakeCapacityRule entries to FakeEc2Faults::capacity (or call
///   refuseCapacity()). An empty field matches anything, so
///   `refuseCapacity({.market = "spot"})` is "no spot capacity anywhere" and
///   `refuseCapacity({.market = "on-demand", .instanceType = "t3.medium",
///   .subnet = "subnet-a"})` closes one on-demand choice. The refused RunInstances
///   answers the rule's code (500 for InsufficientInstanceCapacity, 400 otherwise, as
///   EC2 does) and launches nothing; restoreCapacity() removes the rules.
/// - Reclaims: reclaimSpot(id) moves a spot instance to shutting-down (then terminated
///   after `terminatingFor`) with StateReason Server.SpotInstanceTermination, as EC2 does
///   when it takes spot capacity back; terminateWithReason() does the same with any
///   reason. TerminateInstances records Client.UserInitiatedShutdown.
/// - Counting: calls("RunInstances") with FakeEc2Call::market(), instanceType() and
///   subnet() count the attempts per choice.
///
/// Run as a process (fake_ec2_main.cpp, FakeEc2Options::controlEndpoints), the same
/// controls are HTTP endpoints on the same port, unsigned, loopback only:
///   POST /_fake/capacity          form body market=&type=&subnet=&code= (a rule; empty
///                                 fields match anything; code defaults to
///                                 InsufficientInstanceCapacity)
///   POST /_fake/capacity/restore  removes every rule
///   POST /_fake/reclaim           form body instance=i-... (404 if unknown or not spot)
///   GET  /_fake/calls             one line per EC2 request:
///                                 "ACTION STATUS CODE|- MARKET TYPE|- SUBNET|-"
///   GET  /_fake/instances         one line per instance:
///                                 "ID STATE MARKET TYPE SUBNET|- REASON|-"

#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <autoscale/clock.h>

#include "fake_http_server.h"

namespace autoscale::test {

inline constexpr const char* kTestAccessKeyId = "AKIDEXAMPLE";
inline constexpr const char* kTestSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct FakeEc2Options {
    std::string accessKeyId = kTestAccessKeyId;
    std::string secretAccessKey = kTestSecretKey;
    std::string region = "us-east-1";
    /// When set, requests must carry exactly this X-Amz-Security-Token (signed).
    std::string sessionToken{};
    std::chrono::milliseconds pendingFor{30000};     ///< pending -> running.
    std::chrono::milliseconds terminatingFor{20000}; ///< shutting-down -> terminated.
    std::chrono::minutes maxSkew{15};                ///< RequestExpired beyond this.
    int port = 0;                                    ///< 0: any free port.
    /// When set, new instances get these private addresses in turn (end-to-end
    /// tests point them at local sshd hosts, "127.0.0.1:PORT").
    std::vector<std::string> privateAddresses{};
    /// Serve the /_fake/... control endpoints (see the file comment).
    bool controlEndpoints = false;
};

/// Refuses RunInstances for capacity where every non-empty field matches.
struct FakeCapacityRule {
    std::string market{};       ///< "spot", "on-demand" or "" (both).
    std::string instanceType{}; ///< "" matches every type.
    std::string subnet{};       ///< "" matches every subnet (and the default one).
    std::string code = "InsufficientInstanceCapacity";

    friend bool operator==(const FakeCapacityRule&, const FakeCapacityRule&) = default;
};

/// Faults to inject; change them through FakeEc2::faults().
struct FakeEc2Faults {
    int throttleEvery = 0; ///< Every Nth request answers 503 RequestLimitExceeded (0: never).
    std::deque<std::pair<int, std::string>> scripted{};    ///< Next replies: (status, code).
    std::map<std::string, std::string> capacityByType{};   ///< type -> error code.
    std::map<std::string, std::string> capacityBySubnet{}; ///< subnet -> error code.
    /// Capacity per (type, subnet, market); the first matching rule answers.
    std::vector<FakeCapacityRule> capacity{};
    /// Instances are invisible to Describe/Terminate/CreateTags for this long after launch.
    std::chrono::milliseconds notFoundWindow{0};
    int truncateNext = 0;       ///< The next N successful replies are cut in half.
    bool plainTextNext = false; ///< The next reply is a non-XML 502 (a proxy's page).
};

/// One instance in the fake's table.
struct FakeInstance {
    std::string id{};
    std::string imageId{};
    std::string instanceType{};
    std::string subnetId{};
    std::string state = "pending";
    std::string privateIp{};
    std::string publicIp{};
    std::string clientToken{};
    std::string lifecycle{};            ///< "spot", or empty for on-demand.
    std::string spotRequestId{};        ///< "sir-..." for spot instances.
    std::string interruptionBehavior{}; ///< Spot: "terminate", "stop" or "hibernate".
    std::string stateReasonCode{};      ///< e.g. "Server.SpotInstanceTermination".
    std::string stateReasonMessage{};
    WallTime launchTime{};
    SteadyTime launchedAt{};
    SteadyTime terminatedAt{};
    std::map<std::string, std::string> tags{};
    std::map<std::string, std::string> volumeTags{};
};

/// One request as the fake decoded it.
struct FakeEc2Call {
    std::string action{};
    std::vector<std::pair<std::string, std::string>> params{}; ///< Decoded, in body order.
    std::map<std::string, std::string> headers{};
    int status = 0;
    std::string errorCode{};

    [[nodiscard]] std::string param(const std::string& name) const;
    [[nodiscard]] bool has(const std::string& name) const;
    /// RunInstances: "spot" with InstanceMarketOptions.MarketType=spot, else "on-demand".
    [[nodiscard]] std::string market() const;
    /// RunInstances: InstanceType.
    [[nodiscard]] std::string instanceType() const;
    /// RunInstances: the subnet (NetworkInterface.1.SubnetId or SubnetId).
    [[nodiscard]] std::string subnet() const;
};

class FakeEc2 {
public:
    /// `clock` drives state transitions and the signature-age check; it must outlive the
    /// fake.
    explicit FakeEc2(const Clock& clock, FakeEc2Options options = {});
    ~FakeEc2();
    FakeEc2(const FakeEc2&) = delete;
    FakeEc2& operator=(const FakeEc2&) = delete;

    /// "http://127.0.0.1:PORT"
    [[nodiscard]] std::string endpoint() const;
    [[nodiscard]] int port() const;

    /// Runs `change` on the faults under the fake's lock.
    void faults(const std::function<void(FakeEc2Faults&)>& change);
    /// Adds a capacity rule (see FakeCapacityRule).
    void refuseCapacity(FakeCapacityRule rule);
    /// Removes every capacity rule (FakeEc2Faults::capacity only).
    void restoreCapacity();
    /// A spot reclaim: the spot instance `id` goes to shutting-down, then terminated,
    /// with StateReason Server.SpotInstanceTermination. False if `id` is unknown, not
    /// spot, or already going.
    bool reclaimSpot(const std::string& id);
    /// Like a reclaim with any StateReason, for any instance. False if `id` is unknown
    /// or already going.
    bool terminateWithReason(const std::string& id, const std::string& code,
                             const std::string& message);
    /// Adds `count` running instances with these tags (for paging tests); returns their ids.
    std::vector<std::string> addInstances(int count, const std::map<std::string, std::string>& tags,
                                          const std::string& state = "running");

    [[nodiscard]] std::vector<FakeEc2Call> calls() const;
    [[nodiscard]] std::vector<FakeEc2Call> calls(const std::string& action) const;
    [[nodiscard]] std::map<std::string, FakeInstance> instances() const;
    [[nodiscard]] int signatureFailures() const;
    void clearCalls();

private:
    FakeReply handle(const RecordedRequest& request);
    FakeReply control(const RecordedRequest& request);
    bool terminateLocked(const std::string& id, const std::string& code,
                         const std::string& message);
    FakeReply runInstances(FakeEc2Call& call);
    FakeReply describeInstances(FakeEc2Call& call);
    FakeReply terminateInstances(FakeEc2Call& call);
    FakeReply createTags(FakeEc2Call& call);
    FakeReply error(FakeEc2Call& call, int status, const std::string& code,
                    const std::string& message);
    void advance();
    [[nodiscard]] bool visible(const FakeInstance& instance) const;
    std::string verifySignature(const RecordedRequest& request, int& status) const;

    const Clock& clock_;
    FakeEc2Options options_;
    mutable std::mutex mutex_;
    FakeEc2Faults faults_;
    std::map<std::string, FakeInstance> instances_;
    std::map<std::string, std::pair<std::string, std::vector<std::string>>> tokens_;
    std::vector<FakeEc2Call> calls_;
    int requestCount_ = 0;
    int signatureFailures_ = 0;
    int nextId_ = 1;
    std::size_t nextAddress_ = 0;
    FakeHttpServer server_; // Last: destroyed (stopped) first.
};

} // namespace autoscale::test
