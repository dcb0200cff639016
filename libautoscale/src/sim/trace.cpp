// SPDX-License-Identifier: Apache-2.0
/// \file
/// The trace format of `autoscaler-cli simulate` (SPEC §6): JSON lines, one
/// build stage per line. Every error names its line.

#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include <rapidjson/document.h>

#include "autoscale/simulation.h"
#include "json_value.h"

namespace autoscale {

namespace {

/// A trace spans at most 90 days (about 780,000 engine cycles at 10 s, a
/// few minutes to replay) and a stage runs at most 7 days; larger values are
/// surely a mistake.
constexpr double kMaxStart = 90.0 * 24 * 3600;
constexpr double kMaxDuration = 7.0 * 24 * 3600;

Error lineError(std::size_t line, const std::string& what) {
    return makeError(Errc::Parse, "line " + std::to_string(line) + ": " + what);
}

Result<double> seconds(const rapidjson::Value& object, const char* key, double max,
                       std::size_t line) {
    const auto it = object.FindMember(key);
    if (it == object.MemberEnd())
        return lineError(line, std::string("missing \"") + key + "\"");
    if (!it->value.IsNumber())
        return lineError(line, std::string("\"") + key + "\" is not a number of seconds");
    const double v = it->value.GetDouble();
    if (!std::isfinite(v) || v < 0 || v > max) {
        return lineError(line, std::string("\"") + key + "\" must be between 0 and " +
                                       std::to_string(static_cast<long long>(max)) + " seconds");
    }
    return v;
}

Result<void> optionalString(const rapidjson::Value& object, const char* key, std::size_t line,
                            std::string& out) {
    const auto it = object.FindMember(key);
    if (it == object.MemberEnd() || it->value.IsNull())
        return {};
    if (!it->value.IsString())
        return lineError(line, std::string("\"") + key + "\" is not a string");
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return {};
}

} // namespace

Result<std::vector<TraceStage>> parseTrace(std::string_view text) {
    std::vector<TraceStage> out;
    std::size_t line = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        ++line;
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view raw = text.substr(pos, end - pos);
        pos = end + 1;
        if (raw.find_first_not_of(" \t\r") == std::string_view::npos)
            continue;
        rapidjson::Document doc;
        if (const auto failed = detail::parseJsonInto(raw, doc)) {
            return lineError(line, "not JSON: " + failed->reason + " at column " +
                                           std::to_string(failed->offset + 1));
        }
        if (!doc.IsObject())
            return lineError(line, "not a JSON object");
        TraceStage stage;
        auto t = seconds(doc, "t", kMaxStart, line);
        if (!t)
            return t.error();
        auto duration = seconds(doc, "duration", kMaxDuration, line);
        if (!duration)
            return duration.error();
        stage.t = *t;
        stage.duration = *duration;
        if (auto r = optionalString(doc, "os", line, stage.os); !r)
            return r.error();
        if (auto r = optionalString(doc, "arch", line, stage.arch); !r)
            return r.error();
        // Through a const view: RapidJSON 1.1.0 compares a non-const member iterator
        // ambiguously under C++20's reversed operators (clang's ambiguous-reversed-operator).
        const rapidjson::Value& object = doc;
        if (const auto it = object.FindMember("labels");
            it != object.MemberEnd() && !it->value.IsNull()) {
            if (!it->value.IsObject())
                return lineError(line, "\"labels\" is not an object");
            for (const auto& m : it->value.GetObject()) {
                if (!m.value.IsString()) {
                    return lineError(line, std::string("label \"") + m.name.GetString() +
                                                   "\" is not a string");
                }
                stage.labels[std::string(m.name.GetString(), m.name.GetStringLength())] =
                        std::string(m.value.GetString(), m.value.GetStringLength());
            }
        }
        out.push_back(std::move(stage));
    }
    return out;
}

Result<std::vector<TraceStage>> readTraceFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(Errc::Io, "cannot read trace file " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (in.bad())
        return makeError(Errc::Io, "cannot read trace file " + path);
    auto parsed = parseTrace(buffer.str());
    if (!parsed) {
        Error e = parsed.error();
        e.message = path + ": " + e.message;
        return e;
    }
    return parsed;
}

} // namespace autoscale
