// SPDX-License-Identifier: Apache-2.0
/// \file
/// Parsing the answers of the credential endpoints (private, public to tests and
/// fuzzers): the JSON of IMDS and the container endpoint, and STS's
/// AssumeRoleWithWebIdentity XML. Pure functions over untrusted text; errors name
/// the source and the field, never a credential value.

#pragma once

#include <string>
#include <string_view>

#include <autoscale/aws_credentials.h>
#include <autoscale/result.h>

namespace autoscale::aws {

/// The JSON of IMDS or the container endpoint ("AccessKeyId", "SecretAccessKey",
/// "Token", "Expiration", "Code"), with `source` as AwsCredentials::source.
/// Errc::Unauthorized when "Code" is not "Success"; Errc::Parse when the body is
/// not a JSON object, lacks a key, or has an unreadable Expiration.
Result<AwsCredentials> parseCredentialsJson(std::string_view body, const std::string& source);

/// STS's AssumeRoleWithWebIdentity reply (source "web-identity"). Errc::Parse
/// when it is not XML, has no Credentials, or has an unreadable Expiration.
Result<AwsCredentials> parseAssumeRoleWithWebIdentity(std::string_view xml);

} // namespace autoscale::aws
