// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeEc2 on FakeHttpServer. Signatures are recomputed from the received bytes with the
/// staged SigV4 functions; replies follow the shapes of tests/data/ec2.

#include "fake_ec2.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "aws/sigv4.h"
#include "core/time_format.h"

namespace autoscale::test {

namespace {

constexpr const char* kNs = R"( xmlns="http://ec2.amazonaws.com/doc/2016-11-15/")";

std::string xmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string formDecode(std::string_view text) {
    std::string plus(text);
    std::replace(plus.begin(), plus.end(), '+', ' ');
    return aws::percentDecode(plus);
}

std::vector<std::pair<std::string, std::string>> parseForm(std::string_view body) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view item = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            out.emplace_back(formDecode(item), "");
        } else {
            out.emplace_back(formDecode(item.substr(0, eq)), formDecode(item.substr(eq + 1)));
        }
    }
    return out;
}

int stateCode(const std::string& state) {
    if (state == "running")
        return 16;
    if (state == "shutting-down")
        return 32;
    if (state == "terminated")
        return 48;
    if (state == "stopping")
        return 64;
    if (state == "stopped")
        return 80;
    return 0;
}

/// "i-" and 17 hex digits, like EC2's long ids.
std::string instanceId(int n) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string id = "i-00000000000000000";
    auto value = static_cast<unsigned>(n);
    for (std::size_t pos = id.size() - 1; value != 0 && pos > 1; --pos, value >>= 4U)
        id[pos] = kHex[value & 15U];
    return id;
}

std::string requestIdFor(int n) {
    std::string digits = std::to_string(n);
    return "fa4e0000-0000-4000-8000-" +
           std::string(12 - std::min<std::size_t>(12, digits.size()), '0') + digits;
}

/// Values of "Prefix.N" parameters in N order.
std::vector<std::string> listParam(const FakeEc2Call& call, const std::string& prefix) {
    std::map<int, std::string> items;
    for (const auto& [name, value] : call.params) {
        if (!name.starts_with(prefix + "."))
            continue;
        const std::string rest = name.substr(prefix.size() + 1);
        if (rest.empty() || rest.find('.') != std::string::npos)
            continue;
        items[std::stoi(rest)] = value;
    }
    std::vector<std::string> out;
    out.reserve(items.size());
    for (auto& [n, v] : items)
        out.push_back(std::move(v));
    return out;
}

std::string instanceXml(const FakeInstance& i) {
    std::ostringstream x;
    x << "<item><instanceId>" << i.id << "</instanceId><imageId>" << xmlEscape(i.imageId)
      << "</imageId><instanceState><code>" << stateCode(i.state) << "</code><name>" << i.state
      << "</name></instanceState><privateDnsName>ip-" << i.id << ".ec2.internal</privateDnsName>"
      << "<dnsName/><reason/><amiLaunchIndex>0</amiLaunchIndex><instanceType>"
      << xmlEscape(i.instanceType) << "</instanceType><launchTime>"
      << detail::formatIso8601(i.launchTime).insert(19, ".000")
      << "</launchTime><placement><availabilityZone>us-east-1a</availabilityZone><tenancy>"
         "default</tenancy></placement><monitoring><state>disabled</state></monitoring>";
    if (!i.subnetId.empty())
        x << "<subnetId>" << xmlEscape(i.subnetId) << "</subnetId><vpcId>vpc-1</vpcId>";
    if (!i.privateIp.empty())
        x << "<privateIpAddress>" << i.privateIp << "</privateIpAddress>";
    if (!i.publicIp.empty() && i.state == "running")
        x << "<ipAddress>" << i.publicIp << "</ipAddress>";
    if (!i.stateReasonCode.empty()) {
        x << "<stateReason><code>" << xmlEscape(i.stateReasonCode) << "</code><message>"
          << xmlEscape(i.stateReasonMessage) << "</message></stateReason>";
    } else if (i.state == "terminated") {
        x << "<stateReason><code>Client.UserInitiatedShutdown</code><message>"
             "Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>";
    }
    x << "<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
         "<blockDeviceMapping/><virtualizationType>hvm</virtualizationType>";
    if (!i.clientToken.empty()) {
        x << "<clientToken>" << xmlEscape(i.clientToken) << "</clientToken>";
    } else {
        x << "<clientToken/>";
    }
    if (!i.lifecycle.empty())
        x << "<instanceLifecycle>" << i.lifecycle << "</instanceLifecycle>";
    if (!i.spotRequestId.empty())
        x << "<spotInstanceRequestId>" << i.spotRequestId << "</spotInstanceRequestId>";
    x << "<tagSet>";
    for (const auto& [k, v] : i.tags) {
        x << "<item><key>" << xmlEscape(k) << "</key>";
        if (v.empty()) {
            x << "<value/>";
        } else {
            x << "<value>" << xmlEscape(v) << "</value>";
        }
        x << "</item>";
    }
    x << "</tagSet><hypervisor>xen</hypervisor><networkInterfaceSet/><ebsOptimized>false"
         "</ebsOptimized><metadataOptions><state>applied</state><httpTokens>required"
         "</httpTokens><httpPutResponseHopLimit>1</httpPutResponseHopLimit><httpEndpoint>"
         "enabled</httpEndpoint></metadataOptions></item>";
    return x.str();
}

/// The form body of a control request, decoded.
std::map<std::string, std::string> formMap(std::string_view body) {
    std::map<std::string, std::string> out;
    for (auto& [name, value] : parseForm(body))
        out[name] = std::move(value);
    return out;
}

FakeReply textReply(int status, std::string body) {
    return FakeReply{
            .status = status, .headers = {{"Content-Type", "text/plain"}}, .body = std::move(body)};
}

std::string orDash(const std::string& text) {
    return text.empty() ? "-" : text;
}

/// An InstanceMarketOptions problem as EC2 would name it, or {} when valid.
std::pair<std::string, std::string> checkMarketOptions(const FakeEc2Call& call) {
    static const std::set<std::string> kKnown{
            "InstanceMarketOptions.MarketType",
            "InstanceMarketOptions.SpotOptions.MaxPrice",
            "InstanceMarketOptions.SpotOptions.SpotInstanceType",
            "InstanceMarketOptions.SpotOptions.BlockDurationMinutes",
            "InstanceMarketOptions.SpotOptions.ValidUntil",
            "InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"};
    bool any = false;
    for (const auto& [name, value] : call.params) {
        if (!name.starts_with("InstanceMarketOptions."))
            continue;
        any = true;
        if (!kKnown.contains(name))
            return {"UnknownParameter", "The parameter " + name + " is not recognized"};
    }
    if (!any)
        return {};
    const std::string market = call.param("InstanceMarketOptions.MarketType");
    if (market != "spot" && market != "capacity-block") {
        return {"InvalidParameterValue",
                "Value (" + market + ") for parameter InstanceMarketOptions.MarketType is invalid"};
    }
    const std::string type = call.param("InstanceMarketOptions.SpotOptions.SpotInstanceType");
    if (!type.empty() && type != "one-time" && type != "persistent") {
        return {"InvalidParameterValue",
                "Value (" + type + ") for parameter SpotInstanceType is invalid"};
    }
    const std::string behavior =
            call.param("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior");
    if (!behavior.empty() && behavior != "terminate" && behavior != "stop" &&
        behavior != "hibernate") {
        return {"InvalidParameterValue",
                "Value (" + behavior + ") for parameter InstanceInterruptionBehavior is invalid"};
    }
    if (type == "persistent" && (behavior.empty() || behavior == "terminate")) {
        return {"InvalidParameterCombination",
                "A persistent Spot Instance request launched by RunInstances must stop or "
                "hibernate on interruption"};
    }
    if (call.has("InstanceMarketOptions.SpotOptions.MaxPrice")) {
        const std::string price = call.param("InstanceMarketOptions.SpotOptions.MaxPrice");
        char* end = nullptr;
        const double value = std::strtod(price.c_str(), &end);
        if (price.empty() || end != price.c_str() + price.size() || value < 0.001) {
            return {"InvalidParameterValue",
                    "Value (" + price + ") for parameter MaxPrice is invalid"};
        }
    }
    return {};
}

} // namespace

std::string FakeEc2Call::market() const {
    return param("InstanceMarketOptions.MarketType") == "spot" ? "spot" : "on-demand";
}

std::string FakeEc2Call::instanceType() const {
    return param("InstanceType");
}

std::string FakeEc2Call::subnet() const {
    const std::string inInterface = param("NetworkInterface.1.SubnetId");
    return inInterface.empty() ? param("SubnetId") : inInterface;
}

std::string FakeEc2Call::param(const std::string& name) const {
    for (const auto& [n, v] : params) {
        if (n == name)
            return v;
    }
    return {};
}

bool FakeEc2Call::has(const std::string& name) const {
    return std::any_of(params.begin(), params.end(),
                       [&](const auto& p) { return p.first == name; });
}

FakeEc2::FakeEc2(const Clock& clock, FakeEc2Options options)
    : clock_(clock)
    , options_(std::move(options))
    , server_(options_.port) {
    server_.on("POST", "*", [this](const RecordedRequest& request) { return handle(request); });
    if (options_.controlEndpoints) {
        for (const char* path : {"/_fake/capacity", "/_fake/capacity/restore", "/_fake/reclaim"}) {
            server_.on("POST", path,
                       [this](const RecordedRequest& request) { return control(request); });
        }
        for (const char* path : {"/_fake/calls", "/_fake/instances"}) {
            server_.on("GET", path,
                       [this](const RecordedRequest& request) { return control(request); });
        }
    }
}

FakeReply FakeEc2::control(const RecordedRequest& request) {
    const std::lock_guard lock(mutex_);
    const auto form = formMap(request.body);
    auto field = [&](const char* name) {
        const auto it = form.find(name);
        return it == form.end() ? std::string() : it->second;
    };
    if (request.path == "/_fake/capacity") {
        FakeCapacityRule rule{.market = field("market"),
                              .instanceType = field("type"),
                              .subnet = field("subnet")};
        if (!field("code").empty())
            rule.code = field("code");
        if (!rule.market.empty() && rule.market != "spot" && rule.market != "on-demand")
            return textReply(400, "market must be spot, on-demand or empty\n");
        faults_.capacity.push_back(std::move(rule));
        return textReply(200, "ok\n");
    }
    if (request.path == "/_fake/capacity/restore") {
        faults_.capacity.clear();
        return textReply(200, "ok\n");
    }
    if (request.path == "/_fake/reclaim") {
        const std::string id = field("instance");
        const auto it = instances_.find(id);
        if (it == instances_.end() || it->second.lifecycle != "spot" ||
            !terminateLocked(id, "Server.SpotInstanceTermination",
                             "Server.SpotInstanceTermination: Spot instance termination"))
            return textReply(404, "no running spot instance " + id + "\n");
        return textReply(200, "ok\n");
    }
    std::string out;
    if (request.path == "/_fake/calls") {
        for (const auto& call : calls_) {
            const bool run = call.action == "RunInstances";
            out += orDash(call.action) + " " + std::to_string(call.status) + " " +
                   orDash(call.errorCode) + " " + (run ? call.market() : "-") + " " +
                   orDash(run ? call.instanceType() : "") + " " + orDash(run ? call.subnet() : "") +
                   "\n";
        }
        return textReply(200, std::move(out));
    }
    advance();
    for (const auto& [id, i] : instances_) {
        out += id + " " + i.state + " " + (i.lifecycle == "spot" ? "spot" : "on-demand") + " " +
               orDash(i.instanceType) + " " + orDash(i.subnetId) + " " + orDash(i.stateReasonCode) +
               "\n";
    }
    return textReply(200, std::move(out));
}

void FakeEc2::refuseCapacity(FakeCapacityRule rule) {
    const std::lock_guard lock(mutex_);
    faults_.capacity.push_back(std::move(rule));
}

void FakeEc2::restoreCapacity() {
    const std::lock_guard lock(mutex_);
    faults_.capacity.clear();
}

bool FakeEc2::reclaimSpot(const std::string& id) {
    const std::lock_guard lock(mutex_);
    const auto it = instances_.find(id);
    if (it == instances_.end() || it->second.lifecycle != "spot")
        return false;
    return terminateLocked(id, "Server.SpotInstanceTermination",
                           "Server.SpotInstanceTermination: Spot instance termination");
}

bool FakeEc2::terminateWithReason(const std::string& id, const std::string& code,
                                  const std::string& message) {
    const std::lock_guard lock(mutex_);
    return terminateLocked(id, code, message);
}

bool FakeEc2::terminateLocked(const std::string& id, const std::string& code,
                              const std::string& message) {
    advance();
    const auto it = instances_.find(id);
    if (it == instances_.end())
        return false;
    FakeInstance& i = it->second;
    if (i.state == "shutting-down" || i.state == "terminated")
        return false;
    i.state = "shutting-down";
    i.terminatedAt = clock_.steadyNow();
    i.stateReasonCode = code;
    i.stateReasonMessage = message;
    return true;
}

FakeEc2::~FakeEc2() = default;

std::string FakeEc2::endpoint() const {
    return server_.baseUrl();
}
int FakeEc2::port() const {
    return server_.port();
}

void FakeEc2::faults(const std::function<void(FakeEc2Faults&)>& change) {
    const std::lock_guard lock(mutex_);
    change(faults_);
}

std::vector<std::string> FakeEc2::addInstances(int count,
                                               const std::map<std::string, std::string>& tags,
                                               const std::string& state) {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> ids;
    for (int n = 0; n < count; ++n) {
        FakeInstance i;
        i.id = instanceId(nextId_++);
        i.imageId = "ami-seeded";
        i.instanceType = "t3.medium";
        i.state = state;
        i.privateIp = "10.1." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
        i.launchTime = clock_.now();
        i.launchedAt = clock_.steadyNow() - std::chrono::hours(1);
        i.tags = tags;
        ids.push_back(i.id);
        instances_[i.id] = std::move(i);
    }
    return ids;
}

std::vector<FakeEc2Call> FakeEc2::calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
}

std::vector<FakeEc2Call> FakeEc2::calls(const std::string& action) const {
    const std::lock_guard lock(mutex_);
    std::vector<FakeEc2Call> out;
    std::copy_if(calls_.begin(), calls_.end(), std::back_inserter(out),
                 [&](const FakeEc2Call& c) { return c.action == action; });
    return out;
}

std::map<std::string, FakeInstance> FakeEc2::instances() const {
    const std::lock_guard lock(mutex_);
    return instances_;
}

int FakeEc2::signatureFailures() const {
    const std::lock_guard lock(mutex_);
    return signatureFailures_;
}

void FakeEc2::clearCalls() {
    const std::lock_guard lock(mutex_);
    calls_.clear();
}

std::string FakeEc2::verifySignature(const RecordedRequest& request, int& status) const {
    status = 401;
    const auto authIt = request.headers.find("authorization");
    if (authIt == request.headers.end())
        return "AuthFailure";
    const std::string& auth = authIt->second;
    const std::string prefix = "AWS4-HMAC-SHA256 Credential=";
    if (!auth.starts_with(prefix))
        return "IncompleteSignature";
    const auto credEnd = auth.find(", SignedHeaders=");
    const auto headersEnd = auth.find(", Signature=");
    if (credEnd == std::string::npos || headersEnd == std::string::npos)
        return "IncompleteSignature";
    const std::string credential = auth.substr(prefix.size(), credEnd - prefix.size());
    const std::string signedHeaders = auth.substr(credEnd + 16, headersEnd - credEnd - 16);
    const std::string given = auth.substr(headersEnd + 12);
    // Credential = AKID/day/region/service/aws4_request
    std::vector<std::string> parts;
    std::stringstream credStream(credential);
    for (std::string part; std::getline(credStream, part, '/');)
        parts.push_back(part);
    if (parts.size() != 5 || parts[4] != "aws4_request")
        return "IncompleteSignature";
    if (parts[0] != options_.accessKeyId)
        return "AuthFailure";
    if (parts[2] != options_.region || parts[3] != "ec2") {
        status = 403;
        return "SignatureDoesNotMatch";
    }
    const auto dateIt = request.headers.find("x-amz-date");
    if (dateIt == request.headers.end() || !dateIt->second.starts_with(parts[1]))
        return "AuthFailure";
    // Age of the signature against our clock.
    const std::string& amzDate = dateIt->second;
    const std::string iso = amzDate.substr(0, 4) + "-" + amzDate.substr(4, 2) + "-" +
                            amzDate.substr(6, 2) + "T" + amzDate.substr(9, 2) + ":" +
                            amzDate.substr(11, 2) + ":" + amzDate.substr(13, 2) + "Z";
    const auto signedAt = detail::parseIso8601(iso);
    if (!signedAt)
        return "AuthFailure";
    const auto skew = clock_.now() - *signedAt;
    if (skew > options_.maxSkew || skew < -options_.maxSkew) {
        status = 400;
        return "RequestExpired";
    }
    aws::CanonicalInput input;
    input.method = request.method;
    input.path = request.path;
    input.query = aws::splitPathAndQuery("/?" + request.query).second;
    input.body = request.body;
    bool tokenSigned = false;
    std::stringstream headerStream(signedHeaders);
    for (std::string name; std::getline(headerStream, name, ';');) {
        const auto it = request.headers.find(name);
        if (it == request.headers.end()) {
            status = 403;
            return "SignatureDoesNotMatch";
        }
        input.headers.emplace_back(name, it->second);
        tokenSigned = tokenSigned || name == "x-amz-security-token";
    }
    if (signedHeaders.find("host") == std::string::npos) {
        status = 403;
        return "SignatureDoesNotMatch";
    }
    const auto tokenIt = request.headers.find("x-amz-security-token");
    if (!options_.sessionToken.empty() &&
        (tokenIt == request.headers.end() || tokenIt->second != options_.sessionToken ||
         !tokenSigned)) {
        status = 401;
        return "AuthFailure";
    }
    const aws::CanonicalRequest canonical = aws::canonicalRequest(input);
    const std::string scope = aws::credentialScope(parts[1], parts[2], parts[3]);
    const std::string expected =
            aws::signature(aws::signingKey(options_.secretAccessKey, parts[1], parts[2], parts[3]),
                           aws::stringToSign(canonical.text, amzDate, scope));
    if (expected != given || canonical.signedHeaders != signedHeaders) {
        status = 403;
        return "SignatureDoesNotMatch";
    }
    return {};
}

FakeReply FakeEc2::handle(const RecordedRequest& request) {
    const std::lock_guard lock(mutex_);
    ++requestCount_;
    FakeEc2Call call;
    call.params = parseForm(request.body);
    call.headers = request.headers;
    call.action = call.param("Action");

    int status = 0;
    if (const std::string failure = verifySignature(request, status); !failure.empty()) {
        ++signatureFailures_;
        const std::string message =
                failure == "SignatureDoesNotMatch"
                        ? "The request signature we calculated does not match the signature you "
                          "provided. Check your AWS Secret Access Key and signing method."
                : failure == "RequestExpired" ? "Request has expired."
                                              : "AWS was not able to validate the provided "
                                                "access credentials";
        return error(call, status, failure, message);
    }
    if (faults_.plainTextNext) {
        faults_.plainTextNext = false;
        call.status = 502;
        calls_.push_back(call);
        return FakeReply{.status = 502,
                         .headers = {{"Content-Type", "text/html"}},
                         .body = "<html><body>502 Bad Gateway</body>"};
    }
    if (!faults_.scripted.empty()) {
        auto [code, name] = faults_.scripted.front();
        faults_.scripted.pop_front();
        return error(call, code, name, "Injected " + name);
    }
    if (faults_.throttleEvery > 0 && requestCount_ % faults_.throttleEvery == 0)
        return error(call, 503, "RequestLimitExceeded", "Request limit exceeded.");
    if (call.param("Version") != "2016-11-15")
        return error(call, 400, "InvalidParameterValue", "Unsupported Version");
    advance();
    FakeReply reply;
    if (call.action == "RunInstances") {
        reply = runInstances(call);
    } else if (call.action == "DescribeInstances") {
        reply = describeInstances(call);
    } else if (call.action == "TerminateInstances") {
        reply = terminateInstances(call);
    } else if (call.action == "CreateTags") {
        reply = createTags(call);
    } else {
        return error(call, 400, "InvalidAction",
                     "The action " + call.action + " is not valid for this web service.");
    }
    if (reply.status == 200 && faults_.truncateNext > 0) {
        --faults_.truncateNext;
        reply.body.resize(reply.body.size() / 2);
    }
    if (call.status == 0) { // error() records its own call.
        call.status = reply.status;
        calls_.push_back(std::move(call));
    }
    return reply;
}

FakeReply FakeEc2::error(FakeEc2Call& call, int status, const std::string& code,
                         const std::string& message) {
    call.status = status;
    call.errorCode = code;
    calls_.push_back(call);
    return FakeReply{.status = status,
                     .headers = {{"Content-Type", "text/xml;charset=UTF-8"}},
                     .body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                             "<Code>" +
                             code + "</Code><Message>" + xmlEscape(message) +
                             "</Message></Error></Errors><RequestID>" +
                             requestIdFor(requestCount_) + "</RequestID></Response>"};
}

void FakeEc2::advance() {
    const SteadyTime now = clock_.steadyNow();
    for (auto& [id, i] : instances_) {
        if (i.state == "pending" && now - i.launchedAt >= options_.pendingFor)
            i.state = "running";
        if (i.state == "shutting-down" && now - i.terminatedAt >= options_.terminatingFor)
            i.state = "terminated";
    }
}

bool FakeEc2::visible(const FakeInstance& instance) const {
    return clock_.steadyNow() - instance.launchedAt >= faults_.notFoundWindow;
}

FakeReply FakeEc2::runInstances(FakeEc2Call& call) {
    const std::string image = call.param("ImageId");
    if (image.empty()) {
        return error(call, 400, "MissingParameter",
                     "The request must contain the parameter ImageId");
    }
    if (call.param("MinCount").empty() || call.param("MaxCount").empty())
        return error(call, 400, "MissingParameter", "MinCount and MaxCount are required");
    if ((call.has("SubnetId") || call.has("SecurityGroupId.1")) &&
        call.has("NetworkInterface.1.DeviceIndex")) {
        return error(call, 400, "InvalidParameterCombination",
                     "Network interfaces and an instance-level subnet ID may not be specified "
                     "on the same request");
    }
    if (const auto [code, message] = checkMarketOptions(call); !code.empty())
        return error(call, 400, code, message);
    const bool spot = call.param("InstanceMarketOptions.MarketType") == "spot";
    std::string type = call.param("InstanceType");
    if (type.empty())
        type = "m1.small";
    std::string subnet = call.param("NetworkInterface.1.SubnetId");
    if (subnet.empty())
        subnet = call.param("SubnetId");
    const std::string token = call.param("ClientToken");

    // Idempotency: same token and same parameters give the original launch.
    std::string fingerprint;
    for (const auto& [n, v] : call.params) {
        if (n != "ClientToken")
            fingerprint.append(n).append("=").append(v).append("&");
    }
    if (!token.empty()) {
        if (const auto it = tokens_.find(token); it != tokens_.end()) {
            if (it->second.first != fingerprint) {
                return error(call, 400, "IdempotentParameterMismatch",
                             "Arguments on this idempotent request are inconsistent with "
                             "arguments used in previous request(s).");
            }
            std::string items;
            for (const auto& id : it->second.second)
                items += instanceXml(instances_.at(id));
            return FakeReply{.status = 200,
                             .headers = {{"Content-Type", "text/xml;charset=UTF-8"}},
                             .body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                                 "<RunInstancesResponse") +
                                     kNs + "><requestId>" + requestIdFor(requestCount_) +
                                     "</requestId><reservationId>r-1</reservationId><ownerId>"
                                     "123456789012</ownerId><groupSet/><instancesSet>" +
                                     items + "</instancesSet></RunInstancesResponse>"};
        }
    }
    if (const auto it = faults_.capacityByType.find(type); it != faults_.capacityByType.end()) {
        return error(call, it->second == "InsufficientInstanceCapacity" ? 500 : 400, it->second,
                     "We currently do not have sufficient " + type +
                             " capacity in the Availability Zone you requested (us-east-1a).");
    }
    if (const auto it = faults_.capacityBySubnet.find(subnet);
        it != faults_.capacityBySubnet.end()) {
        return error(call, it->second == "InsufficientInstanceCapacity" ? 500 : 400, it->second,
                     "Insufficient capacity in subnet " + subnet);
    }
    const std::string market = spot ? "spot" : "on-demand";
    for (const auto& rule : faults_.capacity) {
        if ((!rule.market.empty() && rule.market != market) ||
            (!rule.instanceType.empty() && rule.instanceType != type) ||
            (!rule.subnet.empty() && rule.subnet != subnet))
            continue;
        return error(call, rule.code == "InsufficientInstanceCapacity" ? 500 : 400, rule.code,
                     "We currently do not have sufficient " + type + " capacity" +
                             (spot ? " for Spot" : "") +
                             " in the Availability Zone you requested (us-east-1a).");
    }
    const int count = std::max(1, std::stoi(call.param("MinCount")));
    std::vector<std::string> launched;
    std::string items;
    for (int n = 0; n < count; ++n) {
        FakeInstance i;
        i.id = instanceId(nextId_++);
        i.imageId = image;
        i.instanceType = type;
        i.subnetId = subnet;
        i.privateIp = "10.0." + std::to_string((nextId_ / 250) % 250) + "." +
                      std::to_string(nextId_ % 250 + 1);
        if (!options_.privateAddresses.empty()) {
            // End-to-end tests: each instance is a local sshd ("127.0.0.1:PORT").
            i.privateIp =
                    options_.privateAddresses[nextAddress_ % options_.privateAddresses.size()];
            ++nextAddress_;
        }
        if (call.param("NetworkInterface.1.AssociatePublicIpAddress") == "true") {
            i.publicIp = "54.0." + std::to_string((nextId_ / 250) % 250) + "." +
                         std::to_string(nextId_ % 250 + 1);
        }
        i.clientToken = token;
        if (spot) {
            i.lifecycle = "spot";
            i.spotRequestId = "sir-" + i.id.substr(2, 8);
            i.interruptionBehavior =
                    call.param("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior");
            if (i.interruptionBehavior.empty())
                i.interruptionBehavior = "terminate";
        }
        i.launchTime = clock_.now();
        i.launchedAt = clock_.steadyNow();
        for (int spec = 1;; ++spec) {
            const std::string prefix = "TagSpecification." + std::to_string(spec);
            if (!call.has(prefix + ".ResourceType"))
                break;
            auto& target =
                    call.param(prefix + ".ResourceType") == "instance" ? i.tags : i.volumeTags;
            for (int tag = 1;; ++tag) {
                const std::string key = prefix + ".Tag." + std::to_string(tag);
                if (!call.has(key + ".Key"))
                    break;
                target[call.param(key + ".Key")] = call.param(key + ".Value");
            }
        }
        items += instanceXml(i);
        launched.push_back(i.id);
        instances_[i.id] = std::move(i);
    }
    if (!token.empty())
        tokens_[token] = {fingerprint, launched};
    return FakeReply{.status = 200,
                     .headers = {{"Content-Type", "text/xml;charset=UTF-8"}},
                     .body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                         "<RunInstancesResponse") +
                             kNs + "><requestId>" + requestIdFor(requestCount_) +
                             "</requestId><reservationId>r-1</reservationId><ownerId>123456789012"
                             "</ownerId><groupSet/><instancesSet>" +
                             items + "</instancesSet></RunInstancesResponse>"};
}

FakeReply FakeEc2::describeInstances(FakeEc2Call& call) {
    const auto ids = listParam(call, "InstanceId");
    const bool hasMax = call.has("MaxResults");
    if (!ids.empty() && hasMax) {
        return error(call, 400, "InvalidParameterCombination",
                     "The parameter instancesSet cannot be used with the parameter maxResults");
    }
    int maxResults = 1 << 30;
    if (hasMax) {
        maxResults = std::stoi(call.param("MaxResults"));
        if (maxResults < 5 || maxResults > 1000) {
            return error(call, 400, "InvalidParameterValue",
                         "Value ( " + call.param("MaxResults") +
                                 " ) for parameter maxResults is invalid. Expecting a value "
                                 "between 5 and 1000.");
        }
    }
    for (const auto& id : ids) {
        const auto it = instances_.find(id);
        if (it == instances_.end() || !visible(it->second)) {
            return error(call, 400, "InvalidInstanceID.NotFound",
                         "The instance ID '" + id + "' does not exist");
        }
    }
    // Filters: Filter.N.Name / Filter.N.Value.M
    std::vector<std::pair<std::string, std::vector<std::string>>> filters;
    for (int n = 1;; ++n) {
        const std::string prefix = "Filter." + std::to_string(n);
        if (!call.has(prefix + ".Name"))
            break;
        filters.emplace_back(call.param(prefix + ".Name"), listParam(call, prefix + ".Value"));
    }
    auto matches = [&](const FakeInstance& i) {
        if (!visible(i))
            return false;
        if (!ids.empty() && std::find(ids.begin(), ids.end(), i.id) == ids.end())
            return false;
        for (const auto& filter : filters) {
            const std::string& name = filter.first;
            const std::vector<std::string>& values = filter.second;
            auto any = [&](const std::string& actual) {
                return std::find(values.begin(), values.end(), actual) != values.end();
            };
            bool ok = false;
            if (name.starts_with("tag:")) {
                const auto t = i.tags.find(name.substr(4));
                ok = t != i.tags.end() && any(t->second);
            } else if (name == "tag-key") {
                ok = std::any_of(values.begin(), values.end(),
                                 [&](const std::string& k) { return i.tags.contains(k); });
            } else if (name == "instance-state-name") {
                ok = any(i.state);
            } else if (name == "instance-id") {
                ok = any(i.id);
            } else if (name == "client-token") {
                ok = any(i.clientToken);
            } else if (name == "instance-type") {
                ok = any(i.instanceType);
            } else if (name == "subnet-id") {
                ok = any(i.subnetId);
            } else if (name == "instance-lifecycle") {
                ok = any(i.lifecycle);
            } else {
                return false;
            }
            if (!ok)
                return false;
        }
        return true;
    };
    std::size_t offset = 0;
    if (const std::string token = call.param("NextToken"); !token.empty()) {
        if (!token.starts_with("page-"))
            return error(call, 400, "InvalidParameterValue", "Invalid NextToken");
        offset = std::stoul(token.substr(5));
    }
    std::string items;
    std::size_t index = 0;
    int emitted = 0;
    std::string nextToken;
    for (const auto& [id, i] : instances_) {
        if (!matches(i))
            continue;
        if (index++ < offset)
            continue;
        if (emitted == maxResults) {
            nextToken = "page-" + std::to_string(offset + static_cast<std::size_t>(emitted));
            break;
        }
        items += "<item><reservationId>r-" + id.substr(2) +
                 "</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>" +
                 instanceXml(i) + "</instancesSet></item>";
        ++emitted;
    }
    std::string body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                   "<DescribeInstancesResponse") +
                       kNs + "><requestId>" + requestIdFor(requestCount_) +
                       "</requestId><reservationSet>" + items + "</reservationSet>";
    if (!nextToken.empty())
        body += "<nextToken>" + nextToken + "</nextToken>";
    body += "</DescribeInstancesResponse>";
    return FakeReply{.status = 200,
                     .headers = {{"Content-Type", "text/xml;charset=UTF-8"}},
                     .body = std::move(body)};
}

FakeReply FakeEc2::terminateInstances(FakeEc2Call& call) {
    const auto ids = listParam(call, "InstanceId");
    if (ids.empty())
        return error(call, 400, "MissingParameter", "The request must contain InstanceId");
    if (ids.size() > 1000)
        return error(call, 400, "InvalidParameterValue", "At most 1000 instance ids per call");
    for (const auto& id : ids) {
        const auto it = instances_.find(id);
        if (it == instances_.end() || !visible(it->second)) {
            return error(call, 400, "InvalidInstanceID.NotFound",
                         "The instance ID '" + id + "' does not exist");
        }
    }
    std::string items;
    for (const auto& id : ids) {
        FakeInstance& i = instances_.at(id);
        const std::string previous = i.state;
        if (i.state != "terminated" && i.state != "shutting-down") {
            i.state = "shutting-down";
            i.terminatedAt = clock_.steadyNow();
            i.stateReasonCode = "Client.UserInitiatedShutdown";
            i.stateReasonMessage = "Client.UserInitiatedShutdown: User initiated shutdown";
        }
        items.append("<item><instanceId>")
                .append(id)
                .append("</instanceId><currentState><code>")
                .append(std::to_string(stateCode(i.state)))
                .append("</code><name>")
                .append(i.state)
                .append("</name></currentState><previousState><code>")
                .append(std::to_string(stateCode(previous)))
                .append("</code><name>")
                .append(previous)
                .append("</name></previousState></item>");
    }
    return FakeReply{.status = 200,
                     .headers = {{"Content-Type", "text/xml;charset=UTF-8"}},
                     .body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                         "<TerminateInstancesResponse") +
                             kNs + "><requestId>" + requestIdFor(requestCount_) +
                             "</requestId><instancesSet>" + items +
                             "</instancesSet></TerminateInstancesResponse>"};
}

FakeReply FakeEc2::createTags(FakeEc2Call& call) {
    const auto ids = listParam(call, "ResourceId");
    for (const auto& id : ids) {
        const auto it = instances_.find(id);
        if (it == instances_.end() || !visible(it->second)) {
            return error(call, 400, "InvalidInstanceID.NotFound",
                         "The instance ID '" + id + "' does not exist");
        }
    }
    for (const auto& id : ids) {
        for (int n = 1;; ++n) {
            const std::string key = "Tag." + std::to_string(n);
            if (!call.has(key + ".Key"))
                break;
            instances_.at(id).tags[call.param(key + ".Key")] = call.param(key + ".Value");
        }
    }
    return FakeReply{.status = 200,
                     .headers = {{"Content-Type", "text/xml;charset=UTF-8"}},
                     .body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                         "<CreateTagsResponse") +
                             kNs + "><requestId>" + requestIdFor(requestCount_) +
                             "</requestId><return>true</return></CreateTagsResponse>"};
}

} // namespace autoscale::test
