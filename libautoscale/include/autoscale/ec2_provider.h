// SPDX-License-Identifier: Apache-2.0
/// \file
/// The EC2 provider: creates, lists, inspects and destroys the instances of one pool
/// through the EC2 Query API (SigV4, standard retry mode, capacity fallback).

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <autoscale/aws_credentials.h>
#include <autoscale/clock.h>
#include <autoscale/log.h>
#include <autoscale/provider.h>
#include <autoscale/result.h>

namespace autoscale {

/// The AWS SDKs' "standard" retry mode. Defaults are the SDKs'.
struct RetrySettings {
    int maxAttempts = 3;                         ///< First try included.
    std::chrono::milliseconds base{1000};        ///< Backoff of the first retry (before jitter).
    std::chrono::milliseconds maxBackoff{20000}; ///< Cap of a single delay.
    int quota = 500;                             ///< Retry token bucket, initial and max.
    int retryCost = 5;                           ///< Taken per retry.
    int timeoutCost = 10; ///< Taken per retry after a timeout/transport error.

    friend bool operator==(const RetrySettings&, const RetrySettings&) = default;
};

/// What DRONE_AMAZON_* configure: where and how the pool's instances are launched.
struct AmazonSettings {
    std::string region = "us-east-1";
    std::string image{};
    std::string instanceType = "t3.medium";
    std::vector<std::string> instanceTypesAlt{};
    std::string subnetId{};
    std::vector<std::string> subnetIdsAlt{};
    std::vector<std::string> securityGroups{};
    std::string sshKey{};
    bool privateIp = false;
    std::map<std::string, std::string> tags{};
    int volumeSize = 32;
    std::string volumeType = "gp3";
    std::optional<int> volumeIops{};
    std::optional<int> volumeThroughput{};
    std::string deviceName = "/dev/sda1";
    std::string iamProfileArn{};
    std::string iamProfileName{};
    std::string marketType{}; ///< "spot" for spot; "" for on-demand.
    /// With spot: launch on-demand when no spot (type, subnet) has capacity.
    bool spotFallback = true;
    /// With spot and its fallback: at most this many live on-demand servers in
    /// the pool (the pool file's on_demand_max); unset: no cap.
    std::optional<int> onDemandMax{};
    std::string imdsTokens = "required";
    std::string userData{};     ///< Template text from DRONE_AMAZON_USERDATA. Secret.
    std::string userDataFile{}; ///< DRONE_AMAZON_USERDATA_FILE's path; read by the caller.
    int retries = 3;

    friend bool operator==(const AmazonSettings&, const AmazonSettings&) = default;
};

/// Tag keys the provider writes on every instance and volume (SPEC §4).
inline constexpr const char* kPoolTag = "drone-autoscaler:pool";
inline constexpr const char* kServerTag = "drone-autoscaler:server";
inline constexpr const char* kOwnerTag = "drone-autoscaler:owner";
/// The leadership term that launched the instance (CreateRequest::epoch), when not 0.
inline constexpr const char* kEpochTag = "drone-autoscaler:epoch";

/// Everything the EC2 provider needs besides credentials and a clock. A plain value.
struct Ec2Options {
    AmazonSettings amazon{}; ///< Region, image, types, subnets, volume, tags, ...
    /// Empty: the AwsEnvironment overload of makeEc2Provider takes AWS_ENDPOINT_URL_EC2,
    /// then AWS_ENDPOINT_URL; otherwise https://ec2.<region>.amazonaws.com.
    std::string endpoint{};
    std::string poolName{}; ///< Value of the drone-autoscaler:pool tag.
    std::string owner{};    ///< Value of the drone-autoscaler:owner tag (the Drone host).
    /// Standard-mode retries; maxAttempts 0 (the default here) takes DRONE_AMAZON_RETRIES
    /// (amazon.retries).
    RetrySettings retry{.maxAttempts = 0};
    /// A (type, subnet, market) that failed for capacity is skipped for this long.
    std::chrono::seconds capacityCooldown{180};
    /// NotFound for an instance we launched less than this ago means "not visible yet".
    std::chrono::seconds visibilityGrace{300};
    std::chrono::milliseconds connectTimeout{5000};
    std::chrono::milliseconds requestTimeout{30000};
    std::uint64_t seed = 0;      ///< Jitter seed; 0 draws one from std::random_device.
    int describePageSize = 1000; ///< MaxResults of list() pages.
};

/// Where the EC2 calls go: `options.endpoint`, else AWS_ENDPOINT_URL_EC2, else
/// AWS_ENDPOINT_URL, else https://ec2.<region>.amazonaws.com.
std::string resolveEc2Endpoint(const Ec2Options& options, const AwsEnvironment& env);

/// The address to connect to: the private IP with DRONE_AMAZON_PRIVATE_IP, else the
/// public one (empty until EC2 assigns it).
std::string addressOf(const Instance& instance, const AmazonSettings& amazon);

/// Builds the provider.
///
/// - create(): RunInstances with every DRONE_AMAZON_* setting, tagged at launch (instance
///   and volume; plus drone-autoscaler:epoch when `request.epoch` is not 0). It walks
///   the launch choices in this order, one RunInstances each, until one launches:
///   - the instance types (DRONE_AMAZON_INSTANCE, then _INSTANCE_ALT), each in every
///     subnet (DRONE_AMAZON_SUBNET_ID, then _SUBNET_IDS_ALT): type 1 in each subnet,
///     then type 2, and so on;
///   - with DRONE_AMAZON_MARKET_TYPE=spot, that walk first on spot
///     (InstanceMarketOptions: one-time, terminate on interruption, no max price), then,
///     when `amazon.spotFallback` and `request.onDemandAllowed`, the same walk
///     on-demand. An on-demand pool ignores `onDemandAllowed`.
///   A capacity or quota refusal (aws::isCapacityCode: InsufficientInstanceCapacity,
///   SpotMaxPriceTooLow, MaxSpotInstanceCountExceeded, UnfulfillableCapacity, ...)
///   marks that (type, subnet, market) unavailable for `capacityCooldown` on `clock`
///   and the walk moves on; a choice still cooling down is skipped without a call.
///   AuthFailure.ServiceLinkedRoleCreationNotPermitted on spot (the account lacks the
///   EC2 Spot service-linked role) cools every spot choice and moves to on-demand.
///   Errc::Capacity only when every choice of every allowed market failed or is
///   cooling down; its message names each choice with its code, and says why on-demand
///   was not tried (fallback off, or the on-demand cap). Any other error ends the walk
///   and is returned as it is.
/// - Client tokens: each choice is a different request (EC2 answers
///   IdempotentParameterMismatch when a token is reused with other parameters), so it
///   gets its own token: the request's for the first choice of the walk and
///   "<token>-<n>" for the n-th (cut to EC2's 64 characters), numbered over the whole
///   walk (spot choices, then on-demand), independent of what is cooling down. A
///   create() retried with the same token therefore sends the same token for the same
///   choice, and EC2 answers with the instance launched the first time. The provider
///   also remembers for an hour which choice each token went to when it launched or
///   when its call ended without an answer (transport, timeout, throttling, 5xx), and
///   asks that choice first on a retry, so a retry never launches a second instance
///   elsewhere. Across a restart the memory is gone: every instance carries the
///   drone-autoscaler:server tag, by which the engine adopts it before asking again.
///   An empty token gets a random one. User data over 16 KiB (raw) is
///   Errc::InvalidArgument without a call.
/// - coolingDown(): the (type, subnet, market) choices skipped for now, with the code
///   that refused them and when they come back (on `clock`'s steadyNow()).
/// - list(): every non-terminated instance tagged with this pool and owner (all pages).
///   Instance::market is "spot" or "on-demand" (EC2's instanceLifecycle), stateReason
///   and stateReasonMessage EC2's StateReason (e.g. Server.SpotInstanceTermination).
/// - describe(): Errc::Unavailable (retryable) when EC2 does not know an id this provider
///   launched less than `visibilityGrace` ago; Errc::NotFound otherwise.
/// - destroy(): TerminateInstances in batches of at most 1000; ids EC2 reports as not
///   found count as gone.
/// Throttling and 5xx are retried in standard mode with sleeps through `clock`.
///
/// Thread-safety: internally synchronized. Calls from several threads are serialized by
/// a mutex around the provider's one HttpClient, so a slow call delays the others;
/// coolingDown() has its own lock and never waits for a call.
/// `clock` and `credentials` (when borrowed) must outlive the provider.
Result<std::unique_ptr<Provider>> makeEc2Provider(Ec2Options options,
                                                  std::shared_ptr<CredentialsSource> credentials,
                                                  const Clock& clock,
                                                  const HttpClientFactory& httpFactory = {},
                                                  LogSink* logSink = nullptr);

/// As above, with the default credential chain built from `env`.
Result<std::unique_ptr<Provider>> makeEc2Provider(Ec2Options options, const AwsEnvironment& env,
                                                  const Clock& clock,
                                                  const HttpClientFactory& httpFactory = {},
                                                  LogSink* logSink = nullptr);

} // namespace autoscale
