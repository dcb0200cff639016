// SPDX-License-Identifier: Apache-2.0
/// \file
/// Reading untrusted JSON with RapidJSON (private): one nesting guard shared by
/// every parser of outside input (DOM and SAX), a parse with an error that
/// names the document and the offset, and typed member lookups that never
/// assert on a missing or wrongly typed member.
///
/// RapidJSON's reader recurses once per open array or object, so a body of a
/// million `[` overflows the stack. DepthLimitedHandler refuses the array or
/// object that would go past kMaxJsonDepth in its StartArray/StartObject,
/// before the reader descends, so the recursion stays within the limit.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/error/error.h>
#include <rapidjson/reader.h>

#include <autoscale/result.h>

namespace autoscale::detail {

/// The deepest nesting of arrays and objects we read: Drone's queue needs 3,
/// our own documents 2; anything near this is hostile or broken.
inline constexpr int kMaxJsonDepth = 64;

/// Forwards every SAX event to `inner` (borrowed), counting open arrays and
/// objects; opening one more than kMaxJsonDepth stops the parse.
template <typename Handler>
class DepthLimitedHandler {
public:
    explicit DepthLimitedHandler(Handler& inner) : inner_(&inner) {}

    /// True when the parse stopped because of the nesting limit.
    bool tooDeep() const { return tooDeep_; }

    // NOLINTBEGIN(readability-identifier-naming): RapidJSON's handler concept.
    bool Null() { return inner_->Null(); }
    bool Bool(bool b) { return inner_->Bool(b); }
    bool Int(int i) { return inner_->Int(i); }
    bool Uint(unsigned u) { return inner_->Uint(u); }
    bool Int64(std::int64_t i) { return inner_->Int64(i); }
    bool Uint64(std::uint64_t u) { return inner_->Uint64(u); }
    bool Double(double d) { return inner_->Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
        return inner_->RawNumber(s, n, copy);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) {
        return inner_->String(s, n, copy);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) { return inner_->Key(s, n, copy); }
    bool StartObject() { return open() && inner_->StartObject(); }
    bool EndObject(rapidjson::SizeType n) {
        --depth_;
        return inner_->EndObject(n);
    }
    bool StartArray() { return open() && inner_->StartArray(); }
    bool EndArray(rapidjson::SizeType n) {
        --depth_;
        return inner_->EndArray(n);
    }
    // NOLINTEND(readability-identifier-naming)

private:
    bool open() {
        if (depth_ >= kMaxJsonDepth) {
            tooDeep_ = true;
            return false;
        }
        ++depth_;
        return true;
    }

    Handler* inner_;
    int depth_ = 0;
    bool tooDeep_ = false;
};

/// Why a JSON text did not parse.
struct JsonSyntaxError {
    std::string reason{}; ///< RapidJSON's words, or the nesting limit.
    std::size_t offset = 0;
};

/// The error of a bounded parse that failed: RapidJSON's reason, or "nesting
/// deeper than 64 arrays and objects" when the limit stopped it.
JsonSyntaxError jsonSyntaxError(rapidjson::ParseErrorCode code, std::size_t offset, bool tooDeep);

/// Runs RapidJSON's reader over `stream` into `handler` with the nesting
/// bounded by kMaxJsonDepth. The handler's own refusals come back as
/// kParseErrorTermination; `tooDeep` tells the limit's apart.
template <unsigned Flags, typename Stream, typename Handler>
rapidjson::ParseResult parseBounded(Stream& stream, Handler& handler, bool& tooDeep) {
    DepthLimitedHandler<Handler> limited(handler);
    rapidjson::Reader reader;
    const rapidjson::ParseResult result = reader.Parse<Flags>(stream, limited);
    tooDeep = limited.tooDeep();
    return result;
}

/// Parses `body` into `doc` with the nesting bounded; nullopt on success.
std::optional<JsonSyntaxError> parseJsonInto(std::string_view body, rapidjson::Document& doc);

/// Parses `body`; Errc::Parse "<what> is not valid JSON: <reason> at offset N".
Result<rapidjson::Document> parseJsonDocument(std::string_view body, const char* what);

/// The member's string, or "" when it is missing or not a string.
std::string jsonString(const rapidjson::Value& object, const char* name);
/// The member's integer, or 0 when it is missing or not an integer.
std::int64_t jsonInt64(const rapidjson::Value& object, const char* name);
/// The member's boolean, or `fallback` when it is missing or not a boolean.
bool jsonBool(const rapidjson::Value& object, const char* name, bool fallback);

} // namespace autoscale::detail
