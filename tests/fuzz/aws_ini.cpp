// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the AWS shared config/credentials INI parser and the profile lookups.

#include "aws/ini.h"
#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const aws::IniFile file = aws::parseIni(fuzz::textOf(data, size));
    for (const auto& [section, keys] : file) {
        for (const auto& [key, value] : keys) {
            // Keys are lower-cased and trimmed.
            for (const char c : key)
                fuzz::require(!(c >= 'A' && c <= 'Z'));
            (void)value;
        }
        (void)section;
    }
    (void)aws::credentialsProfile(file, "default");
    (void)aws::configProfile(file, "default");
    (void)aws::configProfile(file, "dev");
    return 0;
}
