// SPDX-License-Identifier: Apache-2.0
/// \file
/// AWS credentials and the standard credential chain (environment, web identity, shared
/// files, container, IMDSv2), with refresh before expiry. No credential value is ever
/// logged or put in an Error message.

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <autoscale/clock.h>
#include <autoscale/http.h>
#include <autoscale/log.h>
#include <autoscale/result.h>

namespace autoscale {

/// The standard AWS environment (AWS_*), handed to the credential chain untouched.
/// Secrets here are never logged.
struct AwsEnvironment {
    std::string accessKeyId{};
    std::string secretAccessKey{};
    std::string sessionToken{};
    std::string profile{};
    std::string sharedCredentialsFile{};
    std::string configFile{};
    std::string webIdentityTokenFile{};
    std::string roleArn{};
    std::string roleSessionName{};
    std::string containerCredentialsFullUri{};
    std::string containerCredentialsRelativeUri{};
    std::string containerAuthorizationToken{};
    std::string metadataServiceEndpoint{};
    bool metadataDisabled = false;
    bool iam = false; ///< AWS_IAM=true: drone/autoscaler's switch for role credentials.
    std::string endpointEc2{};
    std::string endpointSts{};
    std::string endpointSqs{}; ///< AWS_ENDPOINT_URL_SQS (the interruption queue).
    std::string endpoint{};
    std::string home{}; ///< $HOME, for ~/.aws/credentials.

    /// True when any credential source is configured explicitly.
    [[nodiscard]] bool configured() const {
        return iam || !accessKeyId.empty() || !profile.empty() || !webIdentityTokenFile.empty() ||
               !containerCredentialsFullUri.empty() || !containerCredentialsRelativeUri.empty() ||
               !metadataServiceEndpoint.empty();
    }

    friend bool operator==(const AwsEnvironment&, const AwsEnvironment&) = default;
};

/// One set of AWS credentials. `sessionToken` is empty for long-term keys; `expiration`
/// is set for temporary credentials. All three strings are secrets.
struct AwsCredentials {
    std::string accessKeyId{};
    std::string secretAccessKey{};
    std::string sessionToken{};
    std::optional<WallTime> expiration{};
    std::string source{}; ///< Which provider produced them ("environment", "imds", ...).

    friend bool operator==(const AwsCredentials&, const AwsCredentials&) = default;
};

/// Supplies credentials for signing. Implementations document their thread-safety; the
/// chain from makeDefaultCredentialChain is internally synchronized.
class CredentialsSource {
public:
    virtual ~CredentialsSource();

    /// Current credentials. Errc::Unauthorized when no source yields any; other kinds
    /// (Transport, Parse, ...) when a configured source failed.
    [[nodiscard]] virtual Result<AwsCredentials> credentials() = 0;

    /// Drops any cached credentials so the next call fetches new ones (after an
    /// AuthFailure, for instance). The default does nothing.
    virtual void invalidate();

    CredentialsSource(const CredentialsSource&) = delete;
    CredentialsSource& operator=(const CredentialsSource&) = delete;

protected:
    CredentialsSource() = default;
};

/// Fixed credentials (tests, or keys from the operator). Thread-safe.
std::unique_ptr<CredentialsSource> makeStaticCredentials(AwsCredentials credentials);

/// Makes one HttpClient; the chain and the provider call it once per client they need.
using HttpClientFactory = std::function<Result<std::unique_ptr<HttpClient>>(const HttpOptions&)>;

/// Knobs of the default chain. The defaults are the SDKs'.
struct CredentialChainOptions {
    std::string region = "us-east-1"; ///< For the regional STS endpoint.
    /// Temporary credentials are refreshed when less than this remains.
    std::chrono::seconds refreshAhead{300};
    std::chrono::milliseconds metadataTimeout{1000}; ///< IMDS and container calls.
    std::chrono::milliseconds stsTimeout{10000};     ///< AssumeRoleWithWebIdentity.
    HttpClientFactory httpFactory{};                 ///< Empty: makeCurlHttpClient.
    LogSink* logSink = nullptr;                      ///< Optional; must outlive the chain.
    /// Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is resolved (ECS's fixed address);
    /// tests point it at a loopback fake.
    std::string containerBaseUrl = "http://169.254.170.2";
};

/// The standard chain, tried in this order on first use and whenever refreshed:
/// 1. environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN);
/// 2. web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or the profile's keys)
///    through an unsigned STS AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS,
///    AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com);
/// 3. the shared credentials file, then the config file, for AWS_PROFILE (or "default");
/// 4. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else _FULL_URI);
/// 5. IMDSv2 (token PUT, role, credentials), unless AWS_EC2_METADATA_DISABLED;
///    AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254.
/// The first source that yields credentials wins. Temporary credentials are cached and
/// refreshed `refreshAhead` before they expire; if a refresh fails while the old ones are
/// still valid, the old ones are returned. Thread-safe; `clock` must outlive the chain.
Result<std::unique_ptr<CredentialsSource>>
makeDefaultCredentialChain(const AwsEnvironment& env, const Clock& clock,
                           CredentialChainOptions options = {});

} // namespace autoscale
