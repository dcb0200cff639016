# SPDX-License-Identifier: Apache-2.0
"""Checks EC2 Query requests against botocore's EC2 service model (2016-11-15).

Reads one JSON object per line on stdin: {"params": [[name, value], ...]} with the
"Action" and "Version" pairs included. Every wire name must exist in the model as the
"ec2" protocol serializes it (queryName, else locationName with its first letter
upper-cased, else the member name; lists as Name.N, 1-based), every value must fit its
shape (booleans, integers, enums), and the operation's required members must be there.
Prints one line per problem and exits 1 if there was any; prints "ok N" otherwise.
"""
import json
import sys

import botocore.session


def serialized_name(member_shape, member_name):
    query_name = member_shape.serialization.get('queryName')
    if query_name:
        return query_name
    location = member_shape.serialization.get('name')
    if location:
        return location[0].upper() + location[1:]
    return member_name


def check_value(shape, value, where, problems):
    kind = shape.type_name
    if kind == 'boolean':
        if value not in ('true', 'false'):
            problems.append(f'{where}: {value!r} is not a boolean')
    elif kind in ('integer', 'long'):
        try:
            int(value)
        except ValueError:
            problems.append(f'{where}: {value!r} is not an integer')
    elif kind == 'string':
        enum = getattr(shape, 'enum', None)
        if enum and value not in enum:
            problems.append(f'{where}: {value!r} is not one of {shape.name}')
    elif kind in ('structure', 'list', 'map'):
        problems.append(f'{where}: names a {kind}, not a value')


def walk(shape, segments, value, where, problems):
    if not segments:
        check_value(shape, value, where, problems)
        return
    head, rest = segments[0], segments[1:]
    if shape.type_name == 'structure':
        for member_name, member_shape in shape.members.items():
            if serialized_name(member_shape, member_name) == head:
                walk(member_shape, rest, value, where, problems)
                return
        problems.append(f'{where}: {head!r} is not a member of {shape.name}')
    elif shape.type_name == 'list':
        if not head.isdigit() or int(head) < 1:
            problems.append(f'{where}: list index {head!r} of {shape.name} is not 1-based')
            return
        walk(shape.member, rest, value, where, problems)
    else:
        problems.append(f'{where}: {shape.name} ({shape.type_name}) has no member {head!r}')


def main():
    model = botocore.session.get_session().get_service_model('ec2')
    problems = []
    count = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        params = json.loads(line)['params']
        names = dict(params)
        action = names.get('Action', '')
        if names.get('Version') != model.api_version:
            problems.append(f'{action}: Version {names.get("Version")!r} != {model.api_version}')
        if action not in model.operation_names:
            problems.append(f'{action!r} is not an EC2 operation')
            continue
        shape = model.operation_model(action).input_shape
        top_level = set()
        for name, value in params:
            if name in ('Action', 'Version'):
                continue
            top_level.add(name.split('.')[0])
            walk(shape, name.split('.'), value, f'{action} {name}', problems)
        for required in shape.required_members:
            wire = serialized_name(shape.members[required], required)
            if wire not in top_level:
                problems.append(f'{action}: required {wire} is missing')
        count += 1
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f'ok {count}')


if __name__ == '__main__':
    main()
