#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Loopback fakes for scripts/image-test.sh, in one process:
#   - a Drone server: GET /api/queue (pending stages), GET /api/user (admin for
#     the admin token);
#   - an EC2 endpoint: RunInstances, DescribeInstances, TerminateInstances,
#     CreateTags; every request is appended to a JSON-lines log;
#   - a TCP listener that never speaks SSH: the instances' address, so that
#     installs stay in flight.
# Usage: image-test-fakes.py DIR [PENDING_STAGES]. Writes DIR/ports
# ("drone ec2 silent") once listening; DIR/ec2.jsonl holds the EC2 requests;
# DIR/instances.json, if present at start, preloads instances (id -> tags).
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN_TOKEN = "image-test-admin-token"
NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

out_dir = sys.argv[1]
pending = int(sys.argv[2]) if len(sys.argv) > 2 else 4
lock = threading.Lock()
instances = {}  # id -> {"state", "type", "tags", "token", "launched"}
silent_port = 0


def xml_escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Drone(Quiet):
    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer " + ADMIN_TOKEN:
            self.reply(401, '{"message":"Unauthorized"}', "application/json")
            return
        if self.path.startswith("/api/user"):
            self.reply(200, '{"id":1,"login":"octocat","email":"","avatar_url":"",'
                       '"active":true,"admin":true,"machine":false,"syncing":false,'
                       '"synced":0,"created":1,"updated":1,"last_login":1}', "application/json")
            return
        if self.path.startswith("/api/queue"):
            stages = [{"id": i + 1, "repo_id": 7, "build_id": i + 1, "number": 1,
                       "name": "default", "kind": "pipeline", "type": "docker",
                       "status": "pending", "error": "", "errignore": False, "exit_code": 0,
                       "os": "linux", "arch": "amd64", "started": 0, "stopped": 0,
                       "created": int(time.time()), "updated": int(time.time()),
                       "version": 1, "on_success": True, "on_failure": False}
                      for i in range(pending)]
            self.reply(200, json.dumps(stages), "application/json")
            return
        self.reply(404, '{"message":"Not Found"}', "application/json")


def instance_xml(iid, inst):
    state_codes = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48}
    tags = "".join("<item><key>%s</key><value>%s</value></item>"
                   % (xml_escape(k), xml_escape(v)) for k, v in inst["tags"].items())
    address = ("<privateIpAddress>127.0.0.1:%d</privateIpAddress>" % silent_port
               if inst["state"] in ("pending", "running") else "")
    return ("<item><instanceId>%s</instanceId><imageId>ami-0123456789abcdef0</imageId>"
            "<instanceState><code>%d</code><name>%s</name></instanceState>"
            "<instanceType>%s</instanceType><launchTime>%s</launchTime>"
            "<placement><availabilityZone>us-east-1a</availabilityZone></placement>"
            "%s<clientToken>%s</clientToken><tagSet>%s</tagSet></item>"
            % (iid, state_codes[inst["state"]], inst["state"], xml_escape(inst["type"]),
               time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(inst["launched"])),
               address, xml_escape(inst["token"]), tags))


def numbered(params, prefix):
    """Values of PREFIX.1, PREFIX.2, ... in order."""
    out = []
    n = 1
    while prefix + "." + str(n) in params:
        out.append(params[prefix + "." + str(n)])
        n += 1
    return out


class Ec2(Quiet):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        action = params.get("Action", "")
        with lock:
            with open(os.path.join(out_dir, "ec2.jsonl"), "a") as log:
                # The signature is recorded as present or not, never its value.
                log.write(json.dumps({"action": action, "params": params,
                                      "signed": "Signature=" in
                                      self.headers.get("Authorization", "")}) + "\n")
            answer = self.handle_action(action, params)
        if answer is None:
            self.reply(400, "<Response><Errors><Error><Code>InvalidAction</Code><Message>"
                       "%s</Message></Error></Errors><RequestID>r</RequestID></Response>"
                       % xml_escape(action), "text/xml")
            return
        self.reply(200, '<?xml version="1.0" encoding="UTF-8"?>\n' + answer, "text/xml")

    def handle_action(self, action, params):
        if action == "RunInstances":
            count = int(params.get("MinCount", "1"))
            tags = {}
            n = 1
            while "TagSpecification.1.Tag.%d.Key" % n in params:
                tags[params["TagSpecification.1.Tag.%d.Key" % n]] = params.get(
                    "TagSpecification.1.Tag.%d.Value" % n, "")
                n += 1
            items = ""
            for _ in range(count):
                iid = "i-%017x" % (len(instances) + 1)
                instances[iid] = {"state": "running", "type": params.get("InstanceType", ""),
                                  "tags": tags, "token": params.get("ClientToken", ""),
                                  "launched": time.time()}
                items += instance_xml(iid, instances[iid])
            return ('<RunInstancesResponse xmlns="%s"><requestId>r</requestId>'
                    "<reservationId>r-1</reservationId><ownerId>123456789012</ownerId>"
                    "<groupSet/><instancesSet>%s</instancesSet></RunInstancesResponse>"
                    % (NS, items))
        if action == "DescribeInstances":
            ids = numbered(params, "InstanceId")
            filters = []
            n = 1
            while "Filter.%d.Name" % n in params:
                filters.append((params["Filter.%d.Name" % n],
                                numbered(params, "Filter.%d.Value" % n)))
                n += 1
            items = ""
            for iid, inst in instances.items():
                if ids and iid not in ids:
                    continue
                keep = True
                for name, values in filters:
                    if name.startswith("tag:"):
                        keep = keep and inst["tags"].get(name[4:]) in values
                    elif name == "instance-state-name":
                        keep = keep and inst["state"] in values
                if keep:
                    items += ("<item><reservationId>r-1</reservationId><ownerId>123456789012"
                              "</ownerId><groupSet/><instancesSet>%s</instancesSet></item>"
                              % instance_xml(iid, inst))
            return ('<DescribeInstancesResponse xmlns="%s"><requestId>r</requestId>'
                    "<reservationSet>%s</reservationSet></DescribeInstancesResponse>"
                    % (NS, items))
        if action == "TerminateInstances":
            items = ""
            for iid in numbered(params, "InstanceId"):
                if iid in instances:
                    instances[iid]["state"] = "terminated"
                items += ("<item><instanceId>%s</instanceId><currentState><code>32</code>"
                          "<name>shutting-down</name></currentState><previousState><code>16"
                          "</code><name>running</name></previousState></item>" % iid)
            return ('<TerminateInstancesResponse xmlns="%s"><requestId>r</requestId>'
                    "<instancesSet>%s</instancesSet></TerminateInstancesResponse>"
                    % (NS, items))
        if action == "CreateTags":
            return ('<CreateTagsResponse xmlns="%s"><requestId>r</requestId>'
                    "<return>true</return></CreateTagsResponse>" % NS)
        return None


def silent_listener():
    """Accepts TCP connections and never sends a byte: SSH never answers."""
    global silent_port
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    silent_port = sock.getsockname()[1]
    held = []

    def loop():
        while True:
            conn, _ = sock.accept()
            held.append(conn)

    threading.Thread(target=loop, daemon=True).start()


def main():
    preload = os.path.join(out_dir, "instances.json")
    if os.path.exists(preload):
        with open(preload) as f:
            for iid, tags in json.load(f).items():
                instances[iid] = {"state": "running", "type": "t3.medium", "tags": tags,
                                  "token": "", "launched": time.time() - 3600}
    silent_listener()
    drone = ThreadingHTTPServer(("127.0.0.1", 0), Drone)
    ec2 = ThreadingHTTPServer(("127.0.0.1", 0), Ec2)
    for server in (drone, ec2):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports = "%d %d %d\n" % (drone.server_address[1], ec2.server_address[1], silent_port)
    with open(os.path.join(out_dir, "ports.tmp"), "w") as f:
        f.write(ports)
    os.rename(os.path.join(out_dir, "ports.tmp"), os.path.join(out_dir, "ports"))
    threading.Event().wait()


if __name__ == "__main__":
    main()
