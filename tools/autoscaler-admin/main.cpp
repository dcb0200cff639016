// SPDX-License-Identifier: Apache-2.0
/// \file
/// autoscaler-admin: inspect and steer a running autoscaler over its REST
/// API. Exit 0 on success, 1 when the daemon refuses or fails (its message is
/// shown), 2 on usage errors.

#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include <autoscale/admin_client.h>
#include <autoscale/json.h>

#include "cli_common.h"

namespace {

using namespace autoscale;
using tools::kExitFailure;
using tools::kExitOk;
using tools::kExitUsage;

int fail(const Error& error) {
    std::fprintf(stderr, "autoscaler-admin: %s\n", error.message.c_str());
    return kExitFailure;
}

void print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
}

} // namespace

int main(int argc, char** argv) {
    try {
        const tools::CurlGlobal curl;
        CLI::App app{"autoscaler-admin: inspect and steer a running autoscaler through its REST "
                     "API. Exit 0 on success, 1 when the daemon refuses or fails (its message "
                     "is shown), 2 on usage errors."};
        app.require_subcommand(1);
        std::string server;
        std::string token;
        bool json = false;
        app.add_option("--server", server,
                       "the autoscaler's URL, e.g. http://autoscaler:8080 (env DRONE_AUTOSCALER)")
                ->envname("DRONE_AUTOSCALER");
        app.add_option("--token", token, "a Drone admin token (env DRONE_TOKEN)")
                ->envname("DRONE_TOKEN");
        app.add_flag("--json", json, "print JSON instead of text");

        auto* servers = app.add_subcommand("servers", "list, inspect, create and destroy servers");
        servers->require_subcommand(1);
        auto* ls = servers->add_subcommand("ls", "list every server (a table, or --json)");
        ls->add_flag("--json", json, "print JSON instead of a table");
        std::string name;
        auto* info = servers->add_subcommand("info", "show one server");
        info->add_option("name", name, "server name")->required();
        info->add_flag("--json", json, "print JSON");
        auto* create = servers->add_subcommand(
                "create", "ask for one more server (refused at DRONE_POOL_MAX)");
        create->add_flag("--json", json, "print JSON");
        bool force = false;
        auto* destroy = servers->add_subcommand(
                "destroy", "drain and terminate a server; --force removes an error server at once");
        destroy->add_option("name", name, "server name")->required();
        destroy->add_flag("--force", force, "remove an error server and terminate its instance");
        destroy->add_flag("--json", json, "print JSON");
        auto* pause =
                app.add_subcommand("pause", "stop making decisions (in-flight work continues)");
        auto* resume = app.add_subcommand("resume", "resume making decisions");
        auto* plan = app.add_subcommand("plan", "show the daemon's current plan and its reasons");
        plan->add_flag("--json", json, "print JSON");

        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? kExitOk : kExitUsage;
        }
        if (server.empty() || token.empty()) {
            std::fprintf(stderr, "autoscaler-admin: --server and --token (or DRONE_AUTOSCALER and "
                                 "DRONE_TOKEN) are required\n");
            return kExitUsage;
        }
        if (!server.starts_with("http://") && !server.starts_with("https://")) {
            std::fprintf(stderr,
                         "autoscaler-admin: --server \"%s\" is not a URL; expected "
                         "http://HOST:PORT or https://HOST\n",
                         server.c_str());
            return kExitUsage;
        }
        auto http = makeCurlHttpClient(HttpOptions{.protocols = "http,https"});
        if (!http)
            return fail(http.error());
        AdminClient client(server, token, **http);

        if (ls->parsed()) {
            auto rows = client.listServers();
            if (!rows)
                return fail(rows.error());
            print(json ? serversToJson(*rows) + "\n" : formatServerTable(*rows));
            return kExitOk;
        }
        if (info->parsed()) {
            auto row = client.server(name);
            if (!row)
                return fail(row.error());
            print(json ? serverToJson(*row) + "\n" : formatServerInfo(*row));
            return kExitOk;
        }
        if (create->parsed()) {
            auto row = client.createServer();
            if (!row)
                return fail(row.error());
            print(json ? serverToJson(*row) + "\n" : "created " + row->name + "\n");
            return kExitOk;
        }
        if (destroy->parsed()) {
            auto row = client.destroyServer(name, force);
            if (!row)
                return fail(row.error());
            if (!row->has_value())
                print(json ? "{}\n" : "removed " + name + "\n");
            else
                print(json ? serverToJson(**row) + "\n"
                           : name + ": " + std::string(droneStateOf((*row)->state)) + " (" +
                                      std::string(nameOf((*row)->state)) + ")\n");
            return kExitOk;
        }
        if (pause->parsed()) {
            if (auto r = client.pause(); !r)
                return fail(r.error());
            print("paused\n");
            return kExitOk;
        }
        if (resume->parsed()) {
            if (auto r = client.resume(); !r)
                return fail(r.error());
            print("resumed\n");
            return kExitOk;
        }
        auto p = client.plan();
        if (!p)
            return fail(p.error());
        if (json) {
            print(planToJson(*p) + "\n");
        } else {
            print("pending " + std::to_string(p->pending) + ", running " +
                  std::to_string(p->running) + ", servers " + std::to_string(p->servers) +
                  ", capacity " + std::to_string(p->capacity) + ": create " +
                  std::to_string(p->create) + ", drain " + std::to_string(p->drain.size()) + "\n");
            for (const auto& reason : p->reasons)
                print("  - " + reason + "\n");
        }
        return kExitOk;
    } catch (const std::exception& e) {
        std::cerr << "autoscaler-admin: " << e.what() << "\n";
        return kExitFailure;
    }
}
