// SPDX-License-Identifier: Apache-2.0
/// \file
/// The configuration table: every variable once, with its default, meaning,
/// secrecy, scope and the reader that puts it into Config. parseConfig, the
/// "unknown variable" warnings, knownVariables(), isSecretVariable() and the
/// README check all read this table; the pool file reuses it.

#include <array>
#include <cctype>
#include <charconv>

#include <autoscale/config.h>

#include "core/text.h"
#include "field.h"

namespace autoscale::detail {

namespace {

using namespace std::chrono_literals;

constexpr auto kGlobal = VariableScope::Global;
constexpr auto kPool = VariableScope::Pool;
constexpr bool kSecret = true;
constexpr bool kPlain = false;

/// A variable we read.
constexpr Variable read(std::string_view name, std::string_view defaultValue,
                        std::string_view meaning, bool secret, VariableScope scope, Bind bind) {
    return {.spec = {.name = name,
                     .defaultValue = defaultValue,
                     .meaning = meaning,
                     .secret = secret,
                     .scope = scope,
                     .use = VariableUse::Read},
            .bind = bind};
}

/// A drone/autoscaler variable accepted and ignored, with the reason.
constexpr Variable ignored(std::string_view name, std::string_view why, bool secret = false) {
    return {.spec = {.name = name, .meaning = why, .secret = secret, .use = VariableUse::Ignored}};
}

void readProto(Field& f, Config& c) {
    f.required(c.drone.proto, f.needs().drone, "http or https");
    if (c.drone.proto.empty())
        return;
    const std::string proto = lower(trimmed(c.drone.proto));
    if (proto != "http" && proto != "https")
        f.problem("\"" + c.drone.proto + "\" is not allowed; expected http or https");
    c.drone.proto = proto;
}

void readServerHost(Field& f, Config& c) {
    f.required(c.drone.host, f.needs().drone, "the Drone server's host[:port]");
    std::string& host = c.drone.host;
    if (host.starts_with("http://") || host.starts_with("https://")) {
        f.problem("\"" + host +
                  "\" includes a scheme; expected host[:port] only, with the scheme in "
                  "DRONE_SERVER_PROTO");
        return;
    }
    while (!host.empty() && host.back() == '/')
        host.pop_back();
}

void readInterruptionQueue(Field& f, Config& c) {
    f.string(c.interruptions.queueUrl);
    c.interruptions.queueUrl = std::string(trimmed(c.interruptions.queueUrl));
    if (auto valid = validateQueueUrl(c.interruptions.queueUrl); !valid)
        f.problem(valid.error().message);
}

void readEnviron(Field& f, Config& c) {
    f.list(c.agent.environ);
    for (auto& item : c.agent.environ) {
        if (item.find('=') != std::string::npos)
            continue;
        const auto it = f.env().find(item);
        item += "=" + (it == f.env().end() ? std::string() : it->second);
    }
}

void readVolumes(Field& f, Config& c) {
    f.list(c.agent.volumes);
    for (const auto& volume : c.agent.volumes) {
        if (volume.find(':') == std::string::npos)
            f.problem("\"" + volume + "\" is not a bind; expected /host/path:/container/path");
    }
}

void readImage(Field& f, Config& c) {
    f.required(c.amazon.image, f.needs().amazon, "an AMI id such as ami-0123456789abcdef0");
    if (!c.amazon.image.empty() && !c.amazon.image.starts_with("ami-"))
        f.problem("\"" + c.amazon.image + "\" is not an AMI id; expected ami-...");
}

void readSecurityGroups(Field& f, Config& c) {
    f.list(c.amazon.securityGroups);
    for (const auto& group : c.amazon.securityGroups) {
        if (!group.starts_with("sg-"))
            f.problem("\"" + group + "\" is not a security-group id; expected sg-...");
    }
}

void readHostKeyCheck(Field& f, Config& c) {
    std::string check = "pinned";
    f.oneOf(check, {"pinned", "tofu"});
    c.ssh.hostKeyCheck = check == "tofu" ? HostKeyCheck::Tofu : HostKeyCheck::Pinned;
}

/// ":PORT" or "HOST:PORT" ("[::1]:PORT" for IPv6); an empty host is every interface.
void readHttpPort(Field& f, Config& c) {
    if (!f.raw())
        return;
    const std::string text = trimmed(*f.raw());
    const auto colon = text.rfind(':');
    std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
    const std::string portText = colon == std::string::npos ? text : text.substr(colon + 1);
    int port = 0;
    const auto result = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (result.ec != std::errc{} || result.ptr != portText.data() + portText.size() || port < 0 ||
        port > 65535) {
        f.problem("\"" + *f.raw() +
                  "\" is not a listen address; expected :PORT or HOST:PORT with a port from 0 "
                  "to 65535");
        return;
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    c.api.address = host.empty() ? "0.0.0.0" : host;
    c.api.port = port;
}

// clang-format off
constexpr std::array kTable = {
    // Drone server.
    read("DRONE_SERVER_PROTO", "(required)", "`http` or `https`", kPlain, kGlobal, readProto),
    read("DRONE_SERVER_HOST", "(required)", "Drone server `host[:port]` (no scheme)", kPlain, kGlobal,
         readServerHost),
    read("DRONE_SERVER_TOKEN", "(required)", "a Drone admin token", kSecret, kGlobal,
         [](Field& f, Config& c) { f.required(c.drone.token, f.needs().drone, "a Drone admin token"); }),
    // The runner.
    read("DRONE_AGENT_TOKEN", "(required)", "the RPC secret given to runners as DRONE_RPC_SECRET",
         kSecret, kGlobal, [](Field& f, Config& c) {
             f.required(c.agent.token, f.needs().agent, "the RPC secret the runners use");
         }),
    read("DRONE_AGENT_CONCURRENCY", "2", "stages one server runs at once", kPlain, kPool,
         [](Field& f, Config& c) { f.integer(c.pool.concurrency, 1, 1000); }),
    read("DRONE_AGENT_IMAGE", "drone/drone-runner-docker:1", "runner image", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.agent.image); }),
    read("DRONE_AGENT_OS", "linux", "stages served: exact match with stage.os", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.pool.os); }),
    read("DRONE_AGENT_ARCH", "amd64", "exact match with stage.arch", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.pool.arch); }),
    read("DRONE_AGENT_VERSION", "", "exact match with stage.variant", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.pool.variant); }),
    read("DRONE_AGENT_KERNEL", "", "exact match with stage.kernel", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.pool.kernel); }),
    read("DRONE_AGENT_LABELS", "", "map; stages must carry exactly these labels", kPlain, kPool,
         [](Field& f, Config& c) { f.map(c.pool.labels); }),
    read("DRONE_AGENT_ENVIRON", "", "list of K=V for the runner; a bare K copies our own K",
         kPlain, kPool, readEnviron),
    read("DRONE_AGENT_ENV_FILE", "", "dotenv file whose variables are added to the runner's",
         kPlain, kPool, [](Field& f, Config& c) { f.string(c.agent.envFile); }),
    read("DRONE_AGENT_VOLUMES", "", "list of host binds /host:/container[:ro] for the runner",
         kPlain, kPool, readVolumes),
    read("DRONE_AGENT_PUBLISHED_PORTS", "", "list of Docker port specs published by the runner",
         kPlain, kPool, [](Field& f, Config& c) { f.list(c.agent.publishedPorts); }),
    read("DRONE_AGENT_NAME_PREFIX", "agent-", "server names are this prefix + 8 random characters",
         kPlain, kPool, [](Field& f, Config& c) { f.string(c.agent.namePrefix); }),
    read("DRONE_RUNNER_VOLUMES", "", "passed through to the runner", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.agent.runnerVolumes); }),
    read("DRONE_RUNNER_DEVICES", "", "passed through to the runner", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.agent.runnerDevices); }),
    read("DRONE_RUNNER_PRIVILEGED", "", "passed to the runner as DRONE_RUNNER_PRIVILEGED_IMAGES",
         kPlain, kGlobal, [](Field& f, Config& c) { f.string(c.agent.runnerPrivileged); }),
    read("DRONE_RUNNER_ENVFILE", "", "passed to the runner as DRONE_RUNNER_ENV_FILE", kPlain,
         kGlobal, [](Field& f, Config& c) { f.string(c.agent.runnerEnvFile); }),
    // The pool.
    read("DRONE_POOL_MIN", "2", "servers always kept, created at start if missing", kPlain, kPool,
         [](Field& f, Config& c) { f.integer(c.pool.min, 0, 10000); }),
    read("DRONE_POOL_MAX", "4", "hard cap on servers whose instance may exist", kPlain, kPool,
         [](Field& f, Config& c) { f.integer(c.pool.max, 0, 10000); }),
    read("DRONE_POOL_MIN_AGE", "0s", "a server younger than this is never scaled down", kPlain,
         kPool, [](Field& f, Config& c) { f.duration(c.pool.minAge, 0ms); }),
    read("DRONE_POOL_IDLE_TIMEOUT", "10m", "a server with no stage for this long is scaled down",
         kPlain, kPool, [](Field& f, Config& c) { f.duration(c.pool.idleTimeout, 0ms); }),
    read("DRONE_POOL_LAUNCH_DELAY", "30s",
         "how long a lone waiting stage may wait for a running one before a launch", kPlain, kPool,
         [](Field& f, Config& c) { f.duration(c.pool.launchDelay, 0ms); }),
    read("DRONE_POOL_FILE", "", "YAML file describing several pools (README: Pools)", kPlain,
         kGlobal, [](Field& f, Config& c) { f.string(c.poolFile); }),
    read("DRONE_CAPACITY_BUFFER", "0", "idle build slots kept ready", kPlain, kPool,
         [](Field& f, Config& c) { f.integer(c.pool.buffer, 0, 100000); }),
    read("DRONE_INTERVAL", "10s", "planning period; at least 100ms", kPlain, kGlobal,
         [](Field& f, Config& c) { f.duration(c.interval, 100ms); }),
    // Amazon EC2.
    read("DRONE_AMAZON_REGION", "us-east-1", "region", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.region); }),
    read("DRONE_AMAZON_IMAGE", "(required)", "AMI id (ami-...)", kPlain, kPool, readImage),
    read("DRONE_AMAZON_INSTANCE", "t3.medium", "instance type", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.instanceType); }),
    read("DRONE_AMAZON_INSTANCE_ALT", "", "list of fallback types, tried on capacity errors",
         kPlain, kPool, [](Field& f, Config& c) { f.list(c.amazon.instanceTypesAlt); }),
    read("DRONE_AMAZON_SUBNET_ID", "", "subnet", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.subnetId); }),
    read("DRONE_AMAZON_SUBNET_IDS_ALT", "", "list of fallback subnets", kPlain, kPool,
         [](Field& f, Config& c) { f.list(c.amazon.subnetIdsAlt); }),
    read("DRONE_AMAZON_SECURITY_GROUP", "", "list of security-group ids (sg-...)", kPlain, kPool,
         readSecurityGroups),
    read("DRONE_AMAZON_SSHKEY", "", "name of a registered EC2 key pair (KeyName)", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.sshKey); }),
    read("DRONE_AMAZON_PRIVATE_IP", "false", "no public address; connect to the private one",
         kPlain, kPool, [](Field& f, Config& c) { f.boolean(c.amazon.privateIp); }),
    read("DRONE_AMAZON_TAGS", "", "map of extra instance and volume tags", kPlain, kPool,
         [](Field& f, Config& c) { f.map(c.amazon.tags); }),
    read("DRONE_AMAZON_VOLUME_SIZE", "32", "root volume GiB", kPlain, kPool,
         [](Field& f, Config& c) { f.integer(c.amazon.volumeSize, 1, 65536); }),
    read("DRONE_AMAZON_VOLUME_TYPE", "gp3", "root volume type", kPlain, kPool,
         [](Field& f, Config& c) {
             f.oneOf(c.amazon.volumeType, {"gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"});
         }),
    read("DRONE_AMAZON_VOLUME_IOPS", "", "provisioned IOPS (gp3, io1, io2)", kPlain, kPool,
         [](Field& f, Config& c) { f.optionalInteger(c.amazon.volumeIops, 100, 256000); }),
    read("DRONE_AMAZON_VOLUME_THROUGHPUT", "", "MiB/s (gp3)", kPlain, kPool,
         [](Field& f, Config& c) { f.optionalInteger(c.amazon.volumeThroughput, 125, 2000); }),
    read("DRONE_AMAZON_DEVICE_NAME", "/dev/sda1", "root device name", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.deviceName); }),
    read("DRONE_AMAZON_IAM_PROFILE_ARN", "", "instance profile by ARN", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.iamProfileArn); }),
    read("DRONE_AMAZON_IAM_PROFILE_NAME", "", "instance profile by name", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.iamProfileName); }),
    read("DRONE_AMAZON_MARKET_TYPE", "", "spot for spot instances", kPlain, kPool,
         [](Field& f, Config& c) { f.oneOf(c.amazon.marketType, {"", "spot"}); }),
    read("DRONE_AMAZON_SPOT_FALLBACK", "true",
         "with spot: launch on-demand when no spot choice has capacity", kPlain, kPool,
         [](Field& f, Config& c) { f.boolean(c.amazon.spotFallback); }),
    read("DRONE_AMAZON_INTERRUPTION_QUEUE", "",
         "SQS queue URL receiving EventBridge's EC2 interruption events", kPlain, kGlobal,
         readInterruptionQueue),
    read("DRONE_RESTART_LOST_BUILDS", "false",
         "cancel and restart the builds of a reclaimed or vanished server", kPlain, kGlobal,
         [](Field& f, Config& c) { f.boolean(c.interruptions.restartLostBuilds); }),
    read("DRONE_AMAZON_IMDS_TOKENS", "required", "IMDSv2 on the instances (optional allowed)",
         kPlain, kPool,
         [](Field& f, Config& c) { f.oneOf(c.amazon.imdsTokens, {"required", "optional"}); }),
    read("DRONE_AMAZON_USERDATA", "", "cloud-init template replacing ours", kSecret, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.userData); }),
    read("DRONE_AMAZON_USERDATA_FILE", "", "file holding that template", kPlain, kPool,
         [](Field& f, Config& c) { f.string(c.amazon.userDataFile); }),
    read("DRONE_AMAZON_RETRIES", "3", "attempts per EC2 call (standard retry mode), 1 to 20",
         kPlain, kGlobal, [](Field& f, Config& c) { f.integer(c.amazon.retries, 1, 20); }),
    // The standard AWS environment.
    read("AWS_ACCESS_KEY_ID", "", "static credentials", kSecret, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.accessKeyId); }),
    read("AWS_SECRET_ACCESS_KEY", "", "static credentials", kSecret, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.secretAccessKey); }),
    read("AWS_SESSION_TOKEN", "", "static credentials", kSecret, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.sessionToken); }),
    read("AWS_PROFILE", "", "profile of the shared files", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.profile); }),
    read("AWS_SHARED_CREDENTIALS_FILE", "", "shared credentials file", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.sharedCredentialsFile); }),
    read("AWS_CONFIG_FILE", "", "shared config file", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.configFile); }),
    read("AWS_WEB_IDENTITY_TOKEN_FILE", "", "web identity (EKS IRSA)", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.webIdentityTokenFile); }),
    read("AWS_ROLE_ARN", "", "web identity role", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.roleArn); }),
    read("AWS_ROLE_SESSION_NAME", "", "web identity session name", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.roleSessionName); }),
    read("AWS_CONTAINER_CREDENTIALS_FULL_URI", "", "container credentials", kPlain, kGlobal,
         [](Field& f, Config& c) { f.url(c.aws.containerCredentialsFullUri); }),
    read("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "", "container credentials (ECS)", kPlain,
         kGlobal, [](Field& f, Config& c) { f.string(c.aws.containerCredentialsRelativeUri); }),
    read("AWS_CONTAINER_AUTHORIZATION_TOKEN", "", "container credentials token", kSecret, kGlobal,
         [](Field& f, Config& c) { f.string(c.aws.containerAuthorizationToken); }),
    read("AWS_EC2_METADATA_SERVICE_ENDPOINT", "", "instance metadata (IMDSv2) endpoint", kPlain,
         kGlobal, [](Field& f, Config& c) { f.url(c.aws.metadataServiceEndpoint); }),
    read("AWS_EC2_METADATA_DISABLED", "false", "no instance metadata", kPlain, kGlobal,
         [](Field& f, Config& c) { f.boolean(c.aws.metadataDisabled); }),
    read("AWS_IAM", "false", "drone/autoscaler's switch for role credentials", kPlain, kGlobal,
         [](Field& f, Config& c) { f.boolean(c.aws.iam); }),
    read("AWS_ENDPOINT_URL_EC2", "", "EC2 endpoint override", kPlain, kGlobal,
         [](Field& f, Config& c) { f.url(c.aws.endpointEc2); }),
    read("AWS_ENDPOINT_URL_STS", "", "STS endpoint override", kPlain, kGlobal,
         [](Field& f, Config& c) { f.url(c.aws.endpointSts); }),
    read("AWS_ENDPOINT_URL_SQS", "", "SQS endpoint override (the interruption queue)", kPlain,
         kGlobal, [](Field& f, Config& c) { f.url(c.aws.endpointSqs); }),
    read("AWS_ENDPOINT_URL", "", "endpoint override of every service", kPlain, kGlobal,
         [](Field& f, Config& c) { f.url(c.aws.endpoint); }),
    // SSH and the install.
    read("DRONE_SSH_USER", "root", "user the autoscaler logs in as", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.ssh.user); }),
    read("DRONE_SSH_PORT", "22", "SSH port", kPlain, kGlobal,
         [](Field& f, Config& c) { f.integer(c.ssh.port, 1, 65535); }),
    read("DRONE_SSH_PRIVATE_KEY_FILE", "(generated)", "client key", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.ssh.privateKeyFile); }),
    read("DRONE_SSH_HOST_KEY_CHECK", "pinned", "pinned or tofu", kPlain, kGlobal,
         readHostKeyCheck),
    read("DRONE_INSTALL_CHECK_INTERVAL", "2s", "SSH reachability probe during install", kPlain,
         kGlobal, [](Field& f, Config& c) { f.duration(c.installCheckInterval, 100ms); }),
    read("DRONE_INSTALL_CHECK_DEADLINE", "10m", "past it the server goes to error", kPlain,
         kGlobal, [](Field& f, Config& c) { f.duration(c.installCheckDeadline, 1000ms); }),
    read("DRONE_TIMEOUT_STOP", "1h", "how long draining may wait for running stages", kPlain,
         kGlobal, [](Field& f, Config& c) { f.duration(c.timeoutStop, 0ms); }),
    read("DRONE_PINGER_INTERVAL", "1m", "health check of running servers", kPlain, kGlobal,
         [](Field& f, Config& c) { f.duration(c.pingerInterval, 1000ms); }),
    // Store, API, logs.
    read("DRONE_DATABASE_DRIVER", "sqlite3", "sqlite3 or postgres", kPlain, kGlobal,
         [](Field& f, Config& c) { f.oneOf(c.store.driver, {"sqlite3", "postgres"}); }),
    read("DRONE_DATABASE_DATASOURCE", "database.sqlite", "SQLite path or libpq string", kSecret,
         kGlobal, [](Field& f, Config& c) { f.string(c.store.datasource); }),
    read("DRONE_HA_ID", "(host name and pid)",
         "this daemon's identity among daemons sharing a PostgreSQL store", kPlain, kGlobal,
         [](Field& f, Config& c) { f.string(c.ha.id); }),
    read("DRONE_HTTP_PORT", ":8080", "REST API listen address, :PORT or HOST:PORT", kPlain,
         kGlobal, readHttpPort),
    read("DRONE_PROMETHEUS_AUTH_TOKEN", "", "bearer token for /metrics", kSecret, kGlobal,
         [](Field& f, Config& c) { f.string(c.api.prometheusToken); }),
    read("DRONE_UI_USERNAME", "", "user name for the status page /ui (empty: any)", kPlain,
         kGlobal, [](Field& f, Config& c) { f.string(c.api.uiUsername); }),
    read("DRONE_UI_PASSWORD", "", "password for the status page /ui; the page is off unless set",
         kSecret, kGlobal, [](Field& f, Config& c) { f.string(c.api.uiPassword); }),
    read("DRONE_LOGS_DEBUG", "false", "debug log level", kPlain, kGlobal,
         [](Field& f, Config& c) { f.boolean(c.logsDebug); }),
    read("DRONE_LOGS_TRACE", "false", "trace log level", kPlain, kGlobal,
         [](Field& f, Config& c) { f.boolean(c.logsTrace); }),
    read("DRONE_LOGS_PRETTY", "false", "human log lines instead of JSON", kPlain, kGlobal,
         [](Field& f, Config& c) { f.boolean(c.logsPretty); }),
    // drone/autoscaler's, accepted and ignored.
    ignored("DRONE_REAPER_ENABLED", "error servers are always terminated automatically"),
    ignored("DRONE_REAPER_INTERVAL", "error servers are always terminated automatically"),
    ignored("DRONE_ENABLE_REAPER", "error servers are always terminated automatically"),
    ignored("DRONE_PINGER_ENABLED", "the pinger always runs (DRONE_PINGER_INTERVAL)"),
    ignored("DRONE_ENABLE_PINGER", "the pinger always runs (DRONE_PINGER_INTERVAL)"),
    ignored("DRONE_GC_ENABLED", "drone/gc is not started; prune images with your AMI"),
    ignored("DRONE_GC_IMAGE", "drone/gc is not started"),
    ignored("DRONE_GC_DEBUG", "drone/gc is not started"),
    ignored("DRONE_GC_IGNORE_IMAGES", "drone/gc is not started"),
    ignored("DRONE_GC_INTERVAL", "drone/gc is not started"),
    ignored("DRONE_GC_CACHE", "drone/gc is not started"),
    ignored("DRONE_WATCHTOWER_ENABLED", "watchtower is not started"),
    ignored("DRONE_WATCHTOWER_SIGNAL_ENABLED", "watchtower is not started"),
    ignored("DRONE_WATCHTOWER_STOP_SIGNAL", "watchtower is not started"),
    ignored("DRONE_WATCHTOWER_IMAGE", "watchtower is not started"),
    ignored("DRONE_WATCHTOWER_INTERVAL", "watchtower is not started"),
    ignored("DRONE_WATCHTOWER_TIMEOUT", "watchtower is not started"),
    ignored("DRONE_SLACK_WEBHOOK", "Slack notifications are not supported", kSecret),
    ignored("DRONE_SLACK_CREATE", "Slack notifications are not supported"),
    ignored("DRONE_SLACK_DESTROY", "Slack notifications are not supported"),
    ignored("DRONE_SLACK_ERROR", "Slack notifications are not supported"),
    ignored("DRONE_HTTP_PROTO", "unused upstream too"),
    ignored("DRONE_HTTP_HOST", "TLS termination belongs to a reverse proxy"),
    ignored("DRONE_HTTP_ROOT", "the API is served at /"),
    ignored("DRONE_TLS_AUTOCERT", "TLS termination belongs to a reverse proxy"),
    ignored("DRONE_TLS_CERT", "TLS termination belongs to a reverse proxy"),
    ignored("DRONE_TLS_KEY", "TLS termination belongs to a reverse proxy"),
    ignored("DRONE_UI_REALM", "the status page's realm is always \"autoscaler\""),
    ignored("DRONE_DATABASE_MAX_IDLE", "not needed"),
    ignored("DRONE_DATABASE_MAX_LIFETIME", "not needed"),
    ignored("DRONE_FLAG_ALTERNATE_DESTROY", "termination always double-checks"),
};
// clang-format on

std::vector<VariableSpec> specsOf(std::span<const Variable> table) {
    std::vector<VariableSpec> specs;
    specs.reserve(table.size());
    for (const auto& v : table)
        specs.push_back(v.spec);
    return specs;
}

std::vector<std::string_view> namesRead(std::span<const Variable> table) {
    std::vector<std::string_view> names;
    for (const auto& v : table) {
        if (v.spec.use == VariableUse::Read)
            names.push_back(v.spec.name);
    }
    return names;
}

} // namespace

std::span<const Variable> variableTable() {
    return kTable;
}

} // namespace autoscale::detail

namespace autoscale {

std::span<const VariableSpec> configVariables() {
    static const std::vector<VariableSpec> specs = detail::specsOf(detail::variableTable());
    return specs;
}

const VariableSpec* findVariable(std::string_view name) {
    for (const auto& spec : configVariables()) {
        if (spec.name == name)
            return &spec;
    }
    return nullptr;
}

const std::vector<std::string_view>& knownVariables() {
    static const std::vector<std::string_view> names = detail::namesRead(detail::variableTable());
    return names;
}

bool isSecretVariable(std::string_view name) {
    const VariableSpec* spec = findVariable(name);
    return spec != nullptr && spec->secret;
}

} // namespace autoscale
