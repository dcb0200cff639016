// SPDX-License-Identifier: Apache-2.0
/// \file
/// Ec2Provider: the Provider interface on Ec2Client, with the capacity fallback walk over
/// (instance type, subnet), per-combination client tokens and a capacity cooldown.

#include "autoscale/ec2_provider.h"

#include <map>
#include <mutex>
#include <random>
#include <set>

#include "ec2_client.h"

namespace autoscale {

namespace {

using aws::Ec2Client;
using aws::Ec2Instance;

InstanceState stateOf(std::string_view name) {
    if (name == "running")
        return InstanceState::Running;
    if (name == "shutting-down")
        return InstanceState::ShuttingDown;
    if (name == "terminated")
        return InstanceState::Terminated;
    if (name == "stopping")
        return InstanceState::Stopping;
    if (name == "stopped")
        return InstanceState::Stopped;
    return InstanceState::Pending;
}

Instance toInstance(const Ec2Instance& in) {
    Instance out;
    out.id = in.id;
    out.state = stateOf(in.stateName);
    out.instanceType = in.instanceType;
    out.zone = in.zone;
    out.imageId = in.imageId;
    out.privateIp = in.privateIp;
    out.publicIp = in.publicIp;
    out.launchTime = in.launchTime;
    for (const auto& tag : in.tags)
        out.tags[tag.key] = tag.value;
    if (const auto it = out.tags.find(kServerTag); it != out.tags.end())
        out.serverName = it->second;
    return out;
}

/// `token` for the first combination, "<token>-<n>" after it, within EC2's 64 characters.
std::string tokenFor(const std::string& token, std::size_t combination) {
    if (combination == 0)
        return token.substr(0, 64);
    const std::string suffix = "-" + std::to_string(combination + 1);
    return token.substr(0, 64 - suffix.size()) + suffix;
}

/// EC2's limit on raw user data (before base64).
constexpr std::size_t kMaxUserDataBytes = std::size_t{16} * 1024;

class Ec2Provider final : public Provider {
public:
    Ec2Provider(Ec2Options options, std::string endpoint,
                std::shared_ptr<CredentialsSource> credentials, const Clock& clock,
                std::unique_ptr<HttpClient> http, LogSink* sink)
        : options_(std::move(options))
        , credentials_(std::move(credentials))
        , clock_(clock)
        , http_(std::move(http))
        , nullSink_(sink == nullptr ? std::make_unique<NullSink>() : nullptr)
        , logger_(sink != nullptr ? *sink : *nullSink_, clock, "ec2", LogLevel::Debug)
        , engine_(options_.seed != 0 ? options_.seed : std::random_device{}())
        , client_(aws::Ec2ClientOptions{.endpoint = std::move(endpoint),
                                        .region = options_.amazon.region,
                                        .retry = options_.retry,
                                        .seed = engine_()},
                  *http_, *credentials_, clock, logger_) {}

    Result<Instance> create(const CreateRequest& request) override {
        if (request.userData.size() > kMaxUserDataBytes) {
            return makeError(Errc::InvalidArgument,
                             "ec2: user data for " + request.serverName + " is " +
                                     std::to_string(request.userData.size()) +
                                     " bytes; EC2 takes at most 16384 before base64");
        }
        const std::lock_guard lock(mutex_);
        const AmazonSettings& amazon = options_.amazon;
        std::vector<std::string> types{amazon.instanceType};
        types.insert(types.end(), amazon.instanceTypesAlt.begin(), amazon.instanceTypesAlt.end());
        std::vector<std::string> subnets;
        if (!amazon.subnetId.empty())
            subnets.push_back(amazon.subnetId);
        subnets.insert(subnets.end(), amazon.subnetIdsAlt.begin(), amazon.subnetIdsAlt.end());
        if (subnets.empty())
            subnets.emplace_back(); // The default VPC's default subnet.
        const std::string baseToken =
                request.clientToken.empty() ? randomToken() : request.clientToken;

        std::string tried;
        std::string skipped;
        std::optional<Error> lastCapacity;
        std::size_t combination = 0;
        for (const auto& type : types) {
            for (const auto& subnet : subnets) {
                const std::size_t index = combination++;
                const std::string key = type + "/" + (subnet.empty() ? "default" : subnet);
                const auto cooled = cooldown_.find(key);
                if (cooled != cooldown_.end() && clock_.steadyNow() < cooled->second) {
                    skipped += (skipped.empty() ? "" : ", ") + key;
                    continue;
                }
                auto launched = client_.runInstances(
                        launchRequest(request, type, subnet, tokenFor(baseToken, index)));
                if (launched) {
                    const Ec2Instance& first = launched->front();
                    launchedAt_[first.id] = clock_.steadyNow();
                    logger_.info("instance created", {{"server", request.serverName},
                                                      {"instance", first.id},
                                                      {"type", type},
                                                      {"subnet", subnet}});
                    return toInstance(first);
                }
                if (launched.error().code != Errc::Capacity)
                    return launched.error();
                cooldown_[key] = clock_.steadyNow() + options_.capacityCooldown;
                tried += (tried.empty() ? "" : ", ") + key + " (" + launched.error().serviceCode +
                         ")";
                logger_.warn("no capacity, trying the next type/subnet",
                             {{"server", request.serverName},
                              {"type", type},
                              {"subnet", subnet},
                              {"code", launched.error().serviceCode},
                              {"request_id", launched.error().requestId}});
                lastCapacity = launched.error();
            }
        }
        Error error = lastCapacity.value_or(Error{.code = Errc::Capacity});
        error.code = Errc::Capacity;
        error.message = "ec2: no instance type/subnet has capacity for " + request.serverName;
        if (!tried.empty())
            error.message += "; failed: " + tried;
        if (!skipped.empty()) {
            error.message += "; skipped, failed within the last " +
                             std::to_string(options_.capacityCooldown.count()) + "s: " + skipped;
        }
        return error;
    }

    Result<std::vector<Instance>> list() override {
        const std::lock_guard lock(mutex_);
        aws::DescribeInstancesRequest request;
        request.filters = {
                {.name = std::string("tag:") + kPoolTag, .values = {options_.poolName}},
                {.name = std::string("tag:") + kOwnerTag, .values = {options_.owner}},
                {.name = "instance-state-name",
                 .values = {"pending", "running", "shutting-down", "stopping", "stopped"}},
        };
        request.maxResults = options_.describePageSize;
        auto described = client_.describeInstances(std::move(request));
        if (!described)
            return described.error();
        std::vector<Instance> out;
        out.reserve(described->size());
        for (const auto& instance : *described) {
            if (instance.stateName != "terminated")
                out.push_back(toInstance(instance));
        }
        return out;
    }

    Result<Instance> describe(const std::string& id) override {
        const std::lock_guard lock(mutex_);
        auto described = client_.describeInstances({.instanceIds = {id}});
        if (described && !described->empty())
            return toInstance(described->front());
        if (!described && described.error().code != Errc::NotFound)
            return described.error();
        Error error = described ? Error{.code = Errc::NotFound} : described.error();
        if (recentlyLaunched(id)) {
            error.code = Errc::Unavailable;
            error.message = "ec2: instance " + id +
                            " is not visible yet (launched moments ago; EC2 is eventually "
                            "consistent)";
            return error;
        }
        error.code = Errc::NotFound;
        error.message = "ec2: instance " + id + " does not exist";
        return error;
    }

    Result<void> destroy(std::span<const std::string> ids) override {
        const std::lock_guard lock(mutex_);
        if (ids.empty())
            return {};
        auto terminated = client_.terminateInstances(ids);
        if (terminated) {
            forget(ids);
            return {};
        }
        if (terminated.error().code != Errc::NotFound)
            return terminated.error();
        // One unknown id fails the whole batch: terminate one by one, and count
        // "not found" as gone unless we launched the instance moments ago.
        for (const auto& id : ids) {
            auto one = client_.terminateInstances(std::span<const std::string>(&id, 1));
            if (one)
                continue;
            if (one.error().code != Errc::NotFound)
                return one.error();
            if (recentlyLaunched(id)) {
                Error error = one.error();
                error.code = Errc::Unavailable;
                error.message = "ec2: instance " + id + " is not visible yet; terminate it later";
                return error;
            }
            logger_.info("instance already gone", {{"instance", id}});
        }
        forget(ids);
        return {};
    }

private:
    aws::RunInstancesRequest launchRequest(const CreateRequest& request, const std::string& type,
                                           const std::string& subnet, std::string token) const {
        const AmazonSettings& amazon = options_.amazon;
        aws::RunInstancesRequest r;
        r.imageId = amazon.image;
        r.instanceType = type;
        r.keyName = amazon.sshKey;
        r.subnetId = subnet;
        r.associatePublicIp = !amazon.privateIp;
        r.securityGroupIds = amazon.securityGroups;
        r.userData = request.userData;
        r.iamProfileArn = amazon.iamProfileArn;
        r.iamProfileName = amazon.iamProfileName;
        r.deviceName = amazon.deviceName;
        r.volumeSize = amazon.volumeSize;
        r.volumeType = amazon.volumeType;
        r.volumeIops = amazon.volumeIops;
        r.volumeThroughput = amazon.volumeThroughput;
        r.httpTokens = amazon.imdsTokens;
        r.hopLimit = 1;
        r.spot = amazon.marketType == "spot";
        r.clientToken = std::move(token);
        r.tags = {{"Name", request.serverName},
                  {kPoolTag, options_.poolName},
                  {kServerTag, request.serverName},
                  {kOwnerTag, options_.owner}};
        for (const auto& [key, value] : amazon.tags) {
            if (key != "Name" && key != kPoolTag && key != kServerTag && key != kOwnerTag)
                r.tags.push_back({key, value});
        }
        return r;
    }

    [[nodiscard]] bool recentlyLaunched(const std::string& id) const {
        const auto it = launchedAt_.find(id);
        return it != launchedAt_.end() &&
               clock_.steadyNow() - it->second < options_.visibilityGrace;
    }

    void forget(std::span<const std::string> ids) {
        for (const auto& id : ids)
            launchedAt_.erase(id);
    }

    std::string randomToken() {
        static constexpr std::string_view kHex = "0123456789abcdef";
        std::string token = "as-";
        for (int i = 0; i < 32; ++i)
            token += kHex[engine_() & 15U];
        return token;
    }

    Ec2Options options_;
    std::shared_ptr<CredentialsSource> credentials_;
    const Clock& clock_;
    std::unique_ptr<HttpClient> http_;
    std::unique_ptr<LogSink> nullSink_;
    Logger logger_;
    std::mutex mutex_; // Guards everything below and serializes use of http_.
    aws::RandomEngine engine_;
    Ec2Client client_;
    std::map<std::string, SteadyTime> cooldown_;
    std::map<std::string, SteadyTime> launchedAt_;
};

} // namespace

std::string resolveEc2Endpoint(const Ec2Options& options, const AwsEnvironment& env) {
    if (!options.endpoint.empty())
        return options.endpoint;
    if (!env.endpointEc2.empty())
        return env.endpointEc2;
    if (!env.endpoint.empty())
        return env.endpoint;
    const std::string& region = options.amazon.region;
    if (region.starts_with("cn-"))
        return "https://ec2." + region + ".amazonaws.com.cn";
    return "https://ec2." + region + ".amazonaws.com";
}

std::string addressOf(const Instance& instance, const AmazonSettings& amazon) {
    return amazon.privateIp ? instance.privateIp : instance.publicIp;
}

Result<std::unique_ptr<Provider>>
makeEc2Provider(Ec2Options options, std::shared_ptr<CredentialsSource> credentials,
                const Clock& clock, const HttpClientFactory& httpFactory, LogSink* logSink) {
    if (!credentials)
        return makeError(Errc::InvalidArgument, "ec2 provider: no credentials source");
    if (options.amazon.image.empty())
        return makeError(Errc::InvalidArgument, "ec2 provider: DRONE_AMAZON_IMAGE is not set");
    if (options.poolName.empty() || options.owner.empty()) {
        return makeError(Errc::InvalidArgument,
                         "ec2 provider: the pool name and owner tags must not be empty");
    }
    if (options.retry.maxAttempts <= 0)
        options.retry.maxAttempts = std::max(1, options.amazon.retries);
    const std::string endpoint = resolveEc2Endpoint(options, AwsEnvironment{});
    if (!endpoint.starts_with("https://") && !endpoint.starts_with("http://")) {
        return makeError(Errc::InvalidArgument,
                         "ec2 provider: endpoint " + endpoint + " is not an http(s) URL");
    }
    HttpOptions http{.connectTimeout = options.connectTimeout,
                     .totalTimeout = options.requestTimeout,
                     .protocols = endpoint.starts_with("http://") ? "http" : "https"};
    auto client = httpFactory ? httpFactory(http) : makeCurlHttpClient(http);
    if (!client)
        return client.error();
    return std::unique_ptr<Provider>(std::make_unique<Ec2Provider>(std::move(options), endpoint,
                                                                   std::move(credentials), clock,
                                                                   std::move(*client), logSink));
}

Result<std::unique_ptr<Provider>> makeEc2Provider(Ec2Options options, const AwsEnvironment& env,
                                                  const Clock& clock,
                                                  const HttpClientFactory& httpFactory,
                                                  LogSink* logSink) {
    options.endpoint = resolveEc2Endpoint(options, env);
    auto chain = makeDefaultCredentialChain(env, clock,
                                            CredentialChainOptions{.region = options.amazon.region,
                                                                   .httpFactory = httpFactory,
                                                                   .logSink = logSink});
    if (!chain)
        return chain.error();
    return makeEc2Provider(std::move(options),
                           std::shared_ptr<CredentialsSource>(std::move(*chain)), clock,
                           httpFactory, logSink);
}

} // namespace autoscale
