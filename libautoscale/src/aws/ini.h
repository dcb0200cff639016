// SPDX-License-Identifier: Apache-2.0
/// \file
/// The AWS shared config/credentials INI dialect (botocore's RawConfigParser rules):
/// '#'/';' comment lines, "key = value" or "key: value" with blanks trimmed and keys
/// lower-cased, no inline comments, and an indented block after "key =" as a nested
/// sub-section stored as "key.subkey".

#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace autoscale::aws {

using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;

/// Parses the text of a config or credentials file. Lines outside any section and
/// malformed lines are ignored, as the SDKs do.
IniFile parseIni(std::string_view text);

/// The section of `profile` in a credentials file ("[name]").
const IniSection* credentialsProfile(const IniFile& file, const std::string& profile);
/// The section of `profile` in a config file ("[profile name]", or "[default]").
const IniSection* configProfile(const IniFile& file, const std::string& profile);

} // namespace autoscale::aws
