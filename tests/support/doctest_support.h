// SPDX-License-Identifier: Apache-2.0
/// \file
/// doctest printers for our types, so failed checks show values.

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include <autoscale/model.h>
#include <autoscale/provider.h>
#include <autoscale/result.h>

namespace doctest {

template <>
struct StringMaker<autoscale::Errc> {
    static String convert(autoscale::Errc value) {
        return String(std::string(autoscale::nameOf(value)).c_str());
    }
};

template <>
struct StringMaker<autoscale::ServerState> {
    static String convert(autoscale::ServerState value) {
        return String(std::string(autoscale::nameOf(value)).c_str());
    }
};

template <>
struct StringMaker<autoscale::InstanceState> {
    static String convert(autoscale::InstanceState value) {
        return String(std::string(autoscale::nameOf(value)).c_str());
    }
};

template <>
struct StringMaker<std::string_view> {
    static String convert(std::string_view value) { return String(std::string(value).c_str()); }
};

} // namespace doctest
