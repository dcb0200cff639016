# SPDX-License-Identifier: Apache-2.0
"""An independent EC2 endpoint for end-to-end checks, built on Debian's python3-botocore.

Usage: ec2_oracle_server.py LOG --cred KEY:SECRET[:TOKEN] [--cred ...] [--region R]

Listens on 127.0.0.1 (a free port), prints "listening http://127.0.0.1:PORT", and for every
POST: recomputes the SigV4 signature with botocore's own SigV4Auth (same headers, same
X-Amz-Date) and answers 403 SignatureDoesNotMatch / AuthFailure when it differs or the key is
unknown; checks every parameter name against botocore's EC2 model (ec2_model_check.py) and
answers 400 UnknownParameter otherwise; answers DescribeInstances with an empty reservation
set and any other action with 400 UnsupportedOperation. Appends one line per request to
LOG: "ACTION STATUS". Runs until killed.
"""
import datetime
import http.server
import os
import sys
import unittest.mock as mock
import urllib.parse

import botocore.auth as auth
import botocore.awsrequest as awsrequest
import botocore.credentials as credentials
import botocore.session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ec2_model_check  # noqa: E402

MODEL = botocore.session.get_session().get_service_model('ec2')


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
        if problems:
            return self.answer(action, 400, error('UnknownParameter', '; '.join(problems)))
        if action != 'DescribeInstances':
            return self.answer(action, 400, error('UnsupportedOperation', action))
        return self.answer(action, 200, (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            '<requestId>oracle-1</requestId><reservationSet/></DescribeInstancesResponse>'))


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
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    print('listening http://127.0.0.1:%d' % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
