// SPDX-License-Identifier: Apache-2.0
/// \file
/// Reading untrusted JSON with RapidJSON (private): parse with an error that
/// names the document and the offset, and typed member lookups that never
/// assert on a missing or wrongly typed member.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include <autoscale/result.h>

namespace autoscale::detail {

/// Parses `body`; Errc::Parse "<what> is not valid JSON: <reason> at offset N".
Result<rapidjson::Document> parseJsonDocument(std::string_view body, const char* what);

/// The member's string, or "" when it is missing or not a string.
std::string jsonString(const rapidjson::Value& object, const char* name);
/// The member's integer, or 0 when it is missing or not an integer.
std::int64_t jsonInt64(const rapidjson::Value& object, const char* name);
/// The member's boolean, or `fallback` when it is missing or not a boolean.
bool jsonBool(const rapidjson::Value& object, const char* name, bool fallback);

} // namespace autoscale::detail
