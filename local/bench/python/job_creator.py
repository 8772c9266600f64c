"""What a user would write instead of the project's job-creator: a plain boto3 script.

Pages through GetServers and calls CreateReplicationJob, one call after another, for
every server without a replication job. It reads its settings from the environment the
way the AWS CLI does (AWS_ENDPOINT_URL_SMS, AWS_REGION, credentials) and takes the SMS
service model from AWS_DATA_PATH, since botocore no longer ships the retired service.

The benchmark runs it as a whole process beside the project's job-creator. It prints
"ready" once boto3 is imported and its client made (its start-up), and
"done <created> <already existed> <failed>" when the cycle is over; then it waits for
its standard input to close, so that its peak memory can be read from
/proc/<pid>/status before it exits.
"""

import datetime
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    sms = boto3.client("sms")
    print("ready", flush=True)
    seed_time = datetime.datetime.now(datetime.timezone.utc)
    created = existed = failed = 0
    for page in sms.get_paginator("get_servers").paginate():
        for server in page.get("serverList", []):
            if server.get("replicationJobId"):
                continue
            try:
                sms.create_replication_job(
                    serverId=server["serverId"],
                    seedReplicationTime=seed_time,
                    frequency=12,
                )
                created += 1
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "ReplicationJobAlreadyExistsException":
                    existed += 1
                else:
                    failed += 1
                    print(f"{server['serverId']}: {code}", file=sys.stderr)
    print(f"done {created} {existed} {failed}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
