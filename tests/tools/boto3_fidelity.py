# SPDX-License-Identifier: Apache-2.0
"""Drives the fake EC2 with Debian's python3-boto3: every answer must parse.

Usage: boto3_fidelity.py ENDPOINT. Prints one line per check and exits non-zero on the
first failure (boto3 raises when a reply does not parse or carries an error).
"""
import sys

import boto3
import botocore.exceptions


def main():
    endpoint = sys.argv[1]
    ec2 = boto3.client('ec2', region_name='us-east-1', endpoint_url=endpoint,
                       aws_access_key_id='AKIDEXAMPLE',
                       aws_secret_access_key='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
    tags = [{'Key': 'drone-autoscaler:pool', 'Value': 'boto'}, {'Key': 'empty', 'Value': ''},
            {'Key': 'Name', 'Value': 'worker & <1>'}]
    run = ec2.run_instances(
        ImageId='ami-0abc', InstanceType='t3.micro', MinCount=1, MaxCount=1,
        ClientToken='boto3-fidelity-1',
        NetworkInterfaces=[{'DeviceIndex': 0, 'SubnetId': 'subnet-1',
                            'AssociatePublicIpAddress': True, 'Groups': ['sg-1']}],
        TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags}],
        MetadataOptions={'HttpTokens': 'required', 'HttpPutResponseHopLimit': 1})
    instance = run['Instances'][0]
    instance_id = instance['InstanceId']
    assert instance['State'] == {'Code': 0, 'Name': 'pending'}, instance['State']
    assert instance['InstanceType'] == 't3.micro'
    assert instance['ClientToken'] == 'boto3-fidelity-1'
    assert instance['LaunchTime'].year >= 2000
    print('run_instances', instance_id)

    again = ec2.run_instances(
        ImageId='ami-0abc', InstanceType='t3.micro', MinCount=1, MaxCount=1,
        ClientToken='boto3-fidelity-1',
        NetworkInterfaces=[{'DeviceIndex': 0, 'SubnetId': 'subnet-1',
                            'AssociatePublicIpAddress': True, 'Groups': ['sg-1']}],
        TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags}],
        MetadataOptions={'HttpTokens': 'required', 'HttpPutResponseHopLimit': 1})
    assert again['Instances'][0]['InstanceId'] == instance_id
    print('idempotent', instance_id)

    described = ec2.describe_instances(InstanceIds=[instance_id])
    found = described['Reservations'][0]['Instances'][0]
    assert found['InstanceId'] == instance_id
    assert {t['Key']: t['Value'] for t in found['Tags']} == {t['Key']: t['Value'] for t in tags}
    assert found['PrivateIpAddress'].startswith('10.')
    print('describe_instances', found['State']['Name'])

    pages = ec2.get_paginator('describe_instances').paginate(
        Filters=[{'Name': 'tag:drone-autoscaler:pool', 'Values': ['seeded']}],
        PaginationConfig={'PageSize': 5})
    seen = [i['InstanceId'] for page in pages for r in page['Reservations'] for i in r['Instances']]
    assert len(seen) == 12 and len(set(seen)) == 12, seen
    print('paginated', len(seen))

    terminated = ec2.terminate_instances(InstanceIds=[instance_id])
    change = terminated['TerminatingInstances'][0]
    assert change['InstanceId'] == instance_id
    assert change['CurrentState']['Name'] == 'shutting-down', change
    assert change['PreviousState']['Name'] in ('pending', 'running'), change
    print('terminate_instances', change['CurrentState']['Name'])

    ec2.create_tags(Resources=[instance_id], Tags=[{'Key': 'k', 'Value': 'v'}])
    print('create_tags ok')

    gone = ec2.describe_instances(InstanceIds=[instance_id])['Reservations'][0]['Instances'][0]
    assert gone['StateReason'] == {
        'Code': 'Client.UserInitiatedShutdown',
        'Message': 'Client.UserInitiatedShutdown: User initiated shutdown'}, gone
    assert 'InstanceLifecycle' not in gone, gone
    print('state_reason', gone['StateReason']['Code'])

    # Spot as the autoscaler asks for it; boto3 validates the parameters against the model.
    spot = ec2.run_instances(
        ImageId='ami-0abc', InstanceType='t3.micro', MinCount=1, MaxCount=1,
        ClientToken='boto3-fidelity-spot',
        InstanceMarketOptions={'MarketType': 'spot',
                               'SpotOptions': {'SpotInstanceType': 'one-time',
                                               'InstanceInterruptionBehavior': 'terminate'}},
        TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags}])['Instances'][0]
    assert spot['InstanceLifecycle'] == 'spot', spot
    assert spot['SpotInstanceRequestId'].startswith('sir-'), spot
    listed = ec2.describe_instances(
        Filters=[{'Name': 'instance-lifecycle', 'Values': ['spot']}])['Reservations']
    assert [i['InstanceId'] for r in listed for i in r['Instances']] == [spot['InstanceId']]
    print('spot', spot['InstanceLifecycle'])

    try:
        ec2.describe_instances(InstanceIds=['i-00000000000000bad'])
        raise AssertionError('expected InvalidInstanceID.NotFound')
    except botocore.exceptions.ClientError as error:
        assert error.response['Error']['Code'] == 'InvalidInstanceID.NotFound', error.response
        assert error.response['ResponseMetadata']['RequestId'], error.response
        assert error.response['ResponseMetadata']['HTTPStatusCode'] == 400
    print('error envelope ok')


if __name__ == '__main__':
    main()
