// SPDX-License-Identifier: Apache-2.0
/// \file
/// The default credential chain: environment, web identity (STS), shared files, container
/// credentials and IMDSv2, behind a cache that refreshes temporary credentials ahead of
/// their expiry. Secrets never reach a log record or an Error message.

#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include <rapidjson/document.h>

#include "autoscale/aws_credentials.h"
#include "core/files.h"
#include "core/json_value.h"
#include "core/text.h"
#include "core/time_format.h"
#include "credential_replies.h"
#include "ec2_api.h"
#include "ec2_client.h"
#include "ini.h"

#include <pugixml.hpp>

namespace autoscale {

CredentialsSource::~CredentialsSource() = default;
void CredentialsSource::invalidate() {
}

namespace aws {

Result<AwsCredentials> parseCredentialsJson(std::string_view body, const std::string& source) {
    auto parsed = detail::parseJsonDocument(body, "credentials reply");
    if (!parsed)
        return makeError(Errc::Parse, source + ": " + parsed.error().message);
    if (!parsed->IsObject())
        return makeError(Errc::Parse, source + ": credentials reply is not a JSON object");
    const rapidjson::Document& doc = *parsed;
    auto get = [&](const char* key) -> std::string {
        // HasMember first: clang rejects comparing rapidjson member iterators in C++20.
        if (!doc.HasMember(key))
            return {};
        const rapidjson::Value& v = doc.FindMember(key)->value;
        if (!v.IsString())
            return {};
        return {v.GetString(), v.GetStringLength()};
    };
    const std::string code = get("Code");
    if (!code.empty() && code != "Success") {
        return makeError(Errc::Unauthorized, source + ": credentials endpoint answered " + code +
                                                     ": " + get("Message"));
    }
    AwsCredentials out{.accessKeyId = get("AccessKeyId"),
                       .secretAccessKey = get("SecretAccessKey"),
                       .sessionToken = get("Token"),
                       .source = source};
    if (out.accessKeyId.empty() || out.secretAccessKey.empty()) {
        return makeError(Errc::Parse,
                         source + ": credentials reply lacks AccessKeyId or SecretAccessKey");
    }
    const std::string expiration = get("Expiration");
    if (!expiration.empty()) {
        auto when = detail::parseIso8601(expiration);
        if (!when)
            return makeError(Errc::Parse, source + ": unreadable Expiration " + expiration);
        out.expiration = *when;
    }
    return out;
}

Result<AwsCredentials> parseAssumeRoleWithWebIdentity(std::string_view xml) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size()))
        return makeError(Errc::Parse, "sts AssumeRoleWithWebIdentity reply is not XML");
    const pugi::xml_node creds =
            doc.document_element().child("AssumeRoleWithWebIdentityResult").child("Credentials");
    AwsCredentials out{.accessKeyId = creds.child_value("AccessKeyId"),
                       .secretAccessKey = creds.child_value("SecretAccessKey"),
                       .sessionToken = creds.child_value("SessionToken"),
                       .source = "web-identity"};
    if (out.accessKeyId.empty() || out.secretAccessKey.empty()) {
        return makeError(Errc::Parse, "sts AssumeRoleWithWebIdentity reply has no Credentials");
    }
    if (const std::string expiration = creds.child_value("Expiration"); !expiration.empty()) {
        auto when = detail::parseIso8601(expiration);
        if (!when) {
            return makeError(Errc::Parse,
                             "sts AssumeRoleWithWebIdentity reply has an unreadable Expiration " +
                                     expiration);
        }
        out.expiration = *when;
    }
    return out;
}

} // namespace aws

namespace {

class StaticCredentials final : public CredentialsSource {
public:
    explicit StaticCredentials(AwsCredentials credentials) : credentials_(std::move(credentials)) {}
    Result<AwsCredentials> credentials() override { return credentials_; }

private:
    const AwsCredentials credentials_;
};

/// nullopt: this source is not configured here, try the next one.
using Attempt = std::optional<Result<AwsCredentials>>;

std::string trimmed(std::string_view text) {
    return std::string(detail::trim(text));
}

std::string value(const aws::IniSection* section, const std::string& key) {
    if (section == nullptr)
        return {};
    const auto it = section->find(key);
    return it == section->end() ? std::string{} : it->second;
}

bool allowedContainerUrl(std::string_view url) {
    if (url.starts_with("https://"))
        return true;
    if (!url.starts_with("http://"))
        return false;
    std::string_view host = url.substr(7);
    host = host.substr(0, host.find('/'));
    if (host.starts_with('[')) {
        host = host.substr(0, host.find(']') + 1);
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    return host.starts_with("127.") || host == "localhost" || host == "[::1]" ||
           host == "169.254.170.2" || host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

class DefaultChain final : public CredentialsSource {
public:
    DefaultChain(AwsEnvironment env, const Clock& clock, CredentialChainOptions options)
        : env_(std::move(env))
        , clock_(clock)
        , options_(std::move(options))
        , nullSink_(options_.logSink == nullptr ? std::make_unique<NullSink>() : nullptr)
        , logger_(options_.logSink != nullptr ? *options_.logSink : *nullSink_, clock,
                  "aws-credentials", LogLevel::Debug) {
        if (env_.profile.empty())
            env_.profile = "default";
    }

    Result<AwsCredentials> credentials() override {
        const std::lock_guard lock(mutex_);
        const WallTime now = clock_.now();
        if (cached_ && (!cached_->expiration || now < *cached_->expiration - options_.refreshAhead))
            return *cached_;
        auto fresh = resolve();
        if (fresh) {
            logger_.info("credentials loaded",
                         {{"source", fresh->source},
                          {"expires", fresh->expiration ? detail::formatIso8601(*fresh->expiration)
                                                        : std::string("never")}});
            cached_ = *fresh;
            return fresh;
        }
        if (cached_ && cached_->expiration && now < *cached_->expiration) {
            logger_.warn("credential refresh failed, using the current ones until they expire",
                         {{"source", cached_->source}, {"error", fresh.error().message}});
            return *cached_;
        }
        return fresh;
    }

    void invalidate() override {
        const std::lock_guard lock(mutex_);
        cached_.reset();
    }

private:
    Result<AwsCredentials> resolve() {
        using Step = Attempt (DefaultChain::*)();
        for (const Step step : {&DefaultChain::fromEnvironment, &DefaultChain::fromWebIdentity,
                                &DefaultChain::fromSharedFiles, &DefaultChain::fromContainer,
                                &DefaultChain::fromImds}) {
            Attempt attempt = (this->*step)();
            if (attempt)
                return std::move(*attempt);
        }
        return makeError(Errc::Unauthorized,
                         "no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY, a profile in the shared files (AWS_PROFILE), web "
                         "identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), container "
                         "credentials, or run on EC2 with an instance profile");
    }

    Attempt fromEnvironment() {
        if (env_.accessKeyId.empty() && env_.secretAccessKey.empty())
            return std::nullopt;
        if (env_.accessKeyId.empty() || env_.secretAccessKey.empty()) {
            return Result<AwsCredentials>(
                    makeError(Errc::InvalidArgument,
                              "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"));
        }
        return Result<AwsCredentials>(AwsCredentials{.accessKeyId = env_.accessKeyId,
                                                     .secretAccessKey = env_.secretAccessKey,
                                                     .sessionToken = env_.sessionToken,
                                                     .source = "environment"});
    }

    const aws::IniFile& credentialsFile() {
        if (!credentialsFile_) {
            std::string path = env_.sharedCredentialsFile;
            if (path.empty() && !env_.home.empty())
                path = env_.home + "/.aws/credentials";
            credentialsFile_ = aws::parseIni(detail::readFile(path).value_or(std::string{}));
        }
        return *credentialsFile_;
    }

    const aws::IniFile& configFile() {
        if (!configFile_) {
            std::string path = env_.configFile;
            if (path.empty() && !env_.home.empty())
                path = env_.home + "/.aws/config";
            configFile_ = aws::parseIni(detail::readFile(path).value_or(std::string{}));
        }
        return *configFile_;
    }

    Attempt fromWebIdentity() {
        const aws::IniSection* profile = aws::configProfile(configFile(), env_.profile);
        std::string tokenFile = env_.webIdentityTokenFile;
        std::string roleArn = env_.roleArn;
        std::string sessionName = env_.roleSessionName;
        if (tokenFile.empty()) {
            tokenFile = value(profile, "web_identity_token_file");
            roleArn = value(profile, "role_arn");
            sessionName = value(profile, "role_session_name");
        }
        if (tokenFile.empty())
            return std::nullopt;
        if (roleArn.empty()) {
            return Result<AwsCredentials>(
                    makeError(Errc::InvalidArgument, "web identity token file " + tokenFile +
                                                             " is set but AWS_ROLE_ARN is not"));
        }
        // Re-read on every refresh: the kubelet rotates the token.
        const auto token = detail::readFile(tokenFile);
        if (!token) {
            return Result<AwsCredentials>(
                    makeError(Errc::Io, "cannot read web identity token file " + tokenFile));
        }
        if (sessionName.empty())
            sessionName = "autoscale-" + std::to_string(detail::toUnixSeconds(clock_.now()));
        std::string endpoint = !env_.endpointSts.empty() ? env_.endpointSts
                               : !env_.endpoint.empty()
                                       ? env_.endpoint
                                       : "https://sts." + options_.region + ".amazonaws.com";
        while (!endpoint.empty() && endpoint.back() == '/')
            endpoint.pop_back();
        const std::string body = aws::formBody("AssumeRoleWithWebIdentity", "2011-06-15",
                                               {{"RoleArn", roleArn},
                                                {"RoleSessionName", sessionName},
                                                {"WebIdentityToken", trimmed(*token)},
                                                {"DurationSeconds", "3600"}});
        auto http = client(options_.stsTimeout);
        if (!http)
            return Result<AwsCredentials>(http.error());
        auto reply = (*http)->send(HttpRequest{
                .method = "POST",
                .url = endpoint + "/",
                .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                .body = body});
        if (!reply)
            return Result<AwsCredentials>(reply.error());
        if (reply->status != 200) {
            Error error =
                    aws::classifyReply("AssumeRoleWithWebIdentity", reply->status, reply->body);
            error.message = "sts " + error.message.substr(error.message.find(' ') + 1) + " (role " +
                            roleArn + ")";
            return Result<AwsCredentials>(error);
        }
        return aws::parseAssumeRoleWithWebIdentity(reply->body);
    }

    Attempt fromSharedFiles() {
        for (const bool config : {false, true}) {
            const aws::IniSection* section =
                    config ? aws::configProfile(configFile(), env_.profile)
                           : aws::credentialsProfile(credentialsFile(), env_.profile);
            const std::string id = value(section, "aws_access_key_id");
            const std::string secret = value(section, "aws_secret_access_key");
            if (id.empty() && secret.empty())
                continue;
            const std::string where = (config ? "config file, profile "
                                              : "credentials file, "
                                                "profile ") +
                                      env_.profile;
            if (id.empty() || secret.empty()) {
                return Result<AwsCredentials>(makeError(
                        Errc::InvalidArgument,
                        where + ": aws_access_key_id and aws_secret_access_key must be set "
                                "together"));
            }
            std::string token = value(section, "aws_session_token");
            if (token.empty())
                token = value(section, "aws_security_token");
            return Result<AwsCredentials>(AwsCredentials{.accessKeyId = id,
                                                         .secretAccessKey = secret,
                                                         .sessionToken = token,
                                                         .source = where});
        }
        return std::nullopt;
    }

    Attempt fromContainer() {
        std::string url;
        if (!env_.containerCredentialsRelativeUri.empty()) {
            url = options_.containerBaseUrl + env_.containerCredentialsRelativeUri;
        } else if (!env_.containerCredentialsFullUri.empty()) {
            url = env_.containerCredentialsFullUri;
            if (!allowedContainerUrl(url)) {
                return Result<AwsCredentials>(makeError(
                        Errc::InvalidArgument,
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback "
                        "or ECS/EKS link-local host: " +
                                hostPortOf(url)));
            }
        } else {
            return std::nullopt;
        }
        auto http = client(options_.metadataTimeout);
        if (!http)
            return Result<AwsCredentials>(http.error());
        HttpRequest request{.method = "GET", .url = url};
        if (!env_.containerAuthorizationToken.empty())
            request.headers.emplace_back("Authorization", env_.containerAuthorizationToken);
        Result<HttpResponse> reply = makeError(Errc::Internal, "not sent");
        for (int attempt = 0; attempt < 3; ++attempt) {
            reply = (*http)->send(request);
            if (reply && reply->status < 500)
                break;
        }
        if (!reply)
            return Result<AwsCredentials>(reply.error());
        if (reply->status != 200) {
            return Result<AwsCredentials>(makeError(
                    Errc::Unauthorized, "container credentials endpoint " + hostPortOf(url) +
                                                " answered HTTP " + std::to_string(reply->status)));
        }
        return aws::parseCredentialsJson(reply->body, "container");
    }

    Attempt fromImds() {
        if (env_.metadataDisabled)
            return std::nullopt;
        std::string base = env_.metadataServiceEndpoint.empty() ? "http://169.254.169.254"
                                                                : env_.metadataServiceEndpoint;
        while (!base.empty() && base.back() == '/')
            base.pop_back();
        auto http = client(options_.metadataTimeout);
        if (!http)
            return Result<AwsCredentials>(http.error());
        for (int round = 0; round < 2; ++round) {
            auto token = (*http)->send(
                    HttpRequest{.method = "PUT",
                                .url = base + "/latest/api/token",
                                .headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}});
            if (!token || token->status != 200) {
                // Not on EC2 (or IMDS off): this source does not apply.
                logger_.debug("imds unavailable",
                              {{"endpoint", hostPortOf(base)},
                               {"status", token ? std::to_string(token->status)
                                                : std::string(nameOf(token.error().code))}});
                return std::nullopt;
            }
            const HttpHeaders auth{{"X-aws-ec2-metadata-token", token->body}};
            const std::string rolesUrl = base + "/latest/meta-data/iam/security-credentials/";
            auto roles =
                    (*http)->send(HttpRequest{.method = "GET", .url = rolesUrl, .headers = auth});
            if (!roles)
                return Result<AwsCredentials>(roles.error());
            if (roles->status == 401)
                continue; // Token expired or rejected: fetch a new one once.
            if (roles->status == 404) {
                return Result<AwsCredentials>(makeError(
                        Errc::Unauthorized, "imds: this instance has no IAM instance profile"));
            }
            if (roles->status != 200) {
                return Result<AwsCredentials>(
                        makeError(Errc::Unavailable, "imds: role lookup answered HTTP " +
                                                             std::to_string(roles->status)));
            }
            const std::string role = trimmed(roles->body.substr(0, roles->body.find('\n')));
            if (role.empty())
                return Result<AwsCredentials>(makeError(Errc::Parse, "imds: empty role name"));
            auto creds = (*http)->send(
                    HttpRequest{.method = "GET", .url = rolesUrl + role, .headers = auth});
            if (!creds)
                return Result<AwsCredentials>(creds.error());
            if (creds->status == 401)
                continue;
            if (creds->status != 200) {
                return Result<AwsCredentials>(
                        makeError(Errc::Unavailable, "imds: credentials for role " + role +
                                                             " answered HTTP " +
                                                             std::to_string(creds->status)));
            }
            return aws::parseCredentialsJson(creds->body, "imds");
        }
        return Result<AwsCredentials>(
                makeError(Errc::Unauthorized, "imds: the session token was rejected twice"));
    }

    Result<HttpClient*> client(std::chrono::milliseconds timeout) {
        HttpOptions http{
                .connectTimeout = timeout, .totalTimeout = timeout, .protocols = "http,https"};
        if (timeout > options_.metadataTimeout) {
            if (!stsHttp_) {
                auto made = options_.httpFactory ? options_.httpFactory(http)
                                                 : makeCurlHttpClient(http);
                if (!made)
                    return made.error();
                stsHttp_ = std::move(*made);
            }
            return stsHttp_.get();
        }
        if (!metadataHttp_) {
            auto made =
                    options_.httpFactory ? options_.httpFactory(http) : makeCurlHttpClient(http);
            if (!made)
                return made.error();
            metadataHttp_ = std::move(*made);
        }
        return metadataHttp_.get();
    }

    AwsEnvironment env_;
    const Clock& clock_;
    CredentialChainOptions options_;
    std::unique_ptr<LogSink> nullSink_;
    Logger logger_;
    std::mutex mutex_; // Guards everything below.
    std::optional<AwsCredentials> cached_;
    std::optional<aws::IniFile> credentialsFile_;
    std::optional<aws::IniFile> configFile_;
    std::unique_ptr<HttpClient> metadataHttp_;
    std::unique_ptr<HttpClient> stsHttp_;
};

} // namespace

std::unique_ptr<CredentialsSource> makeStaticCredentials(AwsCredentials credentials) {
    return std::make_unique<StaticCredentials>(std::move(credentials));
}

Result<std::unique_ptr<CredentialsSource>>
makeDefaultCredentialChain(const AwsEnvironment& env, const Clock& clock,
                           CredentialChainOptions options) {
    if (!env.containerCredentialsFullUri.empty() && env.containerCredentialsRelativeUri.empty() &&
        !allowedContainerUrl(env.containerCredentialsFullUri)) {
        return makeError(Errc::InvalidArgument,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback "
                         "or ECS/EKS link-local host: " +
                                 hostPortOf(env.containerCredentialsFullUri));
    }
    return std::unique_ptr<CredentialsSource>(
            std::make_unique<DefaultChain>(env, clock, std::move(options)));
}

} // namespace autoscale
