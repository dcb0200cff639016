// SPDX-License-Identifier: Apache-2.0
/// \file
/// parseCloudEvent: an EventBridge event, as EventBridge writes it to an SQS queue, to
/// CloudNotices. The shapes are AWS's documented ones: the envelope ("version", "id",
/// "detail-type", "source", "account", "time", "region", "resources", "detail"), EC2's
/// details ({"instance-id", "instance-action"} for spot interruption warnings,
/// {"instance-id"} for rebalance recommendations, {"instance-id", "state"} for state
/// changes) and AWS Health's ("service", "eventTypeCategory", "eventTypeCode",
/// "affectedEntities": [{"entityValue"}]). Untrusted input: every member is checked
/// before it is read.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/interruptions.h>

#include "core/json_value.h"
#include "core/time_format.h"

namespace autoscale {

namespace {

constexpr std::string_view kSpotWarning = "EC2 Spot Instance Interruption Warning";
constexpr std::string_view kRebalance = "EC2 Instance Rebalance Recommendation";
constexpr std::string_view kStateChange = "EC2 Instance State-change Notification";
constexpr std::string_view kHealthEvent = "AWS Health Event";

/// The member's string, or nullptr when it is missing or not a string.
const rapidjson::Value* stringMember(const rapidjson::Value& object, const char* name) {
    auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsString())
        return nullptr;
    return &it->value;
}

std::string text(const rapidjson::Value& value) {
    return {value.GetString(), value.GetStringLength()};
}

Error malformed(std::string_view detailType, const std::string& what) {
    return makeError(Errc::Parse, "event \"" + std::string(detailType) + "\": " + what);
}

/// A short, printable excerpt of outside text for messages.
std::string excerpt(std::string_view value) {
    std::string out;
    for (const char c : value.substr(0, 80))
        out += (c >= 0x20 && c < 0x7f && c != '"') ? c : '?';
    return out;
}

Result<CloudEvent> ec2Notice(const rapidjson::Value& detail, std::string_view detailType,
                             CloudNotice::Kind kind, WallTime time) {
    const auto* id = stringMember(detail, "instance-id");
    if (id == nullptr || id->GetStringLength() == 0)
        return malformed(detailType, "detail.instance-id is missing or not a string");
    CloudNotice notice{.kind = kind, .instanceId = text(*id), .time = time};
    const char* stateName = kind == CloudNotice::SpotInterruption ? "instance-action"
                            : kind == CloudNotice::StateChange    ? "state"
                                                                  : nullptr;
    if (stateName != nullptr) {
        const auto* state = stringMember(detail, stateName);
        if (state == nullptr || state->GetStringLength() == 0) {
            return malformed(detailType,
                             std::string("detail.") + stateName + " is missing or not a string");
        }
        notice.state = text(*state);
    }
    return CloudEvent{.notices = {std::move(notice)}};
}

Result<CloudEvent> healthNotices(const rapidjson::Value& detail, WallTime time) {
    const auto* service = stringMember(detail, "service");
    const auto* category = stringMember(detail, "eventTypeCategory");
    if (service == nullptr || category == nullptr)
        return malformed(kHealthEvent, "detail.service or detail.eventTypeCategory is missing");
    if (text(*service) != "EC2") {
        return CloudEvent{.ignored = "a Health event for service \"" + excerpt(text(*service)) +
                                     "\", not EC2"};
    }
    if (text(*category) != "scheduledChange") {
        return CloudEvent{.ignored = "a Health event of category \"" + excerpt(text(*category)) +
                                     "\", not scheduledChange"};
    }
    const auto* code = stringMember(detail, "eventTypeCode");
    auto entities = detail.FindMember("affectedEntities");
    if (entities == detail.MemberEnd() || !entities->value.IsArray())
        return malformed(kHealthEvent, "detail.affectedEntities is missing or not a list");
    CloudEvent event;
    for (const auto& entity : entities->value.GetArray()) {
        if (!entity.IsObject())
            return malformed(kHealthEvent, "an affected entity is not an object");
        const auto* value = stringMember(entity, "entityValue");
        if (value == nullptr)
            return malformed(kHealthEvent, "an affected entity has no entityValue");
        // Health names other resources too (volumes, hosts); instances start with "i-".
        if (!text(*value).starts_with("i-"))
            continue;
        event.notices.push_back(CloudNotice{.kind = CloudNotice::ScheduledChange,
                                            .instanceId = text(*value),
                                            .state = code != nullptr ? text(*code) : std::string(),
                                            .time = time});
    }
    if (event.notices.empty())
        event.ignored = "a Health scheduled change that names no EC2 instance";
    return event;
}

} // namespace

std::string_view nameOf(CloudNotice::Kind kind) {
    switch (kind) {
    case CloudNotice::SpotInterruption:
        return "spot_interruption";
    case CloudNotice::Rebalance:
        return "rebalance";
    case CloudNotice::StateChange:
        return "state_change";
    case CloudNotice::ScheduledChange:
        return "scheduled_change";
    }
    return "unknown";
}

bool meansInstanceLost(const CloudNotice& notice) {
    switch (notice.kind) {
    case CloudNotice::SpotInterruption:
    case CloudNotice::ScheduledChange:
        return true;
    case CloudNotice::Rebalance:
        return false;
    case CloudNotice::StateChange:
        return notice.state == "shutting-down" || notice.state == "terminated" ||
               notice.state == "stopping" || notice.state == "stopped";
    }
    return false;
}

Result<CloudEvent> parseCloudEvent(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the event");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the event is not a JSON object");
    const auto* detailType = stringMember(*doc, "detail-type");
    const auto* source = stringMember(*doc, "source");
    if (detailType == nullptr || source == nullptr) {
        return CloudEvent{.ignored = "not an EventBridge event (no detail-type or source)"};
    }
    const std::string type = text(*detailType);
    const std::string from = text(*source);
    const bool ec2 = from == "aws.ec2" &&
                     (type == kSpotWarning || type == kRebalance || type == kStateChange);
    const bool health = from == "aws.health" && type == kHealthEvent;
    if (!ec2 && !health) {
        return CloudEvent{.ignored = "event \"" + excerpt(type) + "\" from \"" + excerpt(from) +
                                     "\" is not one we act on"};
    }
    const auto* timeText = stringMember(*doc, "time");
    if (timeText == nullptr)
        return malformed(type, "time is missing or not a string");
    const auto time = detail::parseIso8601(text(*timeText));
    if (!time)
        return malformed(type, "time: " + time.error().message);
    auto detailIt = std::as_const(*doc).FindMember("detail");
    if (detailIt == std::as_const(*doc).MemberEnd() || !detailIt->value.IsObject())
        return malformed(type, "detail is missing or not an object");
    const rapidjson::Value& detail = detailIt->value;
    if (health)
        return healthNotices(detail, *time);
    if (type == kSpotWarning)
        return ec2Notice(detail, type, CloudNotice::SpotInterruption, *time);
    if (type == kRebalance)
        return ec2Notice(detail, type, CloudNotice::Rebalance, *time);
    return ec2Notice(detail, type, CloudNotice::StateChange, *time);
}

} // namespace autoscale
