// SPDX-License-Identifier: Apache-2.0
/// \file
/// The cloud side of the autoscaler: create, list, inspect and destroy build machines.

#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/result.h>

namespace autoscale {

/// Market names, as Instance::market and CoolingChoice::market spell them.
inline constexpr std::string_view kMarketSpot = "spot";
inline constexpr std::string_view kMarketOnDemand = "on-demand";

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

/// A launch choice the provider skips for now because the cloud refused it for
/// capacity or quota moments ago (EC2: one instance type in one subnet, in one market).
struct CoolingChoice {
    std::string instanceType{};
    std::string subnet{}; ///< Empty: the default VPC's default subnet.
    std::string market{}; ///< kMarketSpot or kMarketOnDemand.
    /// When the choice is tried again, on the Clock the provider was built with
    /// (its steadyNow()).
    SteadyTime until{};
    std::string code{}; ///< The cloud's refusal, e.g. "InsufficientInstanceCapacity".

    friend bool operator==(const CoolingChoice&, const CoolingChoice&) = default;
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

    /// Starts one instance. Errc::Capacity when no type/subnet (in any allowed
    /// market) has capacity.
    [[nodiscard]] virtual Result<Instance> create(const CreateRequest& request) = 0;

    /// Instances carrying this pool's tags that are not terminated.
    [[nodiscard]] virtual Result<std::vector<Instance>> list() = 0;

    /// One instance by id. Errc::NotFound when it is unknown or not visible yet.
    [[nodiscard]] virtual Result<Instance> describe(const std::string& id) = 0;

    /// Requests termination. Ids that are already gone count as success.
    [[nodiscard]] virtual Result<void> destroy(std::span<const std::string> ids) = 0;

    /// The launch choices create() skips for now, soonest back first. Never blocks
    /// on a cloud call; thread-safe in every implementation. The default (providers
    /// without such a memory): none.
    [[nodiscard]] virtual std::vector<CoolingChoice> coolingDown() const { return {}; }

    Provider(const Provider&) = delete;
    Provider& operator=(const Provider&) = delete;

protected:
    Provider() = default;
};

} // namespace autoscale
