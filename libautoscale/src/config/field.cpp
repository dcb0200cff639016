// SPDX-License-Identifier: Apache-2.0
/// \file
/// Field: typed readers of one variable, each problem one line naming it.

#include "field.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/text.h"

namespace autoscale::detail {

std::string trimmed(std::string_view text) {
    return std::string(trim(text));
}

Field::Field(const VariableSpec& spec, const Environment& env, const ConfigNeeds& needs,
             std::vector<std::string>& problems)
    : spec_(spec)
    , env_(env)
    , needs_(needs)
    , problems_(problems) {
    const auto it = env.find(std::string(spec.name));
    if (it != env.end() && !it->second.empty())
        raw_ = it->second;
}

void Field::problem(const std::string& what) {
    problems_.push_back(std::string(spec_.name) + ": " + what);
}

std::string Field::quoted(const std::string& value) const {
    if (spec_.secret)
        return "the value";
    return "\"" + value + "\"";
}

void Field::string(std::string& out) {
    if (raw_)
        out = *raw_;
}

void Field::required(std::string& out, bool isRequired, std::string_view expected) {
    if (raw_) {
        out = *raw_;
        return;
    }
    if (isRequired)
        problem("is required but not set; expected " + std::string(expected));
}

void Field::integer(int& out, int minimum, int maximum) {
    if (!raw_)
        return;
    const std::string text = trimmed(*raw_);
    const std::string range = "expected an integer from " + std::to_string(minimum) + " to " +
                              std::to_string(maximum);
    int value = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    if (result.ec != std::errc{} || result.ptr != text.data() + text.size()) {
        problem(quoted(*raw_) + " is not a whole number; " + range);
        return;
    }
    if (value < minimum || value > maximum) {
        problem(quoted(*raw_) + " is out of range; " + range);
        return;
    }
    out = value;
}

void Field::optionalInteger(std::optional<int>& out, int minimum, int maximum) {
    if (!raw_)
        return;
    const std::size_t before = problems_.size();
    int value = minimum;
    integer(value, minimum, maximum);
    if (problems_.size() == before)
        out = value;
}

std::optional<std::chrono::milliseconds> Field::durationAtLeast(std::chrono::milliseconds minimum) {
    if (!raw_)
        return std::nullopt;
    const auto parsed = parseGoDuration(trimmed(*raw_));
    if (!parsed) {
        problem(quoted(*raw_) + " is not a duration; expected Go syntax such as 90s, 5m, 1h30m "
                                "or 500ms");
        return std::nullopt;
    }
    if (*parsed < minimum) {
        problem(quoted(*raw_) + " is too short; expected at least " + formatGoDuration(minimum));
        return std::nullopt;
    }
    return parsed;
}

void Field::boolean(bool& out) {
    if (!raw_)
        return;
    const auto parsed = parseBool(trimmed(*raw_));
    if (!parsed) {
        problem(quoted(*raw_) + " is not a boolean; expected true, false, 1, 0, yes or no");
        return;
    }
    out = *parsed;
}

void Field::list(std::vector<std::string>& out) {
    if (raw_)
        out = parseList(*raw_);
}

void Field::map(std::map<std::string, std::string>& out) {
    if (!raw_)
        return;
    auto parsed = parseMap(*raw_);
    if (!parsed) {
        problem(quoted(*raw_) + " is not a map; expected key:value pairs separated by commas, "
                                "e.g. gpu:yes,zone:a");
        return;
    }
    out = std::move(*parsed);
}

void Field::oneOf(std::string& out, std::initializer_list<std::string_view> allowed) {
    if (!raw_)
        return;
    const std::string value = lower(trimmed(*raw_));
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        std::string expected;
        for (const auto a : allowed)
            expected += (expected.empty() ? "" : ", ") + (a.empty() ? "\"\"" : std::string(a));
        problem(quoted(*raw_) + " is not allowed; expected one of " + expected);
        return;
    }
    out = value;
}

void Field::url(std::string& out) {
    if (!raw_)
        return;
    out = *raw_;
    if (!raw_->starts_with("http://") && !raw_->starts_with("https://"))
        problem("\"" + *raw_ + "\" is not a URL; expected http://... or https://...");
}

} // namespace autoscale::detail
