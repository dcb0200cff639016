// SPDX-License-Identifier: Apache-2.0
/// \file
/// Ec2Provider: the Provider interface on Ec2Client, with the capacity fallback walk over
/// (instance type, subnet, market): spot first for a spot pool, then on-demand; one
/// client token per choice; a capacity cooldown per choice.

#include "autoscale/ec2_provider.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <tuple>

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
    // instanceLifecycle is absent for on-demand; "spot", "scheduled", "capacity-block"...
    out.market = in.lifecycle.empty() ? std::string(kMarketOnDemand) : in.lifecycle;
    out.stateReason = in.stateReasonCode;
    out.stateReasonMessage = in.stateReasonMessage;
    return out;
}

/// `token` for the first choice, "<token>-<n>" for the n-th (1-based) after it, within
/// EC2's 64 characters.
std::string tokenFor(const std::string& token, std::size_t choice) {
    if (choice == 0)
        return token.substr(0, 64);
    const std::string suffix = "-" + std::to_string(choice + 1);
    return token.substr(0, 64 - suffix.size()) + suffix;
}

/// EC2's limit on raw user data (before base64).
constexpr std::size_t kMaxUserDataBytes = std::size_t{16} * 1024;

/// How long create() remembers which choice a client token went to.
constexpr std::chrono::hours kTokenMemory{1};

/// Refused when the caller may not create the spot service-linked role
/// (AWSServiceRoleForEC2Spot): no spot launch can work in this account until it exists.
constexpr std::string_view kSpotRoleRefused = "AuthFailure.ServiceLinkedRoleCreationNotPermitted";

/// One launch choice: an instance type in a subnet, in a market.
struct Choice {
    std::string type{};
    std::string subnet{}; ///< Empty: the default VPC's default subnet.
    bool spot = false;

    [[nodiscard]] std::string_view market() const { return spot ? kMarketSpot : kMarketOnDemand; }
    /// "spot t3.medium/subnet-a", for messages.
    [[nodiscard]] std::string label() const {
        return std::string(market()) + " " + type + "/" + (subnet.empty() ? "default" : subnet);
    }
};

/// (type, subnet, market): the key of the capacity memory.
using ChoiceKey = std::tuple<std::string, std::string, bool>;

ChoiceKey keyOf(const Choice& choice) {
    return {choice.type, choice.subnet, choice.spot};
}

/// Why a choice is skipped for now.
struct Cooling {
    SteadyTime until{};
    std::string code{};
};

/// Where a client token went: the choice that launched it, or the one whose call
/// ended without an answer (the instance may exist).
struct TokenUse {
    std::size_t choice = 0;
    bool launched = false;
    SteadyTime at{};
};

/// Every choice in walk order: with spot, every type in every subnet on spot (types
/// first: type 1 in each subnet, then type 2, ...), then the same on-demand; without
/// spot, the on-demand walk only. The index in this list numbers the client tokens, so
/// it must not depend on the request.
std::vector<Choice> allChoices(const AmazonSettings& amazon) {
    std::vector<std::string> types{amazon.instanceType};
    types.insert(types.end(), amazon.instanceTypesAlt.begin(), amazon.instanceTypesAlt.end());
    std::vector<std::string> subnets;
    if (!amazon.subnetId.empty())
        subnets.push_back(amazon.subnetId);
    subnets.insert(subnets.end(), amazon.subnetIdsAlt.begin(), amazon.subnetIdsAlt.end());
    if (subnets.empty())
        subnets.emplace_back(); // The default VPC's default subnet.
    std::vector<Choice> out;
    const bool spotPool = amazon.marketType == kMarketSpot;
    for (const bool spot : {true, false}) {
        if (spot && !spotPool)
            continue;
        for (const auto& type : types) {
            for (const auto& subnet : subnets)
                out.push_back(Choice{.type = type, .subnet = subnet, .spot = spot});
        }
    }
    return out;
}

/// A refusal that may have launched nothing or something: the same token must be
/// asked again before anything else.
bool outcomeUnknown(const Error& error) {
    switch (error.code) {
    case Errc::Transport:
    case Errc::Timeout:
    case Errc::Throttled:
    case Errc::Unavailable:
    case Errc::Parse:
        return true;
    case Errc::InvalidArgument:
    case Errc::Unauthorized:
    case Errc::Forbidden:
    case Errc::NotFound:
    case Errc::AlreadyExists:
    case Errc::Conflict:
    case Errc::NotLeader:
    case Errc::Capacity:
    case Errc::LimitReached:
    case Errc::Unsupported:
    case Errc::Io:
    case Errc::HostKey:
    case Errc::Internal:
        return false;
    }
    return false;
}

std::string seconds(std::chrono::steady_clock::duration d) {
    return std::to_string(std::chrono::ceil<std::chrono::seconds>(d).count()) + "s";
}

class Ec2Provider final : public Provider {
public:
    Ec2Provider(Ec2Options options, std::string endpoint,
                std::shared_ptr<CredentialsSource> credentials, const Clock& clock,
                std::unique_ptr<HttpClient> http, LogSink* sink)
        : options_(std::move(options))
        , choices_(allChoices(options_.amazon))
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
        const bool spotPool = amazon.marketType == kMarketSpot;
        const bool onDemandAllowed = !spotPool || (amazon.spotFallback && request.onDemandAllowed);
        const std::string baseToken =
                request.clientToken.empty() ? randomToken() : request.clientToken;
        forgetOldTokens();

        Walk walk;
        // A retry of a request whose launch went through, or whose call ended without an
        // answer, asks that choice again with the same token first: EC2 answers with the
        // instance it launched then instead of starting a second one.
        std::optional<std::size_t> first;
        if (const auto it = tokens_.find(baseToken); it != tokens_.end()) {
            const Choice& choice = choices_[it->second.choice];
            if (it->second.launched || choice.spot || onDemandAllowed)
                first = it->second.choice;
        }
        if (first) {
            auto outcome = attempt(request, baseToken, *first, walk);
            if (outcome)
                return std::move(*outcome);
        }
        for (std::size_t index = 0; index < choices_.size(); ++index) {
            const Choice& choice = choices_[index];
            if (first == index)
                continue;
            if (!choice.spot && !onDemandAllowed)
                break; // On-demand choices come last.
            if (const auto cooling = coolingUntil(choice)) {
                walk.skipped += (walk.skipped.empty() ? "" : ", ") + choice.label() + " (" +
                                cooling->code + ", " +
                                seconds(cooling->until - clock_.steadyNow()) + " left)";
                continue;
            }
            if (!choice.spot && spotPool && !walk.fellBack) {
                walk.fellBack = true;
                logger_.warn("no spot capacity, launching on-demand",
                             {{"server", request.serverName},
                              {"spot_failed", walk.tried.empty() ? "-" : walk.tried},
                              {"spot_cooling", walk.skipped.empty() ? "-" : walk.skipped}});
            }
            auto outcome = attempt(request, baseToken, index, walk);
            if (outcome)
                return std::move(*outcome);
        }
        return capacityError(request, walk, spotPool, onDemandAllowed);
    }

    std::vector<CoolingChoice> coolingDown() const override {
        const std::lock_guard lock(coolingMutex_);
        const SteadyTime now = clock_.steadyNow();
        std::vector<CoolingChoice> out;
        for (const auto& [key, cooling] : cooling_) {
            if (now >= cooling.until)
                continue;
            out.push_back(CoolingChoice{
                    .instanceType = std::get<0>(key),
                    .subnet = std::get<1>(key),
                    .market = std::string(std::get<2>(key) ? kMarketSpot : kMarketOnDemand),
                    .until = cooling.until,
                    .code = cooling.code});
        }
        std::stable_sort(
                out.begin(), out.end(),
                [](const CoolingChoice& a, const CoolingChoice& b) { return a.until < b.until; });
        return out;
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
    /// What one create() walk tried and skipped, for its final message.
    struct Walk {
        std::string tried{};   ///< "spot t3.medium/subnet-a (InsufficientInstanceCapacity), ..."
        std::string skipped{}; ///< Choices cooling down, with their code and time left.
        std::optional<Error> lastCapacity{};
        bool fellBack = false;
    };

    /// One RunInstances for choice `index`. nullopt: refused for capacity (the choice
    /// now cools down; the walk goes on); otherwise the instance or the error to return.
    std::optional<Result<Instance>> attempt(const CreateRequest& request,
                                            const std::string& baseToken, std::size_t index,
                                            Walk& walk) {
        const Choice& choice = choices_[index];
        auto launched =
                client_.runInstances(launchRequest(request, choice, tokenFor(baseToken, index)));
        if (launched) {
            const Ec2Instance& first = launched->front();
            launchedAt_[first.id] = clock_.steadyNow();
            tokens_[baseToken] =
                    TokenUse{.choice = index, .launched = true, .at = clock_.steadyNow()};
            Instance out = toInstance(first);
            out.market = std::string(choice.market()); // What we asked for, in any reply.
            logger_.info("instance created", {{"server", request.serverName},
                                              {"instance", first.id},
                                              {"type", choice.type},
                                              {"subnet", choice.subnet},
                                              {"market", out.market}});
            return out;
        }
        const Error& error = launched.error();
        const bool spotRoleRefused = choice.spot && error.serviceCode == kSpotRoleRefused;
        if (error.code != Errc::Capacity && !spotRoleRefused) {
            if (outcomeUnknown(error)) {
                tokens_[baseToken] =
                        TokenUse{.choice = index, .launched = false, .at = clock_.steadyNow()};
            }
            return Result<Instance>(error);
        }
        walk.tried +=
                (walk.tried.empty() ? "" : ", ") + choice.label() + " (" + error.serviceCode + ")";
        walk.lastCapacity = error;
        if (spotRoleRefused) {
            // No spot launch can work until the role exists: every spot choice cools down.
            logger_.error("spot needs the EC2 Spot service-linked role; allow "
                          "iam:CreateServiceLinkedRole for spot.amazonaws.com or create it once "
                          "(aws iam create-service-linked-role --aws-service-name "
                          "spot.amazonaws.com)",
                          {{"server", request.serverName}, {"request_id", error.requestId}});
            for (const Choice& other : choices_) {
                if (other.spot)
                    coolDown(other, error.serviceCode);
            }
            return std::nullopt;
        }
        coolDown(choice, error.serviceCode);
        logger_.warn("no capacity, trying the next choice",
                     {{"server", request.serverName},
                      {"type", choice.type},
                      {"subnet", choice.subnet},
                      {"market", std::string(choice.market())},
                      {"code", error.serviceCode},
                      {"request_id", error.requestId}});
        return std::nullopt;
    }

    Error capacityError(const CreateRequest& request, const Walk& walk, bool spotPool,
                        bool onDemandAllowed) const {
        Error error = walk.lastCapacity.value_or(Error{.code = Errc::Capacity});
        error.code = Errc::Capacity;
        error.message = "ec2: no instance type/subnet has capacity for " + request.serverName;
        if (!walk.tried.empty())
            error.message += "; failed: " + walk.tried;
        if (!walk.skipped.empty()) {
            error.message += "; skipped, failed within the last " +
                             std::to_string(options_.capacityCooldown.count()) +
                             "s: " + walk.skipped;
        }
        if (spotPool && !onDemandAllowed) {
            error.message += !options_.amazon.spotFallback
                                     ? "; on-demand not tried: the spot fallback is off "
                                       "(DRONE_AMAZON_SPOT_FALLBACK=false)"
                                     : "; on-demand not tried: the pool's on-demand cap "
                                       "(on_demand_max) is reached";
        }
        return error;
    }

    /// The choice's cooldown if it has not ended yet.
    std::optional<Cooling> coolingUntil(const Choice& choice) const {
        const std::lock_guard lock(coolingMutex_);
        const auto it = cooling_.find(keyOf(choice));
        if (it == cooling_.end() || clock_.steadyNow() >= it->second.until)
            return std::nullopt;
        return it->second;
    }

    void coolDown(const Choice& choice, const std::string& code) {
        const std::lock_guard lock(coolingMutex_);
        const SteadyTime now = clock_.steadyNow();
        std::erase_if(cooling_, [&](const auto& entry) { return now >= entry.second.until; });
        cooling_[keyOf(choice)] = Cooling{.until = now + options_.capacityCooldown, .code = code};
    }

    void forgetOldTokens() {
        const SteadyTime now = clock_.steadyNow();
        std::erase_if(tokens_,
                      [&](const auto& entry) { return now - entry.second.at > kTokenMemory; });
    }

    aws::RunInstancesRequest launchRequest(const CreateRequest& request, const Choice& choice,
                                           std::string token) const {
        const AmazonSettings& amazon = options_.amazon;
        aws::RunInstancesRequest r;
        r.imageId = amazon.image;
        r.instanceType = choice.type;
        r.keyName = amazon.sshKey;
        r.subnetId = choice.subnet;
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
        r.spot = choice.spot;
        r.clientToken = std::move(token);
        r.tags = {{"Name", request.serverName},
                  {kPoolTag, options_.poolName},
                  {kServerTag, request.serverName},
                  {kOwnerTag, options_.owner}};
        if (request.epoch != 0)
            r.tags.push_back({kEpochTag, std::to_string(request.epoch)});
        for (const auto& [key, value] : amazon.tags) {
            if (key != "Name" && key != kPoolTag && key != kServerTag && key != kOwnerTag &&
                key != kEpochTag)
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
    const std::vector<Choice> choices_; // Walk order; the index numbers the tokens.
    std::shared_ptr<CredentialsSource> credentials_;
    const Clock& clock_;
    std::unique_ptr<HttpClient> http_;
    std::unique_ptr<LogSink> nullSink_;
    Logger logger_;
    std::mutex mutex_; // Guards the members below it up to coolingMutex_; serializes http_.
    aws::RandomEngine engine_;
    Ec2Client client_;
    std::map<std::string, TokenUse> tokens_; // Base client token -> where it went.
    std::map<std::string, SteadyTime> launchedAt_;
    // Its own mutex, so coolingDown() never waits behind a slow RunInstances.
    mutable std::mutex coolingMutex_;
    std::map<ChoiceKey, Cooling> cooling_;
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
