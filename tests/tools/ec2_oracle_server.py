# SPDX-License-Identifier: Apache-2.0
"""An independent EC2 endpoint for end-to-end checks, built on Debian's python3-botocore.

Usage: ec2_oracle_server.py LOG --cred KEY:SECRET[:TOKEN] [--cred ...] [--region R]
                            [--no-capacity MARKET[:TYPE[:SUBNET[:CODE]]]] ...

Listens on 127.0.0.1 (a free port), prints "listening http://127.0.0.1:PORT", and for every
POST: recomputes the SigV4 signature with botocore's own SigV4Auth (same headers, same
X-Amz-Date) and answers 403 SignatureDoesNotMatch / AuthFailure when it differs or the key is
unknown; checks every parameter name against botocore's EC2 model (ec2_model_check.py),
and the operation's required members, and answers 400 UnknownParameter otherwise.

It keeps a small instance table of its own, written from the EC2 API reference rather than
from our fake: RunInstances launches one running instance (instanceLifecycle=spot with
InstanceMarketOptions.MarketType=spot; ClientToken idempotency, IdempotentParameterMismatch
when a token comes back with other parameters), unless a --no-capacity rule matches the
(market, type, subnet): MARKET is spot, on-demand or *, an empty or * field matches
anything, CODE defaults to InsufficientInstanceCapacity (HTTP 500; other codes 400).
DescribeInstances answers with the table (InstanceId.N, tag:K, instance-state-name and
instance-lifecycle filters; one page); TerminateInstances marks instances terminated. Any
other action is 400 UnsupportedOperation. Appends one line per request to LOG:
"ACTION STATUS", and for RunInstances "RunInstances STATUS MARKET TYPE SUBNET CODE|-".
Runs until killed.
"""
import datetime
import http.server
import os
import sys
import threading
import unittest.mock as mock
import urllib.parse
from xml.sax.saxutils import escape

import botocore.auth as auth
import botocore.awsrequest as awsrequest
import botocore.credentials as credentials
import botocore.session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ec2_model_check  # noqa: E402

MODEL = botocore.session.get_session().get_service_model('ec2')
NS = 'http://ec2.amazonaws.com/doc/2016-11-15/'


class Cloud:
    """The oracle's instance table and capacity rules, behind one lock."""
    lock = threading.Lock()
    instances = {}   # id -> dict
    tokens = {}      # client token -> (parameters without the token, instance id)
    rules = []       # (market, type, subnet, code), '' matching anything
    next_id = 1


def items(params, prefix):
    """Values of PREFIX.N parameters, in N order."""
    found = {}
    for name, value in params:
        rest = name[len(prefix) + 1:] if name.startswith(prefix + '.') else ''
        if rest.isdigit():
            found[int(rest)] = value
    return [found[n] for n in sorted(found)]


def instance_xml(i):
    tags = ''.join('<item><key>%s</key><value>%s</value></item>' % (escape(k), escape(v))
                   for k, v in i['tags'].items())
    xml = ('<item><instanceId>%s</instanceId><imageId>%s</imageId><instanceState><code>%d</code>'
           '<name>%s</name></instanceState><instanceType>%s</instanceType>'
           '<launchTime>2026-11-30T12:00:00.000Z</launchTime><placement><availabilityZone>'
           'us-east-1a</availabilityZone></placement><privateIpAddress>%s</privateIpAddress>'
           '<clientToken>%s</clientToken>' % (
               i['id'], escape(i['image']), 48 if i['state'] == 'terminated' else 16,
               i['state'], escape(i['type']), i['ip'], escape(i['token'])))
    if i['subnet']:
        xml += '<subnetId>%s</subnetId>' % escape(i['subnet'])
    if i['spot']:
        xml += '<instanceLifecycle>spot</instanceLifecycle>'
    if i['state'] == 'terminated':
        xml += ('<stateReason><code>Client.UserInitiatedShutdown</code><message>'
                'Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>')
    return xml + '<tagSet>%s</tagSet></item>' % tags


def response(action, body):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><requestId>oracle-1'
            '</requestId>%s</%sResponse>' % (action, NS, body, action))


def error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
            '<Message>%s</Message></Error></Errors><RequestID>oracle-1</RequestID></Response>'
            % (code, message))


class Handler(http.server.BaseHTTPRequestHandler):
    creds = {}
    region = 'us-east-1'
    log = None

    def log_message(self, *args):
        pass

    def answer(self, action, status, body):
        # Logged before answering: the client may exit as soon as it has the reply.
        with open(Handler.log, 'a') as out:
            out.write('%s %d\n' % (action or '-', status))
        data = body.encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'text/xml;charset=UTF-8')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(length)
        params = urllib.parse.parse_qsl(body.decode('utf-8'), keep_blank_values=True)
        action = dict(params).get('Action', '')
        authorization = self.headers.get('Authorization', '')
        try:
            credential = authorization.split('Credential=')[1].split(',')[0]
            key = credential.split('/')[0]
            signed = authorization.split('SignedHeaders=')[1].split(',')[0].split(';')
        except IndexError:
            return self.answer(action, 403, error('AuthFailure', 'no SigV4 Authorization header'))
        if key not in Handler.creds:
            return self.answer(action, 401, error('AuthFailure', 'unknown access key'))
        secret, token = Handler.creds[key]
        if token and self.headers.get('X-Amz-Security-Token') != token:
            return self.answer(action, 403, error('AuthFailure', 'wrong or missing session token'))
        headers = {name: self.headers.get(name) for name in signed if self.headers.get(name)}
        url = 'http://%s%s' % (self.headers.get('Host'), self.path)
        request = awsrequest.AWSRequest(method='POST', url=url, data=body, headers=headers)
        when = datetime.datetime.strptime(self.headers.get('X-Amz-Date', ''), '%Y%m%dT%H%M%SZ')
        with mock.patch('botocore.auth.datetime') as frozen:
            frozen.datetime.utcnow.return_value = when
            auth.SigV4Auth(credentials.Credentials(key, secret, token or None), 'ec2',
                           Handler.region).add_auth(request)
        if request.headers['Authorization'] != authorization:
            return self.answer(action, 403, error(
                'SignatureDoesNotMatch', 'The request signature we calculated does not match '
                'the signature you provided.'))
        problems = []
        if action not in MODEL.operation_names:
            problems.append('unknown action %r' % action)
        else:
            shape = MODEL.operation_model(action).input_shape
            for name, value in params:
                if name in ('Action', 'Version'):
                    continue
                ec2_model_check.walk(shape, name.split('.'), value, name, problems)
            top_level = {name.split('.')[0] for name, _ in params}
            for required in shape.required_members:
                wire = ec2_model_check.serialized_name(shape.members[required], required)
                if wire not in top_level:
                    problems.append('required %s is missing' % wire)
        if problems:
            return self.answer(action, 400, error('UnknownParameter', '; '.join(problems)))
        with Cloud.lock:
            if action == 'RunInstances':
                return self.run_instances(params)
            if action == 'DescribeInstances':
                return self.describe_instances(params)
            if action == 'TerminateInstances':
                return self.terminate_instances(params)
        return self.answer(action, 400, error('UnsupportedOperation', action))

    def run_instances(self, params):
        names = dict(params)
        spot = names.get('InstanceMarketOptions.MarketType') == 'spot'
        market = 'spot' if spot else 'on-demand'
        itype = names.get('InstanceType', 'm1.small')
        subnet = names.get('NetworkInterface.1.SubnetId', names.get('SubnetId', ''))
        token = names.get('ClientToken', '')
        request = sorted((k, v) for k, v in params if k != 'ClientToken')

        def answer(status, code, body):
            with open(Handler.log, 'a') as out:
                out.write('RunInstances %d %s %s %s %s\n' % (status, market, itype, subnet or '-',
                                                             code or '-'))
            data = body.encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', 'text/xml;charset=UTF-8')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        if token in Cloud.tokens:
            earlier, instance_id = Cloud.tokens[token]
            if earlier != request:
                return answer(400, 'IdempotentParameterMismatch', error(
                    'IdempotentParameterMismatch', 'Arguments on this idempotent request are '
                    'inconsistent with arguments used in previous request(s).'))
            return answer(200, '', response('RunInstances', '<instancesSet>%s</instancesSet>' %
                                            instance_xml(Cloud.instances[instance_id])))
        for rule_market, rule_type, rule_subnet, code in Cloud.rules:
            if rule_market in ('', market) and rule_type in ('', itype) and \
                    rule_subnet in ('', subnet):
                return answer(500 if code == 'InsufficientInstanceCapacity' else 400, code,
                              error(code, 'We currently do not have sufficient %s capacity.'
                                    % itype))
        instance_id = 'i-%017x' % Cloud.next_id
        tags = {}
        for spec in range(1, 10):
            prefix = 'TagSpecification.%d' % spec
            if names.get(prefix + '.ResourceType') == 'instance':
                for n in range(1, 100):
                    key = names.get('%s.Tag.%d.Key' % (prefix, n))
                    if key is None:
                        break
                    tags[key] = names.get('%s.Tag.%d.Value' % (prefix, n), '')
        instance = {'id': instance_id, 'image': names.get('ImageId', ''), 'type': itype,
                    'subnet': subnet, 'spot': spot, 'state': 'running', 'token': token,
                    'ip': '10.9.%d.%d' % (Cloud.next_id // 250, Cloud.next_id % 250 + 1),
                    'tags': tags}
        Cloud.next_id += 1
        Cloud.instances[instance_id] = instance
        if token:
            Cloud.tokens[token] = (request, instance_id)
        return answer(200, '', response('RunInstances', '<instancesSet>%s</instancesSet>' %
                                        instance_xml(instance)))

    def describe_instances(self, params):
        names = dict(params)
        ids = items(params, 'InstanceId')
        unknown = [i for i in ids if i not in Cloud.instances]
        if unknown:
            return self.answer('DescribeInstances', 400, error(
                'InvalidInstanceID.NotFound', "The instance ID '%s' does not exist" % unknown[0]))
        filters = []
        for n in range(1, 50):
            name = names.get('Filter.%d.Name' % n)
            if name is None:
                break
            filters.append((name, items(params, 'Filter.%d.Value' % n)))

        def matches(i):
            if ids and i['id'] not in ids:
                return False
            for name, values in filters:
                if name.startswith('tag:'):
                    if i['tags'].get(name[4:]) not in values:
                        return False
                elif name == 'instance-state-name':
                    if i['state'] not in values:
                        return False
                elif name == 'instance-lifecycle':
                    if ('spot' if i['spot'] else '') not in values:
                        return False
                else:
                    return False
            return True

        found = ''.join('<item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId>'
                        '<instancesSet>%s</instancesSet></item>' % instance_xml(i)
                        for i in Cloud.instances.values() if matches(i))
        return self.answer('DescribeInstances', 200, response(
            'DescribeInstances', '<reservationSet>%s</reservationSet>' % found))

    def terminate_instances(self, params):
        ids = items(params, 'InstanceId')
        unknown = [i for i in ids if i not in Cloud.instances]
        if unknown:
            return self.answer('TerminateInstances', 400, error(
                'InvalidInstanceID.NotFound', "The instance ID '%s' does not exist" % unknown[0]))
        changes = ''
        for i in ids:
            previous = Cloud.instances[i]['state']
            Cloud.instances[i]['state'] = 'terminated'
            changes += ('<item><instanceId>%s</instanceId><currentState><code>48</code><name>'
                        'terminated</name></currentState><previousState><code>16</code><name>'
                        '%s</name></previousState></item>' % (i, previous))
        return self.answer('TerminateInstances', 200, response(
            'TerminateInstances', '<instancesSet>%s</instancesSet>' % changes))


def main():
    args = sys.argv[1:]
    Handler.log = args.pop(0)
    while args:
        flag = args.pop(0)
        value = args.pop(0)
        if flag == '--cred':
            parts = value.split(':')
            Handler.creds[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else '')
        elif flag == '--region':
            Handler.region = value
        elif flag == '--no-capacity':
            parts = [('' if p == '*' else p) for p in value.split(':')] + ['', '', '', '']
            Cloud.rules.append((parts[0], parts[1], parts[2],
                                parts[3] or 'InsufficientInstanceCapacity'))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    print('listening http://127.0.0.1:%d' % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
