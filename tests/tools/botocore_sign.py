# SPDX-License-Identifier: Apache-2.0
"""Signs EC2 Query requests with Debian's python3-botocore, as an independent oracle.

Reads one JSON object per line on stdin:
  {"url", "region", "key", "secret", "token", "time": "YYYYMMDDTHHMMSSZ", "params": [[k, v], ...]}
and prints, per line, the form body botocore builds from params and the Authorization
header SigV4Auth computes for it, separated by a tab.
"""
import datetime
import json
import sys
import unittest.mock as mock

import botocore.auth as auth
import botocore.awsrequest as awsrequest
import botocore.credentials as credentials
from botocore.utils import percent_encode_sequence


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        body = percent_encode_sequence([(k, v) for k, v in case['params']])
        request = awsrequest.AWSRequest(
            method='POST', url=case['url'], data=body.encode('utf-8'),
            headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
        when = datetime.datetime.strptime(case['time'], '%Y%m%dT%H%M%SZ')
        creds = credentials.Credentials(case['key'], case['secret'], case['token'] or None)
        with mock.patch('botocore.auth.datetime') as frozen:
            frozen.datetime.utcnow.return_value = when
            auth.SigV4Auth(creds, 'ec2', case['region']).add_auth(request)
        print(body + '\t' + request.headers['Authorization'])


if __name__ == '__main__':
    main()
