// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeImds, FakeSts and FakeContainerCredentials on FakeHttpServer.

#include "fake_credential_servers.h"

#include "core/time_format.h"

namespace autoscale::test {

namespace {

std::string credentialsJson(const std::string& prefix, int n, WallTime expiration) {
    return R"({"Code":"Success","LastUpdated":"2015-08-30T12:00:00Z","Type":"AWS-HMAC",)"
           R"("AccessKeyId":")" +
           prefix + std::to_string(n) + R"(","SecretAccessKey":"secret-)" + prefix +
           std::to_string(n) + R"(","Token":"token-)" + prefix + std::to_string(n) +
           R"(","Expiration":")" + detail::formatIso8601(expiration) + R"("})";
}

} // namespace

FakeImds::FakeImds(const Clock& clock, std::chrono::seconds lifetime)
    : clock_(clock)
    , lifetime_(lifetime) {
    server_.on("PUT", "/latest/api/token", [this](const RecordedRequest& r) {
        const std::lock_guard lock(mutex_);
        if (failStatus_ != 0)
            return FakeReply{.status = failStatus_};
        if (r.headers.contains("x-forwarded-for") ||
            !r.headers.contains("x-aws-ec2-metadata-token-ttl-seconds"))
            return FakeReply{.status = 400};
        const std::string token = "imds-token-" + std::to_string(++issued_);
        tokens_.insert(token);
        return FakeReply{.status = 200, .headers = {{"Content-Type", "text/plain"}}, .body = token};
    });
    server_.on("GET", "*", [this](const RecordedRequest& r) {
        const std::lock_guard lock(mutex_);
        if (failStatus_ != 0)
            return FakeReply{.status = failStatus_};
        const auto token = r.headers.find("x-aws-ec2-metadata-token");
        if (token == r.headers.end() || !tokens_.contains(token->second))
            return FakeReply{.status = 401};
        const std::string base = "/latest/meta-data/iam/security-credentials/";
        if (r.path == base) {
            if (role_.empty())
                return FakeReply{.status = 404};
            return FakeReply{
                    .status = 200, .headers = {{"Content-Type", "text/plain"}}, .body = role_};
        }
        if (!role_.empty() && r.path == base + role_) {
            const int n = ++served_;
            return FakeReply{.status = 200,
                             .headers = {{"Content-Type", "text/plain"}},
                             .body = credentialsJson("ASIAIMDS", n, clock_.now() + lifetime_)};
        }
        return FakeReply{.status = 404};
    });
}

void FakeImds::expireTokens() {
    const std::lock_guard lock(mutex_);
    tokens_.clear();
}

void FakeImds::setRole(std::string role) {
    const std::lock_guard lock(mutex_);
    role_ = std::move(role);
}

void FakeImds::failWith(int status) {
    const std::lock_guard lock(mutex_);
    failStatus_ = status;
}

int FakeImds::tokensIssued() const {
    const std::lock_guard lock(mutex_);
    return issued_;
}

FakeSts::FakeSts(const Clock& clock, std::chrono::seconds lifetime)
    : clock_(clock)
    , lifetime_(lifetime) {
    server_.on("POST", "/", [this](const RecordedRequest& r) {
        if (r.headers.contains("authorization"))
            return FakeReply{.status = 400, .body = "signed"};
        if (r.body.find("Action=AssumeRoleWithWebIdentity") != 0 ||
            r.body.find("WebIdentityToken=") == std::string::npos) {
            return FakeReply{
                    .status = 400,
                    .headers = {{"Content-Type", "text/xml"}},
                    .body = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
                            "<Message>bad</Message></Error><RequestId>sts-1</RequestId>"
                            "</ErrorResponse>"};
        }
        if (r.body.find("WebIdentityToken=expired") != std::string::npos) {
            return FakeReply{
                    .status = 400,
                    .headers = {{"Content-Type", "text/xml"}},
                    .body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                            "<Error><Type>Sender</Type><Code>ExpiredTokenException</Code>"
                            "<Message>Token expired</Message></Error><RequestId>sts-2"
                            "</RequestId></ErrorResponse>"};
        }
        const int n = ++calls_;
        const std::string expiration = detail::formatIso8601(clock_.now() + lifetime_);
        return FakeReply{
                .status = 200,
                .headers = {{"Content-Type", "text/xml"}},
                .body = "<AssumeRoleWithWebIdentityResponse "
                        "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                        "<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>sub"
                        "</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>arn:aws:sts::1:"
                        "assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>"
                        "</AssumedRoleUser><Credentials><AccessKeyId>ASIASTS" +
                        std::to_string(n) + "</AccessKeyId><SecretAccessKey>secret-sts" +
                        std::to_string(n) + "</SecretAccessKey><SessionToken>token-sts" +
                        std::to_string(n) + "</SessionToken><Expiration>" + expiration +
                        "</Expiration></Credentials><Provider>p</Provider><Audience>a"
                        "</Audience></AssumeRoleWithWebIdentityResult><ResponseMetadata>"
                        "<RequestId>sts-ok</RequestId></ResponseMetadata>"
                        "</AssumeRoleWithWebIdentityResponse>"};
    });
}

FakeContainerCredentials::FakeContainerCredentials(const Clock& clock,
                                                   std::chrono::seconds lifetime,
                                                   std::string authorization)
    : clock_(clock)
    , lifetime_(lifetime)
    , authorization_(std::move(authorization)) {
    server_.on("GET", "/creds", [this](const RecordedRequest& r) {
        if (!authorization_.empty()) {
            const auto auth = r.headers.find("authorization");
            if (auth == r.headers.end() || auth->second != authorization_)
                return FakeReply{.status = 401, .body = R"({"message":"unauthorized"})"};
        }
        const int n = ++served_;
        return FakeReply{.status = 200,
                         .body = credentialsJson("ASIAECS", n, clock_.now() + lifetime_)};
    });
}

} // namespace autoscale::test
