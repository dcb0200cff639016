# SPDX-License-Identifier: Apache-2.0
"""Checks SQS JSON-protocol requests against Debian's python3-botocore, as an independent oracle.

Reads one JSON object per line on stdin, a request exactly as our client sent it:
  {"url", "region", "key", "secret", "token", "time": "YYYYMMDDTHHMMSSZ",
   "target", "content_type", "body", "authorization"}
For each, checks that
  * the operation named by X-Amz-Target exists in botocore's SQS model;
  * the body is a JSON object that passes botocore's parameter validation for that
    operation (member names, types, ranges);
  * where botocore models SQS with the JSON protocol (1.31 and later; Debian 12's 1.29
    still has the Query protocol, and then this check is skipped with a note), botocore's
    JSON serializer, given the same parameters, produces the same X-Amz-Target,
    Content-Type and (as JSON) body;
  * SigV4Auth, signing the same method, URL, Content-Type, X-Amz-Target and body with the
    same credentials at the same time, computes the same Authorization header.
Prints one line per problem and exits 1 if there was any; prints "ok N" otherwise.
"""
import datetime
import json
import sys
import unittest.mock as mock

import botocore.auth as auth
import botocore.awsrequest as awsrequest
import botocore.credentials as credentials
import botocore.serialize as serialize
import botocore.session
import botocore.validate as validate


def sign(case):
    request = awsrequest.AWSRequest(
        method='POST', url=case['url'], data=case['body'].encode('utf-8'),
        headers={'Content-Type': case['content_type'], 'X-Amz-Target': case['target']})
    when = datetime.datetime.strptime(case['time'], '%Y%m%dT%H%M%SZ')
    creds = credentials.Credentials(case['key'], case['secret'], case['token'] or None)
    signer = auth.SigV4Auth(creds, 'sqs', case['region'])
    if hasattr(auth, 'get_current_datetime'):
        with mock.patch('botocore.auth.get_current_datetime', return_value=when):
            signer.add_auth(request)
    else:
        with mock.patch('botocore.auth.datetime') as frozen:
            frozen.datetime.utcnow.return_value = when
            signer.add_auth(request)
    return request.headers['Authorization']


def main():
    model = botocore.session.get_session().get_service_model('sqs')
    json_model = model.protocol == 'json'
    serializer = serialize.create_serializer('json')
    problems = []
    count = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        target = case['target']
        prefix = model.metadata.get('targetPrefix', 'AmazonSQS') + '.'
        if not target.startswith(prefix):
            problems.append(f'X-Amz-Target {target!r} does not start with {prefix!r}')
            continue
        operation = target[len(prefix):]
        if operation not in model.operation_names:
            problems.append(f'{operation!r} is not an SQS operation')
            continue
        op = model.operation_model(operation)
        try:
            params = json.loads(case['body'])
        except ValueError as error:
            problems.append(f'{operation}: the body is not JSON: {error}')
            continue
        report = validate.ParamValidator().validate(params, op.input_shape)
        if report.has_errors():
            problems.append(f'{operation}: {report.generate_report()}')
        want = sign(case)
        if want != case['authorization']:
            problems.append(f'{operation}: Authorization differs:\n  ours     '
                            f'{case["authorization"]}\n  botocore {want}')
        count += 1
        if not json_model:
            continue
        expected = serializer.serialize_to_request(params, op)
        for name, value in (('X-Amz-Target', target), ('Content-Type', case['content_type'])):
            if expected['headers'].get(name) != value:
                problems.append(f'{operation}: {name} {value!r} != botocore '
                                f'{expected["headers"].get(name)!r}')
        if json.loads(expected['body']) != params:
            problems.append(f'{operation}: body differs from botocore\'s {expected["body"]!r}')
        if expected['url_path'] != '/' or expected['method'] != 'POST':
            problems.append(f'{operation}: botocore sends {expected["method"]} {expected["url_path"]}')
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f'ok {count}')
    if not json_model:
        print(f'note: botocore {botocore.__version__} models SQS as {model.protocol!r}: '
              'the JSON wire format was not compared')


if __name__ == '__main__':
    main()
