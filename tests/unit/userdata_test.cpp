// SPDX-License-Identifier: Apache-2.0
/// \file
/// cloud-init user data: the built-in template rendered and parsed back with
/// libyaml, and the template language's errors.

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include <yaml.h>

#include <doctest/doctest.h>

#include <autoscale/installer.h>
#include <autoscale/ssh.h>
#include <autoscale/wiring.h>

#include "doctest_support.h"

namespace autoscale {
namespace {

/// A parsed YAML node: a scalar, a sequence or a mapping (keys in order).
struct Node {
    enum class Kind { Scalar, Sequence, Mapping } kind = Kind::Scalar;
    std::string scalar{};
    std::vector<Node> items{};
    std::vector<std::pair<std::string, Node>> pairs{};

    [[nodiscard]] bool has(const std::string& key) const {
        return std::ranges::any_of(pairs, [&key](const auto& pair) { return pair.first == key; });
    }
    /// The value of `key`; an empty scalar when there is none.
    [[nodiscard]] const Node& at(const std::string& key) const {
        for (const auto& [k, v] : pairs) {
            if (k == key)
                return v;
        }
        static const Node kMissing{};
        return kMissing;
    }
    [[nodiscard]] std::vector<std::string> keys() const {
        std::vector<std::string> out;
        for (const auto& pair : pairs)
            out.push_back(pair.first);
        return out;
    }
};

Node convert(yaml_document_t& doc, yaml_node_t* node) {
    Node out;
    REQUIRE(node != nullptr);
    switch (node->type) {
    case YAML_SCALAR_NODE:
        out.scalar.assign(reinterpret_cast<const char*>(node->data.scalar.value),
                          node->data.scalar.length);
        break;
    case YAML_SEQUENCE_NODE:
        out.kind = Node::Kind::Sequence;
        for (auto* item = node->data.sequence.items.start; item < node->data.sequence.items.top;
             ++item)
            out.items.push_back(convert(doc, yaml_document_get_node(&doc, *item)));
        break;
    case YAML_MAPPING_NODE:
        out.kind = Node::Kind::Mapping;
        for (auto* pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
             ++pair) {
            const Node key = convert(doc, yaml_document_get_node(&doc, pair->key));
            out.pairs.emplace_back(key.scalar,
                                   convert(doc, yaml_document_get_node(&doc, pair->value)));
        }
        break;
    default:
        FAIL("empty YAML node");
    }
    return out;
}

/// Parses one YAML document; fails the test when it is not valid YAML.
Node parseYaml(const std::string& text) {
    yaml_parser_t parser;
    REQUIRE(yaml_parser_initialize(&parser) == 1);
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    yaml_document_t doc;
    const bool loaded = yaml_parser_load(&parser, &doc) == 1;
    if (!loaded) {
        const std::string problem = parser.problem != nullptr ? parser.problem : "?";
        yaml_parser_delete(&parser);
        FAIL("invalid YAML: " << problem << " at line " << parser.problem_mark.line + 1);
    }
    Node root = convert(doc, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return root;
}

UserDataValues pinnedValues() {
    UserDataValues values;
    values.name = "agent-Ab3dE5gH";
    values.sshUser = "root";
    values.sshPublicKey = generateEd25519Key("autoscale").value().publicKey;
    const auto host = generateHostKey().value();
    values.hostPublicKey = host.publicKey;
    values.hostPrivateKey = host.privateKey;
    values.image = "drone/drone-runner-docker:1";
    values.pool = "default";
    return values;
}

TEST_CASE("the default template is cloud-config with docker, our key and the pinned host key") {
    const auto values = pinnedValues();
    const auto rendered = renderUserData(defaultUserDataTemplate(), values);
    REQUIRE(rendered);
    CHECK(rendered->starts_with("#cloud-config\n"));
    const Node root = parseYaml(*rendered);
    REQUIRE(root.kind == Node::Kind::Mapping);

    // Docker from the distribution, whatever the architecture.
    REQUIRE(root.has("packages"));
    const Node& packages = root.at("packages");
    REQUIRE(packages.items.size() == 1);
    CHECK(packages.items[0].scalar == "docker.io");
    CHECK(rendered->find("arch=") == std::string::npos);
    CHECK(rendered->find("download.docker.com") == std::string::npos);

    // The pinned host key, and no other generated.
    REQUIRE(root.has("ssh_keys"));
    CHECK(root.at("ssh_keys").at("ed25519_private").scalar == values.hostPrivateKey);
    CHECK(root.at("ssh_keys").at("ed25519_public").scalar == values.hostPublicKey);
    CHECK(root.at("ssh_deletekeys").scalar == "true");
    CHECK(root.at("ssh_genkeytypes").kind == Node::Kind::Sequence);
    CHECK(root.at("ssh_genkeytypes").items.empty());
    CHECK(root.at("ssh_pwauth").scalar == "false");
    CHECK(root.at("disable_root").scalar == "false");

    // Our key authorised for the SSH user, at every boot.
    REQUIRE(root.has("bootcmd"));
    const Node& bootcmd = root.at("bootcmd");
    REQUIRE(bootcmd.items.size() == 1);
    REQUIRE(bootcmd.items[0].items.size() == 3);
    CHECK(bootcmd.items[0].items[0].scalar == "sh");
    const std::string& script = bootcmd.items[0].items[2].scalar;
    CHECK(script.find("user=root\n") != std::string::npos);
    CHECK(script.find("key='" + values.sshPublicKey + "'\n") != std::string::npos);
    CHECK(script.find("authorized_keys") != std::string::npos);

    // Docker started; nothing listening on TCP besides sshd.
    REQUIRE(root.has("runcmd"));
    const Node& runcmd = root.at("runcmd");
    CHECK(runcmd.items[0].items[2].scalar.find("systemctl enable --now docker") !=
          std::string::npos);
    CHECK(rendered->find("2376") == std::string::npos);
    CHECK(rendered->find("tcp://") == std::string::npos);
    CHECK(rendered->find("0.0.0.0") == std::string::npos);
}

TEST_CASE("without a host private key (tofu) the template installs no host key") {
    auto values = pinnedValues();
    values.hostPrivateKey.clear();
    values.hostPublicKey.clear();
    values.sshUser = "ubuntu";
    const auto rendered = renderUserData(defaultUserDataTemplate(), values);
    REQUIRE(rendered);
    const Node root = parseYaml(*rendered);
    CHECK_FALSE(root.has("ssh_keys"));
    CHECK_FALSE(root.has("ssh_deletekeys"));
    CHECK(root.keys() ==
          std::vector<std::string>{"package_update", "package_upgrade", "apt_reboot_if_required",
                                   "packages", "disable_root", "ssh_pwauth", "bootcmd", "runcmd"});
    CHECK(root.at("runcmd").items[0].items[2].scalar.find("user=ubuntu\n") != std::string::npos);
}

TEST_CASE("a custom template sees the documented variables and functions") {
    const auto values = pinnedValues();
    const auto rendered = renderUserData(
            "name={{ .Name }} user={{.SshUser|json}} img={{ .Image | shell }} "
            "b64={{ .Pool | base64 }}{{ if .HostPrivateKey }} pinned{{ end }}"
            "{{ if .Name }}{{ if .Pool }} nested{{ end }}{{ end }}\n{{ .Name | indent 2 }}",
            values);
    REQUIRE(rendered);
    CHECK(*rendered == "name=agent-Ab3dE5gH user=\"root\" img=drone/drone-runner-docker:1 "
                       "b64=ZGVmYXVsdA== pinned nested\n  agent-Ab3dE5gH");
}

TEST_CASE("template errors name what is wrong") {
    const auto values = pinnedValues();
    const auto unknown = renderUserData("{{ .CACert | base64 }}", values);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == Errc::InvalidArgument);
    CHECK(unknown.error().message.find(".CACert") != std::string::npos);
    CHECK(renderUserData("{{ .Name | upper }}", values).error().message.find("upper") !=
          std::string::npos);
    CHECK_FALSE(renderUserData("{{ if .Name }}x", values));
    CHECK_FALSE(renderUserData("x{{ end }}", values));
    CHECK_FALSE(renderUserData("{{ .Name ", values));
    // The RPC secret is not a template variable: it never goes into user data.
    CHECK_FALSE(renderUserData("{{ .Token }}", values));
    CHECK_FALSE(renderUserData("{{ .Secret }}", values));
    auto hostile = values;
    hostile.sshUser = "root; curl evil";
    CHECK(renderUserData(defaultUserDataTemplate(), hostile).error().code == Errc::InvalidArgument);
}

TEST_CASE("values per server: host keys only in pinned mode") {
    Config config;
    config.ssh.user = "admin";
    config.agent.image = "img:2";
    config.pool.name = "arm";
    Server server;
    server.name = "agent-x";
    server.hostKey = "ssh-ed25519 AAAA";
    server.hostPrivateKey = "PRIVATE";
    const auto pinned = userDataValuesFor(server, config, "ssh-ed25519 BBBB me");
    CHECK(pinned.name == "agent-x");
    CHECK(pinned.sshUser == "admin");
    CHECK(pinned.sshPublicKey == "ssh-ed25519 BBBB me");
    CHECK(pinned.hostPublicKey == "ssh-ed25519 AAAA");
    CHECK(pinned.hostPrivateKey == "PRIVATE");
    CHECK(pinned.image == "img:2");
    CHECK(pinned.pool == "arm");
    config.ssh.hostKeyCheck = HostKeyCheck::Tofu;
    const auto tofu = userDataValuesFor(server, config, "ssh-ed25519 BBBB me");
    CHECK(tofu.hostPublicKey.empty());
    CHECK(tofu.hostPrivateKey.empty());
}

TEST_CASE("DRONE_AMAZON_USERDATA replaces the built-in template") {
    AmazonSettings amazon;
    CHECK(userDataTemplateFor(amazon).value() == defaultUserDataTemplate());
    amazon.userData = "#cloud-config\n{}\n";
    CHECK(userDataTemplateFor(amazon).value() == "#cloud-config\n{}\n");
    amazon.userData.clear();
    amazon.userDataFile = "/nonexistent/userdata.yaml";
    const auto missing = userDataTemplateFor(amazon);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::Io);
    CHECK(missing.error().message.find("/nonexistent/userdata.yaml") != std::string::npos);
}

} // namespace
} // namespace autoscale
