// SPDX-License-Identifier: Apache-2.0
/// \file
/// A small parser for ~/.aws/config and ~/.aws/credentials.

#include "ini.h"

#include <cctype>

#include "core/text.h"

namespace autoscale::aws {

using detail::lower;
using detail::trim;

IniFile parseIni(std::string_view text) {
    IniFile file;
    IniSection* section = nullptr;
    std::string nestedKey; // The "key =" whose indented lines form a sub-section.
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
        const std::string_view content = trim(line);
        if (content.empty() || content.front() == '#' || content.front() == ';')
            continue;
        if (!indented && content.front() == '[') {
            const auto close = content.find(']');
            if (close == std::string_view::npos)
                continue;
            section = &file[std::string(trim(content.substr(1, close - 1)))];
            nestedKey.clear();
            continue;
        }
        if (section == nullptr)
            continue;
        const auto delimiter = content.find_first_of("=:");
        if (indented && !nestedKey.empty()) {
            if (delimiter == std::string_view::npos)
                continue;
            (*section)[nestedKey + "." + lower(trim(content.substr(0, delimiter)))] =
                    std::string(trim(content.substr(delimiter + 1)));
            continue;
        }
        if (delimiter == std::string_view::npos)
            continue;
        const std::string key = lower(trim(content.substr(0, delimiter)));
        const std::string value(trim(content.substr(delimiter + 1)));
        (*section)[key] = value;
        nestedKey = value.empty() ? key : std::string{};
    }
    return file;
}

const IniSection* credentialsProfile(const IniFile& file, const std::string& profile) {
    const auto it = file.find(profile);
    return it == file.end() ? nullptr : &it->second;
}

const IniSection* configProfile(const IniFile& file, const std::string& profile) {
    for (const auto& [name, section] : file) {
        if (name.size() > 7 && name.starts_with("profile") &&
            std::isspace(static_cast<unsigned char>(name[7])) != 0 &&
            trim(std::string_view(name).substr(7)) == profile)
            return &section;
    }
    if (profile == "default") {
        if (const auto it = file.find("default"); it != file.end())
            return &it->second;
    }
    return nullptr;
}

} // namespace autoscale::aws
