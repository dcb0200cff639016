// SPDX-License-Identifier: Apache-2.0
/// \file
/// parseConfig: every variable of SPEC §3, typed and validated, all problems
/// reported together. Pure: reads only the map it is given.

#include "autoscale/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>

namespace autoscale {

namespace {

using namespace std::chrono_literals;

/// Variables we read, in documentation order.
const std::vector<std::string_view> kKnown = {
        "DRONE_SERVER_PROTO",
        "DRONE_SERVER_HOST",
        "DRONE_SERVER_TOKEN",
        "DRONE_AGENT_TOKEN",
        "DRONE_AGENT_CONCURRENCY",
        "DRONE_AGENT_IMAGE",
        "DRONE_AGENT_OS",
        "DRONE_AGENT_ARCH",
        "DRONE_AGENT_VERSION",
        "DRONE_AGENT_KERNEL",
        "DRONE_AGENT_LABELS",
        "DRONE_AGENT_ENVIRON",
        "DRONE_AGENT_ENV_FILE",
        "DRONE_AGENT_VOLUMES",
        "DRONE_AGENT_PUBLISHED_PORTS",
        "DRONE_AGENT_NAME_PREFIX",
        "DRONE_RUNNER_VOLUMES",
        "DRONE_RUNNER_DEVICES",
        "DRONE_RUNNER_PRIVILEGED",
        "DRONE_RUNNER_ENVFILE",
        "DRONE_POOL_MIN",
        "DRONE_POOL_MAX",
        "DRONE_POOL_MIN_AGE",
        "DRONE_POOL_IDLE_TIMEOUT",
        "DRONE_POOL_LAUNCH_DELAY",
        "DRONE_CAPACITY_BUFFER",
        "DRONE_INTERVAL",
        "DRONE_AMAZON_REGION",
        "DRONE_AMAZON_IMAGE",
        "DRONE_AMAZON_INSTANCE",
        "DRONE_AMAZON_INSTANCE_ALT",
        "DRONE_AMAZON_SUBNET_ID",
        "DRONE_AMAZON_SUBNET_IDS_ALT",
        "DRONE_AMAZON_SECURITY_GROUP",
        "DRONE_AMAZON_SSHKEY",
        "DRONE_AMAZON_PRIVATE_IP",
        "DRONE_AMAZON_TAGS",
        "DRONE_AMAZON_VOLUME_SIZE",
        "DRONE_AMAZON_VOLUME_TYPE",
        "DRONE_AMAZON_VOLUME_IOPS",
        "DRONE_AMAZON_VOLUME_THROUGHPUT",
        "DRONE_AMAZON_DEVICE_NAME",
        "DRONE_AMAZON_IAM_PROFILE_ARN",
        "DRONE_AMAZON_IAM_PROFILE_NAME",
        "DRONE_AMAZON_MARKET_TYPE",
        "DRONE_AMAZON_IMDS_TOKENS",
        "DRONE_AMAZON_USERDATA",
        "DRONE_AMAZON_USERDATA_FILE",
        "DRONE_AMAZON_RETRIES",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_IAM",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL",
        "DRONE_SSH_USER",
        "DRONE_SSH_PORT",
        "DRONE_SSH_PRIVATE_KEY_FILE",
        "DRONE_SSH_HOST_KEY_CHECK",
        "DRONE_INSTALL_CHECK_INTERVAL",
        "DRONE_INSTALL_CHECK_DEADLINE",
        "DRONE_TIMEOUT_STOP",
        "DRONE_PINGER_INTERVAL",
        "DRONE_DATABASE_DRIVER",
        "DRONE_DATABASE_DATASOURCE",
        "DRONE_HTTP_PORT",
        "DRONE_PROMETHEUS_AUTH_TOKEN",
        "DRONE_UI_USERNAME",
        "DRONE_UI_PASSWORD",
        "DRONE_LOGS_DEBUG",
        "DRONE_LOGS_TRACE",
        "DRONE_LOGS_PRETTY",
};

/// drone/autoscaler variables we accept and ignore, with the reason.
const std::vector<std::pair<std::string_view, std::string_view>> kIgnored = {
        {"DRONE_REAPER_ENABLED", "error servers are always terminated automatically"},
        {"DRONE_REAPER_INTERVAL", "error servers are always terminated automatically"},
        {"DRONE_ENABLE_REAPER", "error servers are always terminated automatically"},
        {"DRONE_PINGER_ENABLED", "the pinger always runs (DRONE_PINGER_INTERVAL)"},
        {"DRONE_ENABLE_PINGER", "the pinger always runs (DRONE_PINGER_INTERVAL)"},
        {"DRONE_GC_ENABLED", "drone/gc is not started; prune images with your AMI"},
        {"DRONE_GC_IMAGE", "drone/gc is not started"},
        {"DRONE_GC_DEBUG", "drone/gc is not started"},
        {"DRONE_GC_IGNORE_IMAGES", "drone/gc is not started"},
        {"DRONE_GC_INTERVAL", "drone/gc is not started"},
        {"DRONE_GC_CACHE", "drone/gc is not started"},
        {"DRONE_WATCHTOWER_ENABLED", "watchtower is not started"},
        {"DRONE_WATCHTOWER_SIGNAL_ENABLED", "watchtower is not started"},
        {"DRONE_WATCHTOWER_STOP_SIGNAL", "watchtower is not started"},
        {"DRONE_WATCHTOWER_IMAGE", "watchtower is not started"},
        {"DRONE_WATCHTOWER_INTERVAL", "watchtower is not started"},
        {"DRONE_WATCHTOWER_TIMEOUT", "watchtower is not started"},
        {"DRONE_SLACK_WEBHOOK", "Slack notifications are not supported"},
        {"DRONE_SLACK_CREATE", "Slack notifications are not supported"},
        {"DRONE_SLACK_DESTROY", "Slack notifications are not supported"},
        {"DRONE_SLACK_ERROR", "Slack notifications are not supported"},
        {"DRONE_HTTP_PROTO", "unused upstream too"},
        {"DRONE_HTTP_HOST", "TLS termination belongs to a reverse proxy"},
        {"DRONE_HTTP_ROOT", "the API is served at /"},
        {"DRONE_TLS_AUTOCERT", "TLS termination belongs to a reverse proxy"},
        {"DRONE_TLS_CERT", "TLS termination belongs to a reverse proxy"},
        {"DRONE_TLS_KEY", "TLS termination belongs to a reverse proxy"},
        {"DRONE_UI_REALM", "the status page's realm is always \"autoscaler\""},
        {"DRONE_DATABASE_MAX_IDLE", "not needed"},
        {"DRONE_DATABASE_MAX_LIFETIME", "not needed"},
        {"DRONE_FLAG_ALTERNATE_DESTROY", "termination always double-checks"},
};

const std::set<std::string_view> kSecrets = {
        "DRONE_SERVER_TOKEN",          "DRONE_AGENT_TOKEN",     "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",           "AWS_ACCESS_KEY_ID",     "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "DRONE_PROMETHEUS_AUTH_TOKEN", "DRONE_AMAZON_USERDATA", "DRONE_UI_PASSWORD",
};

std::string trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0)
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0)
        text.remove_suffix(1);
    return std::string(text);
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Collects problems while reading variables.
class Reader {
public:
    explicit Reader(const Environment& env) : env_(env) {}

    /// The value, or nullopt when unset or empty (an empty value means unset).
    std::optional<std::string> raw(std::string_view name) const {
        const auto it = env_.find(std::string(name));
        if (it == env_.end() || it->second.empty())
            return std::nullopt;
        return it->second;
    }

    void problem(std::string_view name, const std::string& what) {
        problems_.push_back(std::string(name) + ": " + what);
    }

    /// "value "x" is not ..." or, for secrets, "the value is not ...".
    std::string quoted(std::string_view name, const std::string& value) const {
        if (isSecretVariable(name))
            return "the value";
        return "\"" + value + "\"";
    }

    void string(std::string_view name, std::string& out) {
        if (auto v = raw(name))
            out = *v;
    }

    void required(std::string_view name, std::string& out, const std::string& expected) {
        if (auto v = raw(name)) {
            out = *v;
            return;
        }
        problem(name, "is required but not set; expected " + expected);
    }

    void integer(std::string_view name, int& out, int minimum, int maximum) {
        const auto v = raw(name);
        if (!v)
            return;
        const std::string text = trim(*v);
        int value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            problem(name, quoted(name, *v) + " is not a whole number; expected an integer from " +
                                  std::to_string(minimum) + " to " + std::to_string(maximum));
            return;
        }
        if (value < minimum || value > maximum) {
            problem(name, quoted(name, *v) + " is out of range; expected an integer from " +
                                  std::to_string(minimum) + " to " + std::to_string(maximum));
            return;
        }
        out = value;
    }

    void optionalInteger(std::string_view name, std::optional<int>& out, int minimum, int maximum) {
        if (!raw(name))
            return;
        int value = minimum - 1;
        const std::size_t before = problems_.size();
        integer(name, value, minimum, maximum);
        if (problems_.size() == before)
            out = value;
    }

    template <typename Duration>
    void duration(std::string_view name, Duration& out, std::chrono::milliseconds minimum) {
        const auto v = raw(name);
        if (!v)
            return;
        const auto parsed = parseGoDuration(trim(*v));
        if (!parsed) {
            problem(name, quoted(name, *v) +
                                  " is not a duration; expected Go syntax such as 90s, 5m, "
                                  "1h30m or 500ms");
            return;
        }
        if (*parsed < minimum) {
            problem(name, quoted(name, *v) + " is too short; expected at least " +
                                  formatGoDuration(minimum));
            return;
        }
        out = std::chrono::duration_cast<Duration>(*parsed);
    }

    void boolean(std::string_view name, bool& out) {
        const auto v = raw(name);
        if (!v)
            return;
        const auto parsed = parseBool(trim(*v));
        if (!parsed) {
            problem(name, quoted(name, *v) + " is not a boolean; expected true, false, 1, 0, "
                                             "yes or no");
            return;
        }
        out = *parsed;
    }

    void list(std::string_view name, std::vector<std::string>& out) {
        if (auto v = raw(name))
            out = parseList(*v);
    }

    void map(std::string_view name, std::map<std::string, std::string>& out) {
        const auto v = raw(name);
        if (!v)
            return;
        auto parsed = parseMap(*v);
        if (!parsed) {
            problem(name, quoted(name, *v) +
                                  " is not a map; expected key:value pairs separated by commas, "
                                  "e.g. gpu:yes,zone:a");
            return;
        }
        out = std::move(*parsed);
    }

    void oneOf(std::string_view name, std::string& out, const std::vector<std::string>& allowed,
               bool lowerCase = true) {
        const auto v = raw(name);
        if (!v)
            return;
        const std::string value = lowerCase ? lower(trim(*v)) : trim(*v);
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
            std::string expected;
            for (const auto& a : allowed)
                expected += (expected.empty() ? "" : ", ") + (a.empty() ? "\"\"" : a);
            problem(name, quoted(name, *v) + " is not allowed; expected one of " + expected);
            return;
        }
        out = value;
    }

    std::vector<std::string> takeProblems() { return std::move(problems_); }

private:
    const Environment& env_;
    std::vector<std::string> problems_;
};

void parseHttpPort(Reader& r, Config& c) {
    const auto v = r.raw("DRONE_HTTP_PORT");
    if (!v)
        return;
    const std::string text = trim(*v);
    const auto colon = text.rfind(':');
    std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
    const std::string portText = colon == std::string::npos ? text : text.substr(colon + 1);
    int port = 0;
    const auto [end, ec] =
            std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc{} || end != portText.data() + portText.size() || port < 0 || port > 65535) {
        r.problem("DRONE_HTTP_PORT", "\"" + *v +
                                             "\" is not a listen address; expected :PORT or "
                                             "HOST:PORT with a port from 0 to 65535");
        return;
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    c.httpAddress = host.empty() ? "0.0.0.0" : host;
    c.httpPort = port;
}

void parseServerHost(Reader& r, Config& c, bool required) {
    if (required)
        r.required("DRONE_SERVER_HOST", c.drone.host, "the Drone server's host[:port]");
    else
        r.string("DRONE_SERVER_HOST", c.drone.host);
    std::string& host = c.drone.host;
    if (host.starts_with("http://") || host.starts_with("https://")) {
        r.problem("DRONE_SERVER_HOST",
                  "\"" + host +
                          "\" includes a scheme; expected host[:port] only, with the scheme in "
                          "DRONE_SERVER_PROTO");
        return;
    }
    while (!host.empty() && host.back() == '/')
        host.pop_back();
}

} // namespace

bool AwsEnvironment::configured() const {
    return iam || !accessKeyId.empty() || !profile.empty() || !webIdentityTokenFile.empty() ||
           !containerCredentialsFullUri.empty() || !containerCredentialsRelativeUri.empty() ||
           !metadataServiceEndpoint.empty();
}

const std::vector<std::string_view>& knownVariables() {
    return kKnown;
}

bool isSecretVariable(std::string_view name) {
    return kSecrets.contains(name);
}

std::optional<std::chrono::milliseconds> parseGoDuration(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    if (text.front() == '+')
        text.remove_prefix(1);
    if (text == "0")
        return std::chrono::milliseconds{0};
    if (text.empty())
        return std::nullopt;
    long double totalNs = 0;
    while (!text.empty()) {
        std::size_t i = 0;
        long double value = 0;
        bool digits = false;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
            value = value * 10 + (text[i] - '0');
            digits = true;
            ++i;
        }
        if (i < text.size() && text[i] == '.') {
            ++i;
            long double scale = 0.1L;
            while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
                value += scale * (text[i] - '0');
                scale /= 10;
                digits = true;
                ++i;
            }
        }
        if (!digits)
            return std::nullopt;
        text.remove_prefix(i);
        std::size_t u = 0;
        while (u < text.size() && std::isdigit(static_cast<unsigned char>(text[u])) == 0 &&
               text[u] != '.')
            ++u;
        const std::string_view unit = text.substr(0, u);
        long double ns = 0;
        if (unit == "ns")
            ns = 1;
        else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
            ns = 1e3L;
        else if (unit == "ms")
            ns = 1e6L;
        else if (unit == "s")
            ns = 1e9L;
        else if (unit == "m")
            ns = 60e9L;
        else if (unit == "h")
            ns = 3600e9L;
        else
            return std::nullopt;
        totalNs += value * ns;
        text.remove_prefix(u);
    }
    const long double ms = totalNs / 1e6L;
    if (ms > static_cast<long double>(std::numeric_limits<std::int64_t>::max() / 2))
        return std::nullopt;
    return std::chrono::milliseconds{static_cast<std::int64_t>(ms)};
}

std::string formatGoDuration(std::chrono::milliseconds duration) {
    auto ms = duration.count();
    if (ms == 0)
        return "0s";
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    if (ms < 1000)
        return out + std::to_string(ms) + "ms";
    const auto h = ms / 3'600'000;
    const auto m = (ms / 60'000) % 60;
    const auto s = (ms / 1000) % 60;
    const auto rest = ms % 1000;
    if (h > 0)
        out += std::to_string(h) + "h";
    if (h > 0 || m > 0)
        out += std::to_string(m) + "m";
    out += std::to_string(s);
    if (rest > 0) {
        std::string frac = std::to_string(rest + 1000).substr(1);
        while (!frac.empty() && frac.back() == '0')
            frac.pop_back();
        out += "." + frac;
    }
    return out + "s";
}

std::optional<bool> parseBool(std::string_view text) {
    const std::string v = lower(text);
    if (v == "true" || v == "1" || v == "yes" || v == "t" || v == "on")
        return true;
    if (v == "false" || v == "0" || v == "no" || v == "f" || v == "off")
        return false;
    return std::nullopt;
}

std::vector<std::string> parseList(std::string_view text) {
    std::vector<std::string> out;
    while (true) {
        const auto comma = text.find(',');
        std::string item = trim(text.substr(0, comma));
        if (!item.empty())
            out.push_back(std::move(item));
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

std::optional<std::map<std::string, std::string>> parseMap(std::string_view text) {
    std::map<std::string, std::string> out;
    for (const auto& item : parseList(text)) {
        const auto colon = item.find(':');
        if (colon == std::string::npos)
            return std::nullopt;
        std::string key = trim(std::string_view(item).substr(0, colon));
        if (key.empty())
            return std::nullopt;
        out[std::move(key)] = trim(std::string_view(item).substr(colon + 1));
    }
    return out;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min(
                    {row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

Result<Config> parseConfig(const Environment& env, ConfigNeeds needs) {
    Config c;
    Reader r(env);

    // Drone server.
    if (needs.drone) {
        r.required("DRONE_SERVER_PROTO", c.drone.proto, "http or https");
        r.required("DRONE_SERVER_TOKEN", c.drone.token, "a Drone admin token");
    } else {
        r.string("DRONE_SERVER_PROTO", c.drone.proto);
        r.string("DRONE_SERVER_TOKEN", c.drone.token);
    }
    if (!c.drone.proto.empty()) {
        const std::string proto = lower(trim(c.drone.proto));
        if (proto != "http" && proto != "https")
            r.problem("DRONE_SERVER_PROTO",
                      "\"" + c.drone.proto + "\" is not allowed; expected http or https");
        c.drone.proto = proto;
    }
    parseServerHost(r, c, needs.drone);

    // Agent.
    if (needs.agent)
        r.required("DRONE_AGENT_TOKEN", c.agent.token, "the RPC secret the runners use");
    else
        r.string("DRONE_AGENT_TOKEN", c.agent.token);
    r.integer("DRONE_AGENT_CONCURRENCY", c.pool.concurrency, 1, 1000);
    r.string("DRONE_AGENT_IMAGE", c.agent.image);
    r.string("DRONE_AGENT_OS", c.pool.os);
    r.string("DRONE_AGENT_ARCH", c.pool.arch);
    r.string("DRONE_AGENT_VERSION", c.pool.variant);
    r.string("DRONE_AGENT_KERNEL", c.pool.kernel);
    r.map("DRONE_AGENT_LABELS", c.pool.labels);
    r.list("DRONE_AGENT_ENVIRON", c.agent.environ);
    for (auto& item : c.agent.environ) {
        if (item.find('=') != std::string::npos)
            continue;
        const auto it = env.find(item);
        item += "=" + (it == env.end() ? std::string() : it->second);
    }
    r.string("DRONE_AGENT_ENV_FILE", c.agent.envFile);
    r.list("DRONE_AGENT_VOLUMES", c.agent.volumes);
    for (const auto& volume : c.agent.volumes) {
        if (volume.find(':') == std::string::npos)
            r.problem("DRONE_AGENT_VOLUMES",
                      "\"" + volume + "\" is not a bind; expected /host/path:/container/path");
    }
    r.list("DRONE_AGENT_PUBLISHED_PORTS", c.agent.publishedPorts);
    r.string("DRONE_AGENT_NAME_PREFIX", c.agent.namePrefix);
    r.string("DRONE_RUNNER_VOLUMES", c.agent.runnerVolumes);
    r.string("DRONE_RUNNER_DEVICES", c.agent.runnerDevices);
    r.string("DRONE_RUNNER_PRIVILEGED", c.agent.runnerPrivileged);
    r.string("DRONE_RUNNER_ENVFILE", c.agent.runnerEnvFile);

    // Pool.
    r.integer("DRONE_POOL_MIN", c.pool.min, 0, 10000);
    r.integer("DRONE_POOL_MAX", c.pool.max, 0, 10000);
    if (c.pool.min > c.pool.max) {
        r.problem("DRONE_POOL_MIN", std::to_string(c.pool.min) +
                                            " is greater than DRONE_POOL_MAX (" +
                                            std::to_string(c.pool.max) +
                                            "); expected DRONE_POOL_MIN <= DRONE_POOL_MAX");
    }
    r.duration("DRONE_POOL_MIN_AGE", c.pool.minAge, 0ms);
    r.duration("DRONE_POOL_IDLE_TIMEOUT", c.pool.idleTimeout, 0ms);
    r.duration("DRONE_POOL_LAUNCH_DELAY", c.pool.launchDelay, 0ms);
    r.integer("DRONE_CAPACITY_BUFFER", c.pool.buffer, 0, 100000);
    r.duration("DRONE_INTERVAL", c.interval, 100ms);

    // Amazon.
    r.string("DRONE_AMAZON_REGION", c.amazon.region);
    if (needs.amazon)
        r.required("DRONE_AMAZON_IMAGE", c.amazon.image, "an AMI id such as ami-0123456789abcdef0");
    else
        r.string("DRONE_AMAZON_IMAGE", c.amazon.image);
    if (!c.amazon.image.empty() && !c.amazon.image.starts_with("ami-"))
        r.problem("DRONE_AMAZON_IMAGE",
                  "\"" + c.amazon.image + "\" is not an AMI id; expected ami-...");
    r.string("DRONE_AMAZON_INSTANCE", c.amazon.instanceType);
    r.list("DRONE_AMAZON_INSTANCE_ALT", c.amazon.instanceTypesAlt);
    r.string("DRONE_AMAZON_SUBNET_ID", c.amazon.subnetId);
    r.list("DRONE_AMAZON_SUBNET_IDS_ALT", c.amazon.subnetIdsAlt);
    r.list("DRONE_AMAZON_SECURITY_GROUP", c.amazon.securityGroups);
    for (const auto& group : c.amazon.securityGroups) {
        if (!group.starts_with("sg-"))
            r.problem("DRONE_AMAZON_SECURITY_GROUP",
                      "\"" + group + "\" is not a security-group id; expected sg-...");
    }
    r.string("DRONE_AMAZON_SSHKEY", c.amazon.sshKey);
    r.boolean("DRONE_AMAZON_PRIVATE_IP", c.amazon.privateIp);
    r.map("DRONE_AMAZON_TAGS", c.amazon.tags);
    r.integer("DRONE_AMAZON_VOLUME_SIZE", c.amazon.volumeSize, 1, 65536);
    r.oneOf("DRONE_AMAZON_VOLUME_TYPE", c.amazon.volumeType,
            {"gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"});
    r.optionalInteger("DRONE_AMAZON_VOLUME_IOPS", c.amazon.volumeIops, 100, 256000);
    r.optionalInteger("DRONE_AMAZON_VOLUME_THROUGHPUT", c.amazon.volumeThroughput, 125, 2000);
    r.string("DRONE_AMAZON_DEVICE_NAME", c.amazon.deviceName);
    r.string("DRONE_AMAZON_IAM_PROFILE_ARN", c.amazon.iamProfileArn);
    r.string("DRONE_AMAZON_IAM_PROFILE_NAME", c.amazon.iamProfileName);
    if (!c.amazon.iamProfileArn.empty() && !c.amazon.iamProfileName.empty())
        r.problem("DRONE_AMAZON_IAM_PROFILE_NAME",
                  "is set together with DRONE_AMAZON_IAM_PROFILE_ARN; expected only one of them");
    r.oneOf("DRONE_AMAZON_MARKET_TYPE", c.amazon.marketType, {"", "spot"});
    r.oneOf("DRONE_AMAZON_IMDS_TOKENS", c.amazon.imdsTokens, {"required", "optional"});
    r.string("DRONE_AMAZON_USERDATA", c.amazon.userData);
    r.string("DRONE_AMAZON_USERDATA_FILE", c.amazon.userDataFile);
    if (!c.amazon.userData.empty() && !c.amazon.userDataFile.empty())
        r.problem("DRONE_AMAZON_USERDATA_FILE",
                  "is set together with DRONE_AMAZON_USERDATA; expected only one of them");
    r.integer("DRONE_AMAZON_RETRIES", c.amazon.retries, 1, 20);

    // AWS standard environment.
    r.string("AWS_ACCESS_KEY_ID", c.aws.accessKeyId);
    r.string("AWS_SECRET_ACCESS_KEY", c.aws.secretAccessKey);
    r.string("AWS_SESSION_TOKEN", c.aws.sessionToken);
    if (!c.aws.accessKeyId.empty() && c.aws.secretAccessKey.empty())
        r.problem("AWS_SECRET_ACCESS_KEY",
                  "is not set but AWS_ACCESS_KEY_ID is; expected both or neither");
    if (c.aws.accessKeyId.empty() && !c.aws.secretAccessKey.empty())
        r.problem("AWS_ACCESS_KEY_ID",
                  "is not set but AWS_SECRET_ACCESS_KEY is; expected both or neither");
    r.string("AWS_PROFILE", c.aws.profile);
    r.string("AWS_SHARED_CREDENTIALS_FILE", c.aws.sharedCredentialsFile);
    r.string("AWS_CONFIG_FILE", c.aws.configFile);
    r.string("AWS_WEB_IDENTITY_TOKEN_FILE", c.aws.webIdentityTokenFile);
    r.string("AWS_ROLE_ARN", c.aws.roleArn);
    r.string("AWS_ROLE_SESSION_NAME", c.aws.roleSessionName);
    r.string("AWS_CONTAINER_CREDENTIALS_FULL_URI", c.aws.containerCredentialsFullUri);
    r.string("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", c.aws.containerCredentialsRelativeUri);
    r.string("AWS_CONTAINER_AUTHORIZATION_TOKEN", c.aws.containerAuthorizationToken);
    r.string("AWS_EC2_METADATA_SERVICE_ENDPOINT", c.aws.metadataServiceEndpoint);
    r.boolean("AWS_EC2_METADATA_DISABLED", c.aws.metadataDisabled);
    r.boolean("AWS_IAM", c.aws.iam);
    r.string("AWS_ENDPOINT_URL_EC2", c.aws.endpointEc2);
    r.string("AWS_ENDPOINT_URL_STS", c.aws.endpointSts);
    r.string("AWS_ENDPOINT_URL", c.aws.endpoint);
    for (const char* name :
         {"AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
          "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_CONTAINER_CREDENTIALS_FULL_URI"}) {
        const auto v = r.raw(name);
        if (v && !v->starts_with("http://") && !v->starts_with("https://"))
            r.problem(name, "\"" + *v + "\" is not a URL; expected http://... or https://...");
    }
    if (const auto home = r.raw("HOME"))
        c.aws.home = *home;

    // SSH and install.
    r.string("DRONE_SSH_USER", c.ssh.user);
    r.integer("DRONE_SSH_PORT", c.ssh.port, 1, 65535);
    r.string("DRONE_SSH_PRIVATE_KEY_FILE", c.ssh.privateKeyFile);
    std::string hostKeyCheck = "pinned";
    r.oneOf("DRONE_SSH_HOST_KEY_CHECK", hostKeyCheck, {"pinned", "tofu"});
    c.ssh.hostKeyCheck = hostKeyCheck == "tofu" ? HostKeyCheck::Tofu : HostKeyCheck::Pinned;
    r.duration("DRONE_INSTALL_CHECK_INTERVAL", c.installCheckInterval, 100ms);
    r.duration("DRONE_INSTALL_CHECK_DEADLINE", c.installCheckDeadline, 1000ms);
    r.duration("DRONE_TIMEOUT_STOP", c.timeoutStop, 0ms);
    r.duration("DRONE_PINGER_INTERVAL", c.pingerInterval, 1000ms);

    // Database, HTTP, logs.
    r.oneOf("DRONE_DATABASE_DRIVER", c.databaseDriver, {"sqlite3", "postgres"});
    r.string("DRONE_DATABASE_DATASOURCE", c.databaseDatasource);
    parseHttpPort(r, c);
    r.string("DRONE_PROMETHEUS_AUTH_TOKEN", c.prometheusToken);
    r.string("DRONE_UI_USERNAME", c.uiUsername);
    r.string("DRONE_UI_PASSWORD", c.uiPassword);
    r.boolean("DRONE_LOGS_DEBUG", c.logsDebug);
    r.boolean("DRONE_LOGS_TRACE", c.logsTrace);
    r.boolean("DRONE_LOGS_PRETTY", c.logsPretty);

    // Unknown and ignored DRONE_* variables.
    for (const auto& [name, value] : env) {
        if (!name.starts_with("DRONE_"))
            continue;
        if (std::find(kKnown.begin(), kKnown.end(), name) != kKnown.end())
            continue;
        // Clang 14 cannot capture a structured binding: capture a reference to it.
        const auto ignored = std::find_if(kIgnored.begin(), kIgnored.end(),
                                          [&key = name](const auto& p) { return p.first == key; });
        if (ignored != kIgnored.end()) {
            c.warnings.push_back(name +
                                 ": accepted for compatibility with drone/autoscaler "
                                 "and ignored (" +
                                 std::string(ignored->second) + ")");
            continue;
        }
        std::string_view best;
        std::size_t bestDistance = std::numeric_limits<std::size_t>::max();
        for (const auto known : kKnown) {
            if (!known.starts_with("DRONE_"))
                continue;
            const std::size_t d = editDistance(name, known);
            if (d < bestDistance) {
                bestDistance = d;
                best = known;
            }
        }
        c.warnings.push_back(name + ": unknown variable, ignored; did you mean " +
                             std::string(best) + "?");
    }

    auto problems = r.takeProblems();
    if (!problems.empty()) {
        std::string message;
        for (const auto& p : problems)
            message += (message.empty() ? "" : "\n") + p;
        for (const auto& w : c.warnings)
            message += "\nwarning: " + w;
        return makeError(Errc::InvalidArgument, std::move(message));
    }
    return c;
}

} // namespace autoscale
