// SPDX-License-Identifier: Apache-2.0
/// \file
/// EC2 request serialization, reply parsing (pugixml) and error classification.

#include "ec2_api.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

#include <autoscale/http.h>

#include "core/time_format.h"

#include <pugixml.hpp>

namespace autoscale::aws {

namespace {

void add(QueryParams& params, std::string name, std::string value) {
    params.emplace_back(std::move(name), std::move(value));
}

std::string_view localName(const pugi::xml_node& node) {
    std::string_view name = node.name();
    if (const auto colon = name.find(':'); colon != std::string_view::npos)
        name.remove_prefix(colon + 1);
    return name;
}

/// The first child element with this local name (namespace prefixes ignored).
pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
        if (c.type() == pugi::node_element && localName(c) == name)
            return c;
    }
    return {};
}

std::string text(const pugi::xml_node& node, std::string_view name) {
    return child(node, name).child_value();
}

/// Calls `fn` for each <item> of the list element `listName` under `node`.
template <typename Fn>
void forEachItem(const pugi::xml_node& node, std::string_view listName, Fn&& fn) {
    const pugi::xml_node list = child(node, listName);
    for (pugi::xml_node c = list.first_child(); c; c = c.next_sibling()) {
        if (c.type() == pugi::node_element && localName(c) == "item")
            fn(c);
    }
}

int toInt(std::string_view s) {
    int value = 0;
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
}

Result<pugi::xml_node> loadRoot(pugi::xml_document& doc, std::string_view xml,
                                std::string_view expectedRoot) {
    const pugi::xml_parse_result parsed =
            doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!parsed) {
        return makeError(Errc::Parse,
                         "ec2 reply is not well-formed XML: " + std::string(parsed.description()) +
                                 " at offset " + std::to_string(parsed.offset));
    }
    const pugi::xml_node root = doc.document_element();
    if (localName(root) != expectedRoot) {
        return makeError(Errc::Parse, "ec2 reply has root element <" + std::string(root.name()) +
                                              ">, expected <" + std::string(expectedRoot) + ">");
    }
    return root;
}

Result<Ec2Instance> parseInstance(const pugi::xml_node& item) {
    Ec2Instance out;
    out.id = text(item, "instanceId");
    out.imageId = text(item, "imageId");
    out.instanceType = text(item, "instanceType");
    const pugi::xml_node state = child(item, "instanceState");
    out.stateName = text(state, "name");
    out.stateCode = toInt(text(state, "code")) & 0xFF;
    out.privateIp = text(item, "privateIpAddress");
    out.publicIp = text(item, "ipAddress");
    if (out.publicIp.empty()) {
        forEachItem(item, "networkInterfaceSet", [&](const pugi::xml_node& nic) {
            if (out.publicIp.empty())
                out.publicIp = text(child(nic, "association"), "publicIp");
        });
    }
    out.zone = text(child(item, "placement"), "availabilityZone");
    out.subnetId = text(item, "subnetId");
    out.clientToken = text(item, "clientToken");
    out.lifecycle = text(item, "instanceLifecycle");
    out.stateReasonCode = text(child(item, "stateReason"), "code");
    out.stateReasonMessage = text(child(item, "stateReason"), "message");
    if (const std::string launchTime = text(item, "launchTime"); !launchTime.empty()) {
        auto launched = detail::parseIso8601(launchTime);
        if (!launched) {
            return makeError(Errc::Parse,
                             "ec2 instance " + out.id +
                                     " has an unreadable launchTime: " + launched.error().message);
        }
        out.launchTime = *launched;
    }
    forEachItem(item, "tagSet", [&](const pugi::xml_node& tag) {
        out.tags.push_back(Tag{text(tag, "key"), text(tag, "value")});
    });
    return out;
}

constexpr std::array<std::string_view, 14> kThrottlingCodes{
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
};

// ec2-api.md §4.2 and next-capabilities.md §2.3/§2.4: EC2's capacity and quota codes,
// aws-parallelcluster's and Karpenter's ICE lists, and the fleet codes peers retry.
constexpr std::array<std::string_view, 17> kCapacityCodes{
        "InsufficientInstanceCapacity",
        "InsufficientCapacity",
        "InsufficientHostCapacity",
        "InsufficientReservedInstanceCapacity",
        "InsufficientAddressCapacity",
        "InsufficientFreeAddressesInSubnet",
        "InsufficientCapacityOnHost",
        "InstanceLimitExceeded",
        "VcpuLimitExceeded",
        "MaxSpotInstanceCountExceeded",
        "SpotMaxPriceTooLow",
        "UnfulfillableCapacity",
        "Unsupported",
        "ReservationCapacityExceeded",
        "MaxFleetCountExceeded",
        "MaxSpotFleetRequestCountExceeded",
        "TargetCapacityLimitExceededException",
};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view code) {
    return std::ranges::find(list, code) != list.end();
}

/// What the operator should check for an auth error; empty for other codes.
std::string authHint(std::string_view code, std::string_view action) {
    if (code == "AuthFailure") {
        return "check that the access key id and secret are correct and active, that temporary "
               "credentials have not expired, and that the host clock is synchronised (NTP)";
    }
    if (code == "SignatureDoesNotMatch") {
        return "check the secret access key (it does not match the key id); if it is right, "
               "the request was altered in transit (a proxy?) or this is a signing bug";
    }
    if (code == "UnauthorizedOperation") {
        return "check the IAM policy of these credentials: it must allow ec2:" +
               std::string(action) +
               " (decode the encoded message with 'aws sts decode-authorization-message')";
    }
    if (code == "RequestExpired") {
        return "check the host clock: the request time is more than 5 minutes away from AWS "
               "time (keep NTP running)";
    }
    if (code == "OptInRequired" || code == "PendingVerification") {
        return "check that the account is enabled for EC2 in this region";
    }
    if (code == "ExpiredToken" || code == "InvalidClientTokenId") {
        return "check the session token: the temporary credentials are expired or invalid";
    }
    return {};
}

Errc errcForCode(std::string_view code, int status) {
    if (isThrottlingCode(code))
        return Errc::Throttled;
    if (isCapacityCode(code))
        return Errc::Capacity;
    if (code == "UnauthorizedOperation" || code == "OptInRequired" || code == "Blocked")
        return Errc::Forbidden;
    if (isAuthCode(code))
        return Errc::Unauthorized;
    if (code.ends_with(".NotFound") || code.ends_with("NotFoundException"))
        return Errc::NotFound;
    if (code == "IdempotentParameterMismatch" || code == "IdempotentInstanceTerminated")
        return Errc::Conflict;
    if (code == "InternalError" || code == "InternalFailure" || code == "ServiceUnavailable" ||
        code == "Unavailable" || code == "RequestTimeout" || code == "RequestTimeoutException" ||
        code == "IDPCommunicationError")
        return Errc::Unavailable;
    if (status == 429)
        return Errc::Throttled;
    if (status >= 500)
        return Errc::Unavailable;
    if (status == 401)
        return Errc::Unauthorized;
    if (status == 403)
        return Errc::Forbidden;
    if (status == 404)
        return Errc::NotFound;
    return Errc::InvalidArgument;
}

} // namespace

void appendUriEncoded(std::string& out, std::string_view text) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    static constexpr auto kUnreserved = [] {
        std::array<bool, 256> table{};
        for (int c = 0; c < 256; ++c) {
            table[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                                 (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                                                 c == '.' || c == '~';
        }
        return table;
    }();
    std::size_t runStart = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (kUnreserved[u])
            continue;
        out.append(text.data() + runStart, i - runStart); // The unreserved run before it.
        const std::array<char, 3> escaped{'%', kHex[u >> 4U], kHex[u & 0x0FU]};
        out.append(escaped.data(), escaped.size());
        runStart = i + 1;
    }
    out.append(text.data() + runStart, text.size() - runStart);
}

std::string formBody(std::string_view action, std::string_view version, const QueryParams& params) {
    std::size_t size = 32 + action.size();
    for (const auto& [name, value] : params)
        size += name.size() + value.size() + 2;
    std::string out;
    out.reserve(size + size / 4);
    out.append("Action=");
    appendUriEncoded(out, action);
    out.append("&Version=");
    appendUriEncoded(out, version);
    for (const auto& [name, value] : params) {
        out += '&';
        appendUriEncoded(out, name);
        out += '=';
        appendUriEncoded(out, value);
    }
    return out;
}

QueryParams toParams(const RunInstancesRequest& r) {
    QueryParams p;
    p.reserve(64);
    add(p, "ImageId", r.imageId);
    if (!r.instanceType.empty())
        add(p, "InstanceType", r.instanceType);
    add(p, "MinCount", std::to_string(r.count));
    add(p, "MaxCount", std::to_string(r.count));
    if (!r.keyName.empty())
        add(p, "KeyName", r.keyName);
    if (!r.userData.empty())
        add(p, "UserData", base64Encode(r.userData));
    if (!r.iamProfileArn.empty()) {
        add(p, "IamInstanceProfile.Arn", r.iamProfileArn);
    } else if (!r.iamProfileName.empty()) {
        add(p, "IamInstanceProfile.Name", r.iamProfileName);
    }
    if (!r.deviceName.empty()) {
        add(p, "BlockDeviceMapping.1.DeviceName", r.deviceName);
        if (r.volumeSize > 0)
            add(p, "BlockDeviceMapping.1.Ebs.VolumeSize", std::to_string(r.volumeSize));
        if (!r.volumeType.empty())
            add(p, "BlockDeviceMapping.1.Ebs.VolumeType", r.volumeType);
        if (r.volumeIops)
            add(p, "BlockDeviceMapping.1.Ebs.Iops", std::to_string(*r.volumeIops));
        if (r.volumeThroughput)
            add(p, "BlockDeviceMapping.1.Ebs.Throughput", std::to_string(*r.volumeThroughput));
        add(p, "BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true");
    }
    // Subnet, public address and groups travel in the primary network interface
    // (SubnetId/SecurityGroupId.N are not allowed next to NetworkInterface.N).
    add(p, "NetworkInterface.1.DeviceIndex", "0");
    if (!r.subnetId.empty())
        add(p, "NetworkInterface.1.SubnetId", r.subnetId);
    add(p, "NetworkInterface.1.AssociatePublicIpAddress", r.associatePublicIp ? "true" : "false");
    for (std::size_t i = 0; i < r.securityGroupIds.size(); ++i) {
        add(p, "NetworkInterface.1.SecurityGroupId." + std::to_string(i + 1),
            r.securityGroupIds[i]);
    }
    add(p, "NetworkInterface.1.DeleteOnTermination", "true");
    if (r.spot) {
        add(p, "InstanceMarketOptions.MarketType", "spot");
        add(p, "InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time");
        add(p, "InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate");
    }
    if (!r.tags.empty()) {
        int spec = 0;
        for (const char* resource : {"instance", "volume"}) {
            const std::string prefix = "TagSpecification." + std::to_string(++spec);
            add(p, prefix + ".ResourceType", resource);
            for (std::size_t i = 0; i < r.tags.size(); ++i) {
                const std::string tagPrefix = prefix + ".Tag." + std::to_string(i + 1);
                add(p, tagPrefix + ".Key", r.tags[i].key);
                add(p, tagPrefix + ".Value", r.tags[i].value);
            }
        }
    }
    if (!r.clientToken.empty())
        add(p, "ClientToken", r.clientToken);
    if (!r.httpTokens.empty()) {
        add(p, "MetadataOptions.HttpTokens", r.httpTokens);
        add(p, "MetadataOptions.HttpPutResponseHopLimit", std::to_string(r.hopLimit));
        add(p, "MetadataOptions.HttpEndpoint", "enabled");
    }
    return p;
}

QueryParams toParams(const DescribeInstancesRequest& r) {
    QueryParams p;
    for (std::size_t i = 0; i < r.filters.size(); ++i) {
        const std::string prefix = "Filter." + std::to_string(i + 1);
        add(p, prefix + ".Name", r.filters[i].name);
        for (std::size_t j = 0; j < r.filters[i].values.size(); ++j)
            add(p, prefix + ".Value." + std::to_string(j + 1), r.filters[i].values[j]);
    }
    for (std::size_t i = 0; i < r.instanceIds.size(); ++i)
        add(p, "InstanceId." + std::to_string(i + 1), r.instanceIds[i]);
    if (r.maxResults && r.instanceIds.empty())
        add(p, "MaxResults", std::to_string(*r.maxResults));
    if (!r.nextToken.empty())
        add(p, "NextToken", r.nextToken);
    return p;
}

QueryParams terminateParams(std::span<const std::string> ids) {
    QueryParams p;
    p.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        add(p, "InstanceId." + std::to_string(i + 1), ids[i]);
    return p;
}

QueryParams createTagsParams(std::span<const std::string> ids, std::span<const Tag> tags) {
    QueryParams p;
    for (std::size_t i = 0; i < ids.size(); ++i)
        add(p, "ResourceId." + std::to_string(i + 1), ids[i]);
    for (std::size_t i = 0; i < tags.size(); ++i) {
        add(p, "Tag." + std::to_string(i + 1) + ".Key", tags[i].key);
        add(p, "Tag." + std::to_string(i + 1) + ".Value", tags[i].value);
    }
    return p;
}

Result<DescribeInstancesPage> parseDescribeInstances(std::string_view xml) {
    pugi::xml_document doc;
    auto root = loadRoot(doc, xml, "DescribeInstancesResponse");
    if (!root)
        return root.error();
    DescribeInstancesPage page;
    page.requestId = text(*root, "requestId");
    page.nextToken = text(*root, "nextToken");
    std::optional<Error> failed;
    forEachItem(*root, "reservationSet", [&](const pugi::xml_node& reservation) {
        forEachItem(reservation, "instancesSet", [&](const pugi::xml_node& item) {
            auto instance = parseInstance(item);
            if (instance) {
                page.instances.push_back(std::move(*instance));
            } else if (!failed) {
                failed = instance.error();
            }
        });
    });
    if (failed)
        return *failed;
    return page;
}

Result<std::vector<Ec2Instance>> parseRunInstances(std::string_view xml) {
    pugi::xml_document doc;
    auto root = loadRoot(doc, xml, "RunInstancesResponse");
    if (!root)
        return root.error();
    std::vector<Ec2Instance> out;
    std::optional<Error> failed;
    forEachItem(*root, "instancesSet", [&](const pugi::xml_node& item) {
        auto instance = parseInstance(item);
        if (instance) {
            out.push_back(std::move(*instance));
        } else if (!failed) {
            failed = instance.error();
        }
    });
    if (failed)
        return *failed;
    if (out.empty())
        return makeError(Errc::Parse, "ec2 RunInstances reply lists no instance");
    return out;
}

Result<std::vector<StateChange>> parseTerminateInstances(std::string_view xml) {
    pugi::xml_document doc;
    auto root = loadRoot(doc, xml, "TerminateInstancesResponse");
    if (!root)
        return root.error();
    std::vector<StateChange> out;
    forEachItem(*root, "instancesSet", [&](const pugi::xml_node& item) {
        out.push_back(StateChange{text(item, "instanceId"),
                                  text(child(item, "currentState"), "name"),
                                  text(child(item, "previousState"), "name")});
    });
    return out;
}

std::optional<ServiceError> parseServiceError(std::string_view xml) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8))
        return std::nullopt;
    const pugi::xml_node root = doc.document_element();
    ServiceError out;
    pugi::xml_node error;
    if (localName(root) == "Response") {
        error = child(child(root, "Errors"), "Error");
        out.requestId = text(root, "RequestID");
        if (out.requestId.empty())
            out.requestId = text(root, "RequestId");
    } else if (localName(root) == "ErrorResponse") {
        error = child(root, "Error");
        out.requestId = text(root, "RequestId");
    }
    if (!error)
        return std::nullopt;
    out.code = text(error, "Code");
    out.message = text(error, "Message");
    if (out.code.empty())
        return std::nullopt;
    return out;
}

bool isThrottlingCode(std::string_view code) {
    return contains(kThrottlingCodes, code);
}
bool isCapacityCode(std::string_view code) {
    return contains(kCapacityCodes, code);
}
bool isAuthCode(std::string_view code) {
    return code == "AuthFailure" || code == "SignatureDoesNotMatch" ||
           code == "UnauthorizedOperation" || code == "RequestExpired" || code == "ExpiredToken" ||
           code == "InvalidClientTokenId" || code == "IncompleteSignature" ||
           code == "MissingAuthenticationToken";
}

Error classifyReply(std::string_view action, int httpStatus, std::string_view body) {
    Error error;
    error.httpStatus = httpStatus;
    const auto service = parseServiceError(body);
    if (!service) {
        error.code = errcForCode({}, httpStatus);
        error.message = "ec2 " + std::string(action) + ": HTTP " + std::to_string(httpStatus) +
                        " without an error envelope";
        return error;
    }
    error.code = errcForCode(service->code, httpStatus);
    error.serviceCode = service->code;
    error.requestId = service->requestId;
    error.message = "ec2 " + std::string(action) + ": " + service->code;
    if (!service->message.empty())
        error.message += ": " + service->message;
    if (const std::string hint = authHint(service->code, action); !hint.empty())
        error.message += " (" + hint + ")";
    return error;
}

} // namespace autoscale::aws
