// SPDX-License-Identifier: Apache-2.0
/// \file
/// autoscaler-admin's commands: one call to the daemon each, printed as text
/// or JSON.

#include "commands.h"

#include <cstdio>

#include <autoscale/admin_client.h>
#include <autoscale/json.h>

#include "cli_common.h"

namespace autoscale::tools {

namespace {

int fail(const Error& error) {
    (void)std::fprintf(stderr, "autoscaler-admin: %s\n", error.message.c_str());
    return kExitFailure;
}

void print(const std::string& text) {
    (void)std::fwrite(text.data(), 1, text.size(), stdout);
}

std::string planText(const Plan& p) {
    std::string out = "pending " + std::to_string(p.pending) + ", running " +
                      std::to_string(p.running) + ", servers " + std::to_string(p.servers) +
                      ", capacity " + std::to_string(p.capacity) + ": create " +
                      std::to_string(p.create) + ", drain " + std::to_string(p.drain.size()) + "\n";
    for (const auto& reason : p.reasons)
        out += "  - " + reason + "\n";
    return out;
}

int run(AdminClient& client, AdminCommand command, const AdminFlags& flags) {
    const bool json = flags.json;
    switch (command) {
    case AdminCommand::List: {
        auto rows = client.listServers(flags.pool);
        if (!rows)
            return fail(rows.error());
        print(json ? serversToJson(*rows) + "\n" : formatServerTable(*rows));
        return kExitOk;
    }
    case AdminCommand::Info: {
        auto row = client.server(flags.name);
        if (!row)
            return fail(row.error());
        print(json ? serverToJson(*row) + "\n" : formatServerInfo(*row));
        return kExitOk;
    }
    case AdminCommand::Create: {
        auto row = client.createServer(flags.pool);
        if (!row)
            return fail(row.error());
        print(json ? serverToJson(*row) + "\n" : "created " + row->name + "\n");
        return kExitOk;
    }
    case AdminCommand::Destroy: {
        auto row = client.destroyServer(flags.name, flags.force);
        if (!row)
            return fail(row.error());
        if (!row->has_value()) {
            print(json ? "{}\n" : "removed " + flags.name + "\n");
            return kExitOk;
        }
        print(json ? serverToJson(**row) + "\n"
                   : flags.name + ": " + std::string(droneStateOf((*row)->state)) + " (" +
                              std::string(nameOf((*row)->state)) + ")\n");
        return kExitOk;
    }
    case AdminCommand::Pause:
        if (auto r = client.pause(); !r)
            return fail(r.error());
        print("paused\n");
        return kExitOk;
    case AdminCommand::Resume:
        if (auto r = client.resume(); !r)
            return fail(r.error());
        print("resumed\n");
        return kExitOk;
    case AdminCommand::Plan: {
        auto p = client.fleetPlan();
        if (!p)
            return fail(p.error());
        if (json) {
            print(p->json + (p->json.ends_with('\n') ? "" : "\n"));
            return kExitOk;
        }
        if (p->pools.size() == 1) {
            print(planText(p->pools.front()));
            return kExitOk;
        }
        std::string out;
        for (const auto& pool : p->pools)
            out += "pool " + pool.pool + ": " + planText(pool);
        out += "unroutable: " + std::to_string(p->unroutable) + " stage(s) no pool serves\n";
        print(out);
        return kExitOk;
    }
    }
    return kExitFailure;
}

} // namespace

int runAdmin(AdminCommand command, const AdminFlags& flags) {
    if (flags.server.empty() || flags.token.empty()) {
        (void)std::fprintf(stderr,
                           "autoscaler-admin: --server and --token (or DRONE_AUTOSCALER and "
                           "DRONE_TOKEN) are required\n");
        return kExitUsage;
    }
    if (!flags.server.starts_with("http://") && !flags.server.starts_with("https://")) {
        (void)std::fprintf(stderr,
                           "autoscaler-admin: --server \"%s\" is not a URL; expected "
                           "http://HOST:PORT or https://HOST\n",
                           flags.server.c_str());
        return kExitUsage;
    }
    auto http = makeCurlHttpClient(HttpOptions{.protocols = "http,https"});
    if (!http)
        return fail(http.error());
    AdminClient client(flags.server, flags.token, **http);
    return run(client, command, flags);
}

} // namespace autoscale::tools
