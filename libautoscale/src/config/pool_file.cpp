// SPDX-License-Identifier: Apache-2.0
/// \file
/// The pool file (SPEC §3): several pools in one YAML file, read with
/// yaml-cpp. Each key of a pool is read by the reader of the DRONE_* variable
/// it defaults from (variables.cpp), given a one-variable environment holding
/// the key's value in the variable's syntax, so a value is checked the same
/// way in both places; every problem becomes a line naming the file, the line
/// and the key. yaml-cpp throws: its exceptions are caught here and never
/// leave this file.

#include "pool_file.h"

#include <algorithm>
#include <array>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "core/files.h"
#include "field.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace autoscale::detail {

namespace {

using K = PoolKeyKind;

/// A pool key whose empty value is a problem.
constexpr PoolKey key(std::string_view path, PoolKeyKind kind, std::string_view variable = {}) {
    return {.path = path, .kind = kind, .variable = variable};
}

/// A pool key whose empty value ("", [] or {}) empties the field.
constexpr PoolKey clearable(std::string_view path, PoolKeyKind kind, std::string_view variable,
                            ClearField clear) {
    return {.path = path, .kind = kind, .variable = variable, .clear = clear};
}

// clang-format off
constexpr std::array kPoolKeys = {
    key("name", K::Name),
    key("platform", K::Section),
    key("platform.os", K::Scalar, "DRONE_AGENT_OS"),
    key("platform.arch", K::Scalar, "DRONE_AGENT_ARCH"),
    clearable("platform.variant", K::Scalar, "DRONE_AGENT_VERSION",
              [](Config& c) { c.pool.variant.clear(); }),
    clearable("platform.kernel", K::Scalar, "DRONE_AGENT_KERNEL",
              [](Config& c) { c.pool.kernel.clear(); }),
    clearable("labels", K::Map, "DRONE_AGENT_LABELS", [](Config& c) { c.pool.labels.clear(); }),
    key("min", K::Scalar, "DRONE_POOL_MIN"),
    key("max", K::Scalar, "DRONE_POOL_MAX"),
    key("concurrency", K::Scalar, "DRONE_AGENT_CONCURRENCY"),
    key("idle_timeout", K::Scalar, "DRONE_POOL_IDLE_TIMEOUT"),
    key("min_age", K::Scalar, "DRONE_POOL_MIN_AGE"),
    key("buffer", K::Scalar, "DRONE_CAPACITY_BUFFER"),
    key("launch_delay", K::Scalar, "DRONE_POOL_LAUNCH_DELAY"),
    key("name_prefix", K::Scalar, "DRONE_AGENT_NAME_PREFIX"),
    key("market", K::Market, "DRONE_AMAZON_MARKET_TYPE"),
    key("spot_fallback", K::Scalar, "DRONE_AMAZON_SPOT_FALLBACK"),
    key("on_demand_max", K::OnDemandMax),
    key("amazon", K::Section),
    key("amazon.region", K::Scalar, "DRONE_AMAZON_REGION"),
    key("amazon.image", K::Scalar, "DRONE_AMAZON_IMAGE"),
    PoolKey{.path = "amazon.instance_types", .kind = K::FirstAndRest,
            .variable = "DRONE_AMAZON_INSTANCE", .restVariable = "DRONE_AMAZON_INSTANCE_ALT",
            .clearRest = [](Config& c) { c.amazon.instanceTypesAlt.clear(); }},
    PoolKey{.path = "amazon.subnets", .kind = K::FirstAndRest,
            .variable = "DRONE_AMAZON_SUBNET_ID", .restVariable = "DRONE_AMAZON_SUBNET_IDS_ALT",
            .clear = [](Config& c) { c.amazon.subnetId.clear(); c.amazon.subnetIdsAlt.clear(); },
            .clearRest = [](Config& c) { c.amazon.subnetIdsAlt.clear(); }},
    clearable("amazon.security_groups", K::List, "DRONE_AMAZON_SECURITY_GROUP",
              [](Config& c) { c.amazon.securityGroups.clear(); }),
    clearable("amazon.ssh_key", K::Scalar, "DRONE_AMAZON_SSHKEY",
              [](Config& c) { c.amazon.sshKey.clear(); }),
    key("amazon.private_ip", K::Scalar, "DRONE_AMAZON_PRIVATE_IP"),
    clearable("amazon.tags", K::Map, "DRONE_AMAZON_TAGS", [](Config& c) { c.amazon.tags.clear(); }),
    key("amazon.volume", K::Section),
    key("amazon.volume.size", K::Scalar, "DRONE_AMAZON_VOLUME_SIZE"),
    key("amazon.volume.type", K::Scalar, "DRONE_AMAZON_VOLUME_TYPE"),
    clearable("amazon.volume.iops", K::Scalar, "DRONE_AMAZON_VOLUME_IOPS",
              [](Config& c) { c.amazon.volumeIops.reset(); }),
    clearable("amazon.volume.throughput", K::Scalar, "DRONE_AMAZON_VOLUME_THROUGHPUT",
              [](Config& c) { c.amazon.volumeThroughput.reset(); }),
    key("amazon.volume.device", K::Scalar, "DRONE_AMAZON_DEVICE_NAME"),
    clearable("amazon.iam_profile_arn", K::Scalar, "DRONE_AMAZON_IAM_PROFILE_ARN",
              [](Config& c) { c.amazon.iamProfileArn.clear(); }),
    clearable("amazon.iam_profile_name", K::Scalar, "DRONE_AMAZON_IAM_PROFILE_NAME",
              [](Config& c) { c.amazon.iamProfileName.clear(); }),
    key("amazon.imds_tokens", K::Scalar, "DRONE_AMAZON_IMDS_TOKENS"),
    clearable("amazon.user_data", K::Scalar, "DRONE_AMAZON_USERDATA",
              [](Config& c) { c.amazon.userData.clear(); }),
    clearable("amazon.user_data_file", K::Scalar, "DRONE_AMAZON_USERDATA_FILE",
              [](Config& c) { c.amazon.userDataFile.clear(); }),
    key("runner", K::Section),
    key("runner.image", K::Scalar, "DRONE_AGENT_IMAGE"),
    clearable("runner.environ", K::List, "DRONE_AGENT_ENVIRON",
              [](Config& c) { c.agent.environ.clear(); }),
    clearable("runner.env_file", K::Scalar, "DRONE_AGENT_ENV_FILE",
              [](Config& c) { c.agent.envFile.clear(); }),
    clearable("runner.volumes", K::List, "DRONE_AGENT_VOLUMES",
              [](Config& c) { c.agent.volumes.clear(); }),
    clearable("runner.published_ports", K::List, "DRONE_AGENT_PUBLISHED_PORTS",
              [](Config& c) { c.agent.publishedPorts.clear(); }),
};
// clang-format on

/// The keys of the file itself.
constexpr std::array<std::string_view, 3> kTopKeys = {"version", "max", "pools"};

/// Upper bounds of whole numbers without a variable (as DRONE_POOL_MAX's).
constexpr int kMaxServers = 10000;

/// A pool file larger than this is refused unread.
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;

const PoolKey* findKey(std::string_view path) {
    for (const auto& k : kPoolKeys) {
        if (k.path == path)
            return &k;
    }
    return nullptr;
}

const Variable* findReader(std::string_view name) {
    for (const auto& v : variableTable()) {
        if (v.spec.name == name && v.bind != nullptr)
            return &v;
    }
    return nullptr;
}

/// The keys directly under `prefix` ("" for a pool, "amazon." ...).
std::vector<std::string_view> keysUnder(std::string_view prefix) {
    std::vector<std::string_view> names;
    for (const auto& k : kPoolKeys) {
        if (!k.path.starts_with(prefix))
            continue;
        const std::string_view rest = k.path.substr(prefix.size());
        if (rest.find('.') == std::string_view::npos)
            names.push_back(rest);
    }
    return names;
}

/// The 1-based line of a node, 0 when it has none.
int lineOf(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
}

/// "a map", "a list", "a value", "nothing": what a node is, for messages.
std::string kindOf(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map:
        return "a map";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Scalar:
        return "a single value";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        return "nothing";
    }
    return "nothing";
}

bool validPoolName(std::string_view name) {
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    });
}

/// `text` with control characters escaped (\n, \t, \xNN), so that a value
/// quoted in a problem cannot break it over lines.
std::string oneLine(std::string_view text) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        if (ch == '\n') {
            out += "\\n";
        } else if (ch == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += kHex[static_cast<std::size_t>(byte >> 4)];
            out += kHex[static_cast<std::size_t>(byte & 0xf)];
        } else {
            out += ch;
        }
    }
    return out;
}

/// Ignores every parser event but a document's start, whose mark it keeps.
class DocumentStarts final : public YAML::EventHandler {
public:
    // NOLINTBEGIN(readability-identifier-naming): yaml-cpp's EventHandler names these.
    void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
    void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
    void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  const std::string& /*value*/) override {}
    void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                         YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                    YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
    void OnMapEnd() override {}
    // NOLINTEND(readability-identifier-naming)

    YAML::Mark last{};
};

/// Where a second document starts, or nullopt when `text` holds at most one.
/// Documents are counted with a bound, not with YAML::LoadAll: yaml-cpp 0.7's
/// LoadAll never returns on some malformed input, such as a lone ","
/// (jbeder/yaml-cpp#1040, fixed after 0.8 by pull request #1319).
std::optional<YAML::Mark> secondDocument(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts events;
    if (!parser.HandleNextDocument(events) || !parser.HandleNextDocument(events))
        return std::nullopt;
    return events.last;
}

/// One problem: the line it is on (0: none) and its text.
struct Problem {
    int line = 0;
    std::string text{};
};

/// One pool being read: its settings (in a Config, as the readers write them)
/// and what the checks across keys need.
struct PoolRead {
    Config config{};
    std::string label{}; ///< "pools[2]".
    int line = 0;        ///< The line of its first key.
    std::string name{};
    std::map<std::string, int, std::less<>> lines{}; ///< Key path → its line, for keys given.
    std::vector<std::string> bad{};                  ///< Key paths with a problem.

    [[nodiscard]] bool has(std::string_view path) const { return lines.contains(path); }
    [[nodiscard]] bool isBad(std::string_view path) const {
        return std::find(bad.begin(), bad.end(), path) != bad.end();
    }
    [[nodiscard]] int lineOfKey(std::string_view path) const {
        const auto it = lines.find(path);
        return it == lines.end() ? line : it->second;
    }
};

/// Reads one pool file; every problem is kept, in the order found.
class Reader {
public:
    /// Borrows everything.
    Reader(const std::string& path, const ConfigNeeds& needs, const Environment& env)
        : path_(path)
        , needs_(needs)
        , env_(env) {}

    /// Reads the file's text; on success (no problem) `config` gets its pools.
    void read(std::string_view text, Config& config);

    [[nodiscard]] const std::vector<Problem>& problems() const { return problems_; }

private:
    void add(int line, std::string_view key, const std::string& what);
    void readRoot(const YAML::Node& root, Config& config);
    void readPools(const YAML::Node& pools, int keyLine, const Config& base,
                   std::vector<PoolRead>& out);
    void readPool(const YAML::Node& node, PoolRead& pool);
    void readSection(const YAML::Node& map, const std::string& prefix, PoolRead& pool);
    void readKey(const PoolKey& info, const YAML::Node& keyNode, const YAML::Node& value,
                 PoolRead& pool);
    void checkPool(PoolRead& pool);
    std::optional<std::vector<std::string>> listItems(const YAML::Node& value,
                                                      const std::string& label, int line);
    std::optional<std::string> mapText(const YAML::Node& value, const std::string& label, int line);
    /// Runs `variable`'s reader on `value`; false when it found a problem.
    bool runReader(std::string_view variable, const std::string& value, Config& config, int line,
                   const std::string& label, Environment oneVariable = {});
    /// A whole number from `minimum` to `maximum` for a key without a variable.
    void readWholeNumber(std::string_view name, const std::string& value, std::optional<int>& out,
                         int minimum, int maximum, int line, const std::string& label);

    const std::string& path_;
    const ConfigNeeds& needs_;
    const Environment& env_;
    std::vector<Problem> problems_;
};

void Reader::add(int line, std::string_view key, const std::string& what) {
    std::string text = path_;
    if (line > 0)
        text += ":" + std::to_string(line);
    text += ": ";
    if (!key.empty())
        text += std::string(key) + ": ";
    problems_.push_back({.line = line, .text = text + what});
}

void Reader::read(std::string_view text, Config& config) {
    if (text.size() > kMaxFileBytes) {
        add(0, {}, "is larger than 1 MiB; expected a pool file");
        return;
    }
    try {
        const std::string owned(text);
        const YAML::Node root = YAML::Load(owned);
        if (!root.IsDefined() || root.IsNull()) {
            add(0, {},
                "is empty; expected `version: 1` and a list `pools` (see README, \"Pools\")");
            return;
        }
        if (const auto second = secondDocument(owned)) {
            add(second->is_null() ? 0 : second->line + 1, {},
                "holds more than one YAML document; expected one");
            return;
        }
        readRoot(root, config);
    } catch (const YAML::Exception& e) {
        const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
        const std::string where = e.mark.is_null() ? "" : ":" + std::to_string(e.mark.column + 1);
        // e.msg is yaml-cpp's description: at most one character of the text is quoted.
        problems_.push_back({.line = line,
                             .text = path_ + (line > 0 ? ":" + std::to_string(line) : "") + where +
                                     ": not valid YAML: " + e.msg});
    } catch (const std::exception& e) {
        add(0, {}, std::string("cannot be read: ") + e.what());
    }
}

void Reader::readRoot(const YAML::Node& root, Config& config) {
    if (!root.IsMap()) {
        add(lineOf(root), {},
            "is " + kindOf(root) + "; expected a map with the keys version, max and pools");
        return;
    }
    std::map<std::string, int, std::less<>> seen;
    std::optional<YAML::Node> version;
    std::optional<YAML::Node> pools;
    std::optional<int> fleetMax;
    int versionLine = 0;
    int poolsLine = 0;
    int maxLine = 0;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const YAML::Node keyNode = it->first;
        const YAML::Node value = it->second;
        const int line = lineOf(keyNode);
        if (!keyNode.IsScalar()) {
            add(line, {}, "a key is " + kindOf(keyNode) + "; expected version, max or pools");
            continue;
        }
        const std::string& name = keyNode.Scalar();
        if (const auto [at, fresh] = seen.emplace(name, line); !fresh) {
            add(line, name,
                "is set twice (first on line " + std::to_string(at->second) +
                        "); expected each key once");
            continue;
        }
        if (name == "version") {
            version = value;
            versionLine = line;
        } else if (name == "pools") {
            pools = value;
            poolsLine = line;
        } else if (name == "max") {
            maxLine = line;
            if (value.IsNull())
                continue;
            if (!value.IsScalar()) {
                add(line, "max", "is " + kindOf(value) + "; expected a whole number");
                continue;
            }
            readWholeNumber("max", value.Scalar(), fleetMax, 1, kMaxServers, line, "max");
        } else {
            add(line, name,
                "unknown key; did you mean " + std::string(closestName(name, kTopKeys)) + "?");
        }
    }

    if (!version) {
        add(lineOf(root), "version", "is required; expected version: 1");
    } else if (!version->IsScalar() || version->Scalar() != "1") {
        add(versionLine, "version",
            version->IsScalar() ? "\"" + version->Scalar() + "\" is not supported; expected 1"
                                : "is " + kindOf(*version) + "; expected 1");
    }

    std::vector<PoolRead> read;
    if (!pools || pools->IsNull()) {
        add(pools ? poolsLine : lineOf(root), "pools",
            "is required; expected a list of pools, each with at least a name");
    } else {
        readPools(*pools, poolsLine, config, read);
    }

    // A min with a problem keeps the environment's: no sum to judge then.
    const bool minsRead = std::none_of(read.begin(), read.end(),
                                       [](const PoolRead& pool) { return pool.isBad("min"); });
    if (fleetMax && minsRead) {
        int sum = 0;
        for (const auto& pool : read)
            sum += pool.config.pool.min;
        if (sum > *fleetMax) {
            add(maxLine, "max",
                std::to_string(*fleetMax) + " is less than the pools' min added up (" +
                        std::to_string(sum) + "); expected at least that");
        }
    }
    if (!problems_.empty())
        return;
    config.pools.clear();
    for (auto& pool : read) {
        config.pools.push_back(PoolConfig{.pool = std::move(pool.config.pool),
                                          .agent = std::move(pool.config.agent),
                                          .amazon = std::move(pool.config.amazon)});
    }
    config.fleetMax = fleetMax;
}

void Reader::readPools(const YAML::Node& pools, int keyLine, const Config& base,
                       std::vector<PoolRead>& out) {
    if (!pools.IsSequence()) {
        add(keyLine, "pools", "is " + kindOf(pools) + "; expected a list of pools");
        return;
    }
    if (pools.size() == 0) {
        add(keyLine, "pools", "is empty; expected at least one pool");
        return;
    }
    std::map<std::string, std::pair<std::string, int>, std::less<>> names; // name → (label, line)
    std::size_t index = 0;
    for (const YAML::Node& node : pools) {
        PoolRead pool;
        pool.config.pool = base.pool;
        pool.config.agent = base.agent;
        pool.config.amazon = base.amazon;
        pool.label = "pools[" + std::to_string(index++) + "]";
        pool.line = lineOf(node);
        if (!node.IsMap()) {
            add(pool.line, pool.label,
                "is " + kindOf(node) + "; expected a map of keys such as name, platform, max");
            continue;
        }
        readPool(node, pool);
        if (!pool.name.empty()) {
            const int line = pool.lineOfKey("name");
            const auto [at, fresh] = names.try_emplace(pool.name, pool.label, line);
            if (!fresh) {
                add(line, pool.label + ".name",
                    "\"" + pool.name + "\" is also the name of " + at->second.first + " (line " +
                            std::to_string(at->second.second) + "); expected unique names");
            }
        }
        out.push_back(std::move(pool));
    }
}

void Reader::readPool(const YAML::Node& node, PoolRead& pool) {
    readSection(node, "", pool);
    checkPool(pool);
}

void Reader::readSection(const YAML::Node& map, const std::string& prefix, PoolRead& pool) {
    std::map<std::string, int, std::less<>> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node keyNode = it->first;
        const YAML::Node value = it->second;
        const int line = lineOf(keyNode);
        if (!keyNode.IsScalar()) {
            const auto names = keysUnder(prefix);
            add(line,
                pool.label + (prefix.empty() ? "" : "." + prefix.substr(0, prefix.size() - 1)),
                "a key is " + kindOf(keyNode) + "; expected a name such as " +
                        std::string(names.front()));
            continue;
        }
        const std::string path = prefix + keyNode.Scalar();
        const std::string label = pool.label + "." + path;
        if (const auto [at, fresh] = seen.emplace(path, line); !fresh) {
            add(line, label,
                "is set twice (first on line " + std::to_string(at->second) +
                        "); expected each key once");
            pool.bad.push_back(path);
            continue;
        }
        const PoolKey* info = findKey(path);
        if (info == nullptr) {
            const auto names = keysUnder(prefix);
            add(line, label,
                "unknown key; did you mean " + std::string(closestName(keyNode.Scalar(), names)) +
                        "?");
            continue;
        }
        if (info->kind == K::Section) {
            if (value.IsNull())
                continue;
            if (!value.IsMap()) {
                add(line, label, "is " + kindOf(value) + "; expected a map of keys");
                continue;
            }
            readSection(value, path + ".", pool);
            continue;
        }
        readKey(*info, keyNode, value, pool);
    }
}

std::optional<std::vector<std::string>> Reader::listItems(const YAML::Node& value,
                                                          const std::string& label, int line) {
    std::vector<std::string> items;
    bool ok = true;
    std::size_t index = 0;
    for (const YAML::Node& item : value) {
        const std::string itemLabel = label + "[" + std::to_string(index++) + "]";
        const int itemLine = lineOf(item) > 0 ? lineOf(item) : line;
        if (!item.IsScalar()) {
            add(itemLine, itemLabel, "is " + kindOf(item) + "; expected a single value");
            ok = false;
            continue;
        }
        const std::string text = trimmed(item.Scalar());
        if (text.empty()) {
            add(itemLine, itemLabel, "is empty; expected a value");
            ok = false;
        } else if (text.find(',') != std::string::npos) {
            add(itemLine, itemLabel, "holds a comma; expected a value without one");
            ok = false;
        }
        items.push_back(text);
    }
    if (!ok)
        return std::nullopt;
    return items;
}

std::optional<std::string> Reader::mapText(const YAML::Node& value, const std::string& label,
                                           int line) {
    std::string text;
    bool ok = true;
    std::map<std::string, int, std::less<>> seen;
    for (auto it = value.begin(); it != value.end(); ++it) {
        const YAML::Node keyNode = it->first;
        const YAML::Node entry = it->second;
        const int keyLine = lineOf(keyNode) > 0 ? lineOf(keyNode) : line;
        if (!keyNode.IsScalar()) {
            add(keyLine, label, "a key is " + kindOf(keyNode) + "; expected a name");
            ok = false;
            continue;
        }
        const std::string name = trimmed(keyNode.Scalar());
        std::string entryLabel = label;
        entryLabel.append(".").append(name);
        if (name.empty() || name.find_first_of(",:") != std::string::npos) {
            add(keyLine, entryLabel, "is not a usable key; expected one without , or :");
            ok = false;
            continue;
        }
        if (const auto [at, fresh] = seen.emplace(name, keyLine); !fresh) {
            add(keyLine, entryLabel,
                "is set twice (first on line " + std::to_string(at->second) +
                        "); expected each key once");
            ok = false;
            continue;
        }
        if (!entry.IsScalar() && !entry.IsNull()) {
            add(keyLine, entryLabel, "is " + kindOf(entry) + "; expected a single value");
            ok = false;
            continue;
        }
        const std::string entryText = entry.IsNull() ? "" : entry.Scalar();
        if (entryText.find(',') != std::string::npos) {
            add(keyLine, entryLabel, "holds a comma; expected a value without one");
            ok = false;
            continue;
        }
        text.append(text.empty() ? "" : ",").append(name).append(":").append(entryText);
    }
    if (!ok)
        return std::nullopt;
    return text;
}

bool Reader::runReader(std::string_view variable, const std::string& value, Config& config,
                       int line, const std::string& label, Environment oneVariable) {
    const Variable* reader = findReader(variable);
    if (reader == nullptr) {
        add(line, label, "has no reader (" + std::string(variable) + "); this is a bug");
        return false;
    }
    oneVariable[std::string(variable)] = value;
    std::vector<std::string> found;
    Field field(reader->spec, oneVariable, needs_, found);
    reader->bind(field, config);
    const std::string prefix = std::string(variable) + ": ";
    for (const auto& problem : found) {
        const std::string what =
                problem.starts_with(prefix) ? problem.substr(prefix.size()) : problem;
        add(line, label, what + " (as " + std::string(variable) + ")");
    }
    return found.empty();
}

void Reader::readWholeNumber(std::string_view name, const std::string& value,
                             std::optional<int>& out, int minimum, int maximum, int line,
                             const std::string& label) {
    const VariableSpec spec{.name = name};
    const Environment oneVariable{{std::string(name), value}};
    std::vector<std::string> found;
    Field field(spec, oneVariable, needs_, found);
    field.optionalInteger(out, minimum, maximum);
    const std::string prefix = std::string(name) + ": ";
    for (const auto& problem : found)
        add(line, label, problem.starts_with(prefix) ? problem.substr(prefix.size()) : problem);
}

void Reader::readKey(const PoolKey& info, const YAML::Node& keyNode, const YAML::Node& value,
                     PoolRead& pool) {
    if (value.IsNull())
        return; // Left out: the environment's value stays.
    const int line = lineOf(keyNode);
    const std::string path(info.path);
    const std::string label = pool.label + "." + path;
    pool.lines[path] = line;
    const auto bad = [&] {
        pool.bad.push_back(path);
    };
    const auto empty = [&](std::string_view expected) {
        if (info.clear != nullptr) {
            info.clear(pool.config);
            return;
        }
        add(line, label, "is empty; expected " + std::string(expected));
        bad();
    };

    bool scalarKind = false;
    switch (info.kind) {
    case K::Scalar:
    case K::Name:
    case K::Market:
    case K::OnDemandMax:
        scalarKind = true;
        break;
    case K::List:
    case K::FirstAndRest:
    case K::Map:
    case K::Section:
        break;
    }
    if (scalarKind && !value.IsScalar()) {
        add(line, label, "is " + kindOf(value) + "; expected a single value");
        bad();
        return;
    }

    switch (info.kind) {
    case K::Section:
        return;
    case K::Name: {
        const std::string& name = value.Scalar();
        if (!validPoolName(name)) {
            add(line, label,
                "\"" + name + "\" is not a pool name; expected 1 to 32 characters a-z, 0-9 or -");
            bad();
            return;
        }
        pool.name = name;
        return;
    }
    case K::Market: {
        const std::string market = trimmed(value.Scalar());
        if (market == "spot") {
            if (!runReader(info.variable, market, pool.config, line, label))
                bad();
        } else if (market == "on-demand") {
            pool.config.amazon.marketType.clear();
        } else {
            add(line, label,
                "\"" + value.Scalar() + "\" is not allowed; expected on-demand or spot");
            bad();
        }
        return;
    }
    case K::OnDemandMax: {
        if (trimmed(value.Scalar()).empty()) {
            empty("a whole number");
            return;
        }
        const std::size_t before = problems_.size();
        readWholeNumber(info.path, value.Scalar(), pool.config.amazon.onDemandMax, 0, kMaxServers,
                        line, label);
        if (problems_.size() != before)
            bad();
        return;
    }
    case K::Scalar: {
        if (value.Scalar().empty()) {
            empty("a value; leave the key out to take " + std::string(info.variable) + "'s");
            return;
        }
        if (!runReader(info.variable, value.Scalar(), pool.config, line, label))
            bad();
        return;
    }
    case K::List:
    case K::FirstAndRest: {
        if (!value.IsSequence()) {
            add(line, label, "is " + kindOf(value) + "; expected a list such as [a, b]");
            bad();
            return;
        }
        const auto items = listItems(value, label, line);
        if (!items) {
            bad();
            return;
        }
        if (items->empty()) {
            empty("at least one item");
            return;
        }
        if (info.kind == K::List) {
            Environment copied; // A bare K of runner.environ copies our own K.
            if (info.variable == "DRONE_AGENT_ENVIRON") {
                for (const auto& item : *items) {
                    if (const auto it = env_.find(item); it != env_.end())
                        copied.insert(*it);
                }
            }
            std::string joined;
            for (const auto& item : *items)
                joined += (joined.empty() ? "" : ",") + item;
            if (!runReader(info.variable, joined, pool.config, line, label, std::move(copied)))
                bad();
            return;
        }
        bool ok = runReader(info.variable, items->front(), pool.config, line, label);
        info.clearRest(pool.config);
        std::string rest;
        for (std::size_t i = 1; i < items->size(); ++i)
            rest += (rest.empty() ? "" : ",") + (*items)[i];
        if (!rest.empty())
            ok = runReader(info.restVariable, rest, pool.config, line, label) && ok;
        if (!ok)
            bad();
        return;
    }
    case K::Map: {
        if (!value.IsMap()) {
            add(line, label, "is " + kindOf(value) + "; expected a map such as {key: value}");
            bad();
            return;
        }
        const auto text = mapText(value, label, line);
        if (!text) {
            bad();
            return;
        }
        if (text->empty()) {
            empty("at least one key");
            return;
        }
        if (!runReader(info.variable, *text, pool.config, line, label))
            bad();
        return;
    }
    }
}

void Reader::checkPool(PoolRead& pool) {
    Config& c = pool.config;
    if (!pool.has("name")) {
        add(pool.line, pool.label + ".name",
            "is required; expected 1 to 32 characters a-z, 0-9 or -");
    }
    c.pool.name = pool.name;
    if (!pool.has("name_prefix"))
        c.agent.namePrefix = pool.name + "-";

    if (c.pool.min > c.pool.max && !pool.isBad("min") && !pool.isBad("max")) {
        const std::string min =
                std::to_string(c.pool.min) + (pool.has("min") ? "" : " from DRONE_POOL_MIN");
        const std::string max =
                std::to_string(c.pool.max) + (pool.has("max") ? "" : " from DRONE_POOL_MAX");
        add(pool.lineOfKey(pool.has("min") ? "min" : "max"), pool.label + ".min",
            min + " is greater than max (" + max + "); expected min <= max");
    }

    // A pool's own choice of one of two exclusive keys replaces the environment's other one.
    const auto oneOf = [&](std::string_view first, std::string_view second, ClearField clearFirst,
                           ClearField clearSecond) {
        if (pool.has(first) && pool.has(second)) {
            add(pool.lineOfKey(second), pool.label + "." + std::string(second),
                "is set together with " + std::string(first) + "; expected only one of them");
        } else if (pool.has(first)) {
            clearSecond(c);
        } else if (pool.has(second)) {
            clearFirst(c);
        }
    };
    oneOf(
            "amazon.iam_profile_arn", "amazon.iam_profile_name",
            [](Config& x) { x.amazon.iamProfileArn.clear(); },
            [](Config& x) { x.amazon.iamProfileName.clear(); });
    oneOf(
            "amazon.user_data", "amazon.user_data_file",
            [](Config& x) { x.amazon.userData.clear(); },
            [](Config& x) { x.amazon.userDataFile.clear(); });

    if (needs_.amazon && c.amazon.image.empty() && !pool.isBad("amazon.image")) {
        add(pool.line, pool.label + ".amazon.image",
            "is required: neither amazon.image nor DRONE_AMAZON_IMAGE is set; expected an AMI "
            "id such as ami-0123456789abcdef0");
    }
}

} // namespace

std::span<const PoolKey> poolKeys() {
    return kPoolKeys;
}

void applyPoolFileTo(Config& config, std::string_view yamlText, const std::string& path,
                     const ConfigNeeds& needs, const Environment& env,
                     std::vector<std::string>& problems) {
    Reader reader(path, needs, env);
    reader.read(yamlText, config);
    std::vector<Problem> found = reader.problems();
    std::stable_sort(found.begin(), found.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    for (const auto& problem : found)
        problems.push_back(oneLine(problem.text));
}

} // namespace autoscale::detail

namespace autoscale {

Result<Config> applyPoolFile(Config base, std::string_view yamlText, const std::string& path,
                             ConfigNeeds needs, const Environment& env) {
    std::vector<std::string> problems;
    detail::applyPoolFileTo(base, yamlText, path, needs, env, problems);
    if (!problems.empty())
        return makeError(Errc::InvalidArgument, detail::problemsMessage(problems, {}));
    return base;
}

Result<Config> loadConfig(const Environment& env, ConfigNeeds needs) {
    const auto file = env.find("DRONE_POOL_FILE");
    if (file == env.end() || file->second.empty())
        return parseConfig(env, needs);
    // Each pool needs an image, from the file or DRONE_AMAZON_IMAGE: checked per pool.
    ConfigNeeds environmentNeeds = needs;
    environmentNeeds.amazon = false;
    std::vector<std::string> problems;
    Config config = detail::parseEnvironment(env, environmentNeeds, problems);
    const auto text = detail::readFile(file->second);
    if (!text) {
        problems.push_back("DRONE_POOL_FILE: " + text.error().message +
                           "; expected a readable pool file");
    } else {
        detail::applyPoolFileTo(config, *text, file->second, needs, env, problems);
    }
    if (!problems.empty())
        return makeError(Errc::InvalidArgument, detail::problemsMessage(problems, config.warnings));
    return config;
}

} // namespace autoscale
