// SPDX-License-Identifier: Apache-2.0
/// \file
/// cloud-init user data: the built-in template and a small template language
/// (`{{ .Var | func }}`, `{{ if .Var }}...{{ end }}`) for it and for
/// DRONE_AMAZON_USERDATA(_FILE).

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/installer.h>

#include "agent_commands.h"
#include "ssh_wire.h"

namespace autoscale {

namespace {

constexpr std::string_view kDefaultTemplate = R"(#cloud-config
# autoscale user data for {{ .Name }} (pool {{ .Pool }}).
# Docker comes from the distribution's docker.io package, built for every
# architecture the AMI may have (amd64, arm64); it listens on its unix socket
# only. sshd is the only listening service we need; no port is opened here.
package_update: true
package_upgrade: false
apt_reboot_if_required: false
packages:
  - docker.io
disable_root: false
ssh_pwauth: false
{{ if .HostPrivateKey }}ssh_deletekeys: true
ssh_genkeytypes: []
ssh_keys:
  ed25519_private: |
{{ .HostPrivateKey | indent 4 }}
  ed25519_public: {{ .HostPublicKey | json }}
{{ end }}bootcmd:
  - - sh
    - -c
    - |
      user={{ .SshUser | shell }}
      key={{ .SshPublicKey | shell }}
      id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
      home=$(getent passwd "$user" | cut -d: -f6)
      mkdir -p "$home/.ssh" && chmod 700 "$home/.ssh"
      touch "$home/.ssh/authorized_keys" && chmod 600 "$home/.ssh/authorized_keys"
      grep -qxF "$key" "$home/.ssh/authorized_keys" || printf '%s\n' "$key" >> "$home/.ssh/authorized_keys"
      chown -R "$user" "$home/.ssh"
runcmd:
  - - sh
    - -c
    - |
      user={{ .SshUser | shell }}
      if [ "$user" != root ]; then usermod -aG docker "$user"; fi
      systemctl enable --now docker
)";

/// EC2 takes at most 16 KB of user data before base64 (RunInstances UserData).
/// Rendering stops as soon as the output or one value grows past it: filters
/// compound (each `| json` can double a value), so a short template could
/// otherwise ask for gigabytes.
constexpr std::size_t kMaxUserDataBytes = std::size_t{16} * 1024;

bool validUser(std::string_view user) {
    if (user.empty() || user.size() > 32)
        return false;
    if (!(std::islower(static_cast<unsigned char>(user[0])) != 0 || user[0] == '_'))
        return false;
    return std::ranges::all_of(user, [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return std::islower(u) != 0 || std::isdigit(u) != 0 || c == '_' || c == '-';
    });
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    std::string word;
    while (in >> word)
        out.push_back(word);
    return out;
}

std::string jsonQuote(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                static constexpr std::string_view kHex = "0123456789abcdef";
                out += "\\u00";
                out += kHex[static_cast<unsigned char>(c) >> 4U];
                out += kHex[static_cast<unsigned char>(c) & 15U];
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

std::string indent(std::string text, std::size_t width) {
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    const std::string pad(width, ' ');
    std::string out = pad;
    for (const char c : text) {
        out += c;
        if (c == '\n')
            out += pad;
    }
    return out;
}

Error templateError(const std::string& message) {
    return makeError(Errc::InvalidArgument, "user data template: " + message);
}

Error tooLong(std::size_t size) {
    return templateError("the rendered user data is over " + std::to_string(kMaxUserDataBytes) +
                         " bytes (" + std::to_string(size) +
                         " so far), the most EC2 accepts; shorten the template");
}

/// Evaluates `.Var | f1 | f2 arg`.
Result<std::string> evaluate(const std::string& expression,
                             const std::map<std::string, std::string>& variables) {
    std::vector<std::string> stages;
    std::size_t start = 0;
    for (std::size_t bar = expression.find('|'); bar != std::string::npos;
         bar = expression.find('|', start)) {
        stages.push_back(trim(std::string_view(expression).substr(start, bar - start)));
        start = bar + 1;
    }
    stages.push_back(trim(std::string_view(expression).substr(start)));
    const std::string& name = stages.front();
    if (!name.starts_with('.'))
        return templateError("expected .Variable in {{ " + expression + " }}");
    const auto found = variables.find(name.substr(1));
    if (found == variables.end())
        return templateError("unknown variable " + name);
    std::string value = found->second;
    for (std::size_t i = 1; i < stages.size(); ++i) {
        const auto call = words(stages[i]);
        if (call.empty())
            return templateError("empty function in {{ " + expression + " }}");
        if (call[0] == "json" && call.size() == 1) {
            value = jsonQuote(value);
        } else if (call[0] == "shell" && call.size() == 1) {
            value = detail::shellQuote(value);
        } else if (call[0] == "base64" && call.size() == 1) {
            value = detail::base64Encode(value);
        } else if (call[0] == "trim" && call.size() == 1) {
            value = trim(value);
            while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
                value.pop_back();
        } else if (call[0] == "indent" && call.size() == 2 &&
                   call[1].find_first_not_of("0123456789") == std::string::npos &&
                   call[1].size() <= 2) {
            value = indent(value, std::stoul(call[1]));
        } else {
            return templateError("unknown function " + stages[i]);
        }
        if (value.size() > kMaxUserDataBytes) {
            return templateError("{{ " + expression + " }} is over " +
                                 std::to_string(kMaxUserDataBytes) +
                                 " bytes, the most EC2 accepts as user data");
        }
    }
    return value;
}

} // namespace

const std::string& defaultUserDataTemplate() {
    static const std::string text(kDefaultTemplate);
    return text;
}

Result<std::string> renderUserData(const std::string& templateText, const UserDataValues& values) {
    if (!validUser(values.sshUser)) {
        return templateError("DRONE_SSH_USER " + jsonQuote(values.sshUser) +
                             " is not a valid user name");
    }
    if (values.sshPublicKey.find('\n') != std::string::npos ||
        values.hostPublicKey.find('\n') != std::string::npos)
        return templateError("a public key must be one line");
    const std::map<std::string, std::string> variables{
            {"Name", values.name},
            {"SshUser", values.sshUser},
            {"SshPublicKey", values.sshPublicKey},
            {"HostPublicKey", values.hostPublicKey},
            {"HostPrivateKey", values.hostPrivateKey},
            {"Image", values.image},
            {"Pool", values.pool},
    };
    std::string out;
    std::vector<bool> conditions; // Open `if` blocks: was each one true?
    auto emitting = [&conditions] {
        return std::ranges::all_of(conditions, [](bool c) { return c; });
    };
    std::size_t pos = 0;
    while (pos < templateText.size()) {
        const auto open = templateText.find("{{", pos);
        if (open == std::string::npos) {
            if (emitting())
                out.append(templateText, pos);
            break;
        }
        if (emitting())
            out.append(templateText, pos, open - pos);
        const auto close = templateText.find("}}", open + 2);
        if (close == std::string::npos)
            return templateError("unclosed {{ at offset " + std::to_string(open));
        const std::string action =
                trim(std::string_view(templateText).substr(open + 2, close - open - 2));
        pos = close + 2;
        const auto parts = words(action);
        if (parts.empty())
            return templateError("empty {{ }} at offset " + std::to_string(open));
        if (parts[0] == "if") {
            if (parts.size() != 2)
                return templateError("expected {{ if .Variable }}, got {{ " + action + " }}");
            auto value = evaluate(parts[1], variables);
            if (!value)
                return value.error();
            conditions.push_back(!value->empty());
            continue;
        }
        if (parts[0] == "end" && parts.size() == 1) {
            if (conditions.empty())
                return templateError("{{ end }} without {{ if }}");
            conditions.pop_back();
            continue;
        }
        auto value = evaluate(action, variables);
        if (!value)
            return value.error();
        if (emitting())
            out += *value;
        if (out.size() > kMaxUserDataBytes)
            return tooLong(out.size());
    }
    if (!conditions.empty())
        return templateError("{{ if }} without {{ end }}");
    if (out.size() > kMaxUserDataBytes)
        return tooLong(out.size());
    return out;
}

} // namespace autoscale
