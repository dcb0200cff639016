// SPDX-License-Identifier: Apache-2.0
/// \file
/// autoscaler-admin's main: inspect and steer a running autoscaler over its
/// REST API. Parses the flags and runs the command (commands.cpp). Exit 0 on
/// success, 1 when the daemon refuses or fails (its message is shown), 2 on
/// usage errors.

#include <array>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <utility>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "commands.h"

int main(int argc, char** argv) {
    using autoscale::tools::AdminCommand;
    using autoscale::tools::AdminFlags;
    using autoscale::tools::CurlGlobal;
    using autoscale::tools::kExitFailure;
    using autoscale::tools::kExitOk;
    using autoscale::tools::kExitUsage;
    using autoscale::tools::runAdmin;
    using autoscale::tools::versionLine;
    try {
        const CurlGlobal curl;
        CLI::App app{"autoscaler-admin: inspect and steer a running autoscaler through its REST "
                     "API. Exit 0 on success, 1 when the daemon refuses or fails (its message "
                     "is shown), 2 on usage errors."};
        app.require_subcommand(1);
        app.set_version_flag("--version", versionLine("autoscaler-admin"));
        AdminFlags flags;
        app.add_option("--server", flags.server,
                       "the autoscaler's URL, e.g. http://autoscaler:8080 (env DRONE_AUTOSCALER)")
                ->envname("DRONE_AUTOSCALER");
        app.add_option("--token", flags.token, "a Drone admin token (env DRONE_TOKEN)")
                ->envname("DRONE_TOKEN");
        app.add_flag("--json", flags.json, "print JSON instead of text");

        auto* servers = app.add_subcommand("servers", "list, inspect, create and destroy servers");
        servers->require_subcommand(1);
        auto* ls = servers->add_subcommand("ls", "list every server (a table, or --json)");
        ls->add_flag("--json", flags.json, "print JSON instead of a table");
        ls->add_option("--pool", flags.pool, "only the servers of this pool");
        auto* info = servers->add_subcommand("info", "show one server");
        info->add_option("name", flags.name, "server name")->required();
        info->add_flag("--json", flags.json, "print JSON");
        auto* create = servers->add_subcommand(
                "create", "ask for one more server (refused at the pool's max or the fleet's)");
        create->add_flag("--json", flags.json, "print JSON");
        create->add_option("--pool", flags.pool,
                           "the pool to create it in (default: the daemon's first pool)");
        auto* destroy = servers->add_subcommand(
                "destroy", "drain and terminate a server; --force removes an error server at once");
        destroy->add_option("name", flags.name, "server name")->required();
        destroy->add_flag("--force", flags.force,
                          "remove an error server and terminate its instance");
        destroy->add_flag("--json", flags.json, "print JSON");
        auto* pause =
                app.add_subcommand("pause", "stop making decisions (in-flight work continues)");
        auto* resume = app.add_subcommand("resume", "resume making decisions");
        auto* plan = app.add_subcommand(
                "plan", "show the daemon's current plan of every pool and its reasons");
        plan->add_flag("--json", flags.json, "print JSON");
        std::string migrateFrom;
        std::string migrateTo;
        auto* migrate = app.add_subcommand(
                "migrate", "copy a SQLite store into PostgreSQL (stop the daemon first)");
        migrate->add_option("--from", migrateFrom, "sqlite:PATH, the daemon's database file")
                ->required();
        migrate->add_option("--to", migrateTo,
                            "postgres:DSN; `postgres:` alone reads DRONE_DATABASE_DATASOURCE, "
                            "keeping the password off the command line")
                ->required();

        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? kExitOk : kExitUsage;
        }
        if (migrate->parsed()) {
            const auto env = autoscale::tools::processEnvironment();
            const auto datasource = env.find("DRONE_DATABASE_DATASOURCE");
            return autoscale::tools::runMigrate(migrateFrom, migrateTo,
                                                datasource != env.end() ? datasource->second : "");
        }
        const std::array<std::pair<CLI::App*, AdminCommand>, 6> commands = {{
                {ls, AdminCommand::List},
                {info, AdminCommand::Info},
                {create, AdminCommand::Create},
                {destroy, AdminCommand::Destroy},
                {pause, AdminCommand::Pause},
                {resume, AdminCommand::Resume},
        }};
        for (const auto& [sub, command] : commands) {
            if (sub->parsed())
                return runAdmin(command, flags);
        }
        return runAdmin(AdminCommand::Plan, flags);
    } catch (const std::exception& e) {
        std::cerr << "autoscaler-admin: " << e.what() << "\n";
        return kExitFailure;
    }
}
