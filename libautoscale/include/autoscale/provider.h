// SPDX-License-Identifier: Apache-2.0
/// \file
/// The cloud side of the autoscaler: create, list, inspect and destroy build machines.

#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/result.h>

namespace autoscale {

/// The cloud's view of an instance.
enum class InstanceState { Pending, Running, ShuttingDown, Terminated, Stopping, Stopped };

std::string_view nameOf(InstanceState state);

/// One instance as the provider reports it.
struct Instance {
    std::string id{};
    std::string serverName{}; ///< From our server tag; empty if the instance has none.
    InstanceState state = InstanceState::Pending;
    std::string instanceType{};
    std::string zone{};
    std::string imageId{};
    std::string privateIp{};
    std::string publicIp{};
    WallTime launchTime{};
    std::map<std::string, std::string> tags{};
    std::string market{}; ///< "spot" or "on-demand" (EC2's instanceLifecycle); empty if unknown.
    /// Why the instance stopped or is going, as EC2 says (StateReason code), e.g.
    /// "Server.SpotInstanceTermination" for a spot reclaim; empty while it runs.
    std::string stateReason{};
    std::string stateReasonMessage{}; ///< StateReason message.

    friend bool operator==(const Instance&, const Instance&) = default;
};

/// What to create. The same `clientToken` on a retried call never starts a
/// second instance (EC2 RunInstances ClientToken).
struct CreateRequest {
    std::string serverName{};
    std::string clientToken{};
    std::string userData{}; ///< Rendered cloud-init, not yet base64-encoded.
    /// With a spot pool's fallback: whether an on-demand launch is allowed now
    /// (the pool's on-demand cap has room).
    bool onDemandAllowed = true;
    /// The leadership term that launched it (tagged drone-autoscaler:epoch);
    /// 0: no leadership (one daemon).
    std::int64_t epoch = 0;

    friend bool operator==(const CreateRequest&, const CreateRequest&) = default;
};

/// Creates, lists and destroys the instances of one pool.
///
/// Every call blocks for at most the timeouts the implementation was built
/// with and reports failure through its Result; nothing here throws. Not
/// thread-safe unless the implementation says so. Implementations:
/// the EC2 provider (aws/), the simulated provider (sim/), fakes in tests.
class Provider {
public:
    virtual ~Provider();

    /// Starts one instance. Errc::Capacity when no type/subnet has capacity.
    [[nodiscard]] virtual Result<Instance> create(const CreateRequest& request) = 0;

    /// Instances carrying this pool's tags that are not terminated.
    [[nodiscard]] virtual Result<std::vector<Instance>> list() = 0;

    /// One instance by id. Errc::NotFound when it is unknown or not visible yet.
    [[nodiscard]] virtual Result<Instance> describe(const std::string& id) = 0;

    /// Requests termination. Ids that are already gone count as success.
    [[nodiscard]] virtual Result<void> destroy(std::span<const std::string> ids) = 0;

    Provider(const Provider&) = delete;
    Provider& operator=(const Provider&) = delete;

protected:
    Provider() = default;
};

} // namespace autoscale
