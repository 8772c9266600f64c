"""What an MGN user would write instead of the project's mgn-launcher: a plain boto3 script.

Pages through DescribeSourceServers (archived servers left out), groups the servers that
are READY_FOR_TEST by the MGN application they belong to, and calls StartTest once per
application (at most 200 servers a call, the model's limit), one call after another.
It reads its settings from the environment the way the AWS CLI does
(AWS_ENDPOINT_URL_MGN, AWS_DEFAULT_REGION, credentials).

The benchmark runs it as a whole process beside the project's mgn-launcher. It prints
"ready" once boto3 is imported and its client made (its start-up), and
"done <applications> <servers> <failed>" when the cycle is over; then it waits for its
standard input to close, so that its peak memory can be read from /proc/<pid>/status
before it exits.
"""

import sys
from collections import defaultdict

import boto3
from botocore.exceptions import ClientError

# StartTest takes at most 200 source servers a call.
MOST_PER_CALL = 200


def ready_by_application(mgn):
    ready = defaultdict(list)
    pages = mgn.get_paginator("describe_source_servers").paginate(
        filters={"isArchived": False}, PaginationConfig={"PageSize": 1000}
    )
    for page in pages:
        for server in page.get("items", []):
            state = server.get("lifeCycle", {}).get("state")
            application = server.get("applicationID")
            if state == "READY_FOR_TEST" and application:
                ready[application].append(server["sourceServerID"])
    return ready


def main():
    mgn = boto3.client("mgn")
    print("ready", flush=True)
    applications = servers = failed = 0
    for application, ids in sorted(ready_by_application(mgn).items()):
        for start in range(0, len(ids), MOST_PER_CALL):
            chunk = ids[start : start + MOST_PER_CALL]
            try:
                mgn.start_test(sourceServerIDs=chunk)
                servers += len(chunk)
            except ClientError as error:
                failed += 1
                code = error.response["Error"]["Code"]
                print(f"{application}: {code}", file=sys.stderr)
        applications += 1
    print(f"done {applications} {servers} {failed}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
